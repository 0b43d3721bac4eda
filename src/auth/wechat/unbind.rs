//! Taking a WeChat binding off an account, so that another WeChat can bind it.
//!
//! - The member herself (`POST /v1/me/wechat/unbind`), with her password or a fresh
//!   `wx.login()` code from the bound WeChat itself; her other sessions end.
//! - A secretary whose scope covers her (`DELETE /v1/members/{user_id}/wechat`), when she
//!   lost the phone or changed WeChat accounts; all her sessions end.
//!
//! Either way her next WeChat login binds again by phone (with her password if the account
//! is guarded), and the change is audited on her account, where she sees it
//! (`GET /v1/me/account-events`: `wechat_unbound`, `wechat_reset`).

use chrono::NaiveDateTime;

use super::binding;
use super::client::WechatClient;
use super::login::{check_code, config};
use crate::audit::{self, Actor, Target};
use crate::auth::caller::Caller;
use crate::auth::password;
use crate::auth::sessions::{self, RevokedAccess};
use crate::auth::users;
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::ratelimit;
use crate::state::AppState;

/// How the member proves she may unbind.
pub enum Proof {
    Password(String),
    /// A `wx.login()` code from the bound WeChat.
    WechatCode(String),
}

/// The member unbinds her own WeChat; her other sessions end.
pub async fn by_owner(state: &AppState, caller: &Caller, proof: Option<Proof>) -> ApiResult<()> {
    let id = caller.user_id;
    ratelimit::enforce(
        &state.kv,
        "unbind-user",
        &id.to_string(),
        state.config.login_rate_per_phone,
    )
    .await?;
    let user = state.db.read(move |c| users::find(c, id)).await?;
    let Some(bound) = user.wechat_openid.clone() else {
        return Err(ApiError::new(ErrorCode::WechatNotBound));
    };
    let how = match proof {
        None => return Err(ApiError::new(ErrorCode::UnbindProofRequired)),
        Some(Proof::Password(p)) => {
            let stored = user.password_hash.clone();
            let ok = password::blocking(move || password::verify(&p, stored.as_deref())).await?;
            if !ok {
                return Err(ApiError::new(ErrorCode::WrongPassword));
            }
            "password"
        }
        Some(Proof::WechatCode(code)) => {
            let cfg = config(state)?;
            let code = check_code(&code, "wechat_code")?;
            let session = WechatClient::new(&state.http, cfg)
                .jscode2session(code)
                .await?;
            if session.openid != bound {
                return Err(ApiError::new(ErrorCode::WechatNotThisAccount));
            }
            "wechat"
        }
    };
    let now = state.clock.now();
    let keep = caller.session_id.clone();
    let actor = caller.actor();
    let revoked = state
        .db
        .write(move |c| {
            if binding::unbind(c, now.naive_utc(), id)?.is_none() {
                return Ok(Vec::new());
            }
            let revoked = sessions::revoke_others(c, now, id, &keep, "wechat_unbound")?;
            audit::record(
                c,
                now.naive_utc(),
                &actor,
                "wechat_unbound",
                &Target::new("user", id),
                serde_json::json!({"proof": how, "sessions_revoked": revoked.len()}),
            )?;
            Ok(revoked)
        })
        .await?;
    sessions::denylist(&state.kv, now, &revoked).await;
    crate::auth::identity_cache::forget(&state.kv, &[id]).await;
    Ok(())
}

/// A secretary resets `user_id`'s binding (the caller checked her scope): the binding goes
/// and every session of the member ends; audited in `org_id` either way (`was_bound`).
/// Returns the access tokens to deny (after commit).
pub fn reset(
    conn: &mut DbConnection,
    now: chrono::DateTime<chrono::Utc>,
    actor: &Actor,
    user_id: i64,
    org_id: i64,
) -> ApiResult<Vec<RevokedAccess>> {
    let at: NaiveDateTime = now.naive_utc();
    let was_bound = binding::unbind(conn, at, user_id)?.is_some();
    let revoked = if was_bound {
        sessions::revoke_all_for_user(conn, now, user_id, "wechat_reset")?
    } else {
        Vec::new()
    };
    audit::record(
        conn,
        at,
        actor,
        "wechat_reset",
        &Target::new("user", user_id).in_org(org_id),
        serde_json::json!({"was_bound": was_bound, "sessions_revoked": revoked.len()}),
    )?;
    Ok(revoked)
}
