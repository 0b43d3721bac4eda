//! HTTP routes of leave: a member asks, the organizer lists and decides.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::access;
use super::leave;
use super::model::{CheckinState, LeaveDecisionRequest, LeaveRequest, LeaveView};
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::orgs::access::Right;
use crate::state::AppState;

/// Ask for leave from an occurrence, before it starts, with a reason. A request already
/// pending or approved is returned as it is (200); after a rejection one may ask again.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = LeaveRequest, responses(
    (status = 201, body = LeaveView), (status = 200, body = LeaveView, description = "asked before"),
    (status = 403, body = Problem, description = "not_invited"), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "leave_too_late / occurrence_cancelled / checked in already"), (status = 422, body = Problem),
))]
#[post("/occurrences/{id}/leave")]
pub async fn ask_leave(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<LeaveRequest>,
) -> ApiResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let user_id = caller.user_id;
    let now = state.clock.now();
    idempotency::write_once(&state, &req, user_id, key, move |c| {
        let ctx = access::occurrence(c, user_id, id, Right::View)?;
        let (view, created) = leave::ask(c, now, &ctx, user_id, &body.reason)?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, view))
    })
    .await
}

/// The leave requests of an occurrence.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<LeaveView>), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/occurrences/{id}/leaves")]
pub async fn list_leaves(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<LeaveView>>> {
    let id = id.into_inner();
    let list = state
        .db
        .read(move |c| {
            access::occurrence(c, caller.user_id, id, Right::Operate)?;
            leave::list(c, id)
        })
        .await?;
    Ok(web::Json(list))
}

/// Approve or reject a leave request: any request until check-in closes; one still pending
/// at close, afterwards too (approving turns the member's `absent` into `leave`, rejecting
/// keeps it). Audited, with whether it came after close.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = LeaveDecisionRequest, responses(
    (status = 200, body = LeaveView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "attendance_final (decided already, and check-in closed) / occurrence_cancelled"), (status = 422, body = Problem),
))]
#[post("/leaves/{id}/decision")]
pub async fn decide_leave(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<LeaveDecisionRequest>,
) -> ApiResult<web::Json<LeaveView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let row = leave::find(c, id)?;
            let ctx = access::occurrence(c, caller.user_id, row.occurrence_id, Right::Operate)?;
            let after_close = ctx.occ.checkin() == CheckinState::Closed;
            let view = leave::decide(c, now, &ctx, &row, caller.user_id, req.approve, req.note.as_deref())?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                if req.approve { "leave_approved" } else { "leave_rejected" },
                &Target::new("leave", id).in_org(ctx.org.id),
                serde_json::json!({"occurrence_id": row.occurrence_id, "user_id": row.user_id, "note": req.note, "after_close": after_close}),
            )?;
            Ok((view, row.occurrence_id))
        })
        .await?;
    super::live::announce(&state, view.1).await;
    Ok(web::Json(view.0))
}
