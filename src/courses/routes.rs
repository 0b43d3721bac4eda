//! HTTP routes of courses, assignments and my course list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::{self, my_status};
use super::links::Links;
use super::model::{
    AssignRequest, AssignmentView, CourseDetail, CourseKind, CourseStatus, CourseView,
    CreateCourseRequest, MyCourse, MyCourseItem, MyCourseStatus, UpdateCourseRequest,
};
use super::{assignments, authoring};
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::http::pagination::{Page, PageParams};
use crate::orgs::access::{Right, authorize};
use crate::state::AppState;

/// Create a course (draft) owned by an org in the caller's scope. Send an
/// `Idempotency-Key`: a retry returns the same course instead of a second one.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("Idempotency-Key" = Option<String>, Header)), request_body = CreateCourseRequest, responses(
    (status = 201, body = CourseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/courses")]
pub async fn create_course(
    state: web::Data<AppState>,
    http: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    body: ApiJson<CreateCourseRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let uses = state.media_uses;
    idempotency::write_once(&state, &http, caller.user_id, key, move |c| {
        let (org, _) = authorize(c, caller.user_id, req.owner_org_id, Right::Operate)?;
        super::usable_cover(c, caller.user_id, uses, req.cover_media_id)?;
        let course = authoring::create(c, now.naive_utc(), caller.user_id, &req)?;
        audit::record(
            c,
            now.naive_utc(),
            &caller.actor(),
            "course_created",
            &Target::new("course", course.id).in_org(org.id),
            serde_json::json!({"title": course.title}),
        )?;
        let view = catalog::course_view(c, &course, &links, None)?;
        Ok((StatusCode::CREATED, view))
    })
    .await
}

/// A course: organizers who manage it see drafts; members see it when it is assigned to
/// them, with their per-lesson state.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = CourseDetail), (status = 404, body = Problem),
))]
#[get("/courses/{id}")]
pub async fn get_course(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let detail = state
        .db
        .read(move |c| {
            let course = authoring::find(c, id)?;
            let access = catalog::access(c, caller.user_id, &course)?;
            let Some((required, due_date)) = access.study else {
                return Ok(CourseDetail {
                    course: catalog::course_view(c, &course, &links, None)?,
                    my: None,
                    can_manage: access.manage,
                });
            };
            let lesson_ids: Vec<i64> = authoring::lessons_of(c, id)?.iter().map(|l| l.id).collect();
            let states = crate::progress::lesson_states(c, caller.user_id, &lesson_ids)?;
            let (lessons_done, status) = my_status(&lesson_ids, &states);
            Ok(CourseDetail {
                course: catalog::course_view(c, &course, &links, Some(&states))?,
                my: Some(MyCourse {
                    required,
                    due_date,
                    status,
                    lessons_done,
                }),
                can_manage: access.manage,
            })
        })
        .await?;
    crate::http::etag::json(&req, &detail)
}

/// Edit a course. The credit can change only while it is a draft.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateCourseRequest, responses(
    (status = 200, body = CourseView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "course_locked"), (status = 422, body = Problem),
))]
#[patch("/courses/{id}")]
pub async fn update_course(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateCourseRequest>,
) -> ApiResult<web::Json<CourseView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let uses = state.media_uses;
    let view = state
        .db
        .write(move |c| {
            let course = authoring::find(c, id)?;
            catalog::require_manage(c, caller.user_id, &course)?;
            let cover = req.cover_media_id.flatten();
            super::usable_cover(c, caller.user_id, uses, cover)?;
            let updated = authoring::update(c, now.naive_utc(), &course, &req)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "course_updated",
                &Target::new("course", id).in_org(course.owner_org_id),
                serde_json::json!({"title": updated.title}),
            )?;
            catalog::course_view(c, &updated, &links, None)
        })
        .await?;
    Ok(web::Json(view))
}

async fn change_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: i64,
    to: CourseStatus,
) -> ApiResult<web::Json<CourseView>> {
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let view = state
        .db
        .write(move |c| {
            let course = authoring::find(c, id)?;
            catalog::require_manage(c, caller.user_id, &course)?;
            let changed = authoring::set_status(c, now.naive_utc(), &course, to)?;
            let action = if to == CourseStatus::Published {
                "course_published"
            } else {
                "course_archived"
            };
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                action,
                &Target::new("course", id).in_org(course.owner_org_id),
                serde_json::json!({}),
            )?;
            catalog::course_view(c, &changed, &links, None)
        })
        .await?;
    Ok(web::Json(view))
}

/// Publish a course (it needs at least one lesson). Assign it to orgs to make it visible.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = CourseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/courses/{id}/publish")]
pub async fn publish_course(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<CourseView>> {
    change_status(state, caller, id.into_inner(), CourseStatus::Published).await
}

/// Archive (unpublish) a course: hidden from members, their records kept.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = CourseView), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/courses/{id}/archive")]
pub async fn archive_course(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<CourseView>> {
    change_status(state, caller, id.into_inner(), CourseStatus::Archived).await
}

/// A course in an organizer's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseSummary {
    pub id: i64,
    pub owner_org_id: i64,
    pub kind: CourseKind,
    pub title: String,
    pub status: CourseStatus,
    pub credit_centi: i32,
}

/// Courses owned by this org and the orgs below it, newest first.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path), PageParams), responses(
    (status = 200, body = Page<CourseSummary>), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/courses")]
pub async fn list_org_courses(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<CourseSummary>>> {
    let id = id.into_inner();
    let page = page.into_inner();
    let list = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Operate)?;
            let limit = page.limit()?;
            let after: Option<i64> = page.after()?;
            let rows = catalog::owned_in_subtree(c, &org.path)?
                .into_iter()
                .filter(|course| after.is_none_or(|a| course.id < a))
                .take(limit as usize + 1)
                .map(|course| {
                    Ok(CourseSummary {
                        id: course.id,
                        owner_org_id: course.owner_org_id,
                        kind: CourseKind::from_db(&course.kind)?,
                        title: course.title,
                        status: CourseStatus::from_db(&course.status)?,
                        credit_centi: course.credit_centi,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |r| r.id))
        })
        .await?;
    Ok(web::Json(list))
}

/// Publish a course to orgs (each covers its whole subtree), required or optional, with an
/// optional due date. Re-assigning updates required/due date.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AssignRequest, responses(
    (status = 200, body = Vec<AssignmentView>), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "course_not_published"), (status = 422, body = Problem),
))]
#[post("/courses/{id}/assignments")]
pub async fn assign_course(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<AssignRequest>,
) -> ApiResult<web::Json<Vec<AssignmentView>>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    if req.org_ids.is_empty() || req.org_ids.len() > 100 {
        return Err(crate::error::ApiError::invalid_field(
            "org_ids",
            "invalid_length",
            crate::error::Text::new("需要 1 到 100 个组织", "Give 1 to 100 orgs"),
        ));
    }
    let now = state.clock.now_naive();
    let list = state
        .db
        .write(move |c| {
            let course = authoring::find(c, id)?;
            catalog::require_manage(c, caller.user_id, &course)?;
            for org_id in &req.org_ids {
                authorize(c, caller.user_id, *org_id, Right::Operate)?;
                assignments::assign(
                    c,
                    now,
                    &course,
                    *org_id,
                    req.required,
                    req.due_date,
                    caller.user_id,
                )?;
                audit::record(
                    c,
                    now,
                    &caller.actor(),
                    "course_assigned",
                    &Target::new("course", id).in_org(*org_id),
                    serde_json::json!({"required": req.required, "due_date": req.due_date}),
                )?;
            }
            assignments::list(c, id)
        })
        .await?;
    Ok(web::Json(list))
}

/// Active assignments of a course.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<AssignmentView>), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/courses/{id}/assignments")]
pub async fn list_course_assignments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<AssignmentView>>> {
    let id = id.into_inner();
    let list = state
        .db
        .read(move |c| {
            let course = authoring::find(c, id)?;
            catalog::require_manage(c, caller.user_id, &course)?;
            assignments::list(c, id)
        })
        .await?;
    Ok(web::Json(list))
}

/// Withdraw a course from an org (members keep their records).
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path), ("org_id" = i64, Path)), responses(
    (status = 204, description = "withdrawn"), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/courses/{id}/assignments/{org_id}")]
pub async fn revoke_course_assignment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, org_id) = path.into_inner();
    let now = state.clock.now_naive();
    state
        .db
        .write(move |c| {
            let course = authoring::find(c, id)?;
            catalog::require_manage(c, caller.user_id, &course)?;
            authorize(c, caller.user_id, org_id, Right::Operate)?;
            assignments::revoke(c, now, id, org_id)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "course_unassigned",
                &Target::new("course", id).in_org(org_id),
                serde_json::json!({}),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyCoursesQuery {
    pub status: Option<MyCourseStatus>,
    pub required: Option<bool>,
}

/// My courses: everything assigned to my branch (or party group) and the orgs above it.
/// Required first, then by due date. Sends an `ETag`; `If-None-Match` gives 304.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(MyCoursesQuery, PageParams), responses(
    (status = 200, body = Page<MyCourseItem>), (status = 304, description = "unchanged"),
))]
#[get("/me/courses")]
pub async fn list_my_courses(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<MyCoursesQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (q, page) = (q.into_inner(), page.into_inner());
    let limit = page.limit()?;
    let after: Option<i64> = page.after()?;
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let items = state
        .db
        .read(move |c| catalog::my_courses(c, caller.user_id, &links))
        .await?;
    let filtered: Vec<MyCourseItem> = items
        .into_iter()
        .filter(|i| q.status.is_none_or(|s| s == i.status))
        .filter(|i| q.required.is_none_or(|r| r == i.required))
        .collect();
    let start = after
        .and_then(|a| {
            filtered
                .iter()
                .position(|i| i.course_id == a)
                .map(|p| p + 1)
        })
        .unwrap_or(0);
    let rest: Vec<MyCourseItem> = filtered
        .into_iter()
        .skip(start)
        .take(limit as usize + 1)
        .collect();
    let page = Page::from_rows(rest, limit, |i| i.course_id);
    crate::http::etag::json(&req, &page)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_course)
        .service(get_course)
        .service(update_course)
        .service(publish_course)
        .service(archive_course)
        .service(list_org_courses)
        .service(assign_course)
        .service(list_course_assignments)
        .service(revoke_course_assignment)
        .service(list_my_courses);
}
