//! Idempotency keys: a write sent with `Idempotency-Key` runs once; a replay returns the
//! saved status and body.
//!
//! Keys are scoped to (user id, method, route pattern, key) and remember a hash of the
//! request body: the same key with a different body is 409 `idempotency_key_reused`, a
//! repeat while the first request runs is 409 `idempotency_in_progress`. Results with 2xx
//! and 4xx statuses are kept for 24 hours; 5xx results are not kept, so a retry runs again.
//! A feature can save its result inside its own transaction with [`complete`], so a crash
//! between the write and the save cannot make a retry run the write twice.

use std::future::Future;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::schema::idempotency_keys as ik;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::lang::Lang;
use crate::state::AppState;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a response that is a replay of a saved one.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long a saved result is kept.
pub const TTL_HOURS: i64 = 24;
/// An `in_progress` claim older than this is considered abandoned (the process died).
const STALE_SECONDS: i64 = 120;

/// SHA-256 of the request body, left in request extensions by the body extractors.
#[derive(Debug, Clone)]
pub struct BodyHash(pub String);

/// The validated `Idempotency-Key` header, if sent.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req.headers().get(HEADER).map(|v| {
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|s| {
                    !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (0x21..0x7f).contains(&b))
                })
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidHeader).with_detail(
                        "Idempotency-Key 应为 1 到 255 个可见 ASCII 字符（建议使用 UUID）",
                        "Idempotency-Key must be 1-255 visible ASCII characters (a UUID is best)",
                    )
                })
        });
        std::future::ready(match value {
            None => Ok(IdempotencyKey(None)),
            Some(Ok(k)) => Ok(IdempotencyKey(Some(k))),
            Some(Err(e)) => Err(e),
        })
    }
}

/// A JSON result: status and body.
#[derive(Debug, Clone)]
pub struct JsonReply {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl JsonReply {
    pub fn new(status: StatusCode, body: impl Serialize) -> ApiResult<JsonReply> {
        Ok(JsonReply {
            status,
            body: serde_json::to_value(body).map_err(ApiError::internal)?,
        })
    }

    pub fn ok(body: impl Serialize) -> ApiResult<JsonReply> {
        JsonReply::new(StatusCode::OK, body)
    }

    /// Stores this reply as the answer to the request's key, if it has one (in the
    /// transaction that made it), and hands it on.
    pub fn completing(
        self,
        conn: &mut DbConnection,
        scope: Option<&Scope>,
    ) -> ApiResult<JsonReply> {
        if let Some(scope) = scope {
            complete(
                conn,
                scope,
                self.status,
                "application/json",
                &self.body.to_string(),
            )?;
        }
        Ok(self)
    }

    pub fn into_response(self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body)
    }
}

/// Where a key lives: the row's primary key.
#[derive(Debug, Clone)]
pub struct Scope {
    pub user_id: i64,
    pub method: String,
    pub route: String,
    pub key: String,
}

enum Claim {
    /// We own the key now: run the request.
    Run,
    /// A saved result to replay.
    Replay {
        status: i32,
        content_type: String,
        body: String,
    },
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ik)]
struct SavedRow {
    request_hash: String,
    state: String,
    status: Option<i32>,
    content_type: Option<String>,
    body: Option<String>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

fn claim(
    conn: &mut DbConnection,
    scope: &Scope,
    hash: &str,
    now: NaiveDateTime,
) -> ApiResult<Claim> {
    let row: Option<SavedRow> = ik::table
        .find((scope.user_id, &scope.method, &scope.route, &scope.key))
        .select(SavedRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(row) = row {
        if row.expires_at > now {
            if row.request_hash != hash {
                return Err(ApiError::new(ErrorCode::IdempotencyKeyReused));
            }
            if row.state == "completed" {
                return Ok(Claim::Replay {
                    status: row.status.unwrap_or(200),
                    content_type: row
                        .content_type
                        .unwrap_or_else(|| "application/json".into()),
                    body: row.body.unwrap_or_default(),
                });
            }
            if now - row.created_at < Duration::seconds(STALE_SECONDS) {
                return Err(ApiError::new(ErrorCode::IdempotencyInProgress));
            }
        }
        diesel::delete(ik::table.find((scope.user_id, &scope.method, &scope.route, &scope.key)))
            .execute(conn)?;
    }
    let inserted = crate::with_backend!(conn, |c| diesel::insert_into(ik::table)
        .values((
            ik::user_id.eq(scope.user_id),
            ik::method.eq(&scope.method),
            ik::route.eq(&scope.route),
            ik::key.eq(&scope.key),
            ik::request_hash.eq(hash),
            ik::state.eq("in_progress"),
            ik::created_at.eq(now),
            ik::expires_at.eq(now + Duration::hours(TTL_HOURS)),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 0 {
        // Another request claimed it between our read and insert.
        return Err(ApiError::new(ErrorCode::IdempotencyInProgress));
    }
    Ok(Claim::Run)
}

/// Saves the result for `scope` (call it inside the feature's own transaction to make the
/// write and the saved result atomic).
pub fn complete(
    conn: &mut DbConnection,
    scope: &Scope,
    status: StatusCode,
    content_type: &str,
    body: &str,
) -> ApiResult<()> {
    diesel::update(ik::table.find((scope.user_id, &scope.method, &scope.route, &scope.key)))
        .set((
            ik::state.eq("completed"),
            ik::status.eq(i32::from(status.as_u16())),
            ik::content_type.eq(content_type),
            ik::body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

fn release(conn: &mut DbConnection, scope: &Scope) -> ApiResult<()> {
    diesel::delete(
        ik::table
            .find((scope.user_id, &scope.method, &scope.route, &scope.key))
            .filter(ik::state.eq("in_progress")),
    )
    .execute(conn)?;
    Ok(())
}

fn replay(status: i32, content_type: &str, body: String) -> HttpResponse {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, content_type.to_string()))
        .insert_header((REPLAYED, "true"))
        .body(body)
}

/// Runs `work` at most once per key. Without a key it simply runs. `work` receives the
/// scope (when there is a key) so it may call [`complete`] in its own transaction.
pub async fn run<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    user_id: i64,
    key: IdempotencyKey,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(Option<Scope>) -> Fut,
    Fut: Future<Output = ApiResult<JsonReply>>,
{
    let Some(key) = key.0 else {
        return work(None).await.map(JsonReply::into_response);
    };
    let scope = Scope {
        user_id,
        method: req.method().as_str().to_string(),
        route: req
            .match_pattern()
            .unwrap_or_else(|| req.path().to_string()),
        key,
    };
    let hash = req
        .extensions()
        .get::<BodyHash>()
        .map(|h| h.0.clone())
        .unwrap_or_default();
    let now = state.clock.now_naive();
    let s = scope.clone();
    match state.db.write(move |c| claim(c, &s, &hash, now)).await? {
        Claim::Replay {
            status,
            content_type,
            body,
        } => return Ok(replay(status, &content_type, body)),
        Claim::Run => {}
    }
    let result = work(Some(scope.clone())).await;
    let lang = Lang::from_headers(req.headers());
    let s = scope.clone();
    let saved = match &result {
        Ok(reply) => {
            let body = reply.body.to_string();
            let status = reply.status;
            state
                .db
                .write(move |c| {
                    // Completed already if the feature saved it in its own transaction.
                    let pending = ik::table
                        .find((s.user_id, &s.method, &s.route, &s.key))
                        .select(ik::state)
                        .first::<String>(c)
                        .optional()?;
                    if pending.as_deref() == Some("in_progress") {
                        complete(c, &s, status, "application/json", &body)?;
                    }
                    Ok(())
                })
                .await
        }
        Err(e) if e.code.status().is_client_error() => {
            let body = serde_json::to_string(&e.problem(lang)).unwrap_or_default();
            let status = e.code.status();
            state
                .db
                .write(move |c| complete(c, &s, status, "application/problem+json", &body))
                .await
        }
        Err(_) => state.db.write(move |c| release(c, &s)).await,
    };
    if let Err(e) = saved {
        tracing::error!(error = ?e, "could not save the idempotent result");
    }
    result.map(JsonReply::into_response)
}

/// [`run`] for the common case: one write transaction makes the answer (its status and
/// body) and saves it under the key, so a crash cannot separate the write from its saved
/// answer.
pub async fn write_once<T, F>(
    state: &AppState,
    req: &HttpRequest,
    user_id: i64,
    key: IdempotencyKey,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<(StatusCode, T)> + Send + 'static,
    T: Serialize,
{
    let db = state.db.clone();
    run(state, req, user_id, key, move |scope| async move {
        db.write(move |c| {
            let (status, body) = work(c)?;
            JsonReply::new(status, body)?.completing(c, scope.as_ref())
        })
        .await
    })
    .await
}

/// Deletes expired keys; returns how many.
pub fn purge_expired(conn: &mut DbConnection, now: NaiveDateTime) -> ApiResult<usize> {
    Ok(diesel::delete(ik::table.filter(ik::expires_at.le(now))).execute(conn)?)
}

/// The hash stored for a body.
pub fn hash_body(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Records the body hash on the request (called by body extractors).
pub fn remember_body(req: &HttpRequest, bytes: &[u8]) {
    req.extensions_mut().insert(BodyHash(hash_body(bytes)));
}
