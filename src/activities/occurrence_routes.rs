//! HTTP routes of one occurrence: read it, move or cancel it alone, write its minutes.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};

use super::access;
use super::exceptions;
use super::minutes;
use super::model::{
    CancelRequest, MinutesRequest, MinutesView, MoveOccurrenceRequest, OccurrenceDetail,
    OccurrenceView,
};
use super::views;
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::orgs::access::Right;
use crate::state::AppState;

/// An occurrence: time and place, agenda, minutes (with signed photo URLs for invitees and
/// organizers), guests, my invitation, status and leave; for organizers also the attendance
/// counts.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = OccurrenceDetail), (status = 304, description = "unchanged (If-None-Match)"), (status = 404, body = Problem),
))]
#[get("/occurrences/{id}")]
pub async fn get_occurrence(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut detail = state
        .db
        .read(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::View)?;
            views::detail(c, &ctx, caller.user_id)
        })
        .await?;
    if (detail.my.invited || detail.can_manage)
        && let Some(m) = detail.minutes.as_mut()
    {
        minutes::sign_photos(m, &state.media, state.clock.now());
    }
    crate::http::etag::json(&req, &detail)
}

/// Move one occurrence to another time (local, in the activity's zone) and optionally
/// another place. The series' later edits leave it where it was moved to.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MoveOccurrenceRequest, responses(
    (status = 200, body = OccurrenceView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "occurrence_held / occurrence_cancelled"), (status = 422, body = Problem),
))]
#[post("/occurrences/{id}/move")]
pub async fn move_occurrence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<MoveOccurrenceRequest>,
) -> ApiResult<web::Json<OccurrenceView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let moved = exceptions::move_one(c, now, &ctx, &req)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "occurrence_moved",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"from": ctx.occ.starts_at.and_utc(), "to": moved.starts_at.and_utc(), "place": moved.place}),
            )?;
            views::occurrence_view_of(c, &moved, &ctx.activity)
        })
        .await?;
    Ok(web::Json(view))
}

/// Cancel one occurrence (calendars receive it as cancelled).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CancelRequest, responses(
    (status = 200, body = OccurrenceView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "occurrence_held"),
))]
#[post("/occurrences/{id}/cancel")]
pub async fn cancel_occurrence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<CancelRequest>,
) -> ApiResult<web::Json<OccurrenceView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let cancelled = exceptions::cancel_one(c, now, &ctx, req.reason.as_deref())?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "occurrence_cancelled",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"reason": req.reason, "starts_at": cancelled.starts_at.and_utc()}),
            )?;
            views::occurrence_view_of(c, &cancelled, &ctx.activity)
        })
        .await?;
    Ok(web::Json(view))
}

/// Write the minutes of a held meeting: text and photo media ids (replaces earlier ones).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MinutesRequest, responses(
    (status = 200, body = MinutesView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "not started yet / occurrence_cancelled"), (status = 422, body = Problem),
))]
#[put("/occurrences/{id}/minutes")]
pub async fn put_minutes(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<MinutesRequest>,
) -> ApiResult<web::Json<MinutesView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let uses = state.media_uses;
    let mut view = state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            // Only photos the organizer may see: an enumerated id of another branch's
            // upload would otherwise become visible through these minutes.
            let scope = crate::orgs::access::Scope::load(c, caller.user_id)?;
            let photos = &req.photo_media_ids;
            crate::media::access::require_usable(c, &scope, uses, "photo_media_ids", photos)?;
            let saved = minutes::save(c, now, &ctx, caller.user_id, &req)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "minutes_saved",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"chars": saved.text.chars().count(), "photos": saved.photo_media_ids}),
            )?;
            Ok(saved)
        })
        .await?;
    minutes::sign_photos(&mut view, &state.media, now);
    Ok(web::Json(view))
}
