//! Who sees which course, and the views built for them.
//!
//! Organizers whose scope covers the owner org *manage* a course (drafts included). A member
//! *studies* a published course when it is assigned (and not revoked) to their home org or
//! one of its ancestors; the union of those assignments decides whether it is required and
//! its earliest due date. Everyone else gets 404.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::authoring::lessons_of;
use super::links::Links;
use super::model::{
    Course, CourseKind, CourseStatus, CourseView, Lesson, LessonKind, LessonState, LessonView,
    MyCourseItem, MyCourseStatus,
};
use crate::db::DbConnection;
use crate::db::schema::{course_assignments, courses, lessons, memberships, orgs, quizzes};
use crate::error::{ApiError, ApiResult};
use crate::orgs::access::{Right, Scope};
use crate::orgs::model::path_ids;

/// How the caller may use a course (at least one of the two, else the course is 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CourseAccess {
    /// The caller's scope covers the owner org (Operate): edit, publish, assign.
    pub manage: bool,
    /// Published and assigned to the caller's home org or an ancestor: (required, due date).
    pub study: Option<(bool, Option<NaiveDate>)>,
}

/// The ids of the caller's home org and its ancestors (empty for non-members).
pub fn home_chain(conn: &mut DbConnection, user_id: i64) -> ApiResult<Vec<i64>> {
    let path: Option<String> = memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::to_date.is_null())
        .select(orgs::path)
        .first(conn)
        .optional()?;
    Ok(path.map(|p| path_ids(&p)).unwrap_or_default())
}

/// Active assignments of `course_ids` to the orgs in `chain`, merged per course:
/// required if any is, due date the earliest among them.
fn merged_assignments(
    conn: &mut DbConnection,
    chain: &[i64],
    course_ids: Option<&[i64]>,
) -> ApiResult<HashMap<i64, (bool, Option<NaiveDate>)>> {
    let mut q = course_assignments::table
        .filter(course_assignments::org_id.eq_any(chain))
        .filter(course_assignments::revoked_at.is_null())
        .select((
            course_assignments::course_id,
            course_assignments::required,
            course_assignments::due_date,
        ))
        .into_boxed();
    if let Some(ids) = course_ids {
        q = q.filter(course_assignments::course_id.eq_any(ids));
    }
    let rows: Vec<(i64, bool, Option<NaiveDate>)> = q.load(conn)?;
    let mut merged: HashMap<i64, (bool, Option<NaiveDate>)> = HashMap::new();
    for (course_id, required, due) in rows {
        let entry = merged.entry(course_id).or_insert((false, None));
        entry.0 |= required;
        entry.1 = match (entry.1, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(merged)
}

/// The courses among `course_ids` actively assigned to an org in `chain`.
pub fn assigned_course_ids(
    conn: &mut DbConnection,
    chain: &[i64],
    course_ids: &[i64],
) -> ApiResult<HashSet<i64>> {
    Ok(merged_assignments(conn, chain, Some(course_ids))?
        .into_keys()
        .collect())
}

/// Decides the caller's access to a course; 404 when they may neither manage nor study it.
pub fn access(conn: &mut DbConnection, user_id: i64, course: &Course) -> ApiResult<CourseAccess> {
    let scope = Scope::load(conn, user_id)?;
    access_in(conn, &scope, course)?.ok_or_else(ApiError::not_found)
}

/// The access of the caller with `scope` to a course, `None` when they may neither manage
/// nor study it.
pub fn access_in(
    conn: &mut DbConnection,
    scope: &Scope,
    course: &Course,
) -> ApiResult<Option<CourseAccess>> {
    let owner_path: String = orgs::table
        .find(course.owner_org_id)
        .select(orgs::path)
        .first(conn)?;
    let manage = scope.has(&owner_path, Right::Operate);
    let study = if CourseStatus::from_db(&course.status)? == CourseStatus::Published {
        let chain = scope.home_path.as_deref().map(path_ids).unwrap_or_default();
        merged_assignments(conn, &chain, Some(&[course.id]))?
            .get(&course.id)
            .copied()
    } else {
        None
    };
    if !manage && study.is_none() {
        return Ok(None);
    }
    Ok(Some(CourseAccess { manage, study }))
}

/// Requires the right to manage the course: 403 for those who may only study it, 404 for
/// the rest.
pub fn require_manage(conn: &mut DbConnection, user_id: i64, course: &Course) -> ApiResult<()> {
    if access(conn, user_id, course)?.manage {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Requires the course to be assigned to the caller (to study it, take its quiz).
pub fn require_study(
    conn: &mut DbConnection,
    user_id: i64,
    course: &Course,
) -> ApiResult<(bool, Option<NaiveDate>)> {
    access(conn, user_id, course)?
        .study
        .ok_or_else(ApiError::forbidden)
}

/// Which lessons have a quiz.
pub fn quiz_lessons(conn: &mut DbConnection, lesson_ids: &[i64]) -> ApiResult<HashSet<i64>> {
    Ok(quizzes::table
        .filter(quizzes::lesson_id.eq_any(lesson_ids))
        .select(quizzes::lesson_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// A lesson as the API shows it.
pub fn lesson_view(
    lesson: &Lesson,
    has_quiz: bool,
    links: &Links,
    my_state: Option<LessonState>,
    with_body: bool,
) -> ApiResult<LessonView> {
    let (url, url_expires_at) = links.play_url(lesson);
    Ok(LessonView {
        id: lesson.id,
        course_id: lesson.course_id,
        position: lesson.position,
        kind: LessonKind::from_db(&lesson.kind)?,
        title: lesson.title.clone(),
        media_id: lesson.media_id,
        url,
        url_expires_at,
        duration_s: lesson.duration_s,
        body: if with_body { lesson.body.clone() } else { None },
        min_coverage: f64::from(lesson.min_coverage_permille) / 1000.0,
        min_reading_s: lesson.min_reading_s,
        credit_centi: lesson.credit_centi,
        has_quiz,
        my_state,
    })
}

/// A course with its lessons; `states` present for a member's view.
pub fn course_view(
    conn: &mut DbConnection,
    course: &Course,
    links: &Links,
    states: Option<&HashMap<i64, LessonState>>,
) -> ApiResult<CourseView> {
    let lessons = lessons_of(conn, course.id)?;
    let ids: Vec<i64> = lessons.iter().map(|l| l.id).collect();
    let with_quiz = quiz_lessons(conn, &ids)?;
    let lessons = lessons
        .iter()
        .map(|l| {
            let state = states.map(|s| s.get(&l.id).cloned().unwrap_or_default());
            lesson_view(l, with_quiz.contains(&l.id), links, state, false)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(CourseView {
        id: course.id,
        owner_org_id: course.owner_org_id,
        kind: CourseKind::from_db(&course.kind)?,
        title: course.title.clone(),
        summary: course.summary.clone(),
        cover_url: links.cover_url(course),
        cover_media_id: course.cover_media_id,
        credit_centi: course.credit_centi,
        tags: serde_json::from_str(&course.tags).unwrap_or_default(),
        status: CourseStatus::from_db(&course.status)?,
        lessons,
        created_at: course.created_at.and_utc(),
        published_at: course.published_at.map(|t| t.and_utc()),
    })
}

/// Where a member is in a course, from per-lesson states.
pub fn my_status(lesson_ids: &[i64], states: &HashMap<i64, LessonState>) -> (i32, MyCourseStatus) {
    let done = lesson_ids
        .iter()
        .filter(|id| states.get(id).is_some_and(|s| s.complete))
        .count() as i32;
    let started = lesson_ids.iter().any(|id| {
        states.get(id).is_some_and(|s| {
            s.complete || s.coverage > 0.0 || s.read_s > 0 || s.resume_s > 0 || s.quiz_passed
        })
    });
    let status = if !lesson_ids.is_empty() && done == lesson_ids.len() as i32 {
        MyCourseStatus::Done
    } else if started {
        MyCourseStatus::InProgress
    } else {
        MyCourseStatus::Todo
    };
    (done, status)
}

/// Every published course assigned to the caller's home org or its ancestors, with my
/// status: required first, then by due date, then newest.
pub fn my_courses(
    conn: &mut DbConnection,
    user_id: i64,
    links: &Links,
) -> ApiResult<Vec<MyCourseItem>> {
    let chain = home_chain(conn, user_id)?;
    if chain.is_empty() {
        return Ok(Vec::new());
    }
    let merged = merged_assignments(conn, &chain, None)?;
    let ids: Vec<i64> = merged.keys().copied().collect();
    let rows: Vec<Course> = courses::table
        .filter(courses::id.eq_any(&ids))
        .filter(courses::status.eq(CourseStatus::Published.as_str()))
        .select(Course::as_select())
        .load(conn)?;
    let lesson_rows: Vec<(i64, i64)> = lessons::table
        .filter(lessons::course_id.eq_any(&ids))
        .select((lessons::course_id, lessons::id))
        .load(conn)?;
    let all_lessons: Vec<i64> = lesson_rows.iter().map(|(_, l)| *l).collect();
    let states = crate::progress::lesson_states(conn, user_id, &all_lessons)?;
    let mut items = Vec::with_capacity(rows.len());
    for course in rows {
        let lesson_ids: Vec<i64> = lesson_rows
            .iter()
            .filter(|(c, _)| *c == course.id)
            .map(|(_, l)| *l)
            .collect();
        let (done, status) = my_status(&lesson_ids, &states);
        let (required, due_date) = merged.get(&course.id).copied().unwrap_or((false, None));
        items.push(MyCourseItem {
            course_id: course.id,
            kind: CourseKind::from_db(&course.kind)?,
            title: course.title.clone(),
            cover_url: links.cover_url(&course),
            credit_centi: course.credit_centi,
            required,
            due_date,
            lessons_total: lesson_ids.len() as i32,
            lessons_done: done,
            status,
        });
    }
    items.sort_by(|a, b| {
        b.required
            .cmp(&a.required)
            .then_with(|| match (a.due_date, b.due_date) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| b.course_id.cmp(&a.course_id))
    });
    Ok(items)
}

/// Courses owned by orgs in the subtree at `path` (organizer list), newest first.
pub fn owned_in_subtree(conn: &mut DbConnection, path: &str) -> ApiResult<Vec<Course>> {
    let (lo, hi) = crate::orgs::model::subtree_range(path);
    Ok(courses::table
        .inner_join(orgs::table)
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .order(courses::id.desc())
        .select(Course::as_select())
        .load(conn)?)
}

/// Whether `lesson` belongs to a course the caller may study or manage; returns both.
pub fn lesson_access(
    conn: &mut DbConnection,
    user_id: i64,
    lesson_id: i64,
) -> ApiResult<(Lesson, Course, CourseAccess)> {
    let lesson = super::authoring::find_lesson(conn, lesson_id)?;
    let course = super::authoring::find(conn, lesson.course_id)?;
    let access = access(conn, user_id, &course)?;
    Ok((lesson, course, access))
}
