//! Org roles: grant, revoke, list the holders in a subtree.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Org, Role, RoleView, subtree_range};
use crate::db::DbConnection;
use crate::db::schema::{memberships, org_roles, orgs, users};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};

/// Role holders on `org` and every org below it.
pub fn list(conn: &mut DbConnection, org: &Org) -> ApiResult<Vec<RoleView>> {
    let (lo, hi) = subtree_range(&org.path);
    let rows: Vec<(i64, String, i64, String, String, NaiveDateTime)> = org_roles::table
        .inner_join(orgs::table)
        .inner_join(users::table)
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .order((orgs::path.asc(), org_roles::id.asc()))
        .select((
            org_roles::user_id,
            users::name,
            org_roles::org_id,
            orgs::name,
            org_roles::role,
            org_roles::granted_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(user_id, user_name, org_id, org_name, role, granted_at)| {
            Ok(RoleView {
                user_id,
                user_name,
                org_id,
                org_name,
                role: Role::from_db(&role)?,
                granted_at: granted_at.and_utc(),
            })
        })
        .collect()
}

/// Whether `user_id` is a current member somewhere in the subtree of `org`.
fn is_member_within(conn: &mut DbConnection, user_id: i64, org: &Org) -> ApiResult<bool> {
    let (lo, hi) = subtree_range(&org.path);
    Ok(memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::to_date.is_null())
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Grants `role` on `org` to a member of its subtree. Granting a role already held is a
/// no-op (returns false).
pub fn grant(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    org: &Org,
    user_id: i64,
    role: Role,
    by: i64,
) -> ApiResult<bool> {
    if !is_member_within(conn, user_id, org)? {
        return Err(ApiError::new(ErrorCode::ValidationFailed).with_field(
            crate::error::FieldError::new(
                "user_id",
                "not_a_member_here",
                Text::new(
                    "只能给本组织（含下级）的党员授予职务",
                    "Roles go to members of this organization or the ones below it",
                ),
            ),
        ));
    }
    let exists = org_roles::table
        .filter(org_roles::user_id.eq(user_id))
        .filter(org_roles::org_id.eq(org.id))
        .filter(org_roles::role.eq(role.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    insert(conn, now, org.id, user_id, role, Some(by))?;
    Ok(true)
}

/// Inserts a role row without checks (CLI bootstrap and demo seeding).
pub fn insert(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    org_id: i64,
    user_id: i64,
    role: Role,
    by: Option<i64>,
) -> ApiResult<()> {
    diesel::insert_into(org_roles::table)
        .values((
            org_roles::user_id.eq(user_id),
            org_roles::org_id.eq(org_id),
            org_roles::role.eq(role.as_str()),
            org_roles::granted_at.eq(now),
            org_roles::granted_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

/// Revokes a role; 404 if it is not held.
pub fn revoke(conn: &mut DbConnection, org: &Org, user_id: i64, role: Role) -> ApiResult<()> {
    let n = diesel::delete(
        org_roles::table
            .filter(org_roles::user_id.eq(user_id))
            .filter(org_roles::org_id.eq(org.id))
            .filter(org_roles::role.eq(role.as_str())),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(ApiError::not_found());
    }
    Ok(())
}
