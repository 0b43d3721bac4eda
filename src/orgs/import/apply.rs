//! The batch write of a plan, inside the caller's transaction: new users in multi-row
//! inserts returning their ids, changed details in multi-row updates (only for rows that
//! changed), transfers as "end the current membership, start a new one" so history is
//! kept, and the new memberships in multi-row inserts. Unchanged rows cost nothing.
//!
//! A row that lost a race with a concurrent change (its phone was taken, or its member got
//! another membership, between the plan and the write) is reported as `concurrent_change`
//! instead of failing the whole import.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};

use super::bulk::{self, MembershipDetailsRow, NewMembershipRow, NewUserRow, UserDetailsRow};
use super::check::Rejection;
use super::model::{RejectReason, RowOutcome};
use super::plan::{Decision, Joining, PlannedRow};
use crate::changes::{self, Change};
use crate::db::DbConnection;
use crate::error::{ApiResult, Text};
use crate::orgs::model::Gender;

/// The end reason written on a membership an import moved away from.
pub const TRANSFER_REASON: &str = "transfer";

/// The result of one row, in either mode.
#[derive(Debug, Clone)]
pub struct RowResult {
    pub line: u64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub outcome: RowOutcome,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub changes: Vec<&'static str>,
    pub rejection: Option<Rejection>,
    /// For a move: (from org, to org), for the audit record.
    pub moved: Option<(i64, i64)>,
}

impl RowResult {
    /// The result a planned row has when nothing is written (a dry run). `created_id` is
    /// the id of a user the import inserted.
    pub fn from_plan(row: PlannedRow, created_id: Option<i64>) -> RowResult {
        let mut r = RowResult {
            line: row.line,
            name: row.name,
            phone: row.phone,
            outcome: RowOutcome::Rejected,
            user_id: None,
            org_id: None,
            changes: Vec::new(),
            rejection: None,
            moved: None,
        };
        match row.decision {
            Decision::Rejected(rejection) => r.rejection = Some(rejection),
            Decision::NewUser { joining, .. } => {
                r.outcome = RowOutcome::Created;
                r.user_id = created_id;
                r.org_id = Some(joining.org_id);
            }
            Decision::Join {
                user_id, joining, ..
            } => {
                r.outcome = RowOutcome::Created;
                r.user_id = Some(user_id);
                r.org_id = Some(joining.org_id);
            }
            Decision::Change {
                user_id,
                org_id,
                changes,
                transfer,
                ..
            } => {
                r.outcome = RowOutcome::Updated;
                r.user_id = Some(user_id);
                r.org_id = Some(org_id);
                r.changes = changes;
                r.moved = transfer.map(|t| (t.from_org_id, org_id));
            }
            Decision::Unchanged { user_id, org_id } => {
                r.outcome = RowOutcome::Unchanged;
                r.user_id = Some(user_id);
                r.org_id = Some(org_id);
            }
        }
        r
    }

    fn lost_race(mut self) -> RowResult {
        self.outcome = RowOutcome::Rejected;
        self.org_id = None;
        self.changes.clear();
        self.moved = None;
        self.rejection = Some(Rejection::one(
            RejectReason::ConcurrentChange,
            None,
            Text::new(
                "导入期间此人的信息被其他操作修改，请重新导入",
                "This person was changed by someone else during the import; import again",
            ),
        ));
        self
    }
}

fn membership_row(user_id: i64, j: &Joining, from_date: NaiveDate) -> NewMembershipRow<'_> {
    NewMembershipRow {
        user_id,
        org_id: j.org_id,
        category: j.category.as_str(),
        is_cadre: j.is_cadre,
        joined_party_on: j.joined_party_on,
        status: j.status.as_str(),
        from_date,
    }
}

/// Writes the plan. `today` is the first day of new memberships.
pub fn apply(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    today: NaiveDate,
    rows: Vec<PlannedRow>,
) -> ApiResult<Vec<RowResult>> {
    // 1. New users, then their ids by phone.
    let new_users: Vec<NewUserRow<'_>> = rows
        .iter()
        .filter_map(|r| match &r.decision {
            Decision::NewUser { input, .. } => Some(NewUserRow {
                phone: input.phone.as_str(),
                name: &input.name,
                gender: input.gender.map(Gender::as_str),
                birth_date: input.birth_date,
            }),
            _ => None,
        })
        .collect();
    let created: HashMap<String, i64> = bulk::insert_users(conn, now, &new_users)?
        .into_iter()
        .map(|(id, phone)| (phone, id))
        .collect();

    // 2. Changed details.
    let mut user_updates = Vec::new();
    let mut membership_updates = Vec::new();
    let mut ends = Vec::new();
    for r in &rows {
        match &r.decision {
            Decision::Join { user: Some(u), .. } | Decision::Change { user: Some(u), .. } => {
                user_updates.push(UserDetailsRow {
                    id: u.id,
                    name: &u.name,
                    gender: u.gender.map(Gender::as_str),
                    birth_date: u.birth_date,
                });
            }
            _ => {}
        }
        if let Decision::Change {
            membership,
            transfer,
            ..
        } = &r.decision
        {
            if let Some(m) = membership {
                membership_updates.push(MembershipDetailsRow {
                    id: m.id,
                    category: m.category.as_str(),
                    is_cadre: m.is_cadre,
                    joined_party_on: m.joined_party_on,
                });
            }
            if let Some(t) = transfer {
                ends.push((t.membership_id, t.last_day));
            }
        }
    }
    bulk::update_user_details(conn, now, &user_updates)?;
    bulk::update_membership_details(conn, now, &membership_updates)?;
    let ended: HashSet<i64> = bulk::end_memberships(conn, now, TRANSFER_REASON, &ends)?
        .into_iter()
        .collect();

    // 3. New memberships: new users, known users joining, and the far side of moves.
    let mut joinings = Vec::new();
    for r in &rows {
        match &r.decision {
            Decision::NewUser { input, joining } => {
                if let Some(id) = created.get(input.phone.as_str()) {
                    joinings.push(membership_row(*id, joining, today));
                }
            }
            Decision::Join {
                user_id, joining, ..
            } => joinings.push(membership_row(*user_id, joining, today)),
            Decision::Change {
                user_id,
                transfer: Some(t),
                ..
            } if ended.contains(&t.membership_id) => {
                joinings.push(membership_row(*user_id, &t.joining, today))
            }
            _ => {}
        }
    }
    let joined: HashSet<i64> = bulk::insert_memberships(conn, now, &joinings)?
        .into_iter()
        .collect();
    // New members join the roster; a changed name, category or cadre flag shows in
    // statistics too.
    let mut changed: Vec<Change> = joined
        .iter()
        .map(|user_id| Change::Placed { user_id: *user_id })
        .collect();
    changed.extend(rows.iter().filter_map(|r| match &r.decision {
        Decision::Change { user_id, .. } => Some(Change::Placed { user_id: *user_id }),
        _ => None,
    }));
    changes::record(conn, now, &changed)?;

    Ok(rows
        .into_iter()
        .map(|row| {
            let created_id = match &row.decision {
                Decision::NewUser { input, .. } => created.get(input.phone.as_str()).copied(),
                _ => None,
            };
            let needs_membership = match &row.decision {
                Decision::NewUser { .. } => created_id,
                Decision::Join { user_id, .. } => Some(*user_id),
                Decision::Change {
                    user_id,
                    transfer: Some(_),
                    ..
                } => Some(*user_id),
                _ => None,
            };
            // Lost a race: the phone was taken, or the membership could not start.
            let lost = (matches!(row.decision, Decision::NewUser { .. }) && created_id.is_none())
                || needs_membership.is_some_and(|id| !joined.contains(&id));
            let result = RowResult::from_plan(row, created_id);
            if lost { result.lost_race() } else { result }
        })
        .collect())
}
