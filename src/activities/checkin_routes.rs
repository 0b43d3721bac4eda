//! HTTP routes of check-in and attendance: the organizer opens and closes check-in and
//! shows the rotating code; a member checks in; the organizer lists attendance, records
//! proxy attendance and corrects records.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::Duration;

use super::access;
use super::attendance;
use super::checkin::{self, Prepared};
use super::model::{
    AttendanceList, CheckinCodeView, CheckinRequest, CheckinResult, CorrectionRequest,
    OccurrenceView, ProxyRequest,
};
use super::session::{self, CloseSummary};
use super::views;
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey, JsonReply};
use crate::orgs::access::Right;
use crate::state::AppState;

/// Open check-in (from two hours before the start). Invitees are frozen once it starts.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = OccurrenceView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "checkin_not_open (too early) / attendance_final / occurrence_cancelled"),
))]
#[post("/occurrences/{id}/checkin/open")]
pub async fn open_checkin(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<OccurrenceView>> {
    let id = id.into_inner();
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let mut ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            if session::open(c, now, &mut ctx)? {
                audit::record(
                    c,
                    now.naive_utc(),
                    &caller.actor(),
                    "checkin_opened",
                    &Target::new("occurrence", id).in_org(ctx.org.id),
                    serde_json::json!({}),
                )?;
            }
            let occ = access::find_occurrence(c, id)?;
            views::occurrence_view_of(c, &occ, &ctx.activity)
        })
        .await?;
    Ok(web::Json(view))
}

/// Close check-in: attendance becomes final (changed only by corrections); invitees
/// without a record are absent; attendance credit is booked.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = CloseSummary), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "not started yet / occurrence_cancelled"),
))]
#[post("/occurrences/{id}/checkin/close")]
pub async fn close_checkin(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<CloseSummary>> {
    let id = id.into_inner();
    let now = state.clock.now();
    let summary = state
        .db
        .write(move |c| {
            let mut ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let summary = session::close(c, now, &mut ctx)?;
            if !summary.already_closed {
                audit::record(
                    c,
                    now.naive_utc(),
                    &caller.actor(),
                    "checkin_closed",
                    &Target::new("occurrence", id).in_org(ctx.org.id),
                    &summary,
                )?;
            }
            Ok(summary)
        })
        .await?;
    if !summary.already_closed {
        super::live::announce(&state, id).await;
    }
    Ok(web::Json(summary))
}

/// The current check-in code and QR payload, for the organizer's screen (poll it before
/// `valid_until`).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = CheckinCodeView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "checkin_not_open"),
))]
#[get("/occurrences/{id}/checkin/code")]
pub async fn get_checkin_code(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now();
    let settings = session::code_settings(&state);
    let view = state
        .db
        .read(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            session::current_code(&ctx, &settings, now)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(view))
}

/// Check in with the code shown at the meeting (and the phone's location when the
/// activity has one). Always for the caller; checking in again returns the first record
/// (`already: true`). Attempts are rate-limited per member. Send an `Idempotency-Key` when
/// retrying.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = CheckinRequest, responses(
    (status = 200, body = CheckinResult), (status = 403, body = Problem, description = "not_invited"), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "checkin_not_open / occurrence_cancelled"),
    (status = 422, body = Problem, description = "checkin_code_invalid / checkin_out_of_range / validation_failed"),
    (status = 429, body = Problem),
))]
#[post("/occurrences/{id}/checkin")]
pub async fn check_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<CheckinRequest>,
) -> ApiResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let user_id = caller.user_id;
    crate::http::ratelimit::enforce(
        &state.kv,
        "checkin",
        &user_id.to_string(),
        state.config.checkin_rate,
    )
    .await?;
    let settings = session::code_settings(&state);
    let grace =
        Duration::from_std(state.config.checkin_late_grace).unwrap_or(Duration::minutes(10));
    let now = state.clock.now();
    let db = state.db.clone();
    let reply = idempotency::run(&state, &req, user_id, key, move |scope| async move {
        let prepared = db
            .read(move |c| checkin::prepare(c, &settings, grace, now, user_id, id, &body))
            .await?;
        if let (Prepared::Already(result), None) = (&prepared, &scope) {
            return JsonReply::ok(result);
        }
        db.write(move |c| {
            let result = checkin::apply(c, now, user_id, prepared)?;
            JsonReply::ok(&result)?.completing(c, scope.as_ref())
        })
        .await
    })
    .await?;
    if reply.status().is_success() {
        super::live::announce(&state, id).await;
    }
    Ok(reply)
}

/// Every invitee with their attendance and leave, and the counts.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = AttendanceList), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/occurrences/{id}/attendance")]
pub async fn list_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<AttendanceList>> {
    let id = id.into_inner();
    let list = state
        .db
        .read(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            attendance::list(c, &ctx)
        })
        .await?;
    Ok(web::Json(list))
}

/// Record a member as attending by proxy (no phone, elderly, …), with a reason, before
/// check-in closes. Audited.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ProxyRequest, responses(
    (status = 200, body = AttendanceList), (status = 403, body = Problem, description = "forbidden / not_invited"), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "attendance_final / checked in already"), (status = 422, body = Problem),
))]
#[post("/occurrences/{id}/proxy")]
pub async fn record_proxy_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<ProxyRequest>,
) -> ApiResult<web::Json<AttendanceList>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let list = state
        .db
        .write(move |c| {
            let mut ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let before = attendance::record_proxy(c, now, &mut ctx, caller.user_id, req.user_id, &req.reason)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "attendance_proxy",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"user_id": req.user_id, "reason": req.reason.trim(), "before": before}),
            )?;
            attendance::list(c, &ctx)
        })
        .await?;
    super::live::announce(&state, id).await;
    Ok(web::Json(list))
}

/// Correct one member's attendance, with a reason (the only way to change it after
/// check-in closes). Audited; the attendance credit follows.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = CorrectionRequest, responses(
    (status = 200, body = AttendanceList), (status = 403, body = Problem, description = "forbidden / not_invited"), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 422, body = Problem),
))]
#[put("/occurrences/{id}/attendance/{user_id}")]
pub async fn correct_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
    body: ApiJson<CorrectionRequest>,
) -> ApiResult<web::Json<AttendanceList>> {
    let ((id, user_id), req) = (path.into_inner(), body.into_inner());
    let now = state.clock.now();
    let list = state
        .db
        .write(move |c| {
            let mut ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let before = attendance::correct(c, now, &mut ctx, caller.user_id, user_id, req.status, &req.reason)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "attendance_corrected",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"user_id": user_id, "before": before, "after": req.status, "reason": req.reason.trim()}),
            )?;
            attendance::list(c, &ctx)
        })
        .await?;
    super::live::announce(&state, id).await;
    Ok(web::Json(list))
}
