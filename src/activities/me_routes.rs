//! HTTP routes of a member's own calendar: my activities with my status, and the personal
//! iCalendar feed with its revocable token.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::calendar;
use super::materialize;
use super::model::{CalendarTokenView, MyActivities};
use super::schedule_routes::DateRange;
use super::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::text::Code;
use crate::state::AppState;

/// My activities between two dates (in my home org's zone; default the next 60 days):
/// every occurrence I am invited to, with my attendance and leave. Sends an `ETag`.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(DateRange), responses(
    (status = 200, body = MyActivities), (status = 304, description = "unchanged (If-None-Match)"), (status = 401, body = Problem),
))]
#[get("/me/activities")]
pub async fn list_my_activities(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    range: web::Query<DateRange>,
) -> ApiResult<HttpResponse> {
    let range = range.into_inner();
    let user_id = caller.user_id;
    let now = state.clock.now();
    let orgs = state
        .db
        .read(move |c| views::my_org_ids(c, user_id))
        .await?;
    materialize::ensure_horizon(&state, orgs, now).await?;
    let res = state
        .db
        .read(move |c| {
            let tz = views::my_zone(c, user_id)?;
            let today = now.with_timezone(&tz).date_naive();
            let (from, to, start, end) = views::day_range(tz, range.from, range.to, today, 60)?;
            Ok(MyActivities {
                from,
                to,
                items: views::my_calendar(c, user_id, start, end)?,
            })
        })
        .await?;
    crate::http::etag::json(&req, &res)
}

/// Create (or rotate) my calendar subscription token. The old URL stops working.
#[utoipa::path(tag = "activities", security(("bearer" = [])), responses(
    (status = 201, body = CalendarTokenView), (status = 401, body = Problem),
))]
#[post("/me/calendar-token")]
pub async fn create_calendar_token(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let token = state
        .db
        .write(move |c| calendar::issue(c, now.naive_utc(), caller.user_id))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(CalendarTokenView {
            path: calendar::feed_path(&token),
            token,
            created_at: now,
        }))
}

/// Revoke my calendar subscription token: the feed URL answers 404 from now on.
#[utoipa::path(tag = "activities", security(("bearer" = [])), responses(
    (status = 204, description = "revoked (or there was none)"), (status = 401, body = Problem),
))]
#[delete("/me/calendar-token")]
pub async fn revoke_calendar_token(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    state
        .db
        .write(move |c| calendar::revoke(c, caller.user_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The token from `POST /v1/me/calendar-token`.
    pub token: Code,
}

/// My iCalendar feed, for phone calendars to subscribe to (no bearer token: the token in
/// the URL is the credential). Unknown or revoked tokens get 404.
#[utoipa::path(tag = "activities", params(FeedQuery), responses(
    (status = 200, content_type = "text/calendar", body = String), (status = 404, body = Problem),
))]
#[get("/me/calendar.ics")]
pub async fn get_my_calendar(
    state: web::Data<AppState>,
    q: web::Query<FeedQuery>,
) -> ApiResult<HttpResponse> {
    let token = q.into_inner().token;
    let now = state.clock.now();
    let user_id = state
        .db
        .read(move |c| calendar::user_of(c, &token))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let orgs = state
        .db
        .read(move |c| views::my_org_ids(c, user_id))
        .await?;
    materialize::ensure_horizon(&state, orgs, now).await?;
    let body = state
        .db
        .read(move |c| calendar::feed(c, user_id, now))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("cache-control", "private, max-age=300"))
        .body(body))
}
