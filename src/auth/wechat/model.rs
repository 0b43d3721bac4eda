//! API types of WeChat login.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::model::TokenPair;
use crate::http::text::Code;

/// `POST /v1/auth/wechat`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatLoginRequest {
    /// The `code` from `wx.login()` on the phone (single use, valid 5 minutes).
    pub code: Code,
}

/// `POST /v1/auth/wechat/bind`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatBindRequest {
    /// The `bind_token` from a `bind_required` answer.
    pub bind_token: Code,
    /// The `code` from the mini-program's phone-number button (`getPhoneNumber`).
    pub phone_code: Code,
    /// The account's password. Required when the account holds a role or has a password
    /// (`403 wechat_password_required` without it): WeChat vouching for the phone number
    /// alone binds only a plain member.
    #[serde(default)]
    pub password: Option<String>,
    /// Instead of the password: a one-time code an administrator issued to the account
    /// (`POST /v1/members/{user_id}/wechat-bind-code`).
    #[serde(default)]
    pub one_time_code: Option<Code>,
}

/// `POST /v1/me/wechat/unbind`: one of the two proofs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnbindWechatRequest {
    /// The account's password.
    #[serde(default)]
    pub password: Option<String>,
    /// Instead: a fresh `code` from `wx.login()` in the bound WeChat itself.
    #[serde(default)]
    pub wechat_code: Option<Code>,
}

/// The outcome of a WeChat login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WechatLoginResponse {
    /// This WeChat account is bound: here is a session.
    LoggedIn { tokens: TokenPair },
    /// This WeChat account is not bound yet: ask for the phone number and call
    /// `POST /v1/auth/wechat/bind` with this token (single use).
    BindRequired {
        bind_token: String,
        /// Seconds the bind token stays valid.
        expires_in: u64,
    },
}
