//! Cached statistics responses in kv, invalidated by version: every cached response is
//! stored under the current statistics version, and a committed write that changed a
//! roll-up (or anything else statistics read) increments it (see
//! [`crate::db::Db::on_stats_change`]), so the next read misses and recomputes. A check-in
//! or a completion is therefore visible on the next read, on every instance sharing Redis.
//!
//! When kv is unreachable, reads are computed uncached and the failure is logged.

use std::future::Future;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
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

/// A statistics response body as JSON, served as stored (a hit is not parsed back).
#[derive(Debug)]
pub struct CachedJson(pub String);

impl Responder for CachedJson {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(self.0)
    }
}

/// The cached JSON of `key` under the current version, else `compute()`'s, stored.
pub async fn cached<T, F, Fut>(kv: &Kv, key: &str, compute: F) -> ApiResult<CachedJson>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let json = |value: &T| {
        serde_json::to_string(value)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("statistics response: {e}")))
    };
    let version = match kv.get(VERSION_KEY).await {
        Ok(v) => v.unwrap_or_else(|| "0".into()),
        Err(e) => {
            tracing::warn!(error = %e, "statistics cache unavailable");
            return Ok(CachedJson(json(&compute().await?)?));
        }
    };
    let full = format!("stats:{version}:{key}");
    if let Ok(Some(hit)) = kv.get(&full).await {
        return Ok(CachedJson(hit));
    }
    let body = json(&compute().await?)?;
    if let Err(e) = kv.set(&full, &body, Some(ENTRY_TTL)).await {
        tracing::warn!(error = %e, "cannot cache statistics");
    }
    Ok(CachedJson(body))
}
