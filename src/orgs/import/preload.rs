//! What the plan is decided against, read up front: the orgs of the subtree by name, and
//! the users and current memberships of the file's phones, in chunks of a thousand.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::check::Rejection;
use super::model::RejectReason;
use super::parse::Field;
use crate::db::DbConnection;
use crate::db::schema::{memberships, users};
use crate::error::{ApiResult, Text};
use crate::orgs::model::{Membership, Org, OrgKind};

/// How many phones or ids one preload query asks for.
const PRELOAD_CHUNK: usize = 1000;

/// A user as stored, with the fields an import may change.
#[derive(Debug, Clone, Queryable)]
pub struct KnownUser {
    pub id: i64,
    pub phone: String,
    pub name: String,
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
}

/// The orgs of the subtree by name.
pub struct OrgIndex<'a> {
    by_name: HashMap<&'a str, Vec<&'a Org>>,
}

impl<'a> OrgIndex<'a> {
    pub fn new(orgs: &'a [Org]) -> Self {
        let mut by_name: HashMap<&str, Vec<&Org>> = HashMap::new();
        for o in orgs {
            by_name.entry(o.name.as_str()).or_default().push(o);
        }
        OrgIndex { by_name }
    }

    /// The org a row names, if it names one.
    pub fn resolve(&self, root: &Org, name: Option<&str>) -> Result<Option<i64>, Rejection> {
        let col = Some(Field::Org.as_str());
        let Some(name) = name else {
            return Ok(None);
        };
        match self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[]) {
            [] => Err(Rejection::one(
                RejectReason::UnknownOrg,
                col,
                Text::new(
                    format!("“{}”下没有名为“{name}”的组织", root.name),
                    format!("No org named “{name}” under “{}”", root.name),
                ),
            )),
            [org] if holds_members(org) => Ok(Some(org.id)),
            [_] => Err(Rejection::one(
                RejectReason::OrgCannotHoldMembers,
                col,
                Text::new(
                    format!("“{name}”不是党支部或党小组"),
                    format!("“{name}” is not a branch or party group"),
                ),
            )),
            several => Err(Rejection::one(
                RejectReason::AmbiguousOrg,
                col,
                Text::new(
                    format!("有 {} 个组织名为“{name}”，无法确定", several.len()),
                    format!("{} orgs are named “{name}”", several.len()),
                ),
            )),
        }
    }
}

/// The home of a new member whose row names no org: the import's org, if it can be one.
pub fn default_org(root: &Org) -> Result<i64, Rejection> {
    if holds_members(root) {
        return Ok(root.id);
    }
    Err(Rejection::one(
        RejectReason::OrgRequired,
        Some(Field::Org.as_str()),
        Text::new(
            format!("未填写所在支部，且“{}”不是党支部或党小组", root.name),
            format!(
                "No org given, and “{}” is not a branch or party group",
                root.name
            ),
        ),
    ))
}

fn holds_members(org: &Org) -> bool {
    OrgKind::parse(&org.kind).is_some_and(OrgKind::can_hold_members)
}

/// Users with these phones, by phone.
pub fn load_users(
    conn: &mut DbConnection,
    phones: &[&str],
) -> ApiResult<HashMap<String, KnownUser>> {
    let mut out = HashMap::with_capacity(phones.len());
    for chunk in phones.chunks(PRELOAD_CHUNK) {
        let rows: Vec<KnownUser> = users::table
            .filter(users::phone.eq_any(chunk))
            .select((
                users::id,
                users::phone,
                users::name,
                users::gender,
                users::birth_date,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|u| (u.phone.clone(), u)));
    }
    Ok(out)
}

/// Current memberships of these users, by user id.
pub fn load_memberships(
    conn: &mut DbConnection,
    ids: &[i64],
) -> ApiResult<HashMap<i64, Membership>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(PRELOAD_CHUNK) {
        let rows: Vec<Membership> = memberships::table
            .filter(memberships::user_id.eq_any(chunk))
            .filter(memberships::to_date.is_null())
            .select(Membership::as_select())
            .load(conn)?;
        out.extend(rows.into_iter().map(|m| (m.user_id, m)));
    }
    Ok(out)
}
