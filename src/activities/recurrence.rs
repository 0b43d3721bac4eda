//! Recurrence: an RFC 5545 RRULE with a local DTSTART and its TZID, expanded into UTC
//! start instants with the `rrule` crate (wall time is kept across daylight saving
//! changes). Pure: values in, values out.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, Unvalidated};

/// Most occurrences one expansion returns (a daily rule for a year is 366).
pub const MAX_EXPANSION: u16 = 1000;

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// The local start does not exist in the zone (a daylight saving gap).
    StartInGap,
    /// The RRULE does not parse or is invalid for this start.
    Invalid(String),
    /// More often than daily.
    TooFrequent,
}

/// A validated schedule: a local start in a zone, and a rule (none for a one-off).
#[derive(Debug, Clone)]
pub struct Rule {
    pub tz: Tz,
    pub start_local: NaiveDateTime,
    rrule: Option<RRule<Unvalidated>>,
    /// The rule as given (trimmed, without `RRULE:`, upper case): stored as it was
    /// written, because the crate's own text drops an ordinal weekday (`BYDAY=1FR` would
    /// come back as `BYDAY=FR`, every Friday).
    text: Option<String>,
}

/// The UTC instant of a local wall time; the earlier one when it is ambiguous (the
/// repeated hour of autumn), `None` when it does not exist (the skipped hour of spring).
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The wall time of a UTC instant in `tz`.
pub fn utc_to_local(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

impl Rule {
    /// Validates a start and an optional RRULE (with or without the `RRULE:` prefix;
    /// DTSTART comes from `start_local`, never from the text).
    pub fn parse(
        tz: Tz,
        start_local: NaiveDateTime,
        rrule: Option<&str>,
    ) -> Result<Rule, RuleError> {
        let start = local_to_utc(tz, start_local).ok_or(RuleError::StartInGap)?;
        let mut stored = None;
        let rrule = match rrule.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => {
                let text = text.strip_prefix("RRULE:").unwrap_or(text);
                stored = Some(text.to_ascii_uppercase());
                if text.contains(['\n', '\r']) || text.to_ascii_uppercase().contains("DTSTART") {
                    return Err(RuleError::Invalid(
                        "give only the RRULE value; the start comes from start_local".into(),
                    ));
                }
                let parsed: RRule<Unvalidated> = text
                    .parse()
                    .map_err(|e: rrule::RRuleError| RuleError::Invalid(e.to_string()))?;
                if matches!(
                    parsed.get_freq(),
                    Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
                ) {
                    return Err(RuleError::TooFrequent);
                }
                parsed
                    .clone()
                    .validate(start.with_timezone(&rrule::Tz::Tz(tz)))
                    .map_err(|e| RuleError::Invalid(e.to_string()))?;
                Some(parsed)
            }
        };
        Ok(Rule {
            tz,
            start_local,
            rrule,
            text: stored,
        })
    }

    /// Whether this is a series (has a rule).
    pub fn is_series(&self) -> bool {
        self.rrule.is_some()
    }

    /// The rule as stored (`FREQ=…`): as given, in upper case.
    pub fn rrule_text(&self) -> Option<String> {
        self.text.clone()
    }

    /// The first start (DTSTART) in UTC.
    pub fn first_start(&self) -> DateTime<Utc> {
        local_to_utc(self.tz, self.start_local).unwrap_or_else(|| self.start_local.and_utc())
    }

    /// Starts in `[from, until)`, in order, at most [`MAX_EXPANSION`].
    pub fn starts_between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let first = self.first_start();
        let Some(rule) = &self.rrule else {
            return if first >= from && first < until {
                vec![first]
            } else {
                Vec::new()
            };
        };
        if until <= from {
            return Vec::new();
        }
        let rtz = rrule::Tz::Tz(self.tz);
        let Ok(set) = rule.clone().build(first.with_timezone(&rtz)) else {
            return Vec::new();
        };
        set.after(from.with_timezone(&rtz))
            .before(until.with_timezone(&rtz))
            .all(MAX_EXPANSION)
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .filter(|d| *d >= from && *d < until)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, Timelike, Weekday};

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn year_2027(rule: &Rule) -> Vec<NaiveDateTime> {
        rule.starts_between(utc(2026, 12, 31), utc(2028, 1, 1))
            .into_iter()
            .map(|t| utc_to_local(rule.tz, t))
            .filter(|l| l.year() == 2027)
            .collect()
    }

    #[test]
    fn theme_party_day_on_the_first_gives_twelve_days_in_2027() {
        let tz = chrono_tz::Asia::Shanghai;
        let rule = Rule::parse(
            tz,
            local(2027, 1, 1, 9, 0),
            Some("FREQ=MONTHLY;BYMONTHDAY=1"),
        )
        .unwrap();
        let days = year_2027(&rule);
        let expected: Vec<NaiveDateTime> = (1..=12).map(|m| local(2027, m, 1, 9, 0)).collect();
        assert_eq!(days, expected);
        // 09:00 in Shanghai is 01:00 UTC all year (no daylight saving).
        let utc_hours: Vec<u32> = rule
            .starts_between(utc(2027, 1, 1), utc(2028, 1, 1))
            .iter()
            .map(|t| t.hour())
            .collect();
        assert_eq!(utc_hours, vec![1; 12]);
    }

    #[test]
    fn last_friday_of_each_month_of_2027() {
        let tz = chrono_tz::Asia::Shanghai;
        let rule = Rule::parse(
            tz,
            local(2027, 1, 1, 15, 0),
            Some("RRULE:FREQ=MONTHLY;BYDAY=-1FR"),
        )
        .unwrap();
        let days: Vec<(u32, u32)> = year_2027(&rule)
            .iter()
            .map(|d| (d.month(), d.day()))
            .collect();
        assert_eq!(
            days,
            vec![
                (1, 29),
                (2, 26),
                (3, 26),
                (4, 30),
                (5, 28),
                (6, 25),
                (7, 30),
                (8, 27),
                (9, 24),
                (10, 29),
                (11, 26),
                (12, 31)
            ]
        );
        assert!(
            year_2027(&rule)
                .iter()
                .all(|d| d.weekday() == Weekday::Fri && d.hour() == 15)
        );
    }

    #[test]
    fn quarterly_branch_general_meeting() {
        let tz = chrono_tz::Asia::Shanghai;
        let rule = Rule::parse(
            tz,
            local(2027, 1, 10, 14, 30),
            Some("FREQ=MONTHLY;INTERVAL=3"),
        )
        .unwrap();
        let months: Vec<u32> = year_2027(&rule).iter().map(|d| d.month()).collect();
        assert_eq!(months, vec![1, 4, 7, 10]);
    }

    #[test]
    fn wall_time_is_kept_across_daylight_saving() {
        // Berlin: CET (+1) until 28 March 2027, CEST (+2) until 31 October 2027.
        let berlin = chrono_tz::Europe::Berlin;
        let rule = Rule::parse(
            berlin,
            local(2027, 1, 1, 19, 0),
            Some("FREQ=MONTHLY;BYMONTHDAY=1"),
        )
        .unwrap();
        let starts = rule.starts_between(utc(2027, 1, 1), utc(2028, 1, 1));
        let hours: Vec<u32> = starts.iter().map(|t| t.hour()).collect();
        assert_eq!(hours, vec![18, 18, 18, 17, 17, 17, 17, 17, 17, 17, 18, 18]);
        assert!(starts.iter().all(|t| utc_to_local(berlin, *t).hour() == 19));
        // New York changes on 14 March 2027 (a weekly rule crosses it).
        let ny = chrono_tz::America::New_York;
        let weekly =
            Rule::parse(ny, local(2027, 3, 7, 10, 0), Some("FREQ=WEEKLY;COUNT=2")).unwrap();
        let two = weekly.starts_between(utc(2027, 3, 1), utc(2027, 4, 1));
        assert_eq!(
            two,
            vec![
                Utc.with_ymd_and_hms(2027, 3, 7, 15, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2027, 3, 14, 14, 0, 0).unwrap(),
            ]
        );
    }

    #[test]
    fn a_start_in_the_spring_gap_is_refused() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            Rule::parse(berlin, local(2027, 3, 28, 2, 30), None).unwrap_err(),
            RuleError::StartInGap
        );
    }

    #[test]
    fn bad_and_too_frequent_rules_are_refused() {
        let tz = chrono_tz::Asia::Shanghai;
        let start = local(2027, 1, 1, 9, 0);
        assert!(matches!(
            Rule::parse(tz, start, Some("FREQ=SOMETIMES")),
            Err(RuleError::Invalid(_))
        ));
        assert!(matches!(
            Rule::parse(tz, start, Some("DTSTART:20270101T090000\nRRULE:FREQ=DAILY")),
            Err(RuleError::Invalid(_))
        ));
        assert_eq!(
            Rule::parse(tz, start, Some("FREQ=HOURLY;BYMINUTE=0")).unwrap_err(),
            RuleError::TooFrequent
        );
    }

    #[test]
    fn a_one_off_is_its_start_when_in_range() {
        let tz = chrono_tz::Asia::Shanghai;
        let rule = Rule::parse(tz, local(2027, 5, 4, 9, 0), None).unwrap();
        assert!(!rule.is_series());
        assert_eq!(
            rule.starts_between(utc(2027, 1, 1), utc(2028, 1, 1)).len(),
            1
        );
        assert!(
            rule.starts_between(utc(2027, 6, 1), utc(2028, 1, 1))
                .is_empty()
        );
    }

    #[test]
    fn expansion_is_half_open() {
        let tz = chrono_tz::Asia::Shanghai;
        let rule = Rule::parse(
            tz,
            local(2027, 1, 1, 9, 0),
            Some("FREQ=MONTHLY;BYMONTHDAY=1"),
        )
        .unwrap();
        let jan = Utc.with_ymd_and_hms(2027, 1, 1, 1, 0, 0).unwrap();
        let feb = Utc.with_ymd_and_hms(2027, 2, 1, 1, 0, 0).unwrap();
        assert_eq!(rule.starts_between(jan, feb), vec![jan]);
    }
}
