//! `POST /v1/auth/password-reset`: a member sets a password with the one-time login code her
//! secretary gave her ([`super::login_code`]). Rate-limited like password login; a wrong
//! phone and a wrong code are the same error after the same work; success uses the code
//! up, revokes every session of the account and logs this phone in.

use std::net::IpAddr;

use super::account::replace_password;
use super::model::{TokenPair, USER_ACTIVE};
use super::password;
use super::phone::Phone;
use super::users;
use crate::audit::{self, Actor, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// Sets the password of the account with `phone_raw` if `code` is its live login code.
pub async fn with_login_code(
    state: &AppState,
    ip: Option<IpAddr>,
    phone_raw: &str,
    code: &str,
    new_password: String,
) -> ApiResult<TokenPair> {
    let phone = Phone::parse_field(phone_raw, "phone")?;
    password::check_rule(&new_password, "new_password")?;
    super::login::enforce_limits(state, ip, &phone).await?;
    let lookup = phone.clone();
    let user = state
        .db
        .read(move |c| users::find_by_phone(c, &lookup))
        .await?;
    // The hash is made whether or not the phone is known: the same work either way.
    let hash = password::blocking(move || password::hash(&new_password)).await??;
    let actor = Actor {
        user_id: None,
        ip: ip.map(|i| i.to_string()),
    };
    let result = match user {
        Some(u) if u.status == USER_ACTIVE => {
            let as_her = Actor::user(u.id, actor.ip.clone());
            replace_password(
                state,
                u.id,
                hash,
                as_her,
                "password_reset",
                Some(code.trim().to_string()),
            )
            .await
            .map_err(|e| (Target::new("user", u.id), e))
        }
        Some(u) => Err((
            Target::new("user", u.id),
            ApiError::new(ErrorCode::LoginCodeInvalid),
        )),
        None => Err((
            Target::new("phone", phone.as_str()),
            ApiError::new(ErrorCode::LoginCodeInvalid),
        )),
    };
    match result {
        Ok(pair) => Ok(pair),
        Err((target, e)) if e.code == ErrorCode::LoginCodeInvalid => {
            let now = state.clock.now_naive();
            state
                .db
                .write(move |c| {
                    audit::record(
                        c,
                        now,
                        &actor,
                        "login_failed",
                        &target,
                        serde_json::json!({"method": "login_code"}),
                    )
                })
                .await?;
            Err(e)
        }
        Err((_, e)) => Err(e),
    }
}
