//! Statistics periods: a month (`2026-11`), a quarter (`2026-Q4`), a year (`2026`), or
//! `from`/`to` dates within one year, all in the org's zone. Pure functions.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode, FieldError, Text};

/// A period: whole days `from..=to` of one calendar year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    /// `2026-11`, `2026-Q4`, `2026`, or `2026-03-05..2026-04-20`.
    pub label: String,
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

fn bad(field: &str, zh: &str, en: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
        field,
        "invalid_value",
        Text::new(zh.to_string(), en.to_string()),
    ))
}

fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

fn span(year: i32, first_month: u32, last_month: u32) -> Option<(NaiveDate, NaiveDate)> {
    Some((
        NaiveDate::from_ymd_opt(year, first_month, 1)?,
        last_of_month(year, last_month)?,
    ))
}

impl Period {
    /// Parses `period`, or `from` and `to`; without either, the year of `today`.
    pub fn parse(
        period: Option<&str>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Period, ApiError> {
        match (period, from, to) {
            (Some(p), None, None) => Self::parse_label(p.trim()).ok_or_else(|| {
                bad(
                    "period",
                    "周期应为 2026-11、2026-Q4 或 2026",
                    "period must look like 2026-11, 2026-Q4 or 2026",
                )
            }),
            (None, Some(from), Some(to)) => {
                if from > to || from.year() != to.year() {
                    return Err(bad(
                        "to",
                        "起止日期应在同一年内且开始不晚于结束",
                        "from and to must be in one year, from not after to",
                    ));
                }
                Ok(Period {
                    label: format!("{from}..{to}"),
                    from,
                    to,
                })
            }
            (None, None, None) => Self::parse_label(&today.year().to_string())
                .ok_or_else(|| bad("period", "周期无效", "Invalid period")),
            _ => Err(bad(
                "period",
                "请给出 period，或同时给出 from 和 to",
                "Give period, or both from and to",
            )),
        }
    }

    fn parse_label(s: &str) -> Option<Period> {
        let year_of = |y: &str| -> Option<i32> {
            (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
                .then(|| y.parse().ok())
                .flatten()
                .filter(|y| (2000..=2100).contains(y))
        };
        let (from, to) = match s.split_once('-') {
            None => span(year_of(s)?, 1, 12)?,
            Some((y, q)) if q.starts_with('Q') => {
                let q: u32 = q[1..].parse().ok().filter(|q| (1..=4).contains(q))?;
                span(year_of(y)?, q * 3 - 2, q * 3)?
            }
            Some((y, m)) => {
                let m: u32 = (m.len() == 2)
                    .then(|| m.parse().ok())
                    .flatten()
                    .filter(|m| (1..=12).contains(m))?;
                span(year_of(y)?, m, m)?
            }
        };
        Some(Period {
            label: s.to_string(),
            from,
            to,
        })
    }

    pub fn year(&self) -> i32 {
        self.from.year()
    }

    /// Months wholly inside the period, as bits (bit `m-1` for month `m`).
    pub fn whole_months_mask(&self) -> i32 {
        let mut mask = 0;
        for m in self.from.month()..=self.to.month() {
            let whole = NaiveDate::from_ymd_opt(self.year(), m, 1).is_some_and(|first| {
                first >= self.from && last_of_month(self.year(), m).is_some_and(|l| l <= self.to)
            });
            if whole {
                mask |= 1 << (m - 1);
            }
        }
        mask
    }

    /// Months the period covers only in part, with the days covered as bits.
    pub fn partial_months(&self) -> Vec<(u32, i32)> {
        let whole = self.whole_months_mask();
        let mut out = Vec::new();
        for m in self.from.month()..=self.to.month() {
            if whole & (1 << (m - 1)) != 0 {
                continue;
            }
            let mut days = 0;
            let mut d = self
                .from
                .max(NaiveDate::from_ymd_opt(self.year(), m, 1).unwrap_or(self.from));
            while d <= self.to && d.month() == m {
                days |= 1 << d.day0();
                d += Duration::days(1);
            }
            out.push((m, days));
        }
        out
    }

    /// Months the period touches (first, last).
    pub fn months(&self) -> (u32, u32) {
        (self.from.month(), self.to.month())
    }

    /// The UTC instants `[start of from, start of the day after to)` in `tz`.
    pub fn utc_range(&self, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
        (
            start_of(self.from, tz),
            start_of(self.to.succ_opt().unwrap_or(self.to), tz),
        )
    }
}

/// The UTC instant local midnight of `day` in `tz` starts (the first valid instant of the
/// day where a zone skips midnight).
pub fn start_of(day: NaiveDate, tz: Tz) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc).naive_utc(),
        None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map(|t: DateTime<Tz>| t.with_timezone(&Utc).naive_utc())
            .unwrap_or(midnight),
    }
}

/// `day` six months earlier (clamped to the month's end: 31 August -> 28/29 February).
pub fn six_months_before(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(chrono::Months::new(6))
        .unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn labels() {
        let today = d(2026, 11, 27);
        let p = |s| Period::parse(Some(s), None, None, today).unwrap();
        assert_eq!(
            (p("2026-11").from, p("2026-11").to),
            (d(2026, 11, 1), d(2026, 11, 30))
        );
        assert_eq!(
            (p("2026-Q1").from, p("2026-Q1").to),
            (d(2026, 1, 1), d(2026, 3, 31))
        );
        assert_eq!(
            (p("2028").from, p("2028").to),
            (d(2028, 1, 1), d(2028, 12, 31))
        );
        assert_eq!(p("2026-02").whole_months_mask(), 0b10);
        assert_eq!(p("2026-Q4").whole_months_mask(), 0b1110_0000_0000);
        for wrong in ["2026-13", "2026-Q5", "26", "2026-1", "x", "2026-Q"] {
            assert!(
                Period::parse(Some(wrong), None, None, today).is_err(),
                "{wrong}"
            );
        }
        let none = Period::parse(None, None, None, today).unwrap();
        assert_eq!(none.label, "2026");
    }

    #[test]
    fn ranges_split_into_whole_and_partial_months() {
        let today = d(2026, 11, 27);
        let p = Period::parse(None, Some(d(2026, 3, 30)), Some(d(2026, 5, 2)), today).unwrap();
        assert_eq!(p.whole_months_mask(), 0b1000);
        assert_eq!(
            p.partial_months(),
            vec![(3, (1 << 29) | (1 << 30)), (5, 0b11)]
        );
        assert!(Period::parse(None, Some(d(2026, 12, 30)), Some(d(2027, 1, 2)), today).is_err());
        assert!(Period::parse(None, Some(d(2026, 3, 2)), None, today).is_err());
        let (a, b) = p.utc_range(chrono_tz::Asia::Shanghai);
        assert_eq!(a, d(2026, 3, 29).and_hms_opt(16, 0, 0).unwrap());
        assert_eq!(b, d(2026, 5, 2).and_hms_opt(16, 0, 0).unwrap());
    }

    #[test]
    fn six_months() {
        assert_eq!(six_months_before(d(2026, 8, 31)), d(2026, 2, 28));
        assert_eq!(six_months_before(d(2026, 3, 15)), d(2025, 9, 15));
    }
}
