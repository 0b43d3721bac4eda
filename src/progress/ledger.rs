//! The yearly credit ledger: credit is granted once per source (a lesson completed, an
//! activity attended), dated in the calendar year and month of the event that earned it,
//! in the member's home org zone.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::credit_ledger;
use crate::error::ApiResult;

/// Where credit comes from.
pub const SOURCE_LESSON: &str = "lesson";
pub const SOURCE_ACTIVITY: &str = "activity";

/// One credit to grant.
#[derive(Debug, Clone)]
pub struct Credit {
    pub user_id: i64,
    pub source_kind: &'static str,
    pub source_id: i64,
    pub credit_centi: i32,
    pub org_id: Option<i64>,
    pub earned_at: DateTime<Utc>,
}

/// Grants the credit unless this source already credited this user. Returns the year it
/// was booked in when newly granted.
pub fn grant(conn: &mut DbConnection, credit: &Credit, tz: Tz) -> ApiResult<Option<i32>> {
    let local = credit.earned_at.with_timezone(&tz);
    let (year, month) = (local.year(), local.month() as i32);
    let inserted = crate::with_backend!(conn, |c| diesel::insert_into(credit_ledger::table)
        .values((
            credit_ledger::user_id.eq(credit.user_id),
            credit_ledger::year.eq(year),
            credit_ledger::month.eq(month),
            credit_ledger::source_kind.eq(credit.source_kind),
            credit_ledger::source_id.eq(credit.source_id),
            credit_ledger::credit_centi.eq(credit.credit_centi),
            credit_ledger::org_id.eq(credit.org_id),
            credit_ledger::earned_at.eq(credit.earned_at.naive_utc()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok((inserted == 1).then_some(year))
}

/// Credit earned per month of `year` (index 0 = January).
pub fn by_month(conn: &mut DbConnection, user_id: i64, year: i32) -> ApiResult<[i64; 12]> {
    let rows: Vec<(i32, i32)> = credit_ledger::table
        .filter(credit_ledger::user_id.eq(user_id))
        .filter(credit_ledger::year.eq(year))
        .select((credit_ledger::month, credit_ledger::credit_centi))
        .load(conn)?;
    let mut months = [0i64; 12];
    for (month, credit) in rows {
        if let Some(slot) = months.get_mut((month - 1).clamp(0, 11) as usize) {
            *slot += i64::from(credit);
        }
    }
    Ok(months)
}
