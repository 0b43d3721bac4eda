//! Password login and refresh: rate limits, timing-equal failure, audit, token issue.

use std::net::IpAddr;

use super::model::{TokenPair, USER_ACTIVE};
use super::password;
use super::phone::Phone;
use super::sessions::{self, RefreshOutcome, SessionCtx, SessionSettings};
use super::users;
use crate::audit::{self, Actor, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::ratelimit;
use crate::state::AppState;

fn ip_key(ip: Option<IpAddr>) -> String {
    ip.map(|i| i.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The limits on attempts to get into an account (password login, password reset with a
/// login code): per client IP and per phone number.
pub async fn enforce_limits(state: &AppState, ip: Option<IpAddr>, phone: &Phone) -> ApiResult<()> {
    let cfg = &state.config;
    ratelimit::enforce(&state.kv, "login-ip", &ip_key(ip), cfg.login_rate_per_ip).await?;
    ratelimit::enforce(
        &state.kv,
        "login-phone",
        phone.as_str(),
        cfg.login_rate_per_phone,
    )
    .await
}

/// Logs in with phone and password. Wrong phone and wrong password are the same error
/// after the same amount of work (an argon2 verify either way).
pub async fn with_password(
    state: &AppState,
    ip: Option<IpAddr>,
    phone_raw: &str,
    password_raw: String,
) -> ApiResult<TokenPair> {
    let phone = Phone::parse_field(phone_raw, "phone")?;
    enforce_limits(state, ip, &phone).await?;

    let lookup = phone.clone();
    let user = state
        .db
        .read(move |c| users::find_by_phone(c, &lookup))
        .await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = password::blocking(move || password::verify(&password_raw, stored.as_deref())).await?;
    let actor = Actor {
        user_id: None,
        ip: ip.map(|i| i.to_string()),
    };
    let now = state.clock.now();
    let user = match (user, ok) {
        (Some(user), true) => user,
        (user, _) => {
            let target = match &user {
                Some(u) => Target::new("user", u.id),
                None => Target::new("phone", phone.as_str()),
            };
            state
                .db
                .write(move |c| {
                    audit::record(
                        c,
                        now.naive_utc(),
                        &actor,
                        "login_failed",
                        &target,
                        serde_json::json!({"method": "password"}),
                    )
                })
                .await?;
            return Err(ApiError::new(ErrorCode::InvalidCredentials));
        }
    };
    if user.status != USER_ACTIVE {
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    issue_session(state, user.id, "password", actor.ip).await
}

/// Starts a session for a user who has proven who they are, and audits the login.
pub async fn issue_session(
    state: &AppState,
    user_id: i64,
    method: &'static str,
    ip: Option<String>,
) -> ApiResult<TokenPair> {
    let keys = state.tokens.clone();
    let settings = SessionSettings::from_config(&state.config);
    let now = state.clock.now();
    state
        .db
        .write(move |c| {
            let ctx = SessionCtx {
                keys: &keys,
                settings,
                now,
            };
            let pair = sessions::start(c, &ctx, user_id, method)?;
            audit::record(
                c,
                now.naive_utc(),
                &Actor::user(user_id, ip),
                "login",
                &Target::new("user", user_id),
                serde_json::json!({"method": method}),
            )?;
            Ok(pair)
        })
        .await
}

/// Rotates a refresh token; on reuse after the grace window, revokes the family (committed)
/// and answers 401 `refresh_token_reused`.
pub async fn refresh(state: &AppState, ip: Option<IpAddr>, raw: String) -> ApiResult<TokenPair> {
    ratelimit::enforce(
        &state.kv,
        "refresh-ip",
        &ip_key(ip),
        state.config.refresh_rate_per_ip,
    )
    .await?;
    let keys = state.tokens.clone();
    let settings = SessionSettings::from_config(&state.config);
    let now = state.clock.now();
    let ip_s = ip.map(|i| i.to_string());
    let outcome = state
        .db
        .write(move |c| {
            let ctx = SessionCtx {
                keys: &keys,
                settings,
                now,
            };
            let outcome = sessions::refresh(c, &ctx, &raw)?;
            if let RefreshOutcome::Reused {
                user_id, family_id, ..
            } = &outcome
            {
                audit::record(
                    c,
                    now.naive_utc(),
                    &Actor {
                        user_id: None,
                        ip: ip_s,
                    },
                    "refresh_token_reused",
                    &Target::new("user", user_id),
                    serde_json::json!({"family_id": family_id}),
                )?;
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        RefreshOutcome::Issued(pair) => Ok(pair),
        RefreshOutcome::Reused { revoked, .. } => {
            sessions::denylist(&state.kv, now, &revoked).await;
            Err(ApiError::new(ErrorCode::RefreshTokenReused))
        }
    }
}
