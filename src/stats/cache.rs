//! Cached statistics responses in kv, keyed on the version of the org they are about
//! ([`super::versions`]): the statistics consumer bumps an org's version, in the
//! transaction that applies a change touching its figures, for the org and its ancestors.
//! A read first applies pending changes and reads the version ([`super::apply::fresh_version`]),
//! so a check-in or a completion is visible on the next read on every instance sharing
//! Redis, while a check-in in one village leaves every other township's cached dashboard
//! a hit.
//!
//! When kv is unreachable, reads are computed uncached and the failure is logged; kv never
//! decides what is current.

use std::future::Future;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A backstop: entries expire even if they are never asked for again.
const ENTRY_TTL: Duration = Duration::from_secs(300);

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

/// The cached JSON of `key` about `org_id` under the org's current version (after applying
/// pending changes), else `compute(db)`'s, stored. `db` reads the read replica when one is
/// configured and has caught up with the primary ([`crate::db::Db::caught_up_replica`]).
pub async fn cached<T, F, Fut>(
    state: &AppState,
    org_id: i64,
    key: &str,
    compute: F,
) -> ApiResult<CachedJson>
where
    T: Serialize,
    F: FnOnce(crate::db::Db) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let json = |value: &T| {
        serde_json::to_string(value)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("statistics response: {e}")))
    };
    let version = super::apply::fresh_version(&state.db, &state.changes, org_id).await?;
    let kv = &state.kv;
    let full = format!("stats:{org_id}:{version}:{key}");
    let count = |outcome| state.metrics.cache_lookup("stats", outcome);
    match kv.get(&full).await {
        Ok(Some(hit)) => {
            count("hit");
            return Ok(CachedJson(hit));
        }
        Ok(None) => count("miss"),
        Err(e) => {
            count("unavailable");
            tracing::warn!(error = %e, "statistics cache unavailable");
            let db = state.db.caught_up_replica().await;
            return Ok(CachedJson(json(&compute(db).await?)?));
        }
    }
    let db = state.db.caught_up_replica().await;
    let body = json(&compute(db).await?)?;
    if let Err(e) = kv.set(&full, &body, Some(ENTRY_TTL)).await {
        tracing::warn!(error = %e, "cannot cache statistics");
    }
    Ok(CachedJson(body))
}
