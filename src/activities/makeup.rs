//! Make-up study: a member absent from an occurrence whose activity links a course becomes
//! `made_up` when they complete that course within the activity's make-up window after
//! the occurrence. The credit of the course comes from the progress ledger as for any
//! course; the activity's own credit is never granted for a make-up.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{AttendanceSource, AttendanceStatus};
use crate::db::DbConnection;
use crate::db::schema::{
    activities, activity_attendance as aa, activity_occurrences as ao, course_completions,
};
use crate::error::ApiResult;

/// Whether a completion at `done` makes up an occurrence `starts_at..ends_at`.
pub fn within_window(
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    window_days: i32,
    done: NaiveDateTime,
) -> bool {
    done >= starts_at && done <= ends_at + Duration::days(i64::from(window_days))
}

fn mark(
    conn: &mut DbConnection,
    occurrence_id: i64,
    user_id: i64,
    at: NaiveDateTime,
) -> ApiResult<bool> {
    let n = diesel::update(
        aa::table
            .find((occurrence_id, user_id))
            .filter(aa::status.eq(AttendanceStatus::Absent.as_str())),
    )
    .set((
        aa::status.eq(AttendanceStatus::MadeUp.as_str()),
        aa::source.eq(AttendanceSource::Makeup.as_str()),
        aa::recorded_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Called by progress sync, in its transaction, when `user_id` newly completes
/// `course_id` at `at`: every absence the completion makes up becomes `made_up`. Returns
/// how many.
pub fn on_course_completed(
    conn: &mut DbConnection,
    user_id: i64,
    course_id: i64,
    at: DateTime<Utc>,
) -> ApiResult<usize> {
    let done = at.naive_utc();
    let absences: Vec<(i64, NaiveDateTime, NaiveDateTime, i32)> = aa::table
        .inner_join(ao::table.inner_join(activities::table))
        .filter(aa::user_id.eq(user_id))
        .filter(aa::status.eq(AttendanceStatus::Absent.as_str()))
        .filter(activities::course_id.eq(course_id))
        .filter(ao::starts_at.le(done))
        .select((
            ao::id,
            ao::starts_at,
            ao::ends_at,
            activities::makeup_window_days,
        ))
        .load(conn)?;
    let mut n = 0;
    for (occurrence_id, starts_at, ends_at, window) in absences {
        if within_window(starts_at, ends_at, window, done)
            && mark(conn, occurrence_id, user_id, done)?
        {
            super::attendance::record_change(conn, done, occurrence_id, &[user_id])?;
            n += 1;
        }
    }
    Ok(n)
}

/// At close: absentees who already completed the linked course after the occurrence
/// started (and within the window) are made up at once. Returns their ids.
pub fn at_close(
    conn: &mut DbConnection,
    occurrence_id: i64,
    course_id: Option<i64>,
    (starts_at, ends_at, window): (NaiveDateTime, NaiveDateTime, i32),
    absent: &[i64],
) -> ApiResult<Vec<i64>> {
    let Some(course_id) = course_id else {
        return Ok(Vec::new());
    };
    if absent.is_empty() {
        return Ok(Vec::new());
    }
    let done: Vec<(i64, NaiveDateTime)> = course_completions::table
        .filter(course_completions::course_id.eq(course_id))
        .filter(course_completions::user_id.eq_any(absent))
        .select((
            course_completions::user_id,
            course_completions::completed_at,
        ))
        .load(conn)?;
    let mut made_up = Vec::new();
    for (user_id, at) in done {
        if within_window(starts_at, ends_at, window, at) && mark(conn, occurrence_id, user_id, at)?
        {
            made_up.push(user_id);
        }
    }
    Ok(made_up)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_window_runs_from_the_start_to_the_end_plus_the_days() {
        let d = |day: u32, h: u32| {
            NaiveDate::from_ymd_opt(2027, 1, day)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
        };
        let (s, e) = (d(1, 1), d(1, 3));
        assert!(!within_window(s, e, 30, d(1, 0)));
        assert!(within_window(s, e, 30, d(1, 2)));
        assert!(within_window(s, e, 30, d(31, 3)));
        assert!(!within_window(s, e, 30, d(31, 4)));
    }
}
