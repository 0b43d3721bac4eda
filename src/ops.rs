//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves.
    pub status: &'static str,
}

/// Whether this instance should get traffic.
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// Everything it uses answers.
    Ready,
    /// Serving without Redis (configured but not answering): rate limits are counted per
    /// instance, caches are bypassed, live boards poll the database. Recovers by itself.
    Degraded,
    /// The database does not answer.
    Unready,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: ReadyStatus,
    /// `ok` or `unreachable`.
    pub database: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// `ok`, `degraded` (configured but not answering) or `memory` (no Redis configured).
    pub redis: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn get_healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: 503 when the database does not answer; a Redis outage only degrades (200,
/// `status: degraded`), so instances stay in the load balancer.
#[utoipa::path(tag = "ops", responses(
    (status = 200, body = Readiness, description = "ready, or degraded (Redis unreachable)"),
    (status = 503, body = Readiness, description = "the database is unreachable"),
))]
#[get("/readyz")]
pub async fn get_readyz(state: web::Data<AppState>) -> HttpResponse {
    let db_ok = state.db.ping(Duration::from_secs(2)).await.is_ok();
    let redis = match &state.kv {
        crate::kv::Kv::Memory(_) => "memory",
        kv => match tokio::time::timeout(Duration::from_secs(2), kv.ping()).await {
            Ok(Ok(())) => "ok",
            _ => "degraded",
        },
    };
    let status = match (db_ok, redis) {
        (false, _) => ReadyStatus::Unready,
        (true, "degraded") => ReadyStatus::Degraded,
        (true, _) => ReadyStatus::Ready,
    };
    let body = Readiness {
        status,
        database: if db_ok { "ok" } else { "unreachable" },
        backend: state.db.backend().name(),
        redis,
    };
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics (text exposition format), for the scraper holding
/// `DANGKE_METRICS_TOKEN` as a bearer token. Without that setting metrics are not served.
#[utoipa::path(tag = "ops", security(("metrics_token" = [])), responses(
    (status = 200, content_type = "text/plain", body = String),
    (status = 401, body = Problem, content_type = "application/problem+json", description = "token_missing / token_invalid"),
    (status = 404, body = Problem, content_type = "application/problem+json", description = "not_found: DANGKE_METRICS_TOKEN is not set"),
))]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let Some(expected) = state.config.metrics_token.as_ref() else {
        return Err(ApiError::not_found());
    };
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::new(ErrorCode::TokenMissing))?;
    // Compared as digests: how long the comparison takes says nothing about the token.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.expose().as_bytes()) {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    // The change queue's backlog is read from the database at scrape time; a failure to
    // read it leaves the last values and is logged, the rest is still served.
    if let Err(e) = state
        .changes
        .observe_backlog(&state.db, state.clock.now_naive())
        .await
    {
        tracing::warn!(error = %e, "cannot read the change queue backlog");
    }
    if let Err(e) = state
        .push
        .instruments
        .observe(&state.db, state.clock.now_naive())
        .await
    {
        tracing::warn!(error = %e, "cannot read the push outbox");
    }
    let mut text = state.metrics.render();
    text.push_str(&database_counters(&state.db));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// The database's own counters (statements sent, group commits), in the exposition format.
fn database_counters(db: &crate::db::Db) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let g = db.group_stats();
    let mut out = String::new();
    for (name, help, value) in [
        (
            "dangke_db_statements_total",
            "Statements sent to the database.",
            db.statements(),
        ),
        (
            "dangke_db_group_commits_total",
            "Transactions committed holding more than one grouped write (progress sync).",
            g.groups.load(Relaxed),
        ),
        (
            "dangke_db_grouped_writes_total",
            "Writes committed in those shared transactions.",
            g.grouped_jobs.load(Relaxed),
        ),
        (
            "dangke_db_group_splits_total",
            "Groups rolled back and run again one write at a time.",
            g.split.load(Relaxed),
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    let r = db.replica_reads();
    out.push_str(
        "# HELP dangke_db_replica_choices_total Statistics reads by where they went: the read replica (caught up), or the primary because the replica lagged or was unreachable.\n# TYPE dangke_db_replica_choices_total counter\n",
    );
    for (outcome, value) in [
        ("replica", r.replica.load(Relaxed)),
        ("lagging", r.lagging.load(Relaxed)),
        ("unavailable", r.unavailable.load(Relaxed)),
    ] {
        out.push_str(&format!(
            "dangke_db_replica_choices_total{{outcome=\"{outcome}\"}} {value}\n"
        ));
    }
    out
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "application/json", body = Object)))]
#[get("/openapi.json")]
pub async fn get_openapi(spec: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.clone())
}

/// The serialized document, built once at start-up.
pub struct OpenApiJson(pub String);

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_healthz)
        .service(get_readyz)
        .service(get_metrics)
        .service(get_openapi);
}
