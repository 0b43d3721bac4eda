//! API types of WeChat login.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::model::TokenPair;

/// `POST /v1/auth/wechat`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatLoginRequest {
    /// The `code` from `wx.login()` on the phone (single use, valid 5 minutes).
    pub code: String,
}

/// `POST /v1/auth/wechat/bind`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatBindRequest {
    /// The `bind_token` from a `bind_required` answer.
    pub bind_token: String,
    /// The `code` from the mini-program's phone-number button (`getPhoneNumber`).
    pub phone_code: String,
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
