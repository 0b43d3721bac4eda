//! A member's state in lessons, for course and lesson views.

use std::collections::HashMap;

use diesel::prelude::*;

use super::model::ProgressRow;
use crate::courses::model::LessonState;
use crate::db::DbConnection;
use crate::db::schema::{lesson_progress, lessons, quiz_attempts};
use crate::error::ApiResult;

/// The caller's state in each of `lesson_ids` (absent lessons are not started).
pub fn lesson_states(
    conn: &mut DbConnection,
    user_id: i64,
    lesson_ids: &[i64],
) -> ApiResult<HashMap<i64, LessonState>> {
    let mut states: HashMap<i64, LessonState> = HashMap::new();
    if lesson_ids.is_empty() {
        return Ok(states);
    }
    let rows: Vec<(ProgressRow, Option<i32>)> = lesson_progress::table
        .inner_join(lessons::table)
        .filter(lesson_progress::user_id.eq(user_id))
        .filter(lesson_progress::lesson_id.eq_any(lesson_ids))
        .select((ProgressRow::as_select(), lessons::duration_s))
        .load(conn)?;
    for (p, duration) in rows {
        let coverage = match duration {
            Some(d) if d > 0 => (f64::from(p.covered_s) / f64::from(d)).min(1.0),
            _ => 0.0,
        };
        states.insert(
            p.lesson_id,
            LessonState {
                coverage: (coverage * 1000.0).round() / 1000.0,
                read_s: p.read_s,
                complete: p.completed_at.is_some(),
                resume_s: p.resume_s,
                quiz_passed: false,
            },
        );
    }
    let passed: Vec<i64> = quiz_attempts::table
        .filter(quiz_attempts::user_id.eq(user_id))
        .filter(quiz_attempts::lesson_id.eq_any(lesson_ids))
        .filter(quiz_attempts::passed.eq(true))
        .select(quiz_attempts::lesson_id)
        .distinct()
        .load(conn)?;
    for id in passed {
        states.entry(id).or_default().quiz_passed = true;
    }
    Ok(states)
}
