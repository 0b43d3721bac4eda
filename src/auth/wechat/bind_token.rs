//! Bind tokens: the short-lived, single-use proof that a phone just logged in to WeChat as
//! an openid we do not know yet. Kept in the database (`wechat_bind_tokens`, shared by every
//! instance and independent of Redis) under the token's SHA-256 (a dump holds no usable
//! token), with the openid and unionid — never the `session_key`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::client::WechatSession;
use crate::db::schema::wechat_bind_tokens as wbt;
use crate::error::ApiResult;
use crate::state::AppState;

/// How long a bind token is valid.
pub const BIND_TOKEN_TTL: Duration = Duration::from_secs(600);

/// What a bind token stands for.
#[derive(Debug, Clone)]
pub struct Pending {
    pub openid: String,
    pub unionid: Option<String>,
    expires_at: NaiveDateTime,
}

/// A token taken out of the store by one request; put back with [`restore`] when that
/// request fails for a reason that may pass.
pub struct Claimed {
    digest: String,
    pub pending: Pending,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a bind token for `session` (and drops expired ones).
pub async fn issue(state: &AppState, session: &WechatSession) -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = state.clock.now_naive();
    let pending = Pending {
        openid: session.openid.clone(),
        unionid: session.unionid.clone(),
        expires_at: now + BIND_TOKEN_TTL,
    };
    let d = digest(&token);
    state
        .db
        .write(move |c| {
            diesel::delete(wbt::table.filter(wbt::expires_at.le(now))).execute(c)?;
            put(c, &d, &pending, now)
        })
        .await?;
    Ok(token)
}

fn put(
    conn: &mut crate::db::DbConnection,
    digest: &str,
    p: &Pending,
    now: NaiveDateTime,
) -> ApiResult<()> {
    diesel::insert_into(wbt::table)
        .values((
            wbt::token_sha256.eq(digest),
            wbt::openid.eq(&p.openid),
            wbt::unionid.eq(&p.unionid),
            wbt::expires_at.eq(p.expires_at),
            wbt::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the token out of the store, so no other request can use it meanwhile. `None` when
/// it is unknown, expired, or already taken.
pub async fn claim(state: &AppState, token: &str) -> ApiResult<Option<Claimed>> {
    let d = digest(token);
    let now = state.clock.now_naive();
    state
        .db
        .write(move |c| {
            let row: Option<(String, Option<String>, NaiveDateTime)> = wbt::table
                .find(&d)
                .select((wbt::openid, wbt::unionid, wbt::expires_at))
                .first(c)
                .optional()?;
            let Some((openid, unionid, expires_at)) = row else {
                return Ok(None);
            };
            // Deleted in this transaction: of two requests racing, one deletes the row.
            if diesel::delete(wbt::table.find(&d)).execute(c)? != 1 || now >= expires_at {
                return Ok(None);
            }
            Ok(Some(Claimed {
                digest: d,
                pending: Pending {
                    openid,
                    unionid,
                    expires_at,
                },
            }))
        })
        .await
}

/// Puts a claimed token back for the rest of its lifetime.
pub async fn restore(state: &AppState, claimed: Claimed) {
    let now = state.clock.now_naive();
    if claimed.pending.expires_at <= now {
        return;
    }
    let result = state
        .db
        .write(move |c| put(c, &claimed.digest, &claimed.pending, now))
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not put a bind token back; the phone must log in again");
    }
}
