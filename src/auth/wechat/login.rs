//! The WeChat login flow: a login `code` becomes an openid; a known openid logs in, an
//! unknown one gets a bind token; the bind token plus the phone-number `code` gives the
//! openid to the member imported with that phone, then logs in.

use std::net::IpAddr;

use super::bind_token::{self, BIND_TOKEN_TTL};
use super::binding;
use super::client::WechatClient;
use super::model::WechatLoginResponse;
use super::token;
use crate::audit::Actor;
use crate::auth::login::issue_session;
use crate::auth::model::{TokenPair, USER_ACTIVE};
use crate::config::WechatConfig;
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::http::ratelimit;
use crate::state::AppState;

/// Longest code accepted (WeChat's are 32 characters).
const MAX_CODE_LEN: usize = 256;

pub(super) fn config(state: &AppState) -> ApiResult<&WechatConfig> {
    state
        .config
        .wechat
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::WechatNotConfigured))
}

pub(super) fn check_code<'a>(raw: &'a str, field: &str) -> ApiResult<&'a str> {
    let code = raw.trim();
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(ApiError::invalid_field(
            field,
            "invalid_length",
            Text::new(
                format!("应为 1 到 {MAX_CODE_LEN} 个字符"),
                format!("Must be 1 to {MAX_CODE_LEN} characters"),
            ),
        ));
    }
    Ok(code)
}

/// `POST /v1/auth/wechat`: logs in a bound WeChat account, or starts binding one.
pub async fn login(
    state: &AppState,
    ip: Option<IpAddr>,
    code: &str,
) -> ApiResult<WechatLoginResponse> {
    let cfg = config(state)?;
    let code = check_code(code, "code")?;
    let subject = ip.map_or_else(|| "unknown".to_string(), |i| i.to_string());
    ratelimit::enforce(
        &state.kv,
        "wechat-login-ip",
        &subject,
        state.config.login_rate_per_ip,
    )
    .await?;
    let session = WechatClient::new(&state.http, cfg)
        .jscode2session(code)
        .await?;
    let openid = session.openid.clone();
    let known = state
        .db
        .read(move |c| binding::find_by_openid(c, &openid))
        .await?;
    match known {
        Some(user) if user.status != USER_ACTIVE => Err(ApiError::new(ErrorCode::AccountDisabled)),
        Some(user) => {
            let tokens = issue_session(state, user.id, "wechat", ip.map(|i| i.to_string())).await?;
            Ok(WechatLoginResponse::LoggedIn { tokens })
        }
        None => Ok(WechatLoginResponse::BindRequired {
            bind_token: bind_token::issue(state, &session).await?,
            expires_in: BIND_TOKEN_TTL.as_secs(),
        }),
    }
}

/// `POST /v1/auth/wechat/bind`: binds the openid behind `bind_token` to the member with the
/// phone number behind `phone_code`, and logs in.
///
/// The bind token is used up by success and by refusals that trying again cannot change
/// (`member_not_found`, `wechat_already_bound`, `account_bound_to_other_wechat`,
/// `account_disabled`, `forbidden`). After a
/// failure that may pass (a used phone code, WeChat busy or slow) it stays valid, so the
/// phone can ask for a new phone code and try again.
pub async fn bind(
    state: &AppState,
    ip: Option<IpAddr>,
    bind_token: &str,
    phone_code: &str,
    password: Option<String>,
    one_time_code: Option<String>,
) -> ApiResult<TokenPair> {
    let cfg = config(state)?;
    let phone_code = check_code(phone_code, "phone_code")?;
    let Some(claimed) = bind_token::claim(state, bind_token.trim()).await? else {
        return Err(ApiError::new(ErrorCode::BindTokenInvalid));
    };
    let actor = Actor {
        user_id: None,
        ip: ip.map(|i| i.to_string()),
    };
    let proof = (password, one_time_code);
    match attempt(
        state,
        cfg,
        &actor,
        phone_code,
        proof.0,
        proof.1,
        &claimed.pending,
    )
    .await
    {
        Ok(user_id) => issue_session(state, user_id, "wechat", actor.ip).await,
        Err(e) if is_final(e.code) => Err(e),
        Err(e) => {
            bind_token::restore(state, claimed).await;
            Err(e)
        }
    }
}

/// Errors after which the same bind token can never succeed.
fn is_final(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::MemberNotFound
            | ErrorCode::WechatAlreadyBound
            | ErrorCode::AccountBoundToOtherWechat
            | ErrorCode::AccountDisabled
            | ErrorCode::Forbidden
            | ErrorCode::WrongPassword
            | ErrorCode::BindCodeInvalid
    )
}

async fn attempt(
    state: &AppState,
    cfg: &WechatConfig,
    actor: &Actor,
    phone_code: &str,
    password: Option<String>,
    one_time_code: Option<String>,
    pending: &bind_token::Pending,
) -> ApiResult<i64> {
    let client = WechatClient::new(&state.http, cfg);
    let info = token::with_token(state, cfg, |access_token| {
        let client = &client;
        async move { client.phone_number(&access_token, phone_code).await }
    })
    .await?;
    let proof = binding::Proof {
        password_verified: verify_password(
            state,
            &info.pure_phone_number,
            &info.country_code,
            password,
        )
        .await?,
        one_time_code,
    };
    let now = state.clock.now_naive();
    let actor = actor.clone();
    let pending = pending.clone();
    let outcome = state
        .db
        .write(move |c| {
            let phone = (info.pure_phone_number.as_str(), info.country_code.as_str());
            binding::bind(c, now, &actor, phone, &pending, &proof)
        })
        .await?;
    let user_id = outcome.map_err(ApiError::from)?;
    crate::auth::identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(user_id)
}

/// Checks the password sent with a bind against the account WeChat's phone number names
/// (outside the write transaction: hashing is slow). `Ok(true)` when it matched; `Ok(false)`
/// when none was sent or the account needs none (the bind then succeeds only for an
/// unguarded account); a wrong password is 403 `wrong_password`, rate-limited per phone
/// like a login.
async fn verify_password(
    state: &AppState,
    pure_phone: &str,
    country_code: &str,
    password: Option<String>,
) -> ApiResult<bool> {
    let Some(password) = password else {
        return Ok(false);
    };
    let Some(phone) = binding::mainland(pure_phone, country_code) else {
        return Ok(false);
    };
    let key = phone.as_str().to_string();
    let Some(stored) = state
        .db
        .read(move |c| binding::password_to_check(c, &phone))
        .await?
    else {
        return Ok(false);
    };
    ratelimit::enforce(
        &state.kv,
        "wechat-bind-phone",
        &key,
        state.config.login_rate_per_phone,
    )
    .await?;
    let ok = crate::auth::password::blocking(move || {
        crate::auth::password::verify(&password, stored.as_deref())
    })
    .await?;
    if ok {
        Ok(true)
    } else {
        Err(ApiError::new(ErrorCode::WrongPassword))
    }
}
