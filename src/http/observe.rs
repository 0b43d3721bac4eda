//! The outermost middleware: request id, tracing span, access log, metrics, the language
//! of error bodies, and logging the cause of every 5xx (whose body stays opaque).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::error::ApiError;
use crate::http::lang::Lang;
use crate::state::AppState;

/// The request id header, accepted from the caller (if sane) and always echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of the current request, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Takes a well-formed incoming id (1–64 of `[A-Za-z0-9._-]`) or makes a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let lang = Lang::from_headers(req.headers());
    let method = req.method().as_str().to_owned();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());

    let res = next.call(req).instrument(span.clone()).await?;
    let mut res = res.map_into_boxed_body();

    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    if let Some(api_error) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
    {
        if res.status().is_server_error() {
            span.in_scope(
                || tracing::error!(code = %api_error.code, error = ?api_error, "request failed"),
            );
        }
        if lang != Lang::Zh {
            let rendered = api_error.render(lang);
            res = res.into_response(rendered);
        }
    } else if let Some(err) = res.response().error() {
        span.in_scope(|| tracing::error!(error = %err, "request failed outside ApiError"));
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(m) = metrics {
        m.observe(&route, &method, status, seconds);
    }
    span.in_scope(
        || tracing::info!(route = %route, status, latency_ms = seconds * 1000.0, "request"),
    );
    Ok(res)
}
