//! HTTP route of the live check-in board (Server-Sent Events), for the occurrence's
//! organizers; see [`super::live`].

use actix_web::http::header::{CACHE_CONTROL, CONTENT_ENCODING, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use futures_util::stream;
use tokio::sync::mpsc;

use super::access;
use super::live::{self, Hub};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::orgs::access::Right;
use crate::state::AppState;

/// The live check-in board of an occurrence, as Server-Sent Events (`text/event-stream`),
/// for its organizers: first `event: snapshot` (data: `LiveSnapshot`, every invitee with
/// their record and the counts), then `event: change` (data: `LiveChange`) for each
/// check-in, leave decision, proxy record, correction or close as it happens — on whichever
/// instance it happened — with the member's record and the running counts, and a
/// `: heartbeat` comment line when nothing happens (`DANGKE_LIVE_HEARTBEAT`, 15 s). Every
/// event carries `id:` (the change's number); reconnecting with `Last-Event-ID` sends the
/// changes after it from the database (a snapshot when it is unknown or too old). The
/// stream ends when the caller may no longer operate the occurrence.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(
    ("id" = i64, Path),
    ("Last-Event-ID" = Option<String>, Header, description = "the `id` of the last event received: resume after it"),
), responses(
    (status = 200, content_type = "text/event-stream", body = String, description = "events `snapshot` (LiveSnapshot) and `change` (LiveChange), heartbeat comments"),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 503, body = Problem, description = "service_unavailable: this instance serves as many boards as it may"),
))]
#[get("/occurrences/{id}/live")]
pub async fn get_live_board(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    // Checked before the stream starts, so a stranger gets 404 and not an empty stream.
    state
        .db
        .read(move |c| access::occurrence(c, caller.user_id, id, Right::Operate).map(|_| ()))
        .await?;
    let after = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0);
    let seat = Hub::seat(&state).ok_or_else(|| ApiError::new(ErrorCode::ServiceUnavailable))?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(live::stream(seat, caller.user_id, id, after, tx));
    let body = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, actix_web::Error>(b), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        // Sent as written: neither compressed here (which buffers) nor by a proxy.
        .insert_header((CONTENT_ENCODING, HeaderValue::from_static("identity")))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
