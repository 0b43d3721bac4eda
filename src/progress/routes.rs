//! HTTP routes of progress sync and "my year".

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Duration;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{MyYear, SyncRequest, SyncResponse};
use super::study;
use super::sync;
use super::validate::Limits;
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::state::AppState;

/// Sync study events recorded on the phone (1–200 per batch, any order, possibly days
/// late). Each event is applied at most once per `client_event_id`: a replayed batch
/// returns the same results and changes nothing. Impossible events are rejected one by
/// one with a reason; the rest of the batch is applied. One account studies one lesson at
/// a time: an event whose wall-clock span overlaps an event already accepted on another
/// lesson (from any phone, in any earlier batch or earlier in this one) is rejected with
/// `overlaps_other_lesson`, and one event may span at most 4 h of wall-clock time
/// (configurable) or is rejected with `span_too_long`; nothing accepted is taken back.
#[utoipa::path(tag = "progress", security(("bearer" = [])), request_body = SyncRequest, responses(
    (status = 200, body = SyncResponse), (status = 401, body = Problem), (status = 422, body = Problem),
))]
#[post("/progress/sync")]
pub async fn sync_progress(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<SyncRequest>,
) -> ApiResult<web::Json<SyncResponse>> {
    let events = body.into_inner().events;
    let limits = Limits {
        now: state.clock.now(),
        max_age: Duration::from_std(state.config.sync_max_age).unwrap_or(Duration::days(30)),
        future_skew: Duration::minutes(2),
        max_span: Duration::from_std(state.config.study_max_event_span)
            .unwrap_or(Duration::hours(4)),
    };
    let user_id = caller.user_id;
    // Read-only lookups first (a reader connection), then the writes in one transaction.
    let (events, prepared) = state
        .db
        .read(move |c| sync::prepare(c, user_id, &events).map(|p| (events, p)))
        .await?;
    // Group commit: batches queued at the same moment share one transaction; each is
    // answered after it committed.
    let res = state
        .db
        .write_grouped(user_id as u64, move |c| {
            sync::apply(c, &limits, user_id, &events, &prepared)
        })
        .await?;
    Ok(web::Json(res))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StudyQuery {
    /// Calendar year in my home org's zone (default: this year).
    pub year: Option<i32>,
}

/// My year: quota (member or cadre, from my org's settings), earned, remaining, on track
/// (pro-rated by day of year), by month, and required courses still open. Sends an `ETag`;
/// `If-None-Match` gives 304 while nothing changed.
#[utoipa::path(tag = "progress", security(("bearer" = [])), params(StudyQuery), responses(
    (status = 200, body = MyYear), (status = 304, description = "unchanged"),
    (status = 401, body = Problem), (status = 404, body = Problem, description = "not a member"),
))]
#[get("/me/study")]
pub async fn get_my_study(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<StudyQuery>,
) -> ApiResult<HttpResponse> {
    let year = q.year;
    if year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(crate::error::ApiError::new(
            crate::error::ErrorCode::InvalidQuery,
        ));
    }
    let links = crate::courses::links::Links::new(&state, state.clock.now());
    let user_id = caller.user_id;
    let res = state
        .db
        .read(move |c| study::my_year(c, user_id, year, &links))
        .await?;
    crate::http::etag::json(&req, &res)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(sync_progress).service(get_my_study);
}
