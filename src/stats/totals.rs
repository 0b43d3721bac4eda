//! Org totals: per org, the statistics inputs of its whole subtree summed into groups of
//! members that the summary treats alike (category, cadre flag, effective quota), so the
//! summary of an org reads its own row and its direct children's instead of decoding every
//! digest below it (a province: ~30,000 digests and ~3M member entries).
//!
//! What a summary needs that depends on the day it is read or on the period is kept as
//! histograms, summed exactly: last organizational life by day in the zone (any six-month
//! cut-off), per year each group's credit values (met and on track for the group's quota on
//! any day), active-month patterns (active in any whole months) and, per month, the members
//! active in it by their last active month before it and their first active day in it
//! (active in a period that ends inside the month); attendance per kind by day in the zone.
//! So the totals answer every period that starts on a month's first day — a month, a
//! quarter, a year, year to date, `from`/`to` on month bounds — with the same figures as
//! the digests; other periods, and orgs whose row is missing or bucketed in another zone,
//! are summarized from the digests ([`super::summary`]).
//!
//! An org's own part is built from its digests by the same rules the digest path applies
//! per org (a year group counts only where the org has roster members of that group, and
//! members without a year row are counted per org), then the totals of its children are
//! added. The statistics consumer ([`super::apply`]) rebuilds, in the transaction that
//! rebuilt the digests, the totals of the orgs touched and of their ancestors, and the whole
//! subtree of an org whose settings, assignments or place changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::context::Subtree;
use super::digest::{self, DAYS, OCCURRENCES, ROSTER, YEARS};
use super::period::start_of;
use crate::db::DbConnection;
use crate::db::schema::{orgs, stats_digests as sd, stats_org_totals as sot};
use crate::error::ApiResult;
use crate::orgs::model::{Org, path_ids};

/// Orgs per round of statements.
const CHUNK: usize = 500;

/// A group of members: category, cadre flag, effective yearly quota (hundredths).
pub type Key = (String, bool, i64);

/// One group's year.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct YearPart {
    /// Members with a year row, counted per org up to the org's members of the group (the
    /// rest earned nothing).
    pub covered: i64,
    /// Credit earned (hundredths).
    pub credit: i64,
    /// Members by credit value.
    #[serde(with = "pairs")]
    pub credits: BTreeMap<i64, i64>,
    /// Members by active-month pattern (bit m-1 for month m).
    #[serde(with = "pairs")]
    pub months: BTreeMap<u16, i64>,
}

impl YearPart {
    fn add(&mut self, o: &YearPart) {
        self.covered += o.covered;
        self.credit += o.credit;
        add_map(&mut self.credits, &o.credits);
        add_map(&mut self.months, &o.months);
    }
}

/// The summed statistics inputs of an org's subtree (or of its own members).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Members per group.
    #[serde(with = "pairs")]
    pub groups: BTreeMap<Key, i64>,
    pub required_done: i64,
    /// Members × the required courses of their home org.
    pub required_total: i64,
    /// Members without any organizational life.
    pub no_org_life: i64,
    /// Members by the day (days from the common era, in the zone) of their last
    /// organizational life.
    #[serde(with = "pairs")]
    pub org_life: BTreeMap<i32, i64>,
    /// Per year and group.
    #[serde(with = "pairs")]
    pub years: BTreeMap<(i32, Key), YearPart>,
    /// Per kind and day of the start in the zone (days from the common era): occurrences,
    /// then invited, present, late, proxy, made up, absent, leave.
    #[serde(with = "pairs")]
    pub attendance: BTreeMap<(String, i32), [i64; 8]>,
    /// Members active in a month, for periods that end inside it: per year, group and month
    /// m, by the last month before m they were active in (0: none) and their first active
    /// day of m.
    #[serde(with = "pairs")]
    pub month_starts: BTreeMap<(i32, Key, u32, u32, u32), i64>,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        add_map(&mut self.groups, &o.groups);
        self.required_done += o.required_done;
        self.required_total += o.required_total;
        self.no_org_life += o.no_org_life;
        add_map(&mut self.org_life, &o.org_life);
        for (k, y) in &o.years {
            self.years.entry(k.clone()).or_default().add(y);
        }
        add_map(&mut self.month_starts, &o.month_starts);
        for (k, c) in &o.attendance {
            let e = self.attendance.entry(k.clone()).or_insert([0; 8]);
            for (a, b) in e.iter_mut().zip(c) {
                *a += b;
            }
        }
    }

    pub fn encode(&self) -> ApiResult<Vec<u8>> {
        serde_json::to_vec(self).map_err(crate::error::ApiError::internal)
    }

    pub fn decode(bytes: &[u8]) -> Option<Totals> {
        serde_json::from_slice(bytes).ok()
    }
}

fn add_map<K: Ord + Clone>(a: &mut BTreeMap<K, i64>, b: &BTreeMap<K, i64>) {
    for (k, v) in b {
        *a.entry(k.clone()).or_default() += v;
    }
}

/// Maps written as lists of pairs (JSON objects take only string keys).
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S, K, V>(m: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        K: Serialize,
        V: Serialize,
    {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// The day of `t` in `tz` as [`start_of`] bounds days: `start_of(d) <= t < start_of(d + 1)`,
/// so `t < start_of(c)` exactly when the day is before `c`.
pub fn day_of(t: NaiveDateTime, tz: Tz) -> NaiveDate {
    let mut d = t.and_utc().with_timezone(&tz).date_naive();
    for _ in 0..3 {
        if start_of(d, tz) > t {
            d = d.pred_opt().unwrap_or(d);
        } else if d.succ_opt().is_some_and(|n| start_of(n, tz) <= t) {
            d = d.succ_opt().unwrap_or(d);
        } else {
            break;
        }
    }
    d
}

/// A day digest: year, month, each active member's days of the month.
type MonthDays = (i32, u32, Vec<(i64, u32)>);

/// What one org's own digests hold: the roster, the year digests by year, the occurrence
/// digests.
#[derive(Default)]
struct OwnDigests {
    roster: Option<digest::Roster>,
    years: Vec<(i32, digest::Years)>,
    days: Vec<MonthDays>,
    occurrences: Vec<digest::Occurrences>,
}

/// The totals of `org`'s own members and occurrences, by the rules the digest path applies
/// per org; `None` when a digest does not decode.
fn own_of(tree: &Subtree, org: &Org, tz: Tz, d: &OwnDigests) -> Option<Totals> {
    let mut t = Totals::default();
    // Per (category, cadre): members.
    let mut roster: BTreeMap<(String, bool), i64> = BTreeMap::new();
    if let Some(r) = &d.roster {
        for m in &r.members {
            let category = r.categories.get(usize::from(m.category))?;
            *roster.entry((category.clone(), m.is_cadre)).or_default() += 1;
            t.required_done += m.required_done;
            match m.last_org_life_s {
                None => t.no_org_life += 1,
                Some(s) => {
                    let at = DateTime::from_timestamp(s, 0)?.naive_utc();
                    *t.org_life
                        .entry(day_of(at, tz).num_days_from_ce())
                        .or_default() += 1;
                }
            }
        }
    }
    let required = tree.required.get(&org.id).map_or(0, |r| r.len() as i64);
    let key = |(category, is_cadre): &(String, bool)| {
        (
            category.clone(),
            *is_cadre,
            tree.quota_of(org.id, category, *is_cadre),
        )
    };
    for (g, members) in &roster {
        *t.groups.entry(key(g)).or_default() += members;
        t.required_total += members * required;
    }
    for (year, y) in &d.years {
        let mut parts: BTreeMap<(String, bool), (i64, YearPart)> = BTreeMap::new();
        for m in &y.members {
            let category = y.categories.get(usize::from(m.category))?;
            let (n, p) = parts.entry((category.clone(), m.is_cadre)).or_default();
            *n += 1;
            p.credit += m.credit_centi;
            *p.credits.entry(m.credit_centi).or_default() += 1;
            *p.months.entry(m.active_months).or_default() += 1;
        }
        for (g, (n, mut p)) in parts {
            // A year group without roster members of its group is not counted.
            let Some(members) = roster.get(&g) else {
                continue;
            };
            p.covered = n.min(*members);
            t.years.entry((*year, key(&g))).or_default().add(&p);
        }
    }
    for (year, month, list) in &d.days {
        let Some((_, y)) = d.years.iter().find(|(yr, _)| yr == year) else {
            continue;
        };
        let before = (1_u16 << (month - 1)) - 1;
        for (user_id, days) in list {
            let Ok(i) = y.members.binary_search_by_key(user_id, |m| m.user_id) else {
                continue;
            };
            let m = &y.members[i];
            let g = (
                y.categories.get(usize::from(m.category))?.clone(),
                m.is_cadre,
            );
            if *days == 0 || !roster.contains_key(&g) {
                continue;
            }
            let last_before = 16 - (m.active_months & before).leading_zeros();
            let first_day = days.trailing_zeros() + 1;
            *t.month_starts
                .entry((*year, key(&g), *month, last_before, first_day))
                .or_default() += 1;
        }
    }
    for o in &d.occurrences {
        for item in &o.items {
            let kind = o.kinds.get(usize::from(item.kind))?;
            let at = DateTime::from_timestamp_micros(item.starts_at_us)?.naive_utc();
            let day = day_of(at, tz);
            let e = t
                .attendance
                .entry((kind.clone(), day.num_days_from_ce()))
                .or_insert([0; 8]);
            e[0] += 1;
            for (a, b) in e[1..].iter_mut().zip(item.counts) {
                *a += b;
            }
        }
    }
    Some(t)
}

/// The own totals of `list` (orgs of `tree`), each with the zone they were bucketed in
/// (`""` when a digest of the org does not decode: the row is then never read).
fn build_own(
    conn: &mut DbConnection,
    tree: &Subtree,
    list: &[&Org],
) -> ApiResult<HashMap<i64, (String, Totals)>> {
    let mut out = HashMap::new();
    for chunk in list.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|o| o.id).collect();
        let rows: Vec<(i64, i32, i32, Vec<u8>)> = sd::table
            .filter(sd::org_id.eq_any(&ids))
            .filter(
                sd::part
                    .eq_any([ROSTER, YEARS, OCCURRENCES])
                    .or(sd::part.gt(DAYS).and(sd::part.le(DAYS + 12))),
            )
            .select((sd::org_id, sd::part, sd::year, sd::data))
            .load(conn)?;
        let mut digests: HashMap<i64, Option<OwnDigests>> = HashMap::new();
        for (org, part, year, data) in rows {
            let Some(d) = digests
                .entry(org)
                .or_insert_with(|| Some(OwnDigests::default()))
            else {
                continue;
            };
            let ok = match part {
                ROSTER => digest::decode_roster(org, &data).map(|r| d.roster = Some(r)),
                YEARS => digest::decode_years(org, &data).map(|y| d.years.push((year, y))),
                OCCURRENCES => {
                    digest::decode_occurrences(org, &data).map(|o| d.occurrences.push(o))
                }
                _ => digest::decode_days(&data)
                    .map(|list| d.days.push((year, (part - DAYS) as u32, list))),
            };
            if ok.is_err() {
                digests.insert(org, None);
            }
        }
        for org in chunk {
            let tz = tree.zone_of(org);
            let own = match digests.remove(&org.id) {
                None => Some(Totals::default()),
                Some(None) => None,
                Some(Some(d)) => own_of(tree, org, tz, &d),
            };
            let entry = match own {
                Some(t) => (tz.name().to_string(), t),
                None => (String::new(), Totals::default()),
            };
            out.insert(org.id, entry);
        }
    }
    Ok(out)
}

/// An org's totals: its own plus its children's, in one zone (`""` when they differ).
fn merge(own: (String, Totals), children: &[(String, Totals)]) -> (String, Totals) {
    let (mut zone, mut total) = own;
    for (z, t) in children {
        if *z != zone {
            zone = String::new();
        }
        total.add(t);
    }
    (zone, total)
}

/// Replaces the rows of `rows` (org, path, zone, totals).
fn write(conn: &mut DbConnection, rows: &[(i64, String, String, Totals)]) -> ApiResult<()> {
    for chunk in rows.chunks(100) {
        let ids: Vec<i64> = chunk.iter().map(|r| r.0).collect();
        diesel::delete(sot::table.filter(sot::org_id.eq_any(&ids))).execute(conn)?;
        let mut values = Vec::with_capacity(chunk.len());
        for (id, path, zone, t) in chunk {
            values.push((
                sot::org_id.eq(*id),
                sot::org_path.eq(path.clone()),
                sot::zone.eq(zone.clone()),
                sot::data.eq(t.encode()?),
            ));
        }
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(sot::table)
            .values(&values)
            .execute(c))?;
    }
    Ok(())
}

/// Builds and stores the totals of every org in the subtree of `root` from their digests.
/// Returns the ids of the orgs built.
pub fn build_subtree(conn: &mut DbConnection, root: Org) -> ApiResult<Vec<i64>> {
    let tree = Subtree::load(conn, root, NaiveDateTime::default())?;
    let list: Vec<&Org> = tree.orgs.iter().collect();
    let mut own = build_own(conn, &tree, &list)?;
    let mut deepest: Vec<&Org> = list.clone();
    deepest.sort_by_key(|o| std::cmp::Reverse(o.depth));
    let mut children: HashMap<i64, Vec<(String, Totals)>> = HashMap::new();
    let mut rows = Vec::with_capacity(list.len());
    for org in deepest {
        let mine = own.remove(&org.id).unwrap_or_default();
        let below = children.remove(&org.id).unwrap_or_default();
        let (zone, total) = merge(mine, &below);
        if let Some(parent) = org.parent_id.filter(|_| org.id != tree.root.id) {
            children
                .entry(parent)
                .or_default()
                .push((zone.clone(), total.clone()));
        }
        rows.push((org.id, org.path.clone(), zone, total));
    }
    write(conn, &rows)?;
    Ok(rows.iter().map(|r| r.0).collect())
}

/// Every org's totals from scratch (after the digests were rebuilt). Returns the orgs
/// built.
pub fn rebuild(conn: &mut DbConnection) -> ApiResult<usize> {
    diesel::delete(sot::table).execute(conn)?;
    let roots: Vec<Org> = orgs::table
        .filter(orgs::parent_id.is_null())
        .select(Org::as_select())
        .load(conn)?;
    let mut built = 0;
    for root in roots {
        built += build_subtree(conn, root)?.len();
    }
    Ok(built)
}

/// [`rebuild`] under the statistics lock (`dangke stats totals`), from the digests as they
/// stand (changes still pending update both when applied).
pub fn rebuild_locked(conn: &mut DbConnection) -> ApiResult<usize> {
    crate::changes::lock(conn, crate::changes::Consumer::Stats)?;
    rebuild(conn)
}

/// After the digests of `touched` were rebuilt: rebuilds the totals of every org in
/// `subtrees` (settings, assignments or a move changed every group below), then merges the
/// totals of each touched org, of each org on `paths` and of all their ancestors, deepest
/// first. A child without a row (never built) gets its subtree built on the way.
pub fn update(
    conn: &mut DbConnection,
    touched: &BTreeSet<i64>,
    paths: &BTreeSet<String>,
    subtrees: &BTreeSet<String>,
) -> ApiResult<()> {
    let mut done: BTreeSet<i64> = BTreeSet::new();
    let mut merge_ids: BTreeSet<i64> = BTreeSet::new();
    for path in subtrees {
        if subtrees
            .iter()
            .any(|p| p != path && path.starts_with(p.as_str()))
        {
            continue;
        }
        let ids = path_ids(path);
        let Some(root) = find(conn, ids.last().copied().unwrap_or_default())? else {
            continue;
        };
        done.extend(build_subtree(conn, root)?);
        merge_ids.extend(ids);
    }
    for path in paths {
        merge_ids.extend(path_ids(path));
    }
    let mut list: Vec<Org> = Vec::new();
    for chunk in touched.iter().copied().collect::<Vec<_>>().chunks(CHUNK) {
        list.extend(
            orgs::table
                .filter(orgs::id.eq_any(chunk))
                .select(Org::as_select())
                .load::<Org>(conn)?,
        );
    }
    for org in &list {
        merge_ids.extend(org.path_ids());
    }
    let ids: Vec<i64> = merge_ids.difference(&done).copied().collect();
    let mut to_merge: Vec<Org> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        to_merge.extend(
            orgs::table
                .filter(orgs::id.eq_any(chunk))
                .select(Org::as_select())
                .load::<Org>(conn)?,
        );
    }
    let Some(tree) = Subtree::load_orgs(conn, to_merge, NaiveDateTime::default())? else {
        return Ok(());
    };
    let mut by_depth: BTreeMap<std::cmp::Reverse<i32>, Vec<&Org>> = BTreeMap::new();
    for org in &tree.orgs {
        by_depth
            .entry(std::cmp::Reverse(org.depth))
            .or_default()
            .push(org);
    }
    for level in by_depth.values() {
        merge_level(conn, &tree, level)?;
    }
    Ok(())
}

/// Rebuilds the own totals of `level` (orgs of one depth) and adds their children's stored
/// ones (building a child's subtree that has none).
fn merge_level(conn: &mut DbConnection, tree: &Subtree, level: &[&Org]) -> ApiResult<()> {
    let mut own = build_own(conn, tree, level)?;
    let ids: Vec<i64> = level.iter().map(|o| o.id).collect();
    let mut kids: Vec<Org> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        kids.extend(
            orgs::table
                .filter(orgs::parent_id.eq_any(chunk))
                .select(Org::as_select())
                .load::<Org>(conn)?,
        );
    }
    let kid_ids: Vec<i64> = kids.iter().map(|k| k.id).collect();
    let mut stored = load(conn, &kid_ids)?;
    let mut below: HashMap<i64, Vec<(String, Totals)>> = HashMap::new();
    for kid in kids {
        let (id, parent) = (kid.id, kid.parent_id.unwrap_or_default());
        let found = match stored.remove(&id) {
            Some(found) => Some(found),
            None => {
                build_subtree(conn, kid)?;
                load(conn, &[id])?.remove(&id)
            }
        };
        // A row that does not decode makes its parent's row unreadable too.
        let found = match found {
            Some((zone, Some(t))) => (zone, t),
            _ => (String::new(), Totals::default()),
        };
        below.entry(parent).or_default().push(found);
    }
    let mut rows = Vec::with_capacity(level.len());
    for org in level {
        let mine = own.remove(&org.id).unwrap_or_default();
        let (zone, total) = merge(mine, &below.remove(&org.id).unwrap_or_default());
        rows.push((org.id, org.path.clone(), zone, total));
    }
    write(conn, &rows)
}

/// The stored rows of `ids`: zone and totals (`None` when they do not decode).
pub fn load(
    conn: &mut DbConnection,
    ids: &[i64],
) -> ApiResult<HashMap<i64, (String, Option<Totals>)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, Vec<u8>)> = sot::table
            .filter(sot::org_id.eq_any(chunk))
            .select((sot::org_id, sot::zone, sot::data))
            .load(conn)?;
        for (id, zone, data) in rows {
            out.insert(id, (zone, Totals::decode(&data)));
        }
    }
    Ok(out)
}

fn find(conn: &mut DbConnection, id: i64) -> ApiResult<Option<Org>> {
    Ok(orgs::table
        .find(id)
        .select(Org::as_select())
        .first(conn)
        .optional()?)
}
