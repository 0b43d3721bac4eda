//! The caller's own account: password change, logout (the profile, `GET /v1/me`, is
//! [`super::identity_cache`]).

use super::caller::Caller;
use super::model::TokenPair;
use super::password;
use super::sessions::{self, SessionCtx, SessionSettings};
use super::users;
use crate::audit::{self, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// Changes the password. Every session of the user is revoked (their access tokens go on
/// the denylist) and a fresh pair is returned so this phone stays logged in.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: Option<String>,
    new_password: String,
) -> ApiResult<TokenPair> {
    password::check_rule(&new_password, "new_password")?;
    let id = caller.user_id;
    let user = state.db.read(move |c| users::find(c, id)).await?;
    if let Some(stored) = user.password_hash.clone() {
        let Some(current) = current else {
            return Err(ApiError::new(ErrorCode::WrongPassword));
        };
        let ok = password::blocking(move || password::verify(&current, Some(&stored))).await?;
        if !ok {
            return Err(ApiError::new(ErrorCode::WrongPassword));
        }
    }
    let hash = password::blocking(move || password::hash(&new_password)).await??;
    replace_password(state, id, hash, caller.actor(), "password_changed", None).await
}

/// Stores a new password hash for `id`, revokes every session of the account (their access
/// tokens go on the denylist), audits `action` (with `one_time_code` first used up, in the
/// same transaction: `false` from it refuses with `login_code_invalid` and changes nothing)
/// and starts a fresh session for this phone.
pub async fn replace_password(
    state: &AppState,
    id: i64,
    hash: String,
    actor: crate::audit::Actor,
    action: &'static str,
    one_time_code: Option<String>,
) -> ApiResult<TokenPair> {
    let keys = state.tokens.clone();
    let settings = SessionSettings::from_config(&state.config);
    let now = state.clock.now();
    let (pair, revoked) = state
        .db
        .write(move |c| {
            use crate::db::schema::users::dsl as u;
            use diesel::prelude::*;
            if let Some(code) = &one_time_code
                && !super::login_code::consume(c, now.naive_utc(), id, code)?
            {
                return Err(ApiError::new(ErrorCode::LoginCodeInvalid));
            }
            diesel::update(u::users.find(id))
                .set((
                    u::password_hash.eq(&hash),
                    u::updated_at.eq(now.naive_utc()),
                ))
                .execute(c)?;
            let revoked = sessions::revoke_all_for_user(c, now, id, action)?;
            audit::record(
                c,
                now.naive_utc(),
                &actor,
                action,
                &Target::new("user", id),
                serde_json::json!({"sessions_revoked": true}),
            )?;
            let ctx = SessionCtx {
                keys: &keys,
                settings,
                now,
            };
            let pair = sessions::start(c, &ctx, id, "password")?;
            Ok((pair, revoked))
        })
        .await?;
    sessions::denylist(&state.kv, now, &revoked).await;
    super::identity_cache::forget(&state.kv, &[id]).await;
    Ok(pair)
}

/// Ends the caller's session: its family is revoked and its access tokens denied.
pub async fn logout(state: &AppState, caller: &Caller) -> ApiResult<()> {
    let now = state.clock.now();
    let family = caller.session_id.clone();
    let actor = caller.actor();
    let user_id = caller.user_id;
    let revoked = state
        .db
        .write(move |c| {
            let revoked = sessions::revoke_family(c, now, &family, "logout")?;
            audit::record(
                c,
                now.naive_utc(),
                &actor,
                "logout",
                &Target::new("user", user_id),
                serde_json::json!({"family_id": family}),
            )?;
            Ok(revoked)
        })
        .await?;
    sessions::denylist(&state.kv, now, &revoked).await;
    Ok(())
}
