//! The statistics roll-ups: per member and month, per member and year, per member, and per
//! counted occurrence.
//!
//! The statistics consumer of the change queue ([`super::apply`]) calls [`recompute_members`]
//! and [`recompute_occurrences`] for the members and occurrences the changes name. Both
//! recompute the rows from the raw rows of the members (or occurrences) concerned — one
//! member's data, never an org's — so the incremental result is by construction what
//! [`rebuild`] computes from scratch, and reads never scan the event tables.
//!
//! A member's rows follow the member: each carries the member's current home org, its path,
//! category and cadre flag (rewritten with the rest after a transfer, a status or category
//! change or an org move), so a transfer carries the whole year to the new home org and org
//! figures are range scans over `org_path` without joins.
//!
//! Both report the orgs whose rows they rewrote (before and after) in [`Touched`], whose
//! digests ([`super::digest`]) the consumer then rebuilds.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::activities::kind::ActivityKind;
use crate::activities::model::AttendanceStatus;
use crate::db::DbConnection;
use crate::db::schema::{
    activities, activity_attendance as aa, activity_invitees, activity_occurrences as ao,
    course_assignments, course_completions, credit_ledger, lesson_progress, memberships, orgs,
    stats_member_months, stats_member_years, stats_members, stats_occurrences,
};
use crate::error::ApiResult;
use crate::orgs::model::{Org, subtree_range};

/// Members recomputed per round of statements.
const CHUNK: usize = 500;

/// Orgs whose roll-up rows changed (id and path), so whose digests are rebuilt.
pub type Touched = BTreeMap<i64, String>;

/// Recomputes the rows of `user_ids` from their raw rows.
pub fn recompute_members(
    conn: &mut DbConnection,
    user_ids: &BTreeSet<i64>,
    touched: &mut Touched,
) -> ApiResult<()> {
    let mut zones = Zones::default();
    let ids: Vec<i64> = user_ids.iter().copied().collect();
    for chunk in ids.chunks(CHUNK) {
        refresh_members(conn, chunk, &mut zones, touched)?;
    }
    Ok(())
}

/// Recomputes the rows of occurrences `ids` (counted once started and not cancelled).
pub fn recompute_occurrences(
    conn: &mut DbConnection,
    ids: &BTreeSet<i64>,
    touched: &mut Touched,
) -> ApiResult<()> {
    let ids: Vec<i64> = ids.iter().copied().collect();
    for chunk in ids.chunks(CHUNK / 2) {
        refresh_occurrences(conn, chunk, touched)?;
    }
    Ok(())
}

/// The current members of the subtree at `path`.
pub fn current_members_under(conn: &mut DbConnection, path: &str) -> ApiResult<Vec<i64>> {
    let (lo, hi) = subtree_range(path);
    Ok(memberships::table
        .inner_join(orgs::table)
        .filter(memberships::to_date.is_null())
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .select(memberships::user_id)
        .load(conn)?)
}

/// The counted occurrences of the orgs in the subtree at `path`.
pub fn occurrences_under(conn: &mut DbConnection, path: &str) -> ApiResult<Vec<i64>> {
    let (lo, hi) = subtree_range(path);
    let moved = orgs::table
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .select(orgs::id);
    Ok(stats_occurrences::table
        .filter(stats_occurrences::org_id.eq_any(moved))
        .select(stats_occurrences::occurrence_id)
        .load(conn)?)
}

/// The current members of the subtree at `path` who completed `course_id`.
pub fn completers_under(
    conn: &mut DbConnection,
    course_id: i64,
    path: &str,
) -> ApiResult<Vec<i64>> {
    let (lo, hi) = subtree_range(path);
    Ok(course_completions::table
        .inner_join(memberships::table.on(memberships::user_id.eq(course_completions::user_id)))
        .inner_join(orgs::table.on(orgs::id.eq(memberships::org_id)))
        .filter(course_completions::course_id.eq(course_id))
        .filter(memberships::to_date.is_null())
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .select(course_completions::user_id)
        .load(conn)?)
}

/// Recomputes every roll-up and digest from the raw rows (`dangke stats rebuild`, `gen`):
/// applies, by subsuming them, the statistics changes pending when it starts, and bumps
/// every org's version. Returns (users, occurrences) recomputed.
pub fn rebuild(conn: &mut DbConnection) -> ApiResult<(usize, usize)> {
    crate::changes::lock(conn, crate::changes::Consumer::Stats)?;
    let pending = crate::changes::newest_pending(conn, crate::changes::Consumer::Stats)?;
    diesel::delete(stats_member_months::table).execute(conn)?;
    diesel::delete(stats_member_years::table).execute(conn)?;
    diesel::delete(stats_members::table).execute(conn)?;
    diesel::delete(stats_occurrences::table).execute(conn)?;
    let users: Vec<i64> = crate::db::schema::users::table
        .select(crate::db::schema::users::id)
        .order(crate::db::schema::users::id.asc())
        .load(conn)?;
    let mut zones = Zones::default();
    let mut touched = Touched::new();
    for chunk in users.chunks(CHUNK) {
        refresh_members(conn, chunk, &mut zones, &mut touched)?;
    }
    let occs: Vec<i64> = ao::table.select(ao::id).order(ao::id.asc()).load(conn)?;
    for chunk in occs.chunks(CHUNK / 2) {
        refresh_occurrences(conn, chunk, &mut touched)?;
    }
    super::digest::rebuild(conn)?;
    super::totals::rebuild(conn)?;
    if let Some(upto) = pending {
        crate::changes::discard(conn, crate::changes::Consumer::Stats, upto)?;
    }
    let all: BTreeSet<i64> = orgs::table
        .select(orgs::id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    super::versions::bump(conn, &all)?;
    Ok((users.len(), occs.len()))
}

/// Time zones and required courses of home orgs, loaded once per org.
#[derive(Default)]
struct Zones {
    tz: HashMap<i64, Tz>,
    required: HashMap<i64, HashSet<i64>>,
}

impl Zones {
    fn load(&mut self, conn: &mut DbConnection, org: &Org) -> ApiResult<()> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.tz.entry(org.id) {
            e.insert(crate::orgs::settings::time_zone(conn, org)?);
        }
        if let std::collections::hash_map::Entry::Vacant(e) = self.required.entry(org.id) {
            let ids: HashSet<i64> = course_assignments::table
                .filter(course_assignments::org_id.eq_any(org.path_ids()))
                .filter(course_assignments::required.eq(true))
                .filter(course_assignments::revoked_at.is_null())
                .select(course_assignments::course_id)
                .load::<i64>(conn)?
                .into_iter()
                .collect();
            e.insert(ids);
        }
        Ok(())
    }
}

/// One month of one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Month {
    pub credit_centi: i64,
    pub lessons_completed: i32,
    pub present: i32,
    pub late: i32,
    pub proxy: i32,
    pub made_up: i32,
    pub absent: i32,
    pub leave: i32,
    pub org_life: i32,
    pub active_days: i32,
}

impl Month {
    fn is_empty(&self) -> bool {
        *self == Month::default()
    }

    fn add_attendance(&mut self, status: AttendanceStatus, day: NaiveDate, org_life: bool) {
        match status {
            AttendanceStatus::Present => self.present += 1,
            AttendanceStatus::Late => self.late += 1,
            AttendanceStatus::Proxy => self.proxy += 1,
            AttendanceStatus::MadeUp => self.made_up += 1,
            AttendanceStatus::Absent => self.absent += 1,
            AttendanceStatus::Leave => self.leave += 1,
        }
        if counts_as_there(status) {
            self.active_days |= day_bit(day);
            if org_life {
                self.org_life += 1;
            }
        }
    }
}

/// Attendance that counts as taking part (DESIGN "Statistics terms").
pub fn counts_as_there(status: AttendanceStatus) -> bool {
    status.attended() || status == AttendanceStatus::MadeUp
}

/// Bit `d-1` for day `d` of its month.
pub fn day_bit(day: NaiveDate) -> i32 {
    1 << (day.day0() as i32)
}

/// Where a member belongs now, copied onto their rows.
#[derive(Debug, Clone)]
struct Place {
    org_id: i64,
    org_path: String,
    category: String,
    is_cadre: bool,
}

/// What one member's rows become.
#[derive(Debug, Default)]
struct Member {
    place: Option<Place>,
    months: BTreeMap<(i32, u32), Month>,
    required_done: i32,
    last_active_at: Option<NaiveDateTime>,
    last_org_life_at: Option<NaiveDateTime>,
}

/// Loads the raw rows of `users` and rewrites their roll-ups.
fn refresh_members(
    conn: &mut DbConnection,
    users: &[i64],
    zones: &mut Zones,
    touched: &mut Touched,
) -> ApiResult<()> {
    let homes: Vec<(i64, String, bool, Org)> = memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq_any(users))
        .filter(memberships::to_date.is_null())
        .select((
            memberships::user_id,
            memberships::category,
            memberships::is_cadre,
            Org::as_select(),
        ))
        .load(conn)?;
    let mut home_of: HashMap<i64, i64> = HashMap::new();
    let mut out: HashMap<i64, Member> = users.iter().map(|u| (*u, Member::default())).collect();
    for (user, category, is_cadre, org) in homes {
        zones.load(conn, &org)?;
        home_of.insert(user, org.id);
        if let Some(m) = out.get_mut(&user) {
            m.place = Some(Place {
                org_id: org.id,
                org_path: org.path,
                category,
                is_cadre,
            });
        }
    }
    let zone = |user: i64| -> Tz {
        home_of
            .get(&user)
            .and_then(|o| zones.tz.get(o))
            .copied()
            .unwrap_or(chrono_tz::Asia::Shanghai)
    };

    let credits: Vec<(i64, i32, i32, i32)> = credit_ledger::table
        .filter(credit_ledger::user_id.eq_any(users))
        .select((
            credit_ledger::user_id,
            credit_ledger::year,
            credit_ledger::month,
            credit_ledger::credit_centi,
        ))
        .load(conn)?;
    for (user, year, month, credit) in credits {
        if let Some(m) = out.get_mut(&user) {
            let slot = m
                .months
                .entry((year, month.clamp(1, 12) as u32))
                .or_default();
            slot.credit_centi += i64::from(credit);
        }
    }

    let studied: Vec<(i64, Option<NaiveDateTime>)> = lesson_progress::table
        .filter(lesson_progress::user_id.eq_any(users))
        .filter(lesson_progress::completed_at.is_not_null())
        .select((lesson_progress::user_id, lesson_progress::completed_at))
        .load(conn)?;
    for (user, completed) in studied {
        let tz = zone(user);
        if let (Some(m), Some(done)) = (out.get_mut(&user), completed) {
            let day = local_day(done, tz);
            let slot = m.months.entry((day.year(), day.month())).or_default();
            slot.lessons_completed += 1;
            slot.active_days |= day_bit(day);
            m.last_active_at = m.last_active_at.max(Some(done));
        }
    }

    let attended: Vec<(i64, String, NaiveDateTime, String, String)> = aa::table
        .inner_join(ao::table.inner_join(activities::table))
        .filter(aa::user_id.eq_any(users))
        .filter(ao::status.ne("cancelled"))
        .select((
            aa::user_id,
            aa::status,
            ao::starts_at,
            activities::kind,
            activities::time_zone,
        ))
        .load(conn)?;
    for (user, status, starts_at, kind, tz) in attended {
        let Some(status) = AttendanceStatus::parse(&status) else {
            continue;
        };
        let tz: Tz = tz.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        let org_life = ActivityKind::parse(&kind).is_some_and(ActivityKind::is_org_life);
        let day = local_day(starts_at, tz);
        if let Some(m) = out.get_mut(&user) {
            let slot = m.months.entry((day.year(), day.month())).or_default();
            slot.add_attendance(status, day, org_life);
            if counts_as_there(status) {
                m.last_active_at = m.last_active_at.max(Some(starts_at));
                if org_life {
                    m.last_org_life_at = m.last_org_life_at.max(Some(starts_at));
                }
            }
        }
    }

    let done: Vec<(i64, i64)> = course_completions::table
        .filter(course_completions::user_id.eq_any(users))
        .select((course_completions::user_id, course_completions::course_id))
        .load(conn)?;
    for (user, course) in done {
        let required = home_of.get(&user).and_then(|o| zones.required.get(o));
        if required.is_some_and(|r| r.contains(&course))
            && let Some(m) = out.get_mut(&user)
        {
            m.required_done += 1;
        }
    }
    write_members(conn, users, &out, touched)
}

fn local_day(at: NaiveDateTime, tz: Tz) -> NaiveDate {
    DateTime::<Utc>::from_naive_utc_and_offset(at, Utc)
        .with_timezone(&tz)
        .date_naive()
}

/// Replaces the rows of `users` with `out`.
fn write_members(
    conn: &mut DbConnection,
    users: &[i64],
    out: &HashMap<i64, Member>,
    touched: &mut Touched,
) -> ApiResult<()> {
    diesel::delete(stats_member_months::table.filter(stats_member_months::user_id.eq_any(users)))
        .execute(conn)?;
    diesel::delete(stats_member_years::table.filter(stats_member_years::user_id.eq_any(users)))
        .execute(conn)?;
    // The orgs whose digests change: where the members were and where they are now.
    let were: Vec<(Option<i64>, Option<String>)> = crate::with_backend!(&mut *conn, |c| {
        diesel::delete(stats_members::table.filter(stats_members::user_id.eq_any(users)))
            .returning((stats_members::org_id, stats_members::org_path))
            .get_results(c)
    })?;
    touched.extend(were.into_iter().filter_map(|(id, path)| Some((id?, path?))));
    for m in out.values() {
        if let Some(p) = &m.place {
            touched.insert(p.org_id, p.org_path.clone());
        }
    }
    let mut month_rows = Vec::new();
    let mut year_rows = Vec::new();
    let mut member_rows = Vec::new();
    for user in users {
        let Some(m) = out.get(user) else { continue };
        let place = m.place.as_ref();
        let (org_id, org_path) = (place.map(|p| p.org_id), place.map(|p| p.org_path.as_str()));
        let category = place.map_or("full", |p| p.category.as_str());
        let is_cadre = place.is_some_and(|p| p.is_cadre);
        // Current members are the roster and always have a row; former members only when
        // there is something to show (reads default to zero).
        let blank =
            m.required_done == 0 && m.last_active_at.is_none() && m.last_org_life_at.is_none();
        let mut years: BTreeMap<i32, Year> = BTreeMap::new();
        for ((year, month), v) in &m.months {
            if v.is_empty() {
                continue;
            }
            month_rows.push((
                stats_member_months::user_id.eq(*user),
                stats_member_months::year.eq(*year),
                stats_member_months::month.eq(*month as i32),
                stats_member_months::credit_centi.eq(v.credit_centi),
                stats_member_months::lessons_completed.eq(v.lessons_completed),
                stats_member_months::present.eq(v.present),
                stats_member_months::late.eq(v.late),
                stats_member_months::proxy.eq(v.proxy),
                stats_member_months::made_up.eq(v.made_up),
                stats_member_months::absent.eq(v.absent),
                stats_member_months::leave.eq(v.leave),
                stats_member_months::org_life.eq(v.org_life),
                stats_member_months::active_days.eq(v.active_days),
            ));
            years.entry(*year).or_default().add(*month, v);
        }
        // The latest year with data, and its credit, on the roster row too.
        let latest = years.last_key_value();
        if place.is_some() || !blank {
            member_rows.push((
                stats_members::user_id.eq(*user),
                stats_members::required_done.eq(m.required_done),
                stats_members::last_active_at.eq(m.last_active_at),
                stats_members::last_org_life_at.eq(m.last_org_life_at),
                stats_members::org_id.eq(org_id),
                stats_members::org_path.eq(org_path),
                stats_members::category.eq(category),
                stats_members::is_cadre.eq(is_cadre),
                stats_members::latest_year.eq(latest.map(|(year, _)| *year)),
                stats_members::latest_credit_centi.eq(latest.map_or(0, |(_, y)| y.credit_centi)),
            ));
        }
        for (year, y) in years {
            year_rows.push((
                stats_member_years::user_id.eq(*user),
                stats_member_years::year.eq(year),
                stats_member_years::org_id.eq(org_id),
                stats_member_years::org_path.eq(org_path),
                stats_member_years::category.eq(category),
                stats_member_years::is_cadre.eq(is_cadre),
                stats_member_years::credit_centi.eq(y.credit_centi),
                stats_member_years::active_months.eq(y.active_months),
                stats_member_years::days_01_02.eq(y.days[0]),
                stats_member_years::days_03_04.eq(y.days[1]),
                stats_member_years::days_05_06.eq(y.days[2]),
                stats_member_years::days_07_08.eq(y.days[3]),
                stats_member_years::days_09_10.eq(y.days[4]),
                stats_member_years::days_11_12.eq(y.days[5]),
            ));
        }
    }
    for chunk in member_rows.chunks(CHUNK) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(stats_members::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in year_rows.chunks(CHUNK) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            stats_member_years::table
        )
        .values(chunk)
        .execute(c))?;
    }
    for chunk in month_rows.chunks(CHUNK / 2) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            stats_member_months::table
        )
        .values(chunk)
        .execute(c))?;
    }
    Ok(())
}

/// What a member's year row holds: credit, active months and the active days of every
/// month, packed two months to a column.
#[derive(Debug, Default)]
struct Year {
    credit_centi: i64,
    active_months: i32,
    days: [i64; 6],
}

impl Year {
    fn add(&mut self, month: u32, v: &Month) {
        self.credit_centi += v.credit_centi;
        if v.active_days != 0 {
            self.active_months |= 1 << (month - 1);
            let (column, bits) = days_column(month, i64::from(v.active_days));
            self.days[column] |= bits;
        }
    }
}

/// The year-row column (0 for `days_01_02` … 5 for `days_11_12`) holding `month`'s days,
/// and `days` (bit d-1 for day d) shifted into place: odd months in bits 0-30, even months
/// in bits 31-61.
pub fn days_column(month: u32, days: i64) -> (usize, i64) {
    let m = month.clamp(1, 12) - 1;
    ((m / 2) as usize, (days & 0x7fff_ffff) << (31 * (m % 2)))
}

/// The name of the year-row column holding `month`'s days.
pub fn days_column_name(month: u32) -> &'static str {
    const NAMES: [&str; 6] = [
        "days_01_02",
        "days_03_04",
        "days_05_06",
        "days_07_08",
        "days_09_10",
        "days_11_12",
    ];
    NAMES[days_column(month, 0).0]
}

/// Recomputes the rows of occurrences: those that started (invitees frozen) and are not
/// cancelled have one; the others none.
fn refresh_occurrences(
    conn: &mut DbConnection,
    ids: &[i64],
    touched: &mut Touched,
) -> ApiResult<()> {
    // The orgs whose digests change: where the occurrences were and where they are now.
    let were: Vec<(i64, Option<String>)> = crate::with_backend!(&mut *conn, |c| {
        diesel::delete(
            stats_occurrences::table.filter(stats_occurrences::occurrence_id.eq_any(ids)),
        )
        .returning((stats_occurrences::org_id, stats_occurrences::org_path))
        .get_results(c)
    })?;
    touched.extend(were.into_iter().filter_map(|(id, path)| Some((id, path?))));
    let occs: Vec<(i64, i64, String, NaiveDateTime, bool, String)> = ao::table
        .inner_join(activities::table)
        .inner_join(orgs::table.on(orgs::id.eq(ao::org_id)))
        .filter(ao::id.eq_any(ids))
        .filter(ao::status.ne("cancelled"))
        .filter(ao::invitees_frozen_at.is_not_null())
        .select((
            ao::id,
            ao::org_id,
            activities::kind,
            ao::starts_at,
            ao::held_at.is_not_null(),
            orgs::path,
        ))
        .load(conn)?;
    for o in &occs {
        touched.insert(o.1, o.5.clone());
    }
    if occs.is_empty() {
        return Ok(());
    }
    let counted: Vec<i64> = occs.iter().map(|o| o.0).collect();
    let invited: Vec<i64> = activity_invitees::table
        .filter(activity_invitees::occurrence_id.eq_any(&counted))
        .select(activity_invitees::occurrence_id)
        .load(conn)?;
    let records: Vec<(i64, String)> = aa::table
        .filter(aa::occurrence_id.eq_any(&counted))
        .select((aa::occurrence_id, aa::status))
        .load(conn)?;
    let mut counts: HashMap<i64, [i32; 7]> = HashMap::new();
    for o in invited {
        counts.entry(o).or_default()[0] += 1;
    }
    for (o, status) in records {
        let i = match AttendanceStatus::parse(&status) {
            Some(AttendanceStatus::Present) => 1,
            Some(AttendanceStatus::Late) => 2,
            Some(AttendanceStatus::Proxy) => 3,
            Some(AttendanceStatus::MadeUp) => 4,
            Some(AttendanceStatus::Absent) => 5,
            Some(AttendanceStatus::Leave) => 6,
            None => continue,
        };
        counts.entry(o).or_default()[i] += 1;
    }
    let rows: Vec<_> = occs
        .iter()
        .map(|(id, org_id, kind, starts_at, held, path)| {
            let c = counts.get(id).copied().unwrap_or_default();
            (
                stats_occurrences::occurrence_id.eq(*id),
                stats_occurrences::org_id.eq(*org_id),
                stats_occurrences::kind.eq(kind.as_str()),
                stats_occurrences::starts_at.eq(*starts_at),
                stats_occurrences::held.eq(*held),
                stats_occurrences::invited.eq(c[0]),
                stats_occurrences::present.eq(c[1]),
                stats_occurrences::late.eq(c[2]),
                stats_occurrences::proxy.eq(c[3]),
                stats_occurrences::made_up.eq(c[4]),
                stats_occurrences::absent.eq(c[5]),
                stats_occurrences::leave.eq(c[6]),
                stats_occurrences::org_path.eq(path.as_str()),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK / 2) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            stats_occurrences::table
        )
        .values(chunk)
        .execute(c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_bits_from_zero() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        assert_eq!(day_bit(d(1)), 1);
        assert_eq!(day_bit(d(30)), 1 << 29);
    }

    #[test]
    fn two_months_share_a_days_column() {
        assert_eq!(days_column(1, 1), (0, 1));
        assert_eq!(days_column(2, 1), (0, 1 << 31));
        assert_eq!(days_column(11, 0x7fff_ffff), (5, 0x7fff_ffff));
        assert_eq!(days_column(12, 0x7fff_ffff), (5, 0x7fff_ffff << 31));
        assert_eq!(days_column_name(12), "days_11_12");
        assert_eq!(days_column_name(3), "days_03_04");
        // Two full months fit in a BIGINT without touching the sign bit.
        let both = days_column(11, 0x7fff_ffff).1 | days_column(12, 0x7fff_ffff).1;
        assert_eq!(both, (1_i64 << 62) - 1);
    }
}
