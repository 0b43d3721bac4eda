//! Deciding each checked row's outcome against the database, without writing: the home
//! org named by 所在支部, the user and membership already stored for the phone (see
//! [`super::preload`]), and what would change. A dry run stops here; an import hands the
//! plan to [`super::apply`].

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::check::{CheckedRow, Rejection};
use super::model::RejectReason;
use super::parse::Field;
use super::preload::{KnownUser, OrgIndex, default_org, load_memberships, load_users};
use super::values::RowInput;
use crate::db::{DbConnection, sql};
use crate::error::{ApiResult, Text};
use crate::orgs::access::Scope;
use crate::orgs::identity::{self, Standing};
use crate::orgs::model::{Category, Gender, MemberStatus, Membership, Org};
use crate::orgs::tree;

/// The full new details of a user (what `UPDATE` writes).
#[derive(Debug, Clone)]
pub struct UserDetails {
    pub id: i64,
    pub name: String,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
}

/// The full new details of a current membership.
#[derive(Debug, Clone)]
pub struct MembershipDetails {
    pub id: i64,
    pub category: Category,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
}

/// A membership to start.
#[derive(Debug, Clone)]
pub struct Joining {
    pub org_id: i64,
    pub category: Category,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
    pub status: MemberStatus,
}

/// A move: the current membership ends on `last_day`, `joining` starts today.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub membership_id: i64,
    pub from_org_id: i64,
    pub last_day: NaiveDate,
    pub joining: Joining,
}

/// What the import does with a row.
#[derive(Debug, Clone)]
pub enum Decision {
    Rejected(Rejection),
    /// A new user and their membership.
    NewUser {
        input: RowInput,
        joining: Joining,
    },
    /// A known user without a home org joins (their details updated if they differ).
    Join {
        user_id: i64,
        user: Option<UserDetails>,
        joining: Joining,
    },
    /// A member of the subtree whose details or org change.
    Change {
        user_id: i64,
        org_id: i64,
        changes: Vec<&'static str>,
        user: Option<UserDetails>,
        membership: Option<MembershipDetails>,
        /// Moving to another org of the subtree.
        transfer: Option<Transfer>,
    },
    Unchanged {
        user_id: i64,
        org_id: i64,
    },
}

/// A row with its decision.
#[derive(Debug, Clone)]
pub struct PlannedRow {
    pub line: u64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub decision: Decision,
}

/// Everything the plan is decided against.
pub struct Context<'a> {
    pub root: &'a Org,
    /// The importing organizer's scope: a row may only touch a person wholly inside it
    /// (see [`crate::orgs::identity`]).
    pub scope: &'a Scope,
    pub today: NaiveDate,
}

/// Decides every row. Reads only; call it inside a transaction (see
/// [`sql::prefer_custom_plans`]).
pub fn plan(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    rows: Vec<CheckedRow>,
) -> ApiResult<Vec<PlannedRow>> {
    sql::prefer_custom_plans(conn)?;
    let subtree = tree::subtree(conn, ctx.root, 64)?;
    let orgs = OrgIndex::new(&subtree);
    let phones: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.input.as_ref().ok().map(|i| i.phone.as_str()))
        .collect();
    let known = load_users(conn, &phones)?;
    let ids: Vec<i64> = known.values().map(|u| u.id).collect();
    let current = load_memberships(conn, &ids)?;
    let standings = identity::standings(conn, &ids)?;
    let in_subtree: HashSet<i64> = subtree.iter().map(|o| o.id).collect();
    let known_ctx = Known {
        users: &known,
        current: &current,
        standings: &standings,
        in_subtree: &in_subtree,
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let decision = match row.input {
            Err(rejection) => Decision::Rejected(rejection),
            Ok(input) => match orgs.resolve(ctx.root, input.org.as_deref()) {
                Err(rejection) => Decision::Rejected(rejection),
                Ok(named) => decide(ctx, input, named, &known_ctx),
            },
        };
        out.push(PlannedRow {
            line: row.line,
            name: row.name,
            phone: row.phone,
            decision,
        });
    }
    Ok(out)
}

/// What the database holds about the file's phones.
struct Known<'a> {
    users: &'a HashMap<String, KnownUser>,
    current: &'a HashMap<i64, Membership>,
    standings: &'a HashMap<i64, Standing>,
    in_subtree: &'a HashSet<i64>,
}

/// The one refusal for a person outside the importer's scope: a member elsewhere, a role
/// holder above, an account with a password. It says nothing about which, nor where.
fn not_addable() -> Decision {
    Decision::Rejected(Rejection::one(
        RejectReason::NotAddable,
        Some(Field::Phone.as_str()),
        Text::new(
            "无法在此导入该手机号。如此人已在其他组织，请由其所在组织办理组织关系转接",
            "This phone number cannot be imported here. If the person belongs to another organization, ask it to transfer them",
        ),
    ))
}

/// The outcome of a valid row. `named` is the org its 所在支部 cell names: a new member
/// without one joins the import's org; an existing member without one stays where they are.
fn decide(ctx: &Context<'_>, input: RowInput, named: Option<i64>, known: &Known<'_>) -> Decision {
    let home_of_new = match named {
        Some(id) => Ok(id),
        None => default_org(ctx.root),
    };
    let Some(user) = known.users.get(input.phone.as_str()) else {
        return match home_of_new {
            Ok(org_id) => Decision::NewUser {
                joining: joining_for_new(&input, org_id),
                input,
            },
            Err(rejection) => Decision::Rejected(rejection),
        };
    };
    // Invariant 1 and 2 of `identity`: only a person wholly inside the importer's scope.
    let manageable = known
        .standings
        .get(&user.id)
        .is_some_and(|s| s.manageable_by(ctx.scope));
    if !manageable {
        return not_addable();
    }
    let (user_details, mut changes) = user_changes(user, &input);
    let Some(m) = known.current.get(&user.id) else {
        return match home_of_new {
            Ok(org_id) => Decision::Join {
                user_id: user.id,
                user: (!changes.is_empty()).then_some(user_details),
                joining: joining_for_new(&input, org_id),
            },
            Err(rejection) => Decision::Rejected(rejection),
        };
    };
    if !known.in_subtree.contains(&m.org_id) {
        return not_addable();
    }
    let org_id = named.unwrap_or(m.org_id);
    let user = (!changes.is_empty()).then_some(user_details);
    let (details, membership_changes) = membership_changes(m, &input);
    changes.extend(membership_changes.iter().copied());
    if m.org_id != org_id {
        changes.push("org");
        let status = MemberStatus::parse(&m.status).unwrap_or(MemberStatus::Active);
        let last_day = ctx.today.pred_opt().unwrap_or(ctx.today).max(m.from_date);
        let joining = Joining {
            org_id,
            category: details.category,
            is_cadre: details.is_cadre,
            joined_party_on: details.joined_party_on,
            status,
        };
        return Decision::Change {
            user_id: m.user_id,
            org_id,
            changes,
            user,
            membership: None,
            transfer: Some(Transfer {
                membership_id: m.id,
                from_org_id: m.org_id,
                last_day,
                joining,
            }),
        };
    }
    if changes.is_empty() {
        return Decision::Unchanged {
            user_id: m.user_id,
            org_id,
        };
    }
    Decision::Change {
        user_id: m.user_id,
        org_id,
        changes,
        user,
        membership: (!membership_changes.is_empty()).then_some(details),
        transfer: None,
    }
}

fn joining_for_new(input: &RowInput, org_id: i64) -> Joining {
    Joining {
        org_id,
        category: input.category.unwrap_or(Category::Full),
        is_cadre: input.is_cadre.unwrap_or(false),
        joined_party_on: input.joined_party_on,
        status: MemberStatus::Active,
    }
}

/// The user's details with the row applied, and the names of the fields that differ.
fn user_changes(user: &KnownUser, input: &RowInput) -> (UserDetails, Vec<&'static str>) {
    let stored_gender = user.gender.as_deref().and_then(Gender::parse);
    let new = UserDetails {
        id: user.id,
        name: input.name.clone(),
        gender: input.gender.or(stored_gender),
        birth_date: input.birth_date.or(user.birth_date),
    };
    let mut changes = Vec::new();
    if new.name != user.name {
        changes.push("name");
    }
    if new.gender != stored_gender {
        changes.push("gender");
    }
    if new.birth_date != user.birth_date {
        changes.push("birth_date");
    }
    (new, changes)
}

/// The membership's details with the row applied, and the names of the fields that differ.
fn membership_changes(m: &Membership, input: &RowInput) -> (MembershipDetails, Vec<&'static str>) {
    let stored_category = Category::parse(&m.category);
    let new = MembershipDetails {
        id: m.id,
        category: input.category.or(stored_category).unwrap_or(Category::Full),
        is_cadre: input.is_cadre.unwrap_or(m.is_cadre),
        joined_party_on: input.joined_party_on.or(m.joined_party_on),
    };
    let mut changes = Vec::new();
    if Some(new.category) != stored_category {
        changes.push("category");
    }
    if new.is_cadre != m.is_cadre {
        changes.push("is_cadre");
    }
    if new.joined_party_on != m.joined_party_on {
        changes.push("joined_party_on");
    }
    (new, changes)
}
