//! Authorization: the one function every handler calls before touching an org's data.
//!
//! A caller's *scope* is the union of the subtrees where they hold a role. Outside it an
//! org does not exist for them (404) — an ancestor of their org included. Inside it, the
//! role must grant the right asked for, else 403. Plain members additionally *view* their
//! home org and its ancestors (to read what is published or scheduled there), nothing more.
//!
//! | role | view | operate (courses, activities, attendance, statistics, member lists) | administer (members, roles, settings, the tree) |
//! |---|---|---|---|
//! | admin, secretary, deputy_secretary | ✓ | ✓ | ✓ |
//! | organizer, committee_member | ✓ | ✓ | 403 |
//! | member (no role) | home org and ancestors | 404 | 404 |

use diesel::prelude::*;

use super::model::{Org, Role};
use super::tree;
use crate::db::DbConnection;
use crate::db::schema::{memberships, org_roles, orgs};
use crate::error::{ApiError, ApiResult};

/// What the caller wants to do with an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// See the org and read what is published or scheduled for it.
    View,
    /// Manage courses, activities and attendance; read statistics and member lists.
    Operate,
    /// Manage members, roles, settings and the org tree.
    Administer,
}

impl Role {
    /// Whether this role grants `right` in its subtree.
    pub fn grants(self, right: Right) -> bool {
        match right {
            Right::View | Right::Operate => true,
            Right::Administer => {
                matches!(self, Role::Admin | Role::Secretary | Role::DeputySecretary)
            }
        }
    }
}

/// The caller's roles with the paths of their orgs, and their home org path.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub user_id: i64,
    pub roles: Vec<(Role, String)>,
    pub home_path: Option<String>,
}

impl Scope {
    pub fn load(conn: &mut DbConnection, user_id: i64) -> ApiResult<Scope> {
        let rows: Vec<(String, String)> = org_roles::table
            .inner_join(orgs::table)
            .filter(org_roles::user_id.eq(user_id))
            .select((org_roles::role, orgs::path))
            .load(conn)?;
        let roles = rows
            .into_iter()
            .map(|(r, p)| Ok((Role::from_db(&r)?, p)))
            .collect::<ApiResult<Vec<_>>>()?;
        let home_path = memberships::table
            .inner_join(orgs::table)
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::to_date.is_null())
            .select(orgs::path)
            .first::<String>(conn)
            .optional()?;
        Ok(Scope {
            user_id,
            roles,
            home_path,
        })
    }

    /// The decision for an org at `path`: `Ok` if allowed, 404 outside the scope, 403
    /// inside it without the right.
    pub fn check(&self, path: &str, right: Right) -> ApiResult<()> {
        let covering: Vec<Role> = self
            .roles
            .iter()
            .filter(|(_, p)| path.starts_with(p.as_str()))
            .map(|(r, _)| *r)
            .collect();
        if covering.iter().any(|r| r.grants(right)) {
            return Ok(());
        }
        if !covering.is_empty() {
            return Err(ApiError::forbidden());
        }
        if right == Right::View && self.views_as_member(path) {
            return Ok(());
        }
        Err(ApiError::not_found())
    }

    /// Whether the org at `path` is the caller's home org or one of its ancestors.
    pub fn views_as_member(&self, path: &str) -> bool {
        self.home_path
            .as_deref()
            .is_some_and(|home| home.starts_with(path))
    }

    /// Whether the caller holds any role covering `path` that grants `right`.
    pub fn has(&self, path: &str, right: Right) -> bool {
        self.check(path, right).is_ok()
    }

    /// The subtree roots where the caller may `right` (for listing across a scope).
    pub fn roots(&self, right: Right) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|(r, _)| r.grants(right))
            .map(|(_, p)| p.as_str())
            .collect()
    }
}

/// Loads the org and checks the caller's right on it. The one authorization entry point
/// for org-scoped routes: 404 outside the scope, 403 inside it without the right.
pub fn authorize(
    conn: &mut DbConnection,
    user_id: i64,
    org_id: i64,
    right: Right,
) -> ApiResult<(Org, Scope)> {
    let scope = Scope::load(conn, user_id)?;
    let org = tree::find(conn, org_id)?;
    scope.check(&org.path, right)?;
    Ok((org, scope))
}

/// Authorizes access to a member's records: the member themself may `View`; otherwise the
/// caller needs `right` on the member's current home org (404 if the user is no member
/// anyone in scope can see). To `Administer` a member — edit, transfer, change status —
/// the person must also lie wholly inside the caller's scope: a role they hold above it
/// makes the member 403 (see [`super::identity`]).
pub fn authorize_member(
    conn: &mut DbConnection,
    caller_id: i64,
    member_user_id: i64,
    right: Right,
) -> ApiResult<Option<Org>> {
    let home: Option<Org> = memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(member_user_id))
        .filter(memberships::to_date.is_null())
        .select(Org::as_select())
        .first(conn)
        .optional()?;
    if caller_id == member_user_id && right == Right::View {
        return Ok(home);
    }
    let Some(home) = home else {
        return Err(ApiError::not_found());
    };
    let scope = Scope::load(conn, caller_id)?;
    // A member's record is not "published" to other members: viewing needs Operate.
    let needed = if right == Right::View {
        Right::Operate
    } else {
        right
    };
    scope.check(&home.path, needed)?;
    if right == Right::Administer {
        super::identity::require_manageable(conn, &scope, member_user_id)?;
    }
    Ok(Some(home))
}
