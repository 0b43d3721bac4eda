//! Study progress: per-lesson state of a member. Coverage, reading time and completion are
//! recorded by progress sync (the next step); quiz results already count.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::courses::model::LessonState;
use crate::db::DbConnection;
use crate::db::schema::quiz_attempts;
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
