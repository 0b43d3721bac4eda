//! Who may do what with an activity or an occurrence, through the one authorization
//! function ([`crate::orgs::access::authorize`]) on the activity's org: outside the
//! caller's view 404; visible (a member of the org or below, or an organizer over it) but
//! without the right asked for, 403.

use diesel::prelude::*;

use super::model::{Activity, Occurrence};
use crate::db::DbConnection;
use crate::db::schema::{activities, activity_occurrences};
use crate::error::{ApiError, ApiResult};
use crate::orgs::access::{Right, Scope, authorize};
use crate::orgs::model::Org;

/// An occurrence with its activity and org, authorized for the caller.
#[derive(Debug, Clone)]
pub struct OccurrenceCtx {
    pub occ: Occurrence,
    pub activity: Activity,
    pub org: Org,
    /// The caller may operate (organize) here.
    pub manage: bool,
}

/// An activity with its org, authorized for the caller.
#[derive(Debug, Clone)]
pub struct ActivityCtx {
    pub activity: Activity,
    pub org: Org,
    pub manage: bool,
}

pub fn find_activity(conn: &mut DbConnection, id: i64) -> ApiResult<Activity> {
    Ok(activities::table
        .find(id)
        .select(Activity::as_select())
        .first(conn)?)
}

pub fn find_occurrence(conn: &mut DbConnection, id: i64) -> ApiResult<Occurrence> {
    Ok(activity_occurrences::table
        .find(id)
        .select(Occurrence::as_select())
        .first(conn)?)
}

/// Views the org (404 outside), then requires `right` there (403 without it).
fn check(
    conn: &mut DbConnection,
    user_id: i64,
    org_id: i64,
    right: Right,
) -> ApiResult<(Org, bool)> {
    let (org, scope): (Org, Scope) = authorize(conn, user_id, org_id, Right::View)?;
    let manage = scope.has(&org.path, Right::Operate);
    if right != Right::View && !scope.has(&org.path, right) {
        return Err(ApiError::forbidden());
    }
    Ok((org, manage))
}

/// Loads an activity for a caller who needs `right` on its org.
pub fn activity(
    conn: &mut DbConnection,
    user_id: i64,
    id: i64,
    right: Right,
) -> ApiResult<ActivityCtx> {
    let activity = find_activity(conn, id)?;
    let (org, manage) = check(conn, user_id, activity.org_id, right)?;
    Ok(ActivityCtx {
        activity,
        org,
        manage,
    })
}

/// Loads an occurrence for a caller who needs `right` on its org.
pub fn occurrence(
    conn: &mut DbConnection,
    user_id: i64,
    id: i64,
    right: Right,
) -> ApiResult<OccurrenceCtx> {
    let occ = find_occurrence(conn, id)?;
    let (org, manage) = check(conn, user_id, occ.org_id, right)?;
    let activity = find_activity(conn, occ.activity_id)?;
    Ok(OccurrenceCtx {
        occ,
        activity,
        org,
        manage,
    })
}
