//! Cached statistics responses in kv, invalidated by version: every cached response is
//! stored under the current statistics version, and a committed write that changed a
//! roll-up (or anything else statistics read) increments it (see
//! [`crate::db::Db::on_stats_change`]), so the next read misses and recomputes. A check-in
//! or a completion is therefore visible on the next read, on every instance sharing Redis.
//!
//! When kv is unreachable, reads are computed uncached and the failure is logged.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiResult;
use crate::kv::Kv;

const VERSION_KEY: &str = "stats:version";
/// A backstop: entries expire even if an invalidation were missed.
const ENTRY_TTL: Duration = Duration::from_secs(300);
/// Longer than any entry lives, so a reset counter never meets an old entry.
const VERSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Increments the version (after a committed write that changed statistics).
pub async fn bump(kv: &Kv) {
    if let Err(e) = kv.incr(VERSION_KEY, 1, VERSION_TTL).await {
        tracing::warn!(error = %e, "cannot invalidate cached statistics");
    }
}

/// The cached value of `key` under the current version, else `compute()`'s, stored.
/// Returns the value and whether it came from the cache.
pub async fn cached<T, F, Fut>(kv: &Kv, key: &str, compute: F) -> ApiResult<(T, bool)>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let version = match kv.get(VERSION_KEY).await {
        Ok(v) => v.unwrap_or_else(|| "0".into()),
        Err(e) => {
            tracing::warn!(error = %e, "statistics cache unavailable");
            return Ok((compute().await?, false));
        }
    };
    let full = format!("stats:{version}:{key}");
    if let Ok(Some(hit)) = kv.get(&full).await
        && let Ok(value) = serde_json::from_str::<T>(&hit)
    {
        return Ok((value, true));
    }
    let value = compute().await?;
    if let Ok(json) = serde_json::to_string(&value)
        && let Err(e) = kv.set(&full, &json, Some(ENTRY_TTL)).await
    {
        tracing::warn!(error = %e, "cannot cache statistics");
    }
    Ok((value, false))
}
