//! Identity is scoped like objects: who may enroll, edit, import, transfer, change the
//! status of — or bind a WeChat account to — a *person*, as opposed to an org's data.
//!
//! The invariants every path goes through (add, import, edit, transfer, status in
//! [`super::member_routes`] and [`super::import`]; bind in `auth::wechat::binding`):
//!
//! 1. **An organizer manages a person only when the person lies wholly inside the
//!    organizer's scope**: every current membership *and every role* the person holds is in
//!    a subtree where the organizer may administer. A village secretary therefore cannot
//!    touch the township secretary who happens to be a member of her branch (403), nor the
//!    county admin (who is nobody's member: 404, and enrollment is refused).
//! 2. **An account with a password and no membership is its owner's alone**: nobody enrolls
//!    it (its owner may enroll themself).
//! 3. **Enrollment does not reveal where else a phone is known**: every refusal for a person
//!    outside the scope is the same `409 member_not_addable` ("cannot add this phone here;
//!    ask for a transfer"), whether the phone is a member elsewhere, a role holder or a
//!    password account.
//! 4. **A phone number is an identity key**: changing it, by anyone, revokes the person's
//!    sessions and WeChat binding, and is audited on the person (who sees it in
//!    `GET /v1/me/account-events`). See [`super::members::update`].
//! 5. **WeChat binds by phone alone only a plain member**: an account holding a role or a
//!    password needs its own password with the bind.

use std::collections::HashMap;

use diesel::prelude::*;

use super::access::{Right, Scope};
use crate::db::DbConnection;
use crate::db::schema::{memberships, org_roles, orgs, users};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// What stands behind an account: whether it has a password, its current home org and the
/// orgs where it holds roles (as paths).
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub user_id: i64,
    pub has_password: bool,
    pub home_path: Option<String>,
    pub role_paths: Vec<String>,
}

impl Standing {
    /// Invariants 1 and 2: whether the organizer with `scope` may change this person.
    pub fn manageable_by(&self, scope: &Scope) -> bool {
        if self.user_id == scope.user_id {
            return true;
        }
        if self.has_password && self.home_path.is_none() {
            return false;
        }
        let administers = |path: &String| scope.has(path, Right::Administer);
        self.home_path.iter().all(administers) && self.role_paths.iter().all(administers)
    }

    /// Whether the person holds a role anywhere.
    pub fn holds_role(&self) -> bool {
        !self.role_paths.is_empty()
    }
}

/// How many users one query asks about.
const CHUNK: usize = 1000;

/// The standing of one user.
pub fn standing(conn: &mut DbConnection, user_id: i64) -> ApiResult<Standing> {
    Ok(standings(conn, &[user_id])?
        .remove(&user_id)
        .unwrap_or(Standing {
            user_id,
            ..Standing::default()
        }))
}

/// The standings of these users (in chunks; unknown ids are absent).
pub fn standings(conn: &mut DbConnection, user_ids: &[i64]) -> ApiResult<HashMap<i64, Standing>> {
    let mut out: HashMap<i64, Standing> = HashMap::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(CHUNK) {
        let rows: Vec<(i64, bool)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::password_hash.is_not_null()))
            .load(conn)?;
        for (id, has_password) in rows {
            out.insert(
                id,
                Standing {
                    user_id: id,
                    has_password,
                    ..Standing::default()
                },
            );
        }
        let homes: Vec<(i64, String)> = memberships::table
            .inner_join(orgs::table)
            .filter(memberships::user_id.eq_any(chunk))
            .filter(memberships::to_date.is_null())
            .select((memberships::user_id, orgs::path))
            .load(conn)?;
        for (id, path) in homes {
            if let Some(s) = out.get_mut(&id) {
                s.home_path = Some(path);
            }
        }
        let roles: Vec<(i64, String)> = org_roles::table
            .inner_join(orgs::table)
            .filter(org_roles::user_id.eq_any(chunk))
            .select((org_roles::user_id, orgs::path))
            .load(conn)?;
        for (id, path) in roles {
            if let Some(s) = out.get_mut(&id) {
                s.role_paths.push(path);
            }
        }
    }
    Ok(out)
}

/// The one refusal of an enrollment (invariant 3): it says nothing about where else the
/// phone is known.
pub fn not_addable() -> ApiError {
    ApiError::new(ErrorCode::MemberNotAddable)
}

/// Invariant 1 for a person the caller can see: 403 unless they may change them.
pub fn require_manageable(conn: &mut DbConnection, scope: &Scope, user_id: i64) -> ApiResult<()> {
    if standing(conn, user_id)?.manageable_by(scope) {
        return Ok(());
    }
    Err(ApiError::forbidden().with_detail(
        "此人在您的管辖范围以外担任职务或有组织关系，只能由上级组织修改",
        "This person holds a role or membership outside your scope; only an organization above can change them",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orgs::model::Role;

    fn scope(user_id: i64, roles: &[(Role, &str)]) -> Scope {
        Scope {
            user_id,
            roles: roles.iter().map(|(r, p)| (*r, p.to_string())).collect(),
            home_path: None,
        }
    }

    #[test]
    fn a_person_is_manageable_only_when_wholly_inside_the_scope() {
        let village = scope(9, &[(Role::Secretary, "/1/2/3/")]);
        let member = Standing {
            user_id: 5,
            home_path: Some("/1/2/3/".into()),
            ..Standing::default()
        };
        assert!(member.manageable_by(&village));
        let township_secretary = Standing {
            role_paths: vec!["/1/2/".into()],
            ..member.clone()
        };
        assert!(!township_secretary.manageable_by(&village));
        let county_admin = Standing {
            user_id: 1,
            has_password: true,
            home_path: None,
            role_paths: vec!["/1/".into()],
        };
        assert!(!county_admin.manageable_by(&village));
        let bare_password = Standing {
            user_id: 7,
            has_password: true,
            ..Standing::default()
        };
        assert!(!bare_password.manageable_by(&village));
        assert!(!bare_password.manageable_by(&scope(1, &[(Role::Admin, "/1/")])));
        // A former member without password or role may be enrolled again.
        let former = Standing {
            user_id: 8,
            ..Standing::default()
        };
        assert!(former.manageable_by(&village));
        // An organizer does not administer: nobody is manageable by them but themself.
        let organizer = scope(4, &[(Role::Organizer, "/1/2/3/")]);
        assert!(!member.manageable_by(&organizer));
        // Oneself, always.
        assert!(county_admin.manageable_by(&scope(1, &[(Role::Admin, "/1/")])));
    }
}
