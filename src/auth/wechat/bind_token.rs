//! Bind tokens: the short-lived, single-use proof that a phone just logged in to WeChat as
//! an openid we do not know yet. Kept in kv under a hash of the token (a kv dump holds no
//! usable token), with the openid and unionid — never the `session_key`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::WechatSession;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long a bind token is valid.
pub const BIND_TOKEN_TTL: Duration = Duration::from_secs(600);

/// What a bind token stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub openid: String,
    pub unionid: Option<String>,
    /// App-clock milliseconds.
    expires_at_ms: i64,
}

/// A token taken out of kv by one request; put back with [`restore`] when that request
/// fails for a reason that may pass.
pub struct Claimed {
    key: String,
    raw: String,
    pub pending: Pending,
}

fn key(token: &str) -> String {
    format!(
        "wechat:bind:{}",
        hex::encode(Sha256::digest(token.as_bytes()))
    )
}

/// Issues a bind token for `session`.
pub async fn issue(state: &AppState, session: &WechatSession) -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let pending = Pending {
        openid: session.openid.clone(),
        unionid: session.unionid.clone(),
        expires_at_ms: state.clock.now().timestamp_millis() + BIND_TOKEN_TTL.as_millis() as i64,
    };
    let value = serde_json::to_string(&pending).map_err(ApiError::internal)?;
    state
        .kv
        .set(&key(&token), &value, Some(BIND_TOKEN_TTL))
        .await?;
    Ok(token)
}

/// Takes the token out of kv, so no other request can use it meanwhile. `None` when it is
/// unknown, expired, or already taken.
pub async fn claim(state: &AppState, token: &str) -> ApiResult<Option<Claimed>> {
    let key = key(token);
    let Some(raw) = state.kv.get(&key).await? else {
        return Ok(None);
    };
    if !state.kv.del_if(&key, &raw).await? {
        return Ok(None);
    }
    let Ok(pending) = serde_json::from_str::<Pending>(&raw) else {
        return Ok(None);
    };
    if state.clock.now().timestamp_millis() >= pending.expires_at_ms {
        return Ok(None);
    }
    Ok(Some(Claimed { key, raw, pending }))
}

/// Puts a claimed token back for the rest of its lifetime.
pub async fn restore(state: &AppState, claimed: Claimed) {
    let left = claimed.pending.expires_at_ms - state.clock.now().timestamp_millis();
    if left <= 0 {
        return;
    }
    let ttl = Duration::from_millis(left as u64);
    if let Err(e) = state.kv.set(&claimed.key, &claimed.raw, Some(ttl)).await {
        tracing::warn!(error = %e, "could not put a bind token back; the phone must log in again");
    }
}
