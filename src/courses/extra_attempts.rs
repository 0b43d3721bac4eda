//! Extra quiz attempts: a member who used up her attempts on a quiz (a required course she
//! could otherwise never finish) is given more by her secretary — someone who administers
//! her home org — or by those who manage the course. Each grant is a row (who, how many,
//! why, by whom) and an audit entry on the member in her home org; her attempts left are
//! `max_attempts` + her grants − her attempts used.
//!
//! Who may grant, and what others learn: the member must lie in the caller's scope (else
//! 404, as for any member record); inside it the caller needs the right to administer
//! her home org or to manage the course (else 403); nobody grants themself (403). A lesson
//! that does not exist, has no quiz, or belongs to a course she does not study is 404.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Course, CourseStatus, Lesson};
use super::quiz;
use super::{authoring, catalog};
use crate::db::DbConnection;
use crate::db::schema::{quiz_attempt_grants, quiz_attempts};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::http::text::Title;
use crate::orgs::access::{Right, Scope, authorize_member};
use crate::orgs::model::{Org, path_ids};

/// Most attempts one grant gives.
pub const MAX_PER_GRANT: i32 = 5;

/// `POST /v1/lessons/{id}/quiz/extra-attempts`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantAttemptsRequest {
    /// The member who gets the attempts.
    pub user_id: i64,
    /// How many (1–5).
    pub attempts: i32,
    /// Why (kept in the audit log).
    pub reason: Title,
}

/// A member's attempts at a quiz after a grant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtraAttemptsView {
    pub lesson_id: i64,
    pub user_id: i64,
    /// Attempts this grant gave.
    pub granted: i32,
    /// Extra attempts granted to her for this quiz, in all.
    pub extra_attempts: i32,
    pub max_attempts: i32,
    pub attempts_used: i32,
    /// `max_attempts + extra_attempts − attempts_used` (never below 0).
    pub attempts_left: i32,
    /// She has passed the quiz already.
    pub passed: bool,
}

/// Checks the request's values (422 on the fields).
pub fn validate(req: &GrantAttemptsRequest) -> ApiResult<()> {
    if !(1..=MAX_PER_GRANT).contains(&req.attempts) {
        return Err(ApiError::invalid_field(
            "attempts",
            "out_of_range",
            Text::new(
                "一次可增加 1 到 5 次作答机会",
                "A grant gives 1 to 5 attempts",
            ),
        ));
    }
    if req.reason.as_str().trim().is_empty() {
        return Err(ApiError::invalid_field(
            "reason",
            "required",
            Text::new("请填写原因", "Give a reason"),
        ));
    }
    Ok(())
}

/// Decides whether `caller_id` may grant `member_id` attempts at the quiz of `lesson_id`;
/// returns the lesson, its course and the member's home org. See the module doc.
pub fn authorize(
    conn: &mut DbConnection,
    caller_id: i64,
    member_id: i64,
    lesson_id: i64,
) -> ApiResult<(Lesson, Course, Org)> {
    if caller_id == member_id {
        return Err(ApiError::forbidden());
    }
    // 404 unless she is a member inside the caller's scope.
    let home = authorize_member(conn, caller_id, member_id, Right::Operate)?
        .ok_or_else(ApiError::not_found)?;
    let lesson = authoring::find_lesson(conn, lesson_id)?;
    let course = authoring::find(conn, lesson.course_id)?;
    let scope = Scope::load(conn, caller_id)?;
    let manages_course = catalog::access_in(conn, &scope, &course)?.is_some_and(|a| a.manage);
    if !manages_course {
        scope.check(&home.path, Right::Administer)?;
    }
    let studies = CourseStatus::from_db(&course.status)? == CourseStatus::Published
        && !catalog::assigned_course_ids(conn, &path_ids(&home.path), &[course.id])?.is_empty();
    if !studies {
        return Err(ApiError::not_found());
    }
    Ok((lesson, course, home))
}

/// Records a grant; 409 `quiz_attempts_unlimited` when the quiz has no attempt limit.
pub fn grant(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    by: i64,
    lesson_id: i64,
    req: &GrantAttemptsRequest,
) -> ApiResult<ExtraAttemptsView> {
    let set = quiz::settings(conn, lesson_id)?;
    let Some(max_attempts) = set.max_attempts else {
        return Err(ApiError::new(ErrorCode::QuizAttemptsUnlimited));
    };
    diesel::insert_into(quiz_attempt_grants::table)
        .values((
            quiz_attempt_grants::lesson_id.eq(lesson_id),
            quiz_attempt_grants::user_id.eq(req.user_id),
            quiz_attempt_grants::attempts.eq(req.attempts),
            quiz_attempt_grants::reason.eq(req.reason.as_str().trim()),
            quiz_attempt_grants::granted_by.eq(by),
            quiz_attempt_grants::granted_at.eq(now),
        ))
        .execute(conn)?;
    let extra = quiz::extra_attempts(conn, lesson_id, req.user_id)?;
    let attempts: Vec<bool> = quiz_attempts::table
        .filter(quiz_attempts::lesson_id.eq(lesson_id))
        .filter(quiz_attempts::user_id.eq(req.user_id))
        .select(quiz_attempts::passed)
        .load(conn)?;
    let used = i32::try_from(attempts.len()).unwrap_or(i32::MAX);
    Ok(ExtraAttemptsView {
        lesson_id,
        user_id: req.user_id,
        granted: req.attempts,
        extra_attempts: extra,
        max_attempts,
        attempts_used: used,
        attempts_left: quiz::attempts_left(Some(max_attempts), extra, used).unwrap_or(0),
        passed: attempts.contains(&true),
    })
}
