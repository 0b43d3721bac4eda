//! HTTP routes of activities: schedule, list, read, edit and cancel a series, and list its
//! occurrences.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::access;
use super::materialize;
use super::model::{
    Activity, ActivityDetail, ActivityView, CancelRequest, CreateActivityRequest, OccurrenceView,
    UpdateActivityRequest,
};
use super::schedule::{self, Fields};
use super::views;
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::db::schema::{activities, activity_occurrences as ao};
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::http::pagination::{Page, PageParams};
use crate::orgs::access::{Right, authorize};
use crate::state::AppState;

/// An activity with its next five occurrences.
fn detail(conn: &mut DbConnection, a: &Activity, now: DateTime<Utc>) -> ApiResult<ActivityDetail> {
    let rows: Vec<super::model::Occurrence> = ao::table
        .filter(ao::activity_id.eq(a.id))
        .filter(ao::ends_at.gt(now.naive_utc()))
        .order(ao::starts_at.asc())
        .limit(5)
        .select(super::model::Occurrence::as_select())
        .load(conn)?;
    let upcoming: Vec<OccurrenceView> = views::occurrence_views(conn, &rows, a)?;
    Ok(ActivityDetail {
        activity: views::activity_view(a)?,
        upcoming,
    })
}

/// Schedule an activity on an org: a one-off, or a series with an RRULE (local start in
/// the org's zone). Occurrences are created a year ahead. Committee meetings invite the
/// committee role holders; party group meetings are scheduled on the group; other kinds
/// invite the members of the org and the orgs below it. Send an `Idempotency-Key`: a
/// retry returns the same activity instead of scheduling it twice.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = CreateActivityRequest, responses(
    (status = 201, body = ActivityDetail), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/orgs/{id}/activities")]
pub async fn create_activity(
    state: web::Data<AppState>,
    http: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<CreateActivityRequest>,
) -> ApiResult<HttpResponse> {
    let (org_id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let default_days = (state.config.makeup_window.as_secs() / 86_400) as i32;
    idempotency::write_once(&state, &http, caller.user_id, key, move |c| {
        let (org, _) = authorize(c, caller.user_id, org_id, Right::Operate)?;
        let fields = Fields::from_create(&req, default_days);
        let activity = schedule::create(c, now, &org, caller.user_id, &fields)?;
        audit::record(
            c,
            now.naive_utc(),
            &caller.actor(),
            "activity_scheduled",
            &Target::new("activity", activity.id).in_org(org.id),
            serde_json::json!({"kind": activity.kind, "title": activity.title, "rrule": activity.rrule,
                               "start_local": activity.dtstart_local, "time_zone": activity.time_zone}),
        )?;
        let view = detail(c, &activity, now)?;
        Ok((StatusCode::CREATED, view))
    })
    .await
}

/// Activities scheduled on an org, newest first.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), PageParams), responses(
    (status = 200, body = Page<ActivityView>), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/activities")]
pub async fn list_org_activities(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<ActivityView>>> {
    let (org_id, page) = (id.into_inner(), page.into_inner());
    let res = state
        .db
        .read(move |c| {
            authorize(c, caller.user_id, org_id, Right::Operate)?;
            let limit = page.limit()?;
            let mut q = activities::table
                .filter(activities::org_id.eq(org_id))
                .order(activities::id.desc())
                .limit(limit + 1)
                .select(Activity::as_select())
                .into_boxed();
            if let Some(before) = page.after::<i64>()? {
                q = q.filter(activities::id.lt(before));
            }
            let rows: Vec<Activity> = q.load(c)?;
            let page = Page::from_rows(rows, limit, |a| a.id);
            Ok(Page {
                items: page
                    .items
                    .iter()
                    .map(views::activity_view)
                    .collect::<ApiResult<_>>()?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(res))
}

/// An activity with its next occurrences (members of the org and below may read it).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = ActivityDetail), (status = 404, body = Problem),
))]
#[get("/activities/{id}")]
pub async fn get_activity(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<ActivityDetail>> {
    let id = id.into_inner();
    let now = state.clock.now();
    let res = state
        .db
        .read(move |c| {
            let ctx = access::activity(c, caller.user_id, id, Right::View)?;
            detail(c, &ctx.activity, now)
        })
        .await?;
    Ok(web::Json(res))
}

/// Edit an activity. A series is regenerated from now on: occurrences already held,
/// moved or cancelled on their own, or past are left as they are.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateActivityRequest, responses(
    (status = 200, body = ActivityDetail), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "the series was cancelled"), (status = 422, body = Problem),
))]
#[patch("/activities/{id}")]
pub async fn update_activity(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateActivityRequest>,
) -> ApiResult<web::Json<ActivityDetail>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let res = state
        .db
        .write(move |c| {
            let ctx = access::activity(c, caller.user_id, id, Right::Operate)?;
            let (updated, regenerated) = schedule::update(c, now, &ctx.org, caller.user_id, &ctx.activity, &req)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "activity_updated",
                &Target::new("activity", id).in_org(ctx.org.id),
                serde_json::json!({"rrule": updated.rrule,
                                   "start_local": updated.dtstart_local, "occurrences": regenerated}),
            )?;
            detail(c, &updated, now)
        })
        .await?;
    Ok(web::Json(res))
}

/// Cancel a series: it ends, and its coming occurrences not yet held are cancelled.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CancelRequest, responses(
    (status = 200, body = ActivityDetail), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/activities/{id}/cancel")]
pub async fn cancel_activity(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<CancelRequest>,
) -> ApiResult<web::Json<ActivityDetail>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let res = state
        .db
        .write(move |c| {
            let ctx = access::activity(c, caller.user_id, id, Right::Operate)?;
            let cancelled = schedule::cancel_series(c, now, &ctx.activity, req.reason.as_deref())?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "activity_cancelled",
                &Target::new("activity", id).in_org(ctx.org.id),
                serde_json::json!({"reason": req.reason, "occurrences_cancelled": cancelled}),
            )?;
            let a = access::find_activity(c, id)?;
            detail(c, &a, now)
        })
        .await?;
    Ok(web::Json(res))
}

/// A range of dates, read in the zone of what is listed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateRange {
    /// First day (`YYYY-MM-DD`, default today).
    pub from: Option<chrono::NaiveDate>,
    /// Last day, included (default: a year after `from`; at most 400 days).
    pub to: Option<chrono::NaiveDate>,
}

/// The occurrences of an activity between two dates (in the activity's zone).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), DateRange), responses(
    (status = 200, body = Vec<OccurrenceView>), (status = 304, description = "unchanged (If-None-Match)"), (status = 404, body = Problem),
))]
#[get("/activities/{id}/occurrences")]
pub async fn list_activity_occurrences(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
    range: web::Query<DateRange>,
) -> ApiResult<HttpResponse> {
    let (id, range) = (id.into_inner(), range.into_inner());
    let now = state.clock.now();
    let org_id = state
        .db
        .read(move |c| {
            Ok(access::activity(c, caller.user_id, id, Right::View)?
                .activity
                .org_id)
        })
        .await?;
    materialize::ensure_horizon(&state, vec![org_id], now).await?;
    let list = state
        .db
        .read(move |c| {
            let a = access::find_activity(c, id)?;
            let today = now.with_timezone(&a.tz()).date_naive();
            let (_, _, from, to) = views::day_range(a.tz(), range.from, range.to, today, 365)?;
            views::occurrences_of(c, &a, from.and_utc(), to.and_utc())
        })
        .await?;
    crate::http::etag::json(&req, &list)
}
