//! The statistics report of an org — what is pushed to its organizers' group chat as a
//! digest and previewed by `GET /v1/orgs/{id}/digest`: the period just ended and the year so
//! far, from the same figures as the dashboard. Study hours against quota (met / on track /
//! behind), the members most behind (capped), attendance of the meetings held, required
//! meetings missing (compliance), and the child orgs ranked best and worst by study hours
//! against quota. Rendering is [`super::report_render`].

use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::compliance;
use super::context::Subtree;
use super::members::{self, MembersQuery};
use super::period::Period;
use super::summary::{self, CreditFigures, KindAttendance, OrgStats};
use crate::db::Db;
use crate::error::ApiResult;
use crate::state::AppState;

/// Members most behind listed by name (the rest are counted).
pub const BEHIND_LISTED: usize = 10;
/// Child orgs listed at each end of the ranking.
pub const RANKED: usize = 3;
/// Branches with missing required meetings listed (the rest are counted).
pub const MISSING_LISTED: usize = 10;

/// A member below the even pace.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BehindMember {
    pub user_id: i64,
    pub name: String,
    pub org_name: String,
    /// Earned this year (hundredths of a credit hour).
    pub credit_centi: i64,
    /// What an even pace would have earned by today.
    pub expected_centi: i64,
    pub quota_centi: i64,
}

/// A child org with its study hours against quota.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RankedOrg {
    pub org_id: i64,
    pub org_name: String,
    pub earned_centi: i64,
    pub quota_centi: i64,
    /// `earned / quota`, three decimals; `null` without a quota.
    pub rate: Option<f64>,
    pub behind: i64,
}

/// A branch missing required meetings of one kind this year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MissingMeetings {
    pub org_id: i64,
    pub org_name: String,
    pub kind: String,
    /// Slots of the year so far with no meeting held.
    pub missing: i64,
}

/// The report of an org for a period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Report {
    pub org_id: i64,
    pub org_name: String,
    /// The period reported (by default the month just ended).
    pub period: Period,
    pub members: i64,
    /// Members active in the period.
    pub active: i64,
    /// The year so far, against the yearly quotas.
    pub credit: CreditFigures,
    /// The members most behind, lowest credit first (at most [`BEHIND_LISTED`]).
    pub behind_members: Vec<BehindMember>,
    /// Members behind that are not listed.
    pub behind_more: i64,
    /// Meetings held in the period, by kind.
    pub attendance: Vec<KindAttendance>,
    /// Branches missing required meetings this year (at most [`MISSING_LISTED`]).
    pub missing_meetings: Vec<MissingMeetings>,
    /// Missing slots not listed.
    pub missing_more: i64,
    /// Child orgs with the most study hours against quota, best first.
    pub best: Vec<RankedOrg>,
    /// Child orgs with the least, worst first (none when there are too few to rank).
    pub worst: Vec<RankedOrg>,
}

/// The period a report covers when none is asked for: the month that ended before `today`.
pub fn default_period(today: chrono::NaiveDate) -> String {
    let last = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(1)))
        .unwrap_or(today);
    format!("{}-{:02}", last.year(), last.month())
}

/// The org's subtree and the period of the days `from..=to` as a digest reports them (a
/// whole calendar month as that month). Callers apply pending changes first.
pub async fn subtree_between(
    state: &AppState,
    org_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<(Arc<Subtree>, Period)> {
    let now = state.clock.now_naive();
    state
        .db
        .read(move |c| {
            let org = crate::orgs::tree::find(c, org_id)?;
            let tree = Subtree::load(c, org, now)?;
            let period = period_between(from, to, tree.today)?;
            Ok((Arc::new(tree), period))
        })
        .await
}

/// The period of the days `from..=to`: a whole calendar month is that month (`2026-11`),
/// anything else a range of one year at most (400 `invalid_query` otherwise).
pub fn period_between(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> ApiResult<Period> {
    let whole_month = from.day() == 1
        && to.month() == from.month()
        && to.year() == from.year()
        && to.succ_opt().is_none_or(|d| d.month() != to.month());
    if whole_month {
        Period::parse(
            Some(&format!("{}-{:02}", from.year(), from.month())),
            None,
            None,
            today,
        )
    } else {
        Period::parse(None, Some(from), Some(to), today)
    }
}

/// Computes the report. Callers apply pending changes first
/// ([`super::apply::catch_up`]).
pub async fn compute(db: &Db, tree: Arc<Subtree>, period: Period) -> ApiResult<Report> {
    let (root, children) = summary::compute(db, tree.clone(), period.clone()).await?;
    // A range (a daily or weekly digest) is asked for by its days, a month by its label.
    let range = period.label.contains("..");
    let query = MembersQuery {
        period: (!range).then(|| period.label.clone()),
        from: range.then_some(period.from),
        to: range.then_some(period.to),
        filter: Some("behind".into()),
        sort: Some("credit".into()),
        limit: Some(BEHIND_LISTED as i64),
        cursor: None,
    };
    let page = members::page(
        db,
        tree.clone(),
        period.clone(),
        query.options()?,
        None,
        false,
    )
    .await?;
    let t = tree.clone();
    let year = period.year();
    let grid = db.read(move |c| compliance::grid(c, &t, year)).await?;
    Ok(assemble(root, children, page.items, grid, period))
}

fn assemble(
    root: OrgStats,
    children: Vec<OrgStats>,
    behind: Vec<members::MemberStatsRow>,
    grid: compliance::Compliance,
    period: Period,
) -> Report {
    let behind_members: Vec<BehindMember> = behind
        .into_iter()
        .take(BEHIND_LISTED)
        .map(|m| BehindMember {
            user_id: m.user_id,
            name: m.name,
            org_name: m.org_name,
            credit_centi: m.credit_centi,
            expected_centi: m.expected_centi,
            quota_centi: m.quota_centi,
        })
        .collect();
    let behind_more = (root.credit.behind - behind_members.len() as i64).max(0);

    let mut missing: Vec<MissingMeetings> = grid
        .rows
        .into_iter()
        .filter(|r| r.missing > 0)
        .map(|r| MissingMeetings {
            org_id: r.org_id,
            org_name: r.org_name,
            kind: r.kind,
            missing: r.missing,
        })
        .collect();
    missing.sort_by(|a, b| b.missing.cmp(&a.missing).then(a.org_name.cmp(&b.org_name)));
    let missing_more: i64 = missing.iter().skip(MISSING_LISTED).map(|m| m.missing).sum();
    missing.truncate(MISSING_LISTED);

    let mut ranked: Vec<RankedOrg> = children
        .into_iter()
        .filter(|c| c.members.total > 0)
        .map(|c| RankedOrg {
            org_id: c.org_id,
            org_name: c.org_name,
            earned_centi: c.credit.earned_centi,
            quota_centi: c.credit.quota_centi,
            rate: rate(c.credit.earned_centi, c.credit.quota_centi),
            behind: c.credit.behind,
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.rate
            .unwrap_or(0.0)
            .partial_cmp(&a.rate.unwrap_or(0.0))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.org_name.cmp(&b.org_name))
    });
    // Best and worst only when they do not overlap.
    let (best, worst) = if ranked.len() >= 2 * RANKED {
        let best = ranked.iter().take(RANKED).cloned().collect();
        let worst = ranked.iter().rev().take(RANKED).cloned().collect();
        (best, worst)
    } else {
        (ranked, Vec::new())
    };

    Report {
        org_id: root.org_id,
        org_name: root.org_name,
        period,
        members: root.members.total,
        active: root.active,
        credit: root.credit,
        behind_members,
        behind_more,
        attendance: root
            .attendance
            .into_iter()
            .filter(|a| a.occurrences > 0)
            .collect(),
        missing_meetings: missing,
        missing_more,
        best,
        worst,
    }
}

fn rate(done: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| (done as f64 / of as f64 * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_default_period_is_the_month_just_ended() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(default_period(d(2026, 12, 5)), "2026-11");
        assert_eq!(default_period(d(2026, 1, 1)), "2025-12");
        assert_eq!(default_period(d(2026, 3, 31)), "2026-02");
    }
}
