//! Regenerating a series after an edit, as a pure plan over the existing occurrence rows
//! and the new rule's starts:
//!
//! - rows already held, moved or cancelled on their own, or in the past are kept as they
//!   are, and no new occurrence is made on the (local) day of one of them;
//! - every other row is paired with the same new start, else with a new start on the same
//!   local day (it keeps its id, leave requests and calendar UID, and gets the new time),
//!   else deleted;
//! - new starts left over become new rows.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// What regeneration needs to know about an existing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub id: i64,
    pub original_start: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub held: bool,
    pub exception: bool,
}

impl Existing {
    /// Rows regeneration must never touch.
    pub fn is_fixed(&self, now: DateTime<Utc>) -> bool {
        self.held || self.exception || self.starts_at <= now
    }
}

/// The changes to make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Rows kept untouched.
    pub fixed: Vec<i64>,
    /// Rows that move to a new start (id, new start).
    pub update: Vec<(i64, DateTime<Utc>)>,
    pub delete: Vec<i64>,
    pub insert: Vec<DateTime<Utc>>,
}

fn day(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// Plans the regeneration. `new_starts` are the new rule's starts over the horizon;
/// `one_off` pairs a lone remaining row with a lone new start whatever their days.
pub fn plan(
    existing: &[Existing],
    new_starts: &[DateTime<Utc>],
    now: DateTime<Utc>,
    tz: Tz,
    one_off: bool,
) -> Plan {
    let mut plan = Plan::default();
    let (fixed, mut open): (Vec<&Existing>, Vec<&Existing>) =
        existing.iter().partition(|e| e.is_fixed(now));
    open.sort_by_key(|e| e.original_start);
    let taken: BTreeSet<NaiveDate> = fixed.iter().map(|e| day(tz, e.original_start)).collect();
    plan.fixed = fixed.iter().map(|e| e.id).collect();
    let mut remaining: BTreeSet<DateTime<Utc>> = new_starts
        .iter()
        .copied()
        .filter(|s| *s > now && !taken.contains(&day(tz, *s)))
        .collect();
    // Exact matches first, so no row takes a start another row already has.
    let mut rest = Vec::new();
    for e in open {
        if remaining.remove(&e.original_start) {
            plan.update.push((e.id, e.original_start));
        } else {
            rest.push(e);
        }
    }
    let mut by_day: BTreeMap<NaiveDate, VecDeque<DateTime<Utc>>> = BTreeMap::new();
    for s in remaining {
        by_day.entry(day(tz, s)).or_default().push_back(s);
    }
    let mut unpaired = Vec::new();
    for e in rest {
        match by_day
            .get_mut(&day(tz, e.original_start))
            .and_then(VecDeque::pop_front)
        {
            Some(new) => plan.update.push((e.id, new)),
            None => unpaired.push(e.id),
        }
    }
    let mut left: Vec<DateTime<Utc>> = by_day.into_values().flatten().collect();
    left.sort();
    if one_off && unpaired.len() == 1 && left.len() == 1 {
        plan.update.push((unpaired[0], left[0]));
        unpaired.clear();
        left.clear();
    }
    plan.delete = unpaired;
    plan.insert = left;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activities::recurrence::Rule;
    use chrono::{Datelike, NaiveDate, TimeZone};

    fn at(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        // Shanghai wall time to UTC.
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2027, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn row(id: i64, start: DateTime<Utc>, held: bool, exception: bool) -> Existing {
        Existing {
            id,
            original_start: start,
            starts_at: start,
            held,
            exception,
        }
    }

    /// Twelve monthly rows on the 1st at 09:00, ids 1..=12.
    fn year() -> Vec<Existing> {
        (1..=12)
            .map(|m| row(i64::from(m), at(m, 1, 9, 0), false, false))
            .collect()
    }

    #[test]
    fn an_edit_after_three_held_occurrences_leaves_them_untouched() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut rows = year();
        for r in rows.iter_mut().take(3) {
            r.held = true;
        }
        let now = at(3, 15, 12, 0);
        // The series moves to the 5th at 14:30.
        let start = NaiveDate::from_ymd_opt(2027, 1, 5)
            .unwrap()
            .and_hms_opt(14, 30, 0)
            .unwrap();
        let rule = Rule::parse(tz, start, Some("FREQ=MONTHLY;BYMONTHDAY=5")).unwrap();
        let starts = rule.starts_between(now, at(12, 31, 23, 0));
        let p = plan(&rows, &starts, now, tz, false);
        assert_eq!(p.fixed, vec![1, 2, 3]);
        // April..December move to the 5th (different days, so new rows).
        assert_eq!(p.delete, (4..=12).collect::<Vec<i64>>());
        assert_eq!(
            p.insert,
            (4..=12).map(|m| at(m, 5, 14, 30)).collect::<Vec<_>>()
        );
        assert!(p.update.is_empty());
    }

    #[test]
    fn a_new_time_on_the_same_days_keeps_the_rows() {
        let tz = chrono_tz::Asia::Shanghai;
        let rows = year();
        let now = at(1, 20, 0, 0);
        let start = NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(15, 0, 0)
            .unwrap();
        let rule = Rule::parse(tz, start, Some("FREQ=MONTHLY;BYMONTHDAY=1")).unwrap();
        let starts = rule.starts_between(now, at(12, 31, 23, 0));
        let p = plan(&rows, &starts, now, tz, false);
        assert_eq!(p.fixed, vec![1], "January is past");
        assert_eq!(
            p.update,
            (2..=12)
                .map(|m| (i64::from(m), at(m, 1, 15, 0)))
                .collect::<Vec<_>>()
        );
        assert!(p.delete.is_empty() && p.insert.is_empty());
    }

    #[test]
    fn moved_and_cancelled_occurrences_are_exceptions_regeneration_keeps() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut rows = year();
        // March moved to the 3rd, April cancelled: both exceptions.
        rows[2].starts_at = at(3, 3, 9, 0);
        rows[2].exception = true;
        rows[3].exception = true;
        let now = at(1, 20, 0, 0);
        let start = NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let rule = Rule::parse(tz, start, Some("FREQ=MONTHLY;BYMONTHDAY=1")).unwrap();
        let starts = rule.starts_between(now, at(12, 31, 23, 0));
        let p = plan(&rows, &starts, now, tz, false);
        assert!(p.fixed.contains(&3) && p.fixed.contains(&4));
        assert!(
            !p.insert
                .iter()
                .any(|s| day(tz, *s).month0() == 2 || day(tz, *s).month0() == 3)
        );
        assert_eq!(p.update.len(), 9);
    }

    #[test]
    fn a_one_off_moved_to_another_day_keeps_its_row() {
        let tz = chrono_tz::Asia::Shanghai;
        let rows = vec![row(7, at(5, 4, 9, 0), false, false)];
        let p = plan(&rows, &[at(5, 6, 9, 0)], at(4, 1, 0, 0), tz, true);
        assert_eq!(p.update, vec![(7, at(5, 6, 9, 0))]);
        assert!(p.delete.is_empty() && p.insert.is_empty());
    }
}
