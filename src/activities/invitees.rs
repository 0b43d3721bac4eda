//! Who is invited to an occurrence. Until it starts the list is live: the current members
//! of the org's subtree (a party group meeting is scheduled on the group, so it is the
//! group), or the committee role holders of the org for a committee meeting. From the
//! start on it is frozen: the first write at or after the start stores the list, and
//! later transfers or new members no longer change it.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Activity, Audience, Occurrence};
use crate::db::DbConnection;
use crate::db::schema::{activity_invitees, activity_occurrences, memberships, org_roles, orgs};
use crate::error::ApiResult;
use crate::orgs::model::{MemberStatus, Org, Role, subtree_range};

/// The roles that sit on a committee.
pub const COMMITTEE_ROLES: [Role; 3] = [
    Role::Secretary,
    Role::DeputySecretary,
    Role::CommitteeMember,
];

/// Membership statuses that are invited (suspended members are not).
const INVITED_STATUSES: [MemberStatus; 2] = [MemberStatus::Active, MemberStatus::Migrant];

fn committee_roles() -> Vec<&'static str> {
    COMMITTEE_ROLES.iter().map(|r| r.as_str()).collect()
}

fn invited_statuses() -> Vec<&'static str> {
    INVITED_STATUSES.iter().map(|s| s.as_str()).collect()
}

/// The live list for an activity of `org`, by user id.
pub fn live(conn: &mut DbConnection, activity: &Activity, org: &Org) -> ApiResult<Vec<i64>> {
    match activity.audience() {
        Audience::Members => {
            let (lo, hi) = subtree_range(&org.path);
            Ok(memberships::table
                .inner_join(orgs::table)
                .filter(memberships::to_date.is_null())
                .filter(memberships::status.eq_any(invited_statuses()))
                .filter(orgs::path.ge(lo))
                .filter(orgs::path.lt(hi))
                .select(memberships::user_id)
                .order(memberships::user_id.asc())
                .load(conn)?)
        }
        Audience::Committee => {
            let ids: BTreeSet<i64> = org_roles::table
                .filter(org_roles::org_id.eq(org.id))
                .filter(org_roles::role.eq_any(committee_roles()))
                .select(org_roles::user_id)
                .load::<i64>(conn)?
                .into_iter()
                .collect();
            Ok(ids.into_iter().collect())
        }
    }
}

/// Whether one user is on the live list.
fn live_contains(
    conn: &mut DbConnection,
    activity: &Activity,
    org: &Org,
    user_id: i64,
) -> ApiResult<bool> {
    let n: i64 = match activity.audience() {
        Audience::Members => {
            let (lo, hi) = subtree_range(&org.path);
            memberships::table
                .inner_join(orgs::table)
                .filter(memberships::user_id.eq(user_id))
                .filter(memberships::to_date.is_null())
                .filter(memberships::status.eq_any(invited_statuses()))
                .filter(orgs::path.ge(lo))
                .filter(orgs::path.lt(hi))
                .count()
                .get_result(conn)?
        }
        Audience::Committee => org_roles::table
            .filter(org_roles::org_id.eq(org.id))
            .filter(org_roles::user_id.eq(user_id))
            .filter(org_roles::role.eq_any(committee_roles()))
            .count()
            .get_result(conn)?,
    };
    Ok(n > 0)
}

/// The invitees of an occurrence: the frozen list once there is one, else the live list.
pub fn of(
    conn: &mut DbConnection,
    occ: &Occurrence,
    activity: &Activity,
    org: &Org,
) -> ApiResult<Vec<i64>> {
    if occ.invitees_frozen_at.is_some() {
        return Ok(activity_invitees::table
            .filter(activity_invitees::occurrence_id.eq(occ.id))
            .select(activity_invitees::user_id)
            .order(activity_invitees::user_id.asc())
            .load(conn)?);
    }
    live(conn, activity, org)
}

/// Whether `user_id` is invited to the occurrence.
pub fn contains(
    conn: &mut DbConnection,
    occ: &Occurrence,
    activity: &Activity,
    org: &Org,
    user_id: i64,
) -> ApiResult<bool> {
    if occ.invitees_frozen_at.is_some() {
        let n: i64 = activity_invitees::table
            .filter(activity_invitees::occurrence_id.eq(occ.id))
            .filter(activity_invitees::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        return Ok(n > 0);
    }
    live_contains(conn, activity, org, user_id)
}

/// Stores the list if the occurrence has started (or `force`) and it is not stored yet.
/// Updates `occ` in place. Runs inside a write transaction.
pub fn freeze_if_due(
    conn: &mut DbConnection,
    occ: &mut Occurrence,
    activity: &Activity,
    org: &Org,
    now: NaiveDateTime,
    force: bool,
) -> ApiResult<()> {
    if occ.invitees_frozen_at.is_some() || (!force && now < occ.starts_at) {
        return Ok(());
    }
    let ids = live(conn, activity, org)?;
    for chunk in ids.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|u| {
                (
                    activity_invitees::occurrence_id.eq(occ.id),
                    activity_invitees::user_id.eq(*u),
                )
            })
            .collect();
        crate::insert_ignore!(conn, activity_invitees::table, &rows)?;
    }
    diesel::update(
        activity_occurrences::table
            .find(occ.id)
            .filter(activity_occurrences::invitees_frozen_at.is_null()),
    )
    .set(activity_occurrences::invitees_frozen_at.eq(now))
    .execute(conn)?;
    occ.invitees_frozen_at = Some(now);
    // From its start (or a forced freeze) the occurrence counts.
    crate::changes::record(
        conn,
        now,
        &[crate::changes::Change::OccurrenceStarted {
            occurrence_id: occ.id,
        }],
    )
}
