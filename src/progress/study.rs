//! "My year": quota, credit earned, what remains, whether I am on track, by month, and the
//! required courses still open.

use chrono::{Datelike, NaiveDate};

use super::ledger;
use super::model::{MyYear, OpenRequiredCourse};
use crate::courses::links::Links;
use crate::courses::model::MyCourseStatus;
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult};
use crate::orgs::model::Category;

/// Days in a calendar year.
fn days_in(year: i32) -> i64 {
    match (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 1, 1, 1),
    ) {
        (Some(a), Some(b)) => (b - a).num_days(),
        _ => 365,
    }
}

/// What an even pace would have earned by `today` of `year`: the whole quota for past
/// years, nothing for future ones, pro-rated by day of year for the current one.
pub fn expected_by(quota: i64, year: i32, today: NaiveDate) -> i64 {
    match year.cmp(&today.year()) {
        std::cmp::Ordering::Less => quota,
        std::cmp::Ordering::Greater => 0,
        std::cmp::Ordering::Equal => quota * i64::from(today.ordinal()) / days_in(year),
    }
}

/// The quota category of a membership: activists, cadres, or members.
pub fn quota_category(category: &str, is_cadre: bool) -> &'static str {
    match (Category::parse(category), is_cadre) {
        (Some(Category::Activist), _) => "activist",
        (_, true) => "cadre",
        _ => "member",
    }
}

/// Where a member stands on her yearly quota on the day `now` falls on in her home org's
/// zone: credit earned in the year, what an even pace would have earned by then, the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub year: i32,
    /// Her home org.
    pub org_id: i64,
    /// Her home org's zone, and the day it is there.
    pub zone: chrono_tz::Tz,
    pub today: NaiveDate,
    pub quota_centi: i64,
    pub earned_centi: i64,
    pub expected_centi: i64,
}

impl Pace {
    pub fn behind(&self) -> bool {
        self.earned_centi < self.expected_centi
    }
}

/// The member's pace in `year` (default: the current one), with her quota category and
/// credit by month; `None` when she belongs to no org.
pub fn pace(
    conn: &mut DbConnection,
    user_id: i64,
    year: Option<i32>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Option<(Pace, &'static str, [i64; 12])>> {
    let Some(membership) = crate::orgs::members::current(conn, user_id)? else {
        return Ok(None);
    };
    let home = crate::orgs::tree::find(conn, membership.org_id)?;
    let settings = crate::orgs::settings::effective(conn, &home)?;
    let tz: chrono_tz::Tz = settings
        .time_zone
        .value
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let today = now.with_timezone(&tz).date_naive();
    let year = year.unwrap_or(today.year());
    let category = quota_category(&membership.category, membership.is_cadre);
    let quota = settings.quotas.get(category).map(|e| e.value).unwrap_or(0);
    let by_month = ledger::by_month(conn, user_id, year)?;
    let pace = Pace {
        year,
        org_id: home.id,
        zone: tz,
        today,
        quota_centi: quota,
        earned_centi: by_month.iter().sum(),
        expected_centi: expected_by(quota, year, today),
    };
    Ok(Some((pace, category, by_month)))
}

pub fn my_year(
    conn: &mut DbConnection,
    user_id: i64,
    year: Option<i32>,
    links: &Links,
) -> ApiResult<MyYear> {
    let (pace, category, by_month) =
        pace(conn, user_id, year, links.now)?.ok_or_else(ApiError::not_found)?;
    let (year, quota, earned, expected) = (
        pace.year,
        pace.quota_centi,
        pace.earned_centi,
        pace.expected_centi,
    );
    let mine = crate::courses::catalog::my_courses(conn, user_id, links)?;
    let open: Vec<OpenRequiredCourse> = mine
        .into_iter()
        .filter(|c| c.required && c.status != MyCourseStatus::Done)
        .map(|c| OpenRequiredCourse {
            course_id: c.course_id,
            title: c.title,
            due_date: c.due_date,
            lessons_total: c.lessons_total,
            lessons_done: c.lessons_done,
        })
        .collect();
    Ok(MyYear {
        year,
        quota_category: category.to_string(),
        quota_centi: quota,
        earned_centi: earned,
        remaining_centi: (quota - earned).max(0),
        on_track: earned >= expected,
        expected_by_now_centi: expected,
        by_month: by_month.to_vec(),
        open_required_courses: open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_is_pro_rated_by_day_of_year() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(expected_by(3200, 2026, d(2026, 12, 31)), 3200);
        assert_eq!(expected_by(3650, 2026, d(2026, 1, 1)), 10);
        assert_eq!(expected_by(3200, 2025, d(2026, 3, 1)), 3200);
        assert_eq!(expected_by(3200, 2027, d(2026, 3, 1)), 0);
        // 2028 is a leap year: day 366 is the whole quota.
        assert_eq!(expected_by(3660, 2028, d(2028, 12, 31)), 3660);
    }

    #[test]
    fn quota_categories() {
        assert_eq!(quota_category("activist", true), "activist");
        assert_eq!(quota_category("full", true), "cadre");
        assert_eq!(quota_category("probationary", false), "member");
    }
}
