//! The funnel of one course among the current members of an org's subtree: assigned
//! (the course is assigned to their home org or an ancestor), started, completed, quiz
//! passed, and per lesson how many started, completed, and dropped off (started without
//! completing). Reads the per-member state rows (progress, completions, quiz results),
//! never the study events.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::courses::model::Course;
use crate::db::DbConnection;
use crate::db::schema::{
    course_assignments as ca, course_completions as cc, lesson_progress as lp, lessons,
    memberships, orgs, quiz_attempts as qa, quizzes,
};
use crate::error::ApiResult;
use crate::orgs::model::{Org, subtree_range};

/// One lesson of the funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LessonFunnel {
    pub lesson_id: i64,
    pub position: i32,
    pub title: String,
    pub started: i64,
    pub completed: i64,
    /// Started but not completed.
    pub dropped: i64,
}

/// `GET /v1/courses/{id}/stats`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseFunnel {
    pub course_id: i64,
    pub org_id: i64,
    pub assigned: i64,
    pub started: i64,
    pub completed: i64,
    /// Members who passed every quiz of the course (`null` when it has none).
    pub quiz_passed: Option<i64>,
    pub lessons: Vec<LessonFunnel>,
}

pub fn funnel(conn: &mut DbConnection, course: &Course, org: &Org) -> ApiResult<CourseFunnel> {
    // Orgs of the subtree the course is assigned to (directly or through an ancestor).
    let assigned_paths: Vec<String> = ca::table
        .inner_join(orgs::table)
        .filter(ca::course_id.eq(course.id))
        .filter(ca::revoked_at.is_null())
        .select(orgs::path)
        .load(conn)?;
    let (lo, hi) = subtree_range(&org.path);
    let sub: Vec<(i64, String)> = orgs::table
        .filter(orgs::path.ge(&lo))
        .filter(orgs::path.lt(&hi))
        .select((orgs::id, orgs::path))
        .load(conn)?;
    let covered: Vec<i64> = sub
        .into_iter()
        .filter(|(_, p)| assigned_paths.iter().any(|a| p.starts_with(a.as_str())))
        .map(|(id, _)| id)
        .collect();
    let members: HashSet<i64> = memberships::table
        .filter(memberships::to_date.is_null())
        .filter(memberships::org_id.eq_any(&covered))
        .select(memberships::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let lesson_rows: Vec<(i64, i32, String)> = lessons::table
        .filter(lessons::course_id.eq(course.id))
        .order(lessons::position.asc())
        .select((lessons::id, lessons::position, lessons::title))
        .load(conn)?;
    let lesson_ids: Vec<i64> = lesson_rows.iter().map(|l| l.0).collect();
    // Started means accepted study, as in the member's own view: a row left by rejected
    // events only (nothing covered, read or resumed) is not a start.
    let progress: Vec<(i64, i64, bool)> = lp::table
        .filter(lp::lesson_id.eq_any(&lesson_ids))
        .filter(
            lp::completed_at
                .is_not_null()
                .or(lp::covered_s.gt(0))
                .or(lp::read_s.gt(0))
                .or(lp::resume_s.gt(0)),
        )
        .select((lp::user_id, lp::lesson_id, lp::completed_at.is_not_null()))
        .load(conn)?;
    let mut started_users = HashSet::new();
    let mut per_lesson: HashMap<i64, (i64, i64)> = HashMap::new();
    for (user, lesson, done) in progress {
        if !members.contains(&user) {
            continue;
        }
        started_users.insert(user);
        let e = per_lesson.entry(lesson).or_default();
        e.0 += 1;
        if done {
            e.1 += 1;
        }
    }
    let completed = cc::table
        .filter(cc::course_id.eq(course.id))
        .select(cc::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .filter(|u| members.contains(u))
        .count() as i64;
    let quiz_lessons: Vec<i64> = quizzes::table
        .filter(quizzes::lesson_id.eq_any(&lesson_ids))
        .select(quizzes::lesson_id)
        .load(conn)?;
    let quiz_passed = if quiz_lessons.is_empty() {
        None
    } else {
        let passed: HashSet<(i64, i64)> = qa::table
            .filter(qa::lesson_id.eq_any(&quiz_lessons))
            .filter(qa::passed.eq(true))
            .select((qa::user_id, qa::lesson_id))
            .load::<(i64, i64)>(conn)?
            .into_iter()
            .collect();
        let mut count: HashMap<i64, usize> = HashMap::new();
        for (user, _) in passed {
            if members.contains(&user) {
                *count.entry(user).or_default() += 1;
            }
        }
        Some(count.values().filter(|n| **n == quiz_lessons.len()).count() as i64)
    };
    let lessons = lesson_rows
        .into_iter()
        .map(|(id, position, title)| {
            let (started, completed) = per_lesson.get(&id).copied().unwrap_or_default();
            LessonFunnel {
                lesson_id: id,
                position,
                title,
                started,
                completed,
                dropped: started - completed,
            }
        })
        .collect();
    Ok(CourseFunnel {
        course_id: course.id,
        org_id: org.id,
        assigned: members.len() as i64,
        started: started_users.len() as i64,
        completed,
        quiz_passed,
        lessons,
    })
}
