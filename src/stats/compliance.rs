//! Meeting-frequency compliance: for every branch in the subtree and every activity kind
//! with a required frequency there, each month, quarter or year slot of the year is
//! `held` (an occurrence of the kind at the branch or below it had attendance recorded),
//! `missing` (the slot is over without one), `upcoming`, or `not_applicable` with a reason:
//! the grid asks only what a branch can do.
//!
//! - `no_party_groups`: party group meetings are asked only of a branch with party groups
//!   (child orgs of kind `party_group`; a party group meeting is scheduled on one).
//! - `no_committee`: branch committee meetings only of a branch with a committee, that is
//!   with at least the org setting `committee_min_members` (default 7) full members, active
//!   or migrant, at the branch or in its party groups, counted today.
//! - `before_adoption`: nothing in a slot that ends before the branch's adoption date (org
//!   setting `adoption_date`, default: the day the branch was created in dangke). A slot
//!   the adoption date falls in applies: the branch had part of it to hold the meeting.
//!
//! A slot that was held is `held` whatever the rules say (what happened is shown); the
//! reasons replace only `missing` and `upcoming`, and are not counted in either. A row whose
//! kind does not apply to the branch at all carries the reason on the row too.
//! Rows with missing slots first.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::Subtree;
use super::period::start_of;
use crate::activities::kind::{ActivityKind, Frequency};
use crate::activities::model::OccurrenceStatus;
use crate::db::DbConnection;
use crate::db::schema::{
    activities, activity_occurrences as ao, memberships, orgs, stats_occurrences as so,
};
use crate::error::ApiResult;
use crate::orgs::model::{Category, MemberStatus, Org, OrgKind, subtree_range};

/// Where a slot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    Held,
    Missing,
    Upcoming,
    /// Not asked of this branch; `reason` says why.
    NotApplicable,
}

/// Why a slot (or a whole row) does not apply to a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicableReason {
    /// A party group meeting, and the branch has no party groups.
    NoPartyGroups,
    /// A branch committee meeting, and the branch has fewer full members than the
    /// `committee_min_members` setting (default 7): it has no committee.
    NoCommittee,
    /// The slot ends before the branch's adoption date (`adoption_date` setting).
    BeforeAdoption,
}

/// One month, quarter or year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    /// `2026-03`, `2026-Q1` or `2026`.
    pub slot: String,
    pub status: SlotStatus,
    /// Only with `not_applicable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotApplicableReason>,
}

/// One branch and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComplianceRow {
    pub org_id: i64,
    pub org_name: String,
    pub kind: String,
    pub frequency: Frequency,
    pub held: i64,
    pub missing: i64,
    pub upcoming: i64,
    /// Slots not asked of the branch (not in `missing` or `upcoming`).
    #[serde(default)]
    pub not_applicable: i64,
    /// Set when the kind does not apply to the branch at all (`no_party_groups`,
    /// `no_committee`), or every slot of the year is before its adoption date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotApplicableReason>,
    pub slots: Vec<Slot>,
}

/// `GET /v1/orgs/{id}/compliance`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Compliance {
    pub org_id: i64,
    pub year: i32,
    pub rows: Vec<ComplianceRow>,
}

fn is_branch(org: &Org) -> bool {
    matches!(
        OrgKind::parse(&org.kind),
        Some(OrgKind::Branch | OrgKind::GeneralBranch)
    )
}

/// The subtree's orgs by id.
fn by_id(tree: &Subtree) -> HashMap<i64, &Org> {
    tree.orgs.iter().map(|o| (o.id, o)).collect()
}

/// The nearest branch at or above `org_id` (an occurrence counts for it).
fn branch_of(by_id: &HashMap<i64, &Org>, org_id: i64) -> Option<i64> {
    let org = by_id.get(&org_id)?;
    org.path_ids()
        .into_iter()
        .rev()
        .find(|id| by_id.get(id).is_some_and(|o| is_branch(o)))
}

/// The slots of a year: (label, first day, last day).
pub fn slots(year: i32, f: Frequency) -> Vec<(String, NaiveDate, NaiveDate)> {
    let span = |m1: u32, m2: u32| {
        let first = NaiveDate::from_ymd_opt(year, m1, 1);
        let next = if m2 == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, m2 + 1, 1)
        };
        first.zip(next.and_then(|n| n.pred_opt()))
    };
    let mut out = Vec::new();
    match f {
        Frequency::Monthly => {
            for m in 1..=12 {
                if let Some((a, b)) = span(m, m) {
                    out.push((format!("{year}-{m:02}"), a, b));
                }
            }
        }
        Frequency::Quarterly => {
            for q in 1..=4 {
                if let Some((a, b)) = span(q * 3 - 2, q * 3) {
                    out.push((format!("{year}-Q{q}"), a, b));
                }
            }
        }
        Frequency::Yearly => {
            if let Some((a, b)) = span(1, 12) {
                out.push((year.to_string(), a, b));
            }
        }
        Frequency::None => {}
    }
    out
}

/// The grid of `year` for the subtree.
pub fn grid(conn: &mut DbConnection, tree: &Subtree, year: i32) -> ApiResult<Compliance> {
    let (lo, hi) = subtree_range(&tree.root.path);
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(tree.today);
    let next = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(tree.today);
    let held: Vec<(i64, String, NaiveDateTime)> = so::table
        .inner_join(orgs::table)
        .filter(orgs::path.ge(&lo))
        .filter(orgs::path.lt(&hi))
        .filter(so::held.eq(true))
        .filter(so::starts_at.ge(start_of(first, tree.tz)))
        .filter(so::starts_at.lt(start_of(next, tree.tz)))
        .select((so::org_id, so::kind, so::starts_at))
        .load(conn)?;
    let by_id = by_id(tree);
    let mut months: HashSet<(i64, String, u32)> = HashSet::new();
    for (org_id, kind, at) in held {
        if let Some(b) = branch_of(&by_id, org_id) {
            let day = at.and_utc().with_timezone(&tree.tz).date_naive();
            months.insert((b, kind, day.month()));
        }
    }
    let facts = Facts::load(conn, tree, &by_id)?;
    let mut rows = Vec::new();
    for branch in tree.orgs.iter().filter(|o| is_branch(o)) {
        let adopted = tree.adoption_date(branch);
        for kind in ActivityKind::ALL {
            let frequency = tree.frequency(branch, *kind);
            let slots = slots(year, frequency);
            if slots.is_empty() {
                continue;
            }
            let kind_reason = facts.kind_reason(tree, branch, *kind);
            let mut row = ComplianceRow {
                org_id: branch.id,
                org_name: branch.name.clone(),
                kind: kind.as_str().to_string(),
                frequency,
                held: 0,
                missing: 0,
                upcoming: 0,
                not_applicable: 0,
                reason: kind_reason,
                slots: Vec::with_capacity(slots.len()),
            };
            for (label, a, b) in slots {
                let held = (a.month()..=b.month())
                    .any(|m| months.contains(&(branch.id, kind.as_str().to_string(), m)));
                let reason =
                    kind_reason.or((b < adopted).then_some(NotApplicableReason::BeforeAdoption));
                let status = if held {
                    row.held += 1;
                    SlotStatus::Held
                } else if reason.is_some() {
                    row.not_applicable += 1;
                    SlotStatus::NotApplicable
                } else if b < tree.today {
                    row.missing += 1;
                    SlotStatus::Missing
                } else {
                    row.upcoming += 1;
                    SlotStatus::Upcoming
                };
                row.slots.push(Slot {
                    slot: label,
                    status,
                    reason: reason.filter(|_| status == SlotStatus::NotApplicable),
                });
            }
            if row.reason.is_none() && row.slots.iter().all(|s| s.reason.is_some()) {
                row.reason = Some(NotApplicableReason::BeforeAdoption);
            }
            rows.push(row);
        }
    }
    // Missing first (most missing on top); then the tree order, which `rows` already has.
    rows.sort_by_key(|r| std::cmp::Reverse(r.missing));
    Ok(Compliance {
        org_id: tree.root.id,
        year,
        rows,
    })
}

/// What the grid needs to know of each branch: whether it has party groups, and how many
/// full members it has.
struct Facts {
    with_groups: HashSet<i64>,
    full_members: HashMap<i64, i64>,
}

impl Facts {
    fn load(
        conn: &mut DbConnection,
        tree: &Subtree,
        by_id: &HashMap<i64, &Org>,
    ) -> ApiResult<Facts> {
        let with_groups = tree
            .orgs
            .iter()
            .filter(|o| OrgKind::parse(&o.kind) == Some(OrgKind::PartyGroup))
            .filter_map(|o| o.parent_id)
            .collect();
        let (lo, hi) = subtree_range(&tree.root.path);
        let members: Vec<i64> = memberships::table
            .inner_join(orgs::table)
            .filter(orgs::path.ge(&lo))
            .filter(orgs::path.lt(&hi))
            .filter(memberships::category.eq(Category::Full.as_str()))
            .filter(memberships::status.eq_any([
                MemberStatus::Active.as_str(),
                MemberStatus::Migrant.as_str(),
            ]))
            .select(memberships::org_id)
            .load(conn)?;
        let mut full_members: HashMap<i64, i64> = HashMap::new();
        for org_id in members {
            if let Some(b) = branch_of(by_id, org_id) {
                *full_members.entry(b).or_default() += 1;
            }
        }
        Ok(Facts {
            with_groups,
            full_members,
        })
    }

    /// Why `kind` does not apply to `branch` at all, if it does not.
    fn kind_reason(
        &self,
        tree: &Subtree,
        branch: &Org,
        kind: ActivityKind,
    ) -> Option<NotApplicableReason> {
        match kind {
            ActivityKind::PartyGroupMeeting if !self.with_groups.contains(&branch.id) => {
                Some(NotApplicableReason::NoPartyGroups)
            }
            ActivityKind::BranchCommitteeMeeting
                if self.full_members.get(&branch.id).copied().unwrap_or(0)
                    < tree.committee_min_members(branch) =>
            {
                Some(NotApplicableReason::NoCommittee)
            }
            _ => None,
        }
    }
}

/// How many days before its slot ends a required meeting not yet held is "about to be
/// missed": a week for a month, about two weeks for a quarter, a month for a year.
pub fn warn_days(f: Frequency) -> i64 {
    match f {
        Frequency::Monthly => 7,
        Frequency::Quarterly => 15,
        Frequency::Yearly => 31,
        Frequency::None => 0,
    }
}

/// A required meeting about to be missed: its slot (the one today is in) ends within
/// [`warn_days`], it has not been held, and none of its kind is scheduled (not cancelled) at
/// the branch or below from today to the slot's end.
#[derive(Debug, Clone, PartialEq)]
pub struct AtRisk {
    pub org_id: i64,
    pub org_name: String,
    pub kind: ActivityKind,
    pub frequency: Frequency,
    /// `2026-03`, `2026-Q1` or `2026`.
    pub slot: String,
    pub slot_end: NaiveDate,
    /// Days left in the slot, today included.
    pub days_left: i64,
}

/// The required meetings of the subtree about to be missed, in tree order.
pub fn at_risk(conn: &mut DbConnection, tree: &Subtree) -> ApiResult<Vec<AtRisk>> {
    let today = tree.today;
    let grid = grid(conn, tree, today.year())?;
    let mut out = Vec::new();
    for row in &grid.rows {
        let Some(kind) = ActivityKind::parse(&row.kind) else {
            continue;
        };
        for (slot, status) in slots(grid.year, row.frequency)
            .into_iter()
            .zip(row.slots.iter().map(|s| s.status))
        {
            let (label, first, last) = slot;
            let days_left = (last - today).num_days() + 1;
            if status == SlotStatus::Upcoming
                && first <= today
                && days_left <= warn_days(row.frequency)
            {
                out.push(AtRisk {
                    org_id: row.org_id,
                    org_name: row.org_name.clone(),
                    kind,
                    frequency: row.frequency,
                    slot: label,
                    slot_end: last,
                    days_left,
                });
            }
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    // What is already on the calendar between today and the latest slot end.
    let until = out.iter().map(|r| r.slot_end).max().unwrap_or(today);
    let (lo, hi) = subtree_range(&tree.root.path);
    let scheduled: Vec<(i64, String, NaiveDateTime)> = ao::table
        .inner_join(activities::table)
        .inner_join(orgs::table)
        .filter(orgs::path.ge(&lo))
        .filter(orgs::path.lt(&hi))
        .filter(ao::status.ne(OccurrenceStatus::Cancelled.as_str()))
        .filter(ao::starts_at.ge(start_of(today, tree.tz)))
        .filter(ao::starts_at.lt(start_of(until + chrono::Days::new(1), tree.tz)))
        .select((ao::org_id, activities::kind, ao::starts_at))
        .load(conn)?;
    let by_id = by_id(tree);
    let planned: Vec<(i64, String, NaiveDate)> = scheduled
        .into_iter()
        .filter_map(|(org_id, kind, at)| {
            let day = at.and_utc().with_timezone(&tree.tz).date_naive();
            Some((branch_of(&by_id, org_id)?, kind, day))
        })
        .collect();
    out.retain(|r| {
        !planned.iter().any(|(branch, kind, day)| {
            *branch == r.org_id && kind == r.kind.as_str() && *day <= r.slot_end
        })
    });
    Ok(out)
}
