//! The app's WeChat access token (from `stable_token`), shared by every instance and
//! refreshed a few minutes before it expires — never fetched per request.
//!
//! The token lives in the database (`wechat_access_tokens`, one row per appid) with kv as a
//! cache in front, so an instance asks the database only when the cached copy is missing or
//! due. Refreshing happens under a lease in that row (`lease_owner`, `lease_until_ms`, taken
//! by a conditional update), so one instance calls WeChat while the others keep using the
//! current token (old and new overlap) or, when there is none, wait briefly for the new one
//! to appear — also while Redis is unreachable, when kv is skipped altogether. Expiry
//! decisions use the app clock, stored with the token.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::client::{MAX_ATTEMPTS, WechatClient, WechatError};
use crate::config::WechatConfig;
use crate::db::schema::wechat_access_tokens as wat;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// Refresh this long before expiry (WeChat overlaps old and new tokens about as long).
const REFRESH_MARGIN_SECS: u64 = 5 * 60;
/// How often a waiting instance looks for the token another one is fetching.
const POLL: Duration = Duration::from_millis(50);

/// The token with its times (app-clock milliseconds), as cached in kv.
#[derive(Serialize, Deserialize, Clone)]
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

/// The kv copy; `None` when absent, unreadable (an older format) or kv is unreachable.
async fn cached(state: &AppState, cfg: &WechatConfig) -> Option<Cached> {
    match state.kv.get(&cache_key(cfg)).await {
        Ok(raw) => raw.and_then(|s| serde_json::from_str(&s).ok()),
        Err(e) => {
            tracing::debug!(error = %e, "kv unreachable; reading the WeChat token from the database");
            None
        }
    }
}

/// Puts `c` in kv for the rest of its life (a failure only costs a database read later).
async fn cache(state: &AppState, cfg: &WechatConfig, c: &Cached) {
    let left_ms = c.expires_at_ms - state.clock.now().timestamp_millis();
    if left_ms <= 0 {
        return;
    }
    let Ok(value) = serde_json::to_string(c) else {
        return;
    };
    let ttl = Duration::from_millis(left_ms as u64);
    if let Err(e) = state.kv.set(&cache_key(cfg), &value, Some(ttl)).await {
        tracing::debug!(error = %e, "could not cache the WeChat token in kv");
    }
}

/// The stored token of `appid`, if there is one.
fn stored(conn: &mut crate::db::DbConnection, appid: &str) -> ApiResult<Option<Cached>> {
    let row: Option<(Option<String>, i64, i64)> = wat::table
        .find(appid)
        .select((wat::token, wat::refresh_at_ms, wat::expires_at_ms))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(token, refresh_at_ms, expires_at_ms)| {
        token.map(|token| Cached {
            token,
            refresh_at_ms,
            expires_at_ms,
        })
    }))
}

/// Takes the refresh lease of `appid` for `budget` unless another owner holds it.
fn take_lease(
    conn: &mut crate::db::DbConnection,
    appid: &str,
    owner: &str,
    now: chrono::DateTime<chrono::Utc>,
    budget: Duration,
) -> ApiResult<bool> {
    let now_ms = now.timestamp_millis();
    crate::insert_ignore!(
        conn,
        wat::table,
        vec![(
            wat::appid.eq(appid),
            wat::lease_until_ms.eq(0i64),
            wat::updated_at.eq(now.naive_utc()),
        )]
    )?;
    let taken = diesel::update(
        wat::table
            .find(appid)
            .filter(wat::lease_until_ms.le(now_ms)),
    )
    .set((
        wat::lease_owner.eq(owner),
        wat::lease_until_ms.eq(now_ms + budget.as_millis() as i64),
        wat::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Stores a fetched token.
fn store(
    conn: &mut crate::db::DbConnection,
    appid: &str,
    c: &Cached,
    now: chrono::NaiveDateTime,
) -> ApiResult<()> {
    diesel::update(wat::table.find(appid))
        .set((
            wat::token.eq(&c.token),
            wat::refresh_at_ms.eq(c.refresh_at_ms),
            wat::expires_at_ms.eq(c.expires_at_ms),
            wat::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives the lease back, if `owner` still holds it.
fn release(conn: &mut crate::db::DbConnection, appid: &str, owner: &str) -> ApiResult<()> {
    diesel::update(wat::table.find(appid).filter(wat::lease_owner.eq(owner)))
        .set((
            wat::lease_owner.eq(None::<String>),
            wat::lease_until_ms.eq(0i64),
        ))
        .execute(conn)?;
    Ok(())
}

async fn obtain(state: &AppState, cfg: &WechatConfig, need: Need) -> ApiResult<String> {
    let now_ms = || state.clock.now().timestamp_millis();
    if let Some(c) = cached(state, cfg).await
        && need.met_by(&c, now_ms())
    {
        return Ok(c.token);
    }
    let budget = refresh_budget(cfg);
    let deadline = Instant::now() + budget;
    let owner = uuid::Uuid::new_v4().to_string();
    let appid = cfg.appid.clone();
    loop {
        let id = appid.clone();
        let row = state.db.read(move |c| stored(c, &id)).await?;
        if let Some(c) = &row
            && need.met_by(c, now_ms())
        {
            cache(state, cfg, c).await;
            return Ok(c.token.clone());
        }
        let (id, me, now) = (appid.clone(), owner.clone(), state.clock.now());
        if state
            .db
            .write(move |c| take_lease(c, &id, &me, now, budget))
            .await?
        {
            let result = refresh_leased(state, cfg, &need).await;
            let (id, me) = (appid.clone(), owner.clone());
            if let Err(e) = state.db.write(move |c| release(c, &id, &me)).await {
                tracing::warn!(error = %e, "could not give back the WeChat token lease (it expires)");
            }
            return result;
        }
        // Another instance is refreshing. A token that has not expired yet still works.
        if let (Some(c), Need::Fresh) = (&row, &need)
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

/// Holding the lease: checks again (a refresh may have finished between our read and the
/// lease), else fetches from WeChat and stores the token in the database and in kv.
async fn refresh_leased(state: &AppState, cfg: &WechatConfig, need: &Need) -> ApiResult<String> {
    let now_ms = state.clock.now().timestamp_millis();
    let id = cfg.appid.clone();
    if let Some(c) = state.db.read(move |c| stored(c, &id)).await?
        && need.met_by(&c, now_ms)
    {
        cache(state, cfg, &c).await;
        return Ok(c.token);
    }
    let force = matches!(need, Need::Replace(_));
    let fetched = WechatClient::new(&state.http, cfg)
        .stable_token(force)
        .await?;
    let lifetime_secs = fetched.expires_in.max(1);
    let margin_secs = REFRESH_MARGIN_SECS.min(lifetime_secs / 2);
    let c = Cached {
        refresh_at_ms: now_ms + ((lifetime_secs - margin_secs) * 1000) as i64,
        expires_at_ms: now_ms + (lifetime_secs * 1000) as i64,
        token: fetched.token,
    };
    let (id, row, now) = (cfg.appid.clone(), c.clone(), state.clock.now_naive());
    state
        .db
        .write(move |conn| store(conn, &id, &row, now))
        .await?;
    cache(state, cfg, &c).await;
    tracing::info!(
        force_refresh = force,
        expires_in = lifetime_secs,
        "WeChat access token refreshed"
    );
    Ok(c.token)
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
