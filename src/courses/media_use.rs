//! Media seen through courses: a media object that is a lesson's content or a course's
//! cover is visible to whoever may see that course (manage it, or study it because it is
//! published and assigned to their home org or above). Wired into
//! [`crate::media::access::MediaUses`] in `lib.rs`.

use diesel::prelude::*;

use super::catalog;
use super::model::Course;
use crate::db::DbConnection;
use crate::db::schema::{courses, lessons};
use crate::error::ApiResult;
use crate::orgs::access::Scope;

/// How many using courses are looked at (a media object is rarely in more).
const MAX_COURSES: i64 = 200;

/// Whether the caller with `scope` sees a course that uses `media_id`.
pub fn visible_through_course(
    conn: &mut DbConnection,
    scope: &Scope,
    media_id: i64,
) -> ApiResult<bool> {
    let by_lesson = lessons::table
        .filter(lessons::media_id.eq(media_id))
        .select(lessons::course_id);
    let using: Vec<Course> = courses::table
        .filter(
            courses::cover_media_id
                .eq(media_id)
                .or(courses::id.eq_any(by_lesson)),
        )
        .order(courses::id)
        .limit(MAX_COURSES)
        .select(Course::as_select())
        .load(conn)?;
    for course in &using {
        if catalog::access_in(conn, scope, course)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Which of `ids` a lesson or a course cover uses (for housekeeping: unused media expire).
pub fn referenced(
    conn: &mut DbConnection,
    ids: &[i64],
) -> ApiResult<std::collections::HashSet<i64>> {
    let mut used: std::collections::HashSet<i64> = lessons::table
        .filter(lessons::media_id.eq_any(ids))
        .select(lessons::media_id.assume_not_null())
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    used.extend(
        courses::table
            .filter(courses::cover_media_id.eq_any(ids))
            .select(courses::cover_media_id.assume_not_null())
            .load::<i64>(conn)?,
    );
    Ok(used)
}
