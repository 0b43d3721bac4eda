//! The app's WeChat access token (from `stable_token`), cached through kv so every
//! instance on one Redis shares it, and refreshed a few minutes before it expires — never
//! fetched per request.
//!
//! Refreshing happens under a kv lock (`set_nx`), so one instance calls WeChat while the
//! others keep using the current token (old and new overlap) or, when there is none, wait
//! briefly for the new one to appear. Expiry decisions use the app clock, stored in the
//! cached value, so they do not depend on the kv's own TTL clock.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::client::{MAX_ATTEMPTS, WechatClient, WechatError};
use crate::config::WechatConfig;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// Refresh this long before expiry (WeChat overlaps old and new tokens about as long).
const REFRESH_MARGIN_SECS: u64 = 5 * 60;
/// How often a waiting instance looks for the token another one is fetching.
const POLL: Duration = Duration::from_millis(50);

/// The cached token. Times are app-clock milliseconds.
#[derive(Serialize, Deserialize)]
struct Cached {
    token: String,
    refresh_at_ms: i64,
    expires_at_ms: i64,
}

/// Why a new token is wanted.
enum Need {
    /// None cached, or the cached one is close to expiry.
    Fresh,
    /// WeChat rejected this token (`40001`): anything else still valid will do.
    Replace(String),
}

impl Need {
    fn met_by(&self, c: &Cached, now_ms: i64) -> bool {
        match self {
            Need::Fresh => now_ms < c.refresh_at_ms,
            Need::Replace(rejected) => c.token != *rejected && now_ms < c.expires_at_ms,
        }
    }
}

fn cache_key(cfg: &WechatConfig) -> String {
    format!("wechat:access_token:{}", cfg.appid)
}

fn lock_key(cfg: &WechatConfig) -> String {
    format!("wechat:access_token_lock:{}", cfg.appid)
}

/// The longest a refresh can take: every attempt timing out, plus backoff.
fn refresh_budget(cfg: &WechatConfig) -> Duration {
    cfg.timeout * MAX_ATTEMPTS + Duration::from_secs(1)
}

/// A token to call WeChat with: the cached one, or a new one when it is missing or due.
pub async fn current(state: &AppState, cfg: &WechatConfig) -> ApiResult<String> {
    obtain(state, cfg, Need::Fresh).await
}

/// A token to use after WeChat rejected `rejected`: whatever replaced it already, or a
/// forced refresh.
pub async fn replace(state: &AppState, cfg: &WechatConfig, rejected: &str) -> ApiResult<String> {
    obtain(state, cfg, Need::Replace(rejected.to_string())).await
}

async fn read(state: &AppState, cfg: &WechatConfig) -> ApiResult<Option<Cached>> {
    let raw = state.kv.get(&cache_key(cfg)).await?;
    // An unreadable entry (an older format) is treated as absent and overwritten.
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

async fn obtain(state: &AppState, cfg: &WechatConfig, need: Need) -> ApiResult<String> {
    let now_ms = || state.clock.now().timestamp_millis();
    let budget = refresh_budget(cfg);
    let deadline = Instant::now() + budget;
    let owner = uuid::Uuid::new_v4().to_string();
    loop {
        let cached = read(state, cfg).await?;
        if let Some(c) = &cached
            && need.met_by(c, now_ms())
        {
            return Ok(c.token.clone());
        }
        if state.kv.set_nx(&lock_key(cfg), &owner, budget).await? {
            let result = refresh_locked(state, cfg, &need).await;
            if let Err(e) = state.kv.del_if(&lock_key(cfg), &owner).await {
                tracing::warn!(error = %e, "could not release the WeChat token lock (it expires)");
            }
            return result;
        }
        // Another instance is refreshing. A token that has not expired yet still works.
        if let (Some(c), Need::Fresh) = (&cached, &need)
            && now_ms() < c.expires_at_ms
        {
            return Ok(c.token.clone());
        }
        if Instant::now() >= deadline {
            return Err(
                ApiError::new(ErrorCode::UpstreamFailed).with_cause(anyhow::anyhow!(
                    "no WeChat access token after waiting {budget:?} for another refresh"
                )),
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Holding the lock: checks again (a refresh may have finished between our read and the
/// lock), else fetches from WeChat and caches.
async fn refresh_locked(state: &AppState, cfg: &WechatConfig, need: &Need) -> ApiResult<String> {
    let now_ms = state.clock.now().timestamp_millis();
    if let Some(c) = read(state, cfg).await?
        && need.met_by(&c, now_ms)
    {
        return Ok(c.token);
    }
    let force = matches!(need, Need::Replace(_));
    let fetched = WechatClient::new(&state.http, cfg)
        .stable_token(force)
        .await?;
    let lifetime_secs = fetched.expires_in.max(1);
    let margin_secs = REFRESH_MARGIN_SECS.min(lifetime_secs / 2);
    let cached = Cached {
        refresh_at_ms: now_ms + ((lifetime_secs - margin_secs) * 1000) as i64,
        expires_at_ms: now_ms + (lifetime_secs * 1000) as i64,
        token: fetched.token,
    };
    let value = serde_json::to_string(&cached).map_err(ApiError::internal)?;
    state
        .kv
        .set(
            &cache_key(cfg),
            &value,
            Some(Duration::from_secs(lifetime_secs)),
        )
        .await?;
    tracing::info!(
        force_refresh = force,
        expires_in = lifetime_secs,
        "WeChat access token refreshed"
    );
    Ok(cached.token)
}

/// Calls a WeChat API that takes the access token. When WeChat rejects the token
/// (`40001`/`42001`), gets a replacement once and retries once.
pub async fn with_token<T, F, Fut>(state: &AppState, cfg: &WechatConfig, call: F) -> ApiResult<T>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, WechatError>>,
{
    with_token_answer(state, cfg, call)
        .await?
        .map_err(ApiError::from)
}

/// As [`with_token`], but hands back WeChat's own error (its `errcode`) for callers that
/// sort the answers themselves; the outer error is failing to get a token at all.
pub async fn with_token_answer<T, F, Fut>(
    state: &AppState,
    cfg: &WechatConfig,
    call: F,
) -> ApiResult<Result<T, WechatError>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, WechatError>>,
{
    let token = current(state, cfg).await?;
    match call(token.clone()).await {
        Err(e) if e.is_token_rejected() => {
            tracing::warn!(error = %e, "WeChat rejected the cached access token; refreshing once");
            let token = replace(state, cfg, &token).await?;
            Ok(call(token).await)
        }
        other => Ok(other),
    }
}
