//! HTTP routes of lessons and quizzes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};

use super::catalog;
use super::extra_attempts::{self, ExtraAttemptsView, GrantAttemptsRequest};
use super::links::Links;
use super::model::{CreateLessonRequest, LessonView, UpdateLessonRequest};
use super::quiz::{self, AttemptResult, PutQuizRequest, QuizView, SubmitAttemptRequest};
use super::{authoring, usable_media};
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::state::AppState;

/// Add a lesson at the end of a draft course. The course credit is split over its lessons.
/// Send an `Idempotency-Key`: a retry returns the same lesson instead of adding another.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = CreateLessonRequest, responses(
    (status = 201, body = LessonView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "course_locked"), (status = 422, body = Problem),
))]
#[post("/courses/{id}/lessons")]
pub async fn create_lesson(
    state: web::Data<AppState>,
    http: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<CreateLessonRequest>,
) -> ApiResult<HttpResponse> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let uses = state.media_uses;
    idempotency::write_once(&state, &http, caller.user_id, key, move |c| {
        let course = authoring::find(c, id)?;
        catalog::require_manage(c, caller.user_id, &course)?;
        let from_media = usable_media(c, caller.user_id, uses, "media_id", req.media_id)?;
        let lesson = authoring::add_lesson(c, now.naive_utc(), &course, &req, from_media)?;
        audit::record(
            c,
            now.naive_utc(),
            &caller.actor(),
            "lesson_created",
            &Target::new("lesson", lesson.id).in_org(course.owner_org_id),
            serde_json::json!({"course_id": id, "title": lesson.title}),
        )?;
        let view = catalog::lesson_view(&lesson, false, &links, None, true)?;
        Ok((StatusCode::CREATED, view))
    })
    .await
}

/// A lesson with its body and playable URL; members also get their state in it.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = LessonView), (status = 404, body = Problem),
))]
#[get("/lessons/{id}")]
pub async fn get_lesson(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<LessonView>> {
    let id = id.into_inner();
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let view = state
        .db
        .read(move |c| {
            let (lesson, _, access) = catalog::lesson_access(c, caller.user_id, id)?;
            let has_quiz = !catalog::quiz_lessons(c, &[id])?.is_empty();
            let my_state = match access.study {
                Some(_) => Some(
                    crate::progress::lesson_states(c, caller.user_id, &[id])?
                        .remove(&id)
                        .unwrap_or_default(),
                ),
                None => None,
            };
            catalog::lesson_view(&lesson, has_quiz, &links, my_state, true)
        })
        .await?;
    Ok(web::Json(view))
}

/// Correct a lesson (allowed on published courses: title, media, duration, body, thresholds).
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateLessonRequest, responses(
    (status = 200, body = LessonView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[patch("/lessons/{id}")]
pub async fn update_lesson(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateLessonRequest>,
) -> ApiResult<web::Json<LessonView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let links = Links::new(&state, now);
    let uses = state.media_uses;
    let view = state
        .db
        .write(move |c| {
            let (lesson, course, access) = catalog::lesson_access(c, caller.user_id, id)?;
            if !access.manage {
                return Err(ApiError::forbidden());
            }
            let media = req.media_id.flatten();
            let from_media = usable_media(c, caller.user_id, uses, "media_id", media)?;
            let updated = authoring::update_lesson(c, now.naive_utc(), &lesson, &req, from_media)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "lesson_updated",
                &Target::new("lesson", id).in_org(course.owner_org_id),
                serde_json::json!({"course_id": course.id}),
            )?;
            let has_quiz = !catalog::quiz_lessons(c, &[id])?.is_empty();
            catalog::lesson_view(&updated, has_quiz, &links, None, true)
        })
        .await?;
    Ok(web::Json(view))
}

/// Remove a lesson from a draft course (published lessons stay; 409 `course_locked`).
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "course_locked"),
))]
#[delete("/lessons/{id}")]
pub async fn delete_lesson(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    state
        .db
        .write(move |c| {
            let (lesson, course, access) = catalog::lesson_access(c, caller.user_id, id)?;
            if !access.manage {
                return Err(ApiError::forbidden());
            }
            authoring::delete_lesson(c, &course, &lesson)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "lesson_deleted",
                &Target::new("lesson", id).in_org(course.owner_org_id),
                serde_json::json!({"course_id": course.id, "title": lesson.title}),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set (replace) a lesson's quiz. Refused once anyone has attempted it (409 `quiz_locked`).
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PutQuizRequest, responses(
    (status = 200, body = QuizView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "quiz_locked"), (status = 422, body = Problem),
))]
#[put("/lessons/{id}/quiz")]
pub async fn put_quiz(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<PutQuizRequest>,
) -> ApiResult<web::Json<QuizView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now_naive();
    let view = state
        .db
        .write(move |c| {
            let (lesson, course, access) = catalog::lesson_access(c, caller.user_id, id)?;
            if !access.manage {
                return Err(ApiError::forbidden());
            }
            quiz::put(c, now, &lesson, &req)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "quiz_set",
                &Target::new("lesson", id).in_org(course.owner_org_id),
                serde_json::json!({
                    "questions": req.questions.len(),
                    "max_attempts": req.max_attempts,
                    "reveal_answers": req.reveal(),
                }),
            )?;
            quiz::view(c, id, caller.user_id, true)
        })
        .await?;
    Ok(web::Json(view))
}

/// The quiz: members get it shuffled for their next attempt and without answers; those
/// who manage the course get the answers.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = QuizView), (status = 404, body = Problem),
))]
#[get("/lessons/{id}/quiz")]
pub async fn get_quiz(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<QuizView>> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |c| {
            let (_, _, access) = catalog::lesson_access(c, caller.user_id, id)?;
            quiz::view(
                c,
                id,
                caller.user_id,
                access.study.is_none() && access.manage,
            )
        })
        .await?;
    Ok(web::Json(view))
}

/// Submit answers; graded on the server. Send an `Idempotency-Key`: a retry returns the
/// same result instead of using another attempt. Every question says whether it was right;
/// the right options come only once she has passed or has no attempt left (and never with
/// `reveal_answers: never`). A pass that completes the lesson says so, with the course it
/// completed and the credit granted, as sync does.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = SubmitAttemptRequest, responses(
    (status = 201, body = AttemptResult), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "quiz_attempts_exhausted / idempotency_key_reused / idempotency_in_progress"),
    (status = 422, body = Problem),
))]
#[post("/lessons/{id}/quiz/attempts")]
pub async fn submit_quiz_attempt(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<SubmitAttemptRequest>,
) -> ApiResult<HttpResponse> {
    let (id, answers) = (id.into_inner(), body.into_inner().answers);
    let now = state.clock.now_naive();
    let user_id = caller.user_id;
    idempotency::write_once(&state, &req, user_id, key, move |c| {
        let (_, course, _) = catalog::lesson_access(c, user_id, id)?;
        catalog::require_study(c, user_id, &course)?;
        let mut result = quiz::submit(c, now, id, user_id, &answers)?;
        if result.passed {
            let done = crate::progress::sync::complete_after_quiz(c, now.and_utc(), user_id, id)?;
            result = result.completing(done);
        }
        Ok((StatusCode::CREATED, result))
    })
    .await
}

/// Grant a member extra attempts at a lesson's quiz (1–5, with a reason; audited on the
/// member in her home org). For her secretary (administering her home org) or the course's
/// managers; a member outside the caller's scope is 404, as is a lesson she does not
/// study. Send an `Idempotency-Key`: a retry returns the same grant instead of another.
#[utoipa::path(tag = "courses", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = GrantAttemptsRequest, responses(
    (status = 201, body = ExtraAttemptsView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "quiz_attempts_unlimited / idempotency_key_reused / idempotency_in_progress"),
    (status = 422, body = Problem),
))]
#[post("/lessons/{id}/quiz/extra-attempts")]
pub async fn grant_quiz_attempts(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<GrantAttemptsRequest>,
) -> ApiResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    extra_attempts::validate(&body)?;
    let now = state.clock.now_naive();
    let user_id = caller.user_id;
    let actor = caller.actor();
    idempotency::write_once(&state, &req, user_id, key, move |c| {
        let (_, course, home) = extra_attempts::authorize(c, user_id, body.user_id, id)?;
        let view = extra_attempts::grant(c, now, user_id, id, &body)?;
        audit::record(
            c,
            now,
            &actor,
            "quiz_attempts_granted",
            &Target::new("user", body.user_id).in_org(home.id),
            serde_json::json!({
                "lesson_id": id,
                "course_id": course.id,
                "attempts": body.attempts,
                "reason": body.reason.as_str().trim(),
                "attempts_left": view.attempts_left,
            }),
        )?;
        Ok((StatusCode::CREATED, view))
    })
    .await
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_lesson)
        .service(get_lesson)
        .service(update_lesson)
        .service(delete_lesson)
        .service(put_quiz)
        .service(get_quiz)
        .service(submit_quiz_attempt)
        .service(grant_quiz_attempts);
}
