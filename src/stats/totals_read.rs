//! The summary of an org and its direct children from their org totals ([`super::totals`]):
//! the same figures the digest path computes, for the periods made of whole months and
//! those that end inside a month they start on its first day or enter (year to date).

use std::collections::BTreeMap;

use chrono::Datelike;

use super::context::Subtree;
use super::period::{Period, six_months_before};
use super::summary::{Acc, Counted, OccurrenceGroup, OrgStats};
use super::totals::{self, Totals};
use crate::db::DbConnection;
use crate::error::ApiResult;
use crate::orgs::model::Org;
use crate::progress::study::expected_by;

/// The root's figures and each direct child's from the totals, or `None` when the totals
/// cannot answer: a period with a month it covers only in part, or a row missing, not
/// decoding or bucketed in another zone than the root's.
pub fn summarize(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
) -> ApiResult<Option<(OrgStats, Vec<OrgStats>)>> {
    if Cut::of(period).is_none() {
        return Ok(None);
    }
    let children = tree.children();
    let ids: Vec<i64> = std::iter::once(tree.root.id)
        .chain(children.iter().map(|c| c.id))
        .collect();
    let mut rows = totals::load(conn, &ids)?;
    let zone = tree.tz.name();
    let mut take = |id: i64| -> Option<Totals> {
        let (z, t) = rows.remove(&id)?;
        t.filter(|_| z == zone)
    };
    let Some(root) = take(tree.root.id) else {
        return Ok(None);
    };
    let mut kids = Vec::with_capacity(children.len());
    for c in &children {
        let Some(t) = take(c.id) else {
            return Ok(None);
        };
        kids.push(stats_of(&t, c, tree, period));
    }
    Ok(Some((stats_of(&root, &tree.root, tree, period), kids)))
}

/// How a period the totals answer cuts the year: its whole months, and the month it ends
/// inside of, if any, with the last day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    /// Bit m-1 for each whole month m.
    pub whole: u16,
    /// The first month of the period.
    pub first: u32,
    /// (month, last day) when the period ends inside a month it started or entered on its
    /// first day.
    pub ends_inside: Option<(u32, u32)>,
}

impl Cut {
    /// `None` for a period that starts inside a month and does not run to its end, or
    /// that covers more than one month in part.
    pub fn of(period: &Period) -> Option<Cut> {
        if period.from.year() != period.to.year() {
            return None;
        }
        let partial = period.partial_months();
        let ends_inside = match partial.as_slice() {
            [] => None,
            [(m, _)] if *m == period.to.month() && period.from.day() == 1 => {
                Some((*m, period.to.day()))
            }
            _ => return None,
        };
        Some(Cut {
            whole: (period.whole_months_mask() & 0x0fff) as u16,
            first: period.from.month(),
            ends_inside,
        })
    }
}

/// Sums a totals row into figures, by the rules of [`super::summary`].
pub fn stats_of(t: &Totals, org: &Org, tree: &Subtree, period: &Period) -> OrgStats {
    let year = period.year();
    let cut = Cut::of(period).unwrap_or(Cut {
        whole: 0,
        first: 1,
        ends_inside: None,
    });
    let mask = cut.whole;
    // Members active in the month the period ends inside of, up to its last day, and in
    // none of its whole months (which all come before that month).
    let mut late_active: BTreeMap<&super::totals::Key, i64> = BTreeMap::new();
    if let Some((month, last)) = cut.ends_inside {
        for ((y, key, m, last_before, first_day), n) in &t.month_starts {
            if *y == year && *m == month && *last_before < cut.first && *first_day <= last {
                *late_active.entry(key).or_default() += n;
            }
        }
    }
    let mut acc = Acc::default();
    for (key, members) in &t.groups {
        let (category, is_cadre, quota) = key;
        let counted = match t.years.get(&(year, key.clone())) {
            None => Counted {
                members: *members,
                without_row: *members,
                ..Counted::default()
            },
            Some(y) => {
                let expected = expected_by(*quota, year, tree.today);
                let count =
                    |r: std::collections::btree_map::Range<i64, i64>| r.map(|(_, n)| n).sum();
                Counted {
                    members: *members,
                    without_row: members - y.covered,
                    active: y
                        .months
                        .iter()
                        .filter(|(m, _)| **m & mask != 0)
                        .map(|(_, n)| n)
                        .sum::<i64>()
                        + late_active.get(key).copied().unwrap_or(0),
                    credit: y.credit,
                    met: count(y.credits.range(*quota..)),
                    on_track: if expected < *quota {
                        count(y.credits.range(expected..*quota))
                    } else {
                        0
                    },
                }
            }
        };
        acc.add_counted(category, *is_cadre, *quota, &counted, tree, year);
    }
    acc.required.done += t.required_done;
    acc.required.total += t.required_total;
    let cutoff = six_months_before(tree.today).num_days_from_ce();
    acc.no_org_life += t.no_org_life + t.org_life.range(..cutoff).map(|(_, n)| n).sum::<i64>();

    let mut kinds: BTreeMap<&str, [i64; 8]> = BTreeMap::new();
    let (from, to) = (period.from.num_days_from_ce(), period.to.num_days_from_ce());
    for ((kind, day), c) in &t.attendance {
        if *day < from || *day > to {
            continue;
        }
        let e = kinds.entry(kind).or_insert([0; 8]);
        for (a, b) in e.iter_mut().zip(c) {
            *a += b;
        }
    }
    for (kind, c) in kinds {
        if c[0] == 0 {
            continue;
        }
        acc.add_occurrences(&OccurrenceGroup {
            org_id: org.id,
            kind: kind.to_string(),
            occurrences: c[0],
            invited: c[1],
            present: c[2],
            late: c[3],
            proxy: c[4],
            made_up: c[5],
            absent: c[6],
            leave: c[7],
        });
    }
    acc.finish(org, period)
}
