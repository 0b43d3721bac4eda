//! Publishing a course to orgs: each assignment applies to the org's whole subtree at the
//! time a member looks; required or optional, with an optional due date. Revoking hides the
//! course from members but keeps their records.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{Assignment, AssignmentView, Course, CourseStatus};
use crate::changes::{self, Change};
use crate::db::DbConnection;
use crate::db::schema::{course_assignments as ca, orgs};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Assigns (or re-assigns, updating required/due) a published course to `org_id`.
pub fn assign(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    course: &Course,
    org_id: i64,
    required: bool,
    due_date: Option<NaiveDate>,
    by: i64,
) -> ApiResult<()> {
    if CourseStatus::from_db(&course.status)? != CourseStatus::Published {
        return Err(ApiError::new(ErrorCode::CourseNotPublished));
    }
    let existing: Option<Assignment> = ca::table
        .filter(ca::course_id.eq(course.id))
        .filter(ca::org_id.eq(org_id))
        .select(Assignment::as_select())
        .first(conn)
        .optional()?;
    match existing {
        Some(a) => {
            diesel::update(ca::table.find(a.id))
                .set((
                    ca::required.eq(required),
                    ca::due_date.eq(due_date),
                    ca::revoked_at.eq(None::<NaiveDateTime>),
                    ca::assigned_by.eq(by),
                    ca::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(ca::table)
                .values((
                    ca::course_id.eq(course.id),
                    ca::org_id.eq(org_id),
                    ca::required.eq(required),
                    ca::due_date.eq(due_date),
                    ca::assigned_by.eq(by),
                    ca::created_at.eq(now),
                    ca::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    changes::record(
        conn,
        now,
        &[Change::AssignmentChanged {
            course_id: course.id,
            org_id,
        }],
    )
}

/// Active assignments of a course.
pub fn list(conn: &mut DbConnection, course_id: i64) -> ApiResult<Vec<AssignmentView>> {
    let rows: Vec<(Assignment, String)> = ca::table
        .inner_join(orgs::table)
        .filter(ca::course_id.eq(course_id))
        .filter(ca::revoked_at.is_null())
        .order(orgs::path.asc())
        .select((Assignment::as_select(), orgs::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(a, org_name)| AssignmentView {
            course_id: a.course_id,
            org_id: a.org_id,
            org_name,
            required: a.required,
            due_date: a.due_date,
            assigned_at: a.updated_at.and_utc(),
        })
        .collect())
}

/// Revokes an assignment; 404 if there is no active one.
pub fn revoke(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    course_id: i64,
    org_id: i64,
) -> ApiResult<()> {
    let n = diesel::update(
        ca::table
            .filter(ca::course_id.eq(course_id))
            .filter(ca::org_id.eq(org_id))
            .filter(ca::revoked_at.is_null()),
    )
    .set((ca::revoked_at.eq(now), ca::updated_at.eq(now)))
    .execute(conn)?;
    if n == 0 {
        return Err(ApiError::not_found());
    }
    changes::record(
        conn,
        now,
        &[Change::AssignmentChanged { course_id, org_id }],
    )
}
