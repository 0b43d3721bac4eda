//! Org digests: the statistics inputs of one org packed into a few rows of `stats_digests`,
//! so an org's figures read one row per org of its subtree instead of one per member.
//!
//! For every org there is a roster digest (the members whose home org it is: category,
//! cadre flag, required courses done, last organizational life to the second), a year digest
//! per year with data (each member's credit and active months), a day digest per month with
//! activity (each active member's days of that month, read only for a period that starts or
//! ends inside the month) and an occurrence digest per UTC year (each counted occurrence's
//! start, kind and attendance by status). Digests stay small enough (about 1 KB for a branch
//! of 100) to be stored inline, uncompressed. They hold the same values as the roll-up rows they are built from;
//! the figures are computed from them by the same rules at read time (quotas, the even pace
//! and the six-month cut-off depend on today and on settings, so they are never stored).
//!
//! Maintenance is not delta-based and not on the write path: the statistics consumer of the
//! change queue ([`super::apply`]) rebuilds the digests of the orgs whose roll-up rows it
//! rewrote ([`build`]), so check-ins of one branch never wait for each other on a digest
//! row, and a read (which applies pending changes first) still sees every committed write.
//! A digest that does not decode — damaged, or written in another format — is rebuilt by
//! the read that finds it ([`repairing`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;

use super::digest_codec::{Dec, DecodeError, Enc};
use super::period::Period;
use crate::db::schema::{
    orgs, stats_digests as sd, stats_member_years as smy, stats_members as sm,
    stats_occurrences as so,
};
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, ApiResult};
use crate::orgs::model::subtree_range;

/// `stats_digests.part` of roster digests (year 0).
pub const ROSTER: i32 = 0;
/// `stats_digests.part` of year digests.
pub const YEARS: i32 = 1;
/// `stats_digests.part` of occurrence digests (by UTC year of the start).
pub const OCCURRENCES: i32 = 2;
/// `stats_digests.part` of the day digest of month m is `DAYS + m`.
pub const DAYS: i32 = 100;

/// The first value of every digest; a digest of another format does not decode and is
/// rebuilt by the read that finds it ([`repairing`]), so a format change needs no
/// migration.
const FORMAT: u64 = 1;

/// Orgs (or rows) per round of statements.
const CHUNK: usize = 500;

/// One member of an org's roster.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterEntry {
    pub user_id: i64,
    /// Index into the digest's `categories`.
    pub category: u8,
    pub is_cadre: bool,
    pub required_done: i64,
    /// Last organizational life, seconds since the epoch (truncated: compared with the
    /// six-month cut-off, a whole second, `floor(t) < c` exactly when `t < c`).
    pub last_org_life_s: Option<i64>,
}

/// The members whose home org is `org_id`, by user id.
#[derive(Debug, Clone, PartialEq)]
pub struct Roster {
    pub org_id: i64,
    pub categories: Vec<String>,
    pub members: Vec<RosterEntry>,
}

/// One member's year, with whether they were active in the period it was read for.
#[derive(Debug, Clone, PartialEq)]
pub struct YearEntry {
    pub user_id: i64,
    pub category: u8,
    pub is_cadre: bool,
    pub credit_centi: i64,
    /// Bit m-1 for month m.
    pub active_months: u16,
    /// Active in the period (set by [`years`] and [`of_orgs`]).
    pub active: bool,
}

/// The year rows of the members whose home org is `org_id`, by user id.
#[derive(Debug, Clone, PartialEq)]
pub struct Years {
    pub org_id: i64,
    pub categories: Vec<String>,
    pub members: Vec<YearEntry>,
}

/// One counted occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct OccurrenceEntry {
    /// Microseconds since the epoch.
    pub starts_at_us: i64,
    /// Index into the digest's `kinds`.
    pub kind: u16,
    /// Invited, present, late, proxy, made up, absent, leave.
    pub counts: [i64; 7],
}

/// The counted occurrences of `org_id` that started in one UTC year.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrences {
    pub org_id: i64,
    pub kinds: Vec<String>,
    pub items: Vec<OccurrenceEntry>,
}

/// The months of a period: whole ones (a mask) and those it covers in part, with the days.
#[derive(Debug, Clone)]
struct PeriodMonths {
    whole: u16,
    /// (month, bit d-1 for each day d of the month in the period)
    partial: Vec<(u32, u32)>,
}

impl PeriodMonths {
    /// The digest parts a period's activity reads: the year's, and the days of its partial
    /// months.
    fn parts(&self) -> Vec<i32> {
        std::iter::once(YEARS)
            .chain(self.partial.iter().map(|(m, _)| DAYS + *m as i32))
            .collect()
    }

    fn new(period: &Period) -> Self {
        PeriodMonths {
            whole: (period.whole_months_mask() & 0x0fff) as u16,
            partial: period
                .partial_months()
                .into_iter()
                .map(|(month, days)| (month.clamp(1, 12), days as u32))
                .collect(),
        }
    }
}

/// One partial month of a period: its days in the period, and each org's day digest.
type PartialDays = (u32, HashMap<i64, Vec<(i64, u32)>>);

/// Short strings (categories, kinds) numbered by first appearance.
#[derive(Default)]
struct Names {
    index: HashMap<String, u64>,
    list: Vec<String>,
}

impl Names {
    fn of(&mut self, s: &str) -> u64 {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        let i = self.list.len() as u64;
        self.index.insert(s.to_string(), i);
        self.list.push(s.to_string());
        i
    }

    fn encode(&self, e: &mut Enc) {
        e.uint(self.list.len() as u64);
        for s in &self.list {
            e.str(s);
        }
    }
}

/// A digest: the format, the names its entries refer to, then the entries.
fn frame(names: &Names, body: Enc) -> Vec<u8> {
    let mut e = Enc::default();
    e.uint(FORMAT);
    names.encode(&mut e);
    e.0.extend_from_slice(&body.0);
    e.0
}

/// Opens a digest written by [`frame`]: its names (at most `limit`) and a reader at the
/// first entry.
fn open(bytes: &[u8], limit: usize) -> Result<(Vec<String>, Dec<'_>), DecodeError> {
    let mut d = Dec::new(bytes);
    start(&mut d)?;
    let names = decode_names(&mut d, limit)?;
    Ok((names, d))
}

/// User ids in increasing order, each written as the difference from the one before.
#[derive(Default)]
struct UserIds(i64);

impl UserIds {
    fn write(&mut self, e: &mut Enc, user_id: i64) {
        e.int(user_id - self.0);
        self.0 = user_id;
    }

    fn read(&mut self, d: &mut Dec) -> Result<i64, DecodeError> {
        self.0 = self.0.wrapping_add(d.int()?);
        Ok(self.0)
    }
}

/// The names and the per-member entries of a digest (at most `limit` names), each entry
/// read by `entry` from the member's user id, the reader and the number of names.
fn decode_members<T>(
    bytes: &[u8],
    limit: usize,
    mut entry: impl FnMut(i64, &mut Dec, usize) -> Result<T, DecodeError>,
) -> Result<(Vec<String>, Vec<T>), DecodeError> {
    let (names, mut d) = open(bytes, limit)?;
    let n = d.count()?;
    let mut out = Vec::with_capacity(n);
    let mut ids = UserIds::default();
    for _ in 0..n {
        let user_id = ids.read(&mut d)?;
        out.push(entry(user_id, &mut d, names.len())?);
    }
    Ok((names, out))
}

fn decode_names(d: &mut Dec, limit: usize) -> Result<Vec<String>, DecodeError> {
    let n = d.count()?;
    if n > limit {
        return Err(DecodeError("too many names"));
    }
    (0..n).map(|_| d.str()).collect()
}

fn start(d: &mut Dec) -> Result<(), DecodeError> {
    if d.uint()? != FORMAT {
        return Err(DecodeError("unknown format"));
    }
    Ok(())
}

fn name_index(d: &mut Dec, names: usize) -> Result<u64, DecodeError> {
    let i = d.uint()?;
    if i as usize >= names {
        return Err(DecodeError("name index out of range"));
    }
    Ok(i)
}

/// A roster row: user id, category, cadre flag, required done, last org life.
type RosterRow = (i64, String, bool, i32, Option<NaiveDateTime>);

fn encode_roster(rows: &[RosterRow]) -> Vec<u8> {
    let mut names = Names::default();
    let mut body = Enc::default();
    body.uint(rows.len() as u64);
    let mut ids = UserIds::default();
    for (user_id, category, is_cadre, required_done, last_org_life) in rows {
        ids.write(&mut body, *user_id);
        body.uint(names.of(category));
        body.bool(*is_cadre);
        body.int(i64::from(*required_done));
        body.seconds(*last_org_life);
    }
    frame(&names, body)
}

pub fn decode_roster(org_id: i64, bytes: &[u8]) -> Result<Roster, DecodeError> {
    let (categories, members) = decode_members(bytes, 256, |user_id, d, names| {
        Ok(RosterEntry {
            user_id,
            category: name_index(d, names)? as u8,
            is_cadre: d.bool()?,
            required_done: d.int()?,
            last_org_life_s: d.opt_int()?,
        })
    })?;
    Ok(Roster {
        org_id,
        categories,
        members,
    })
}

/// A year row: user id, year, category, cadre flag, credit, active months, days columns.
type YearRow = (i64, i32, String, bool, i64, i32, [i64; 6]);

fn encode_years(rows: &[&YearRow]) -> Vec<u8> {
    let mut names = Names::default();
    let mut body = Enc::default();
    body.uint(rows.len() as u64);
    let mut ids = UserIds::default();
    for (user_id, _, category, is_cadre, credit, months, _) in rows {
        ids.write(&mut body, *user_id);
        body.uint(names.of(category));
        body.bool(*is_cadre);
        body.int(*credit);
        body.uint(u64::from((*months & 0x0fff) as u16));
    }
    frame(&names, body)
}

pub fn decode_years(org_id: i64, bytes: &[u8]) -> Result<Years, DecodeError> {
    let (categories, members) = decode_members(bytes, 256, |user_id, d, names| {
        Ok(YearEntry {
            user_id,
            category: name_index(d, names)? as u8,
            is_cadre: d.bool()?,
            credit_centi: d.int()?,
            active_months: (d.uint()? & 0x0fff) as u16,
            active: false,
        })
    })?;
    Ok(Years {
        org_id,
        categories,
        members,
    })
}

/// The active days of `month` (1-12) from a year row's days columns.
fn days_of(days: &[i64; 6], month: u32) -> u32 {
    let m = (month.clamp(1, 12) - 1) as usize;
    ((days[m / 2] >> (31 * (m % 2))) & 0x7fff_ffff) as u32
}

/// The members active in `month` and their days (bit d-1 for day d), by user id.
fn encode_days(rows: &[&YearRow], month: u32) -> Option<Vec<u8>> {
    let active: Vec<(i64, u32)> = rows
        .iter()
        .map(|r| (r.0, days_of(&r.6, month)))
        .filter(|(_, days)| *days != 0)
        .collect();
    if active.is_empty() {
        return None;
    }
    let mut body = Enc::default();
    body.uint(active.len() as u64);
    let mut ids = UserIds::default();
    for (user_id, days) in active {
        ids.write(&mut body, user_id);
        body.uint(u64::from(days));
    }
    Some(frame(&Names::default(), body))
}

pub fn decode_days(bytes: &[u8]) -> Result<Vec<(i64, u32)>, DecodeError> {
    let (_, days) = decode_members(bytes, 0, |user_id, d, _| {
        Ok((user_id, (d.uint()? & 0x7fff_ffff) as u32))
    })?;
    Ok(days)
}

/// An occurrence row: start, kind and the seven counts.
type OccurrenceRow = (NaiveDateTime, String, [i32; 7]);

fn encode_occurrences(rows: &[&OccurrenceRow]) -> Vec<u8> {
    let mut names = Names::default();
    let mut body = Enc::default();
    body.uint(rows.len() as u64);
    for (starts_at, kind, counts) in rows {
        body.time(Some(*starts_at));
        body.uint(names.of(kind));
        for c in counts {
            body.int(i64::from(*c));
        }
    }
    frame(&names, body)
}

pub fn decode_occurrences(org_id: i64, bytes: &[u8]) -> Result<Occurrences, DecodeError> {
    let (kinds, mut d) = open(bytes, usize::from(u16::MAX))?;
    let n = d.count()?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let starts_at_us = d
            .opt_int()?
            .ok_or(DecodeError("occurrence without a start"))?;
        let kind = name_index(&mut d, kinds.len())? as u16;
        let mut counts = [0_i64; 7];
        for c in &mut counts {
            *c = d.int()?;
        }
        items.push(OccurrenceEntry {
            starts_at_us,
            kind,
            counts,
        });
    }
    Ok(Occurrences {
        org_id,
        kinds,
        items,
    })
}

/// A digest that does not decode: the cause of the error [`repairing`] repairs.
#[derive(Debug)]
pub struct Undecodable {
    pub org_id: i64,
    pub error: DecodeError,
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "digest of org {}: {}", self.org_id, self.error)
    }
}

impl std::error::Error for Undecodable {}

fn decode_failed(org_id: i64, error: DecodeError) -> ApiError {
    ApiError::internal(Undecodable { org_id, error })
}

/// Rebuilds, under the statistics lock, the digests of every org in the subtree at `path`
/// with a digest that does not decode (after a read found one: a format change leaves all
/// of them so, and one pass repairs them all). Returns the orgs rebuilt.
pub fn repair(conn: &mut DbConnection, path: &str) -> ApiResult<Vec<i64>> {
    crate::changes::lock(conn, crate::changes::Consumer::Stats)?;
    let (lo, hi) = subtree_range(path);
    let rows: Vec<(i64, i32, Vec<u8>)> = sd::table
        .filter(sd::org_path.ge(lo))
        .filter(sd::org_path.lt(hi))
        .select((sd::org_id, sd::part, sd::data))
        .load(conn)?;
    let damaged: BTreeSet<i64> = rows
        .iter()
        .filter(|(org, part, data)| {
            let ok = match *part {
                ROSTER => decode_roster(*org, data).is_ok(),
                YEARS => decode_years(*org, data).is_ok(),
                OCCURRENCES => decode_occurrences(*org, data).is_ok(),
                _ => decode_days(data).is_ok(),
            };
            !ok
        })
        .map(|(org, _, _)| *org)
        .collect();
    let orgs: Vec<i64> = damaged.into_iter().collect();
    build(conn, &orgs)?;
    super::totals::update(
        conn,
        &orgs.iter().copied().collect(),
        &BTreeSet::new(),
        &BTreeSet::new(),
    )?;
    Ok(orgs)
}

/// Runs `read` over the subtree at `path`; when it finds a digest it cannot decode
/// (damaged, or of another format), rebuilds the subtree's undecodable digests from the
/// roll-ups and runs it once more, so a format change needs no migration and a damaged row
/// never answers 500.
pub async fn repairing<T, F, Fut>(db: &Db, path: &str, mut read: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ApiResult<T>>,
{
    match read().await {
        Err(e)
            if e.cause
                .as_ref()
                .is_some_and(|c| c.downcast_ref::<Undecodable>().is_some()) =>
        {
            tracing::warn!(error = ?e, "statistics digests undecodable: rebuilding them");
            let path = path.to_string();
            let rebuilt = db.write(move |c| repair(c, &path)).await?;
            tracing::info!(orgs = rebuilt.len(), "statistics digests rebuilt");
            read().await
        }
        other => other,
    }
}

/// Every org's digests from scratch (after `stats rebuild` and `gen`).
pub fn rebuild(conn: &mut DbConnection) -> ApiResult<usize> {
    diesel::delete(sd::table).execute(conn)?;
    let ids: Vec<i64> = orgs::table
        .select(orgs::id)
        .order(orgs::id.asc())
        .load(conn)?;
    build(conn, &ids)?;
    Ok(ids.len())
}

/// Rewrites every digest of `org_ids` from their roll-up rows.
pub fn build(conn: &mut DbConnection, org_ids: &[i64]) -> ApiResult<()> {
    for chunk in org_ids.chunks(CHUNK) {
        diesel::delete(sd::table.filter(sd::org_id.eq_any(chunk))).execute(conn)?;
        let paths: HashMap<i64, String> = orgs::table
            .filter(orgs::id.eq_any(chunk))
            .select((orgs::id, orgs::path))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let path_list: Vec<&str> = paths.values().map(String::as_str).collect();
        let mut rows: Vec<(i64, i32, i32, Vec<u8>)> = Vec::new();

        // Rosters, by the place index (the roster's path is its home org's).
        let roster: Vec<(Option<i64>, RosterRow)> = sm::table
            .filter(sm::org_path.eq_any(&path_list))
            .select((
                sm::org_id,
                (
                    sm::user_id,
                    sm::category,
                    sm::is_cadre,
                    sm::required_done,
                    sm::last_org_life_at,
                ),
            ))
            .load(conn)?;
        let mut by_org: BTreeMap<i64, Vec<RosterRow>> = BTreeMap::new();
        for (org, row) in roster {
            if let Some(org) = org.filter(|o| paths.contains_key(o)) {
                by_org.entry(org).or_default().push(row);
            }
        }
        for (org, mut members) in by_org {
            members.sort_by_key(|m| m.0);
            rows.push((org, ROSTER, 0, encode_roster(&members)));
        }

        // Year rows.
        let years: Vec<(Option<i64>, YearRow)> = smy::table
            .filter(smy::org_id.eq_any(chunk))
            .select((
                smy::org_id,
                (
                    smy::user_id,
                    smy::year,
                    smy::category,
                    smy::is_cadre,
                    smy::credit_centi,
                    smy::active_months,
                    (
                        smy::days_01_02,
                        smy::days_03_04,
                        smy::days_05_06,
                        smy::days_07_08,
                        smy::days_09_10,
                        smy::days_11_12,
                    ),
                ),
            ))
            .load::<(
                Option<i64>,
                (
                    i64,
                    i32,
                    String,
                    bool,
                    i64,
                    i32,
                    (i64, i64, i64, i64, i64, i64),
                ),
            )>(conn)?
            .into_iter()
            .map(|(org, (u, y, c, k, credit, m, d))| {
                (org, (u, y, c, k, credit, m, [d.0, d.1, d.2, d.3, d.4, d.5]))
            })
            .collect();
        let mut by_org_year: BTreeMap<(i64, i32), Vec<&YearRow>> = BTreeMap::new();
        for (org, row) in &years {
            if let Some(org) = org {
                by_org_year.entry((*org, row.1)).or_default().push(row);
            }
        }
        for ((org, year), mut members) in by_org_year {
            members.sort_by_key(|m| m.0);
            rows.push((org, YEARS, year, encode_years(&members)));
            for month in 1..=12 {
                if let Some(days) = encode_days(&members, month) {
                    rows.push((org, DAYS + month as i32, year, days));
                }
            }
        }

        // Occurrences, by UTC year of the start.
        type Counts = (i32, i32, i32, i32, i32, i32, i32);
        let occs: Vec<(i64, i64, NaiveDateTime, String, Counts)> = so::table
            .filter(so::org_id.eq_any(chunk))
            .select((
                so::org_id,
                so::occurrence_id,
                so::starts_at,
                so::kind,
                (
                    so::invited,
                    so::present,
                    so::late,
                    so::proxy,
                    so::made_up,
                    so::absent,
                    so::leave,
                ),
            ))
            .load(conn)?;
        let occs: Vec<(i64, i64, OccurrenceRow)> = occs
            .into_iter()
            .map(|(org, id, at, kind, c)| {
                (org, id, (at, kind, [c.0, c.1, c.2, c.3, c.4, c.5, c.6]))
            })
            .collect();
        let mut by_org_year: BTreeMap<(i64, i32), Vec<(i64, &OccurrenceRow)>> = BTreeMap::new();
        for (org, id, row) in &occs {
            by_org_year
                .entry((*org, row.0.year()))
                .or_default()
                .push((*id, row));
        }
        for ((org, year), mut items) in by_org_year {
            items.sort_by_key(|(id, row)| (row.0, *id));
            let items: Vec<&OccurrenceRow> = items.into_iter().map(|(_, row)| row).collect();
            rows.push((org, OCCURRENCES, year, encode_occurrences(&items)));
        }

        let inserts: Vec<_> = rows
            .iter()
            .filter_map(|(org, part, year, data)| {
                Some((
                    sd::org_id.eq(*org),
                    sd::part.eq(*part),
                    sd::year.eq(*year),
                    sd::org_path.eq(paths.get(org)?.as_str()),
                    sd::data.eq(data.as_slice()),
                ))
            })
            .collect();
        for part in inserts.chunks(100) {
            crate::with_backend!(&mut *conn, |c| diesel::insert_into(sd::table)
                .values(part)
                .execute(c))?;
        }
    }
    Ok(())
}

/// The stored digests of `parts` and `years` of the orgs in the subtree at `path`: org,
/// part, bytes.
fn load_range(
    conn: &mut DbConnection,
    path: &str,
    parts: &[i32],
    years: std::ops::RangeInclusive<i32>,
) -> ApiResult<Vec<(i64, i32, Vec<u8>)>> {
    let (lo, hi) = subtree_range(path);
    Ok(sd::table
        .filter(sd::part.eq_any(parts))
        .filter(sd::year.ge(*years.start()))
        .filter(sd::year.le(*years.end()))
        .filter(sd::org_path.ge(lo))
        .filter(sd::org_path.lt(hi))
        .select((sd::org_id, sd::part, sd::data))
        .load(conn)?)
}

/// The rosters of the orgs in the subtree at `path`.
pub fn rosters(conn: &mut DbConnection, path: &str) -> ApiResult<Vec<Roster>> {
    load_range(conn, path, &[ROSTER], 0..=0)?
        .into_iter()
        .map(|(org, _, data)| decode_roster(org, &data).map_err(|e| decode_failed(org, e)))
        .collect()
}

/// The year digests of the period's year of the orgs in the subtree at `path`, each entry
/// marked active or not in the period (whole months from the year digest, months the period
/// covers in part from their day digests, read in the same statement).
pub fn years(conn: &mut DbConnection, path: &str, period: &Period) -> ApiResult<Vec<Years>> {
    let months = PeriodMonths::new(period);
    let year = period.year();
    let rows = load_range(conn, path, &months.parts(), year..=year)?;
    Ok(decode_for_period(rows, &months)?.1)
}

/// Decodes roster, year and day digests of one year, and marks the year entries active or
/// not in the period.
fn decode_for_period(
    rows: Vec<(i64, i32, Vec<u8>)>,
    months: &PeriodMonths,
) -> ApiResult<(Vec<Roster>, Vec<Years>)> {
    let mut rosters = Vec::new();
    let mut years = Vec::new();
    let mut partial: Vec<PartialDays> = months
        .partial
        .iter()
        .map(|(_, bits)| (*bits, HashMap::new()))
        .collect();
    for (org, part, data) in rows {
        let failed = |e| decode_failed(org, e);
        if part == ROSTER {
            rosters.push(decode_roster(org, &data).map_err(failed)?);
        } else if part == YEARS {
            years.push(decode_years(org, &data).map_err(failed)?);
        } else if let Some(i) = months
            .partial
            .iter()
            .position(|(m, _)| DAYS + *m as i32 == part)
        {
            partial[i]
                .1
                .insert(org, decode_days(&data).map_err(failed)?);
        }
    }
    mark_active(&mut years, months, &partial);
    Ok((rosters, years))
}

/// Sets `active` on every entry: a whole month of the period, or a day of a partial month.
fn mark_active(years: &mut [Years], months: &PeriodMonths, partial: &[PartialDays]) {
    for y in years {
        let days: Vec<(u32, &[(i64, u32)])> = partial
            .iter()
            .filter_map(|(bits, by_org)| Some((*bits, by_org.get(&y.org_id)?.as_slice())))
            .collect();
        for e in &mut y.members {
            e.active = e.active_months & months.whole != 0
                || days.iter().any(|(bits, list)| {
                    list.binary_search_by_key(&e.user_id, |d| d.0)
                        .is_ok_and(|i| list[i].1 & bits != 0)
                });
        }
    }
}

/// The occurrence digests of the UTC years `from..=to` of the orgs in the subtree at `path`.
pub fn occurrences(
    conn: &mut DbConnection,
    path: &str,
    utc_years: std::ops::RangeInclusive<i32>,
) -> ApiResult<Vec<Occurrences>> {
    load_range(conn, path, &[OCCURRENCES], utc_years)?
        .into_iter()
        .map(|(org, _, data)| decode_occurrences(org, &data).map_err(|e| decode_failed(org, e)))
        .collect()
}

/// The roster and year digests of `org_ids` (the home orgs of one page of the member table),
/// the year entries marked active or not in the period as [`years`] does.
pub fn of_orgs(
    conn: &mut DbConnection,
    org_ids: &[i64],
    period: &Period,
) -> ApiResult<(Vec<Roster>, Vec<Years>)> {
    let months = PeriodMonths::new(period);
    let mut rows = Vec::new();
    for chunk in org_ids.chunks(CHUNK) {
        rows.extend(
            sd::table
                .filter(sd::org_id.eq_any(chunk))
                .filter(
                    sd::part.eq(ROSTER).and(sd::year.eq(0)).or(sd::part
                        .eq_any(months.parts())
                        .and(sd::year.eq(period.year()))),
                )
                .select((sd::org_id, sd::part, sd::data))
                .load::<(i64, i32, Vec<u8>)>(conn)?,
        );
    }
    decode_for_period(rows, &months)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_micro_opt(1, 2, 3, 456)
            .unwrap()
    }

    #[test]
    fn digests_decode_to_what_was_encoded() {
        let roster: Vec<RosterRow> = vec![
            (7, "full".into(), true, 2, None),
            (9, "activist".into(), false, 0, None),
            (1_000_000, "full".into(), false, 1, Some(at(4))),
        ];
        let r = decode_roster(3, &encode_roster(&roster)).unwrap();
        assert_eq!(r.categories, vec!["full", "activist"]);
        assert_eq!(r.members.len(), 3);
        assert_eq!(r.members[2].user_id, 1_000_000);
        assert_eq!(r.members[2].category, 0);
        assert_eq!(r.members[1].category, 1);
        // To the second.
        assert_eq!(
            r.members[2].last_org_life_s,
            Some(at(4).and_utc().timestamp())
        );
        assert!(r.members[0].is_cadre);

        // November (bits 0-30 of the sixth column) and December (bits 31-61).
        let days = [0, 0, 0, 0, 0, (0b101_i64) | (1_i64 << 31 << 30)];
        let y: YearRow = (
            5,
            2026,
            "probationary".into(),
            false,
            -150,
            (1 << 10) | (1 << 11),
            days,
        );
        let years = decode_years(3, &encode_years(&[&y])).unwrap();
        let e = &years.members[0];
        assert_eq!((e.user_id, e.credit_centi), (5, -150));
        assert_eq!(e.active_months, 0b1100_0000_0000);
        let nov = decode_days(&encode_days(&[&y], 11).unwrap()).unwrap();
        assert_eq!(nov, vec![(5, 0b101)]);
        let dec = decode_days(&encode_days(&[&y], 12).unwrap()).unwrap();
        assert_eq!(dec, vec![(5, 1 << 30)]);
        assert_eq!(encode_days(&[&y], 10), None);

        let o: OccurrenceRow = (at(9), "theme_day".into(), [30, 20, 2, 1, 1, 5, 1]);
        let occ = decode_occurrences(3, &encode_occurrences(&[&o, &o])).unwrap();
        assert_eq!(occ.items.len(), 2);
        assert_eq!(occ.kinds, vec!["theme_day"]);
        assert_eq!(occ.items[1].counts, [30, 20, 2, 1, 1, 5, 1]);
        assert_eq!(
            occ.items[1].starts_at_us,
            at(9).and_utc().timestamp_micros()
        );
    }

    #[test]
    fn a_damaged_digest_is_an_error() {
        let roster: Vec<RosterRow> = vec![(7, "full".into(), true, 2, Some(at(3)))];
        let bytes = encode_roster(&roster);
        for cut in 0..bytes.len() {
            assert!(decode_roster(1, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = bytes.clone();
        other[0] = 2;
        assert!(decode_roster(1, &other).is_err());
    }

    #[test]
    fn activity_in_a_period_uses_whole_months_and_the_days_of_partial_ones() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let period = Period {
            label: "x".into(),
            from: d(10, 1),
            to: d(11, 17),
        };
        let months = PeriodMonths::new(&period);
        let entry = |user_id, active_months| YearEntry {
            user_id,
            category: 0,
            is_cadre: false,
            credit_centi: 0,
            active_months,
            active: false,
        };
        let mut years = vec![Years {
            org_id: 3,
            categories: vec!["full".into()],
            // 1: only on 18 November (after the period); 2: on 17 November; 3: in October.
            members: vec![entry(1, 1 << 10), entry(2, 1 << 10), entry(3, 1 << 9)],
        }];
        let nov: HashMap<i64, Vec<(i64, u32)>> = [(3, vec![(1, 1 << 17), (2, 1 << 16)])]
            .into_iter()
            .collect();
        assert_eq!(months.partial, vec![(11, (1 << 17) - 1)]);
        mark_active(&mut years, &months, &[(months.partial[0].1, nov)]);
        let active: Vec<bool> = years[0].members.iter().map(|e| e.active).collect();
        assert_eq!(active, vec![false, true, true]);
    }
}
