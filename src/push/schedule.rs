//! When digests are due, and for which days. A schedule fires at its local time in the org's
//! zone — daily, weekly on a weekday, monthly on a day — and its digest covers the period
//! just ended: the day before (daily), the last whole week Monday–Sunday (weekly; the days
//! of the new year only when the week spans New Year, since statistics periods lie within
//! one year), the calendar month before (monthly). Only the latest firing counts, and only
//! if it is not older than the schedule: a server that was down for three days sends the
//! latest digest once, not three, and a new schedule sends nothing for the past.
//!
//! The scheduler writes one delivery per channel and period (`dedup_key`
//! `digest:{channel}:{from}..{to}`), however many instances or restarts run it.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

use super::model::DigestFrequency;

/// The latest firing at or before `now_local` of a schedule (a local date-time), or `None`
/// when the time does not parse.
pub fn last_firing(
    frequency: DigestFrequency,
    weekday: Option<i32>,
    month_day: Option<i32>,
    time: &str,
    now_local: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let t = NaiveTime::parse_from_str(time, "%H:%M").ok()?;
    let today = now_local.date();
    let at = |d: NaiveDate| d.and_time(t);
    match frequency {
        DigestFrequency::Daily => {
            let d = if now_local >= at(today) {
                today
            } else {
                today.checked_sub_days(Days::new(1))?
            };
            Some(at(d))
        }
        DigestFrequency::Weekly => {
            let want = u32::try_from(weekday?).ok()?.checked_sub(1)?;
            let have = today.weekday().num_days_from_monday();
            let back = (7 + have - want) % 7;
            let mut d = today.checked_sub_days(Days::new(u64::from(back)))?;
            if at(d) > now_local {
                d = d.checked_sub_days(Days::new(7))?;
            }
            Some(at(d))
        }
        DigestFrequency::Monthly => {
            let day = u32::try_from(month_day.unwrap_or(1)).ok()?;
            let mut d = today.with_day(day)?;
            if at(d) > now_local {
                d = d.checked_sub_months(Months::new(1))?;
            }
            Some(at(d))
        }
    }
}

/// The days a digest fired on `fired` (a local date) covers.
pub fn period_for(frequency: DigestFrequency, fired: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    match frequency {
        DigestFrequency::Daily => {
            let d = fired.checked_sub_days(Days::new(1))?;
            Some((d, d))
        }
        DigestFrequency::Weekly => {
            let this_monday = fired
                .checked_sub_days(Days::new(u64::from(fired.weekday().num_days_from_monday())))?;
            let to = this_monday.checked_sub_days(Days::new(1))?;
            let from = to.checked_sub_days(Days::new(6))?;
            let from = if from.year() != to.year() {
                NaiveDate::from_ymd_opt(to.year(), 1, 1)?
            } else {
                from
            };
            Some((from, to))
        }
        DigestFrequency::Monthly => {
            let first = fired.with_day(1)?.checked_sub_months(Months::new(1))?;
            let last = fired.with_day(1)?.checked_sub_days(Days::new(1))?;
            Some((first, last))
        }
    }
}

/// A local date-time in `zone` as UTC (the earlier of two in a repeated hour; a skipped
/// hour moves on by an hour).
pub fn to_utc(zone: Tz, local: NaiveDateTime) -> NaiveDateTime {
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
        chrono::LocalResult::None => zone
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
            .map_or(local, |t| t.naive_utc()),
    }
}

/// Names a weekday for people (1 = Monday).
pub fn weekday_zh(n: i32) -> &'static str {
    match Weekday::try_from(u8::try_from(n.saturating_sub(1)).unwrap_or(0)) {
        Ok(Weekday::Mon) => "周一",
        Ok(Weekday::Tue) => "周二",
        Ok(Weekday::Wed) => "周三",
        Ok(Weekday::Thu) => "周四",
        Ok(Weekday::Fri) => "周五",
        Ok(Weekday::Sat) => "周六",
        _ => "周日",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn firings() {
        let daily = |now| last_firing(DigestFrequency::Daily, None, None, "08:30", dt(now));
        assert_eq!(daily("2026-12-05 08:29"), Some(dt("2026-12-04 08:30")));
        assert_eq!(daily("2026-12-05 08:30"), Some(dt("2026-12-05 08:30")));
        // 2026-12-07 is a Monday.
        let monday = |now| last_firing(DigestFrequency::Weekly, Some(1), None, "09:00", dt(now));
        assert_eq!(monday("2026-12-07 09:00"), Some(dt("2026-12-07 09:00")));
        assert_eq!(monday("2026-12-07 08:59"), Some(dt("2026-11-30 09:00")));
        assert_eq!(monday("2026-12-10 12:00"), Some(dt("2026-12-07 09:00")));
        let monthly = |now| last_firing(DigestFrequency::Monthly, None, Some(1), "09:00", dt(now));
        assert_eq!(monthly("2026-12-01 09:00"), Some(dt("2026-12-01 09:00")));
        assert_eq!(monthly("2026-12-01 08:00"), Some(dt("2026-11-01 09:00")));
        assert_eq!(monthly("2027-01-15 00:00"), Some(dt("2027-01-01 09:00")));
    }

    #[test]
    fn periods_just_ended() {
        assert_eq!(
            period_for(DigestFrequency::Daily, d("2027-01-01")),
            Some((d("2026-12-31"), d("2026-12-31")))
        );
        assert_eq!(
            period_for(DigestFrequency::Weekly, d("2026-12-10")),
            Some((d("2026-11-30"), d("2026-12-06")))
        );
        assert_eq!(
            period_for(DigestFrequency::Weekly, d("2027-01-04")),
            Some((d("2026-12-28"), d("2027-01-03"))).map(|_| (d("2027-01-01"), d("2027-01-03"))),
            "a week across New Year reports the new year's days"
        );
        assert_eq!(
            period_for(DigestFrequency::Monthly, d("2026-12-01")),
            Some((d("2026-11-01"), d("2026-11-30")))
        );
        assert_eq!(
            period_for(DigestFrequency::Monthly, d("2027-01-05")),
            Some((d("2026-12-01"), d("2026-12-31")))
        );
    }

    #[test]
    fn local_times_in_the_zone() {
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            to_utc(shanghai, dt("2026-12-01 09:00")),
            dt("2026-12-01 01:00")
        );
    }
}
