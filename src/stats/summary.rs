//! The figures of an org over its subtree for a period (DESIGN.md "Statistics terms"),
//! computed from the roll-ups joined to the current memberships — one grouped query for the
//! members and one for the occurrences — and summed per org, so the same rows give the
//! org's own figures and each child's.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::{Bind, Sql, Subtree};
use super::digest;
use super::period::{Period, six_months_before, start_of};
use super::rollup::{days_column, days_column_name};
use crate::db::{Db, DbConnection};
use crate::error::ApiResult;
use crate::orgs::model::{Org, subtree_range};
use crate::progress::study::expected_by;

/// Members by category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberCounts {
    pub total: i64,
    pub full: i64,
    pub probationary: i64,
    pub activist: i64,
    /// Members held to the cadre quota (any category but activist).
    pub cadres: i64,
}

/// Credit of the period's year against the yearly quota, as of today.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditFigures {
    pub year: i32,
    /// Earned in the year by the current members (hundredths of a credit hour).
    pub earned_centi: i64,
    /// The sum of their quotas.
    pub quota_centi: i64,
    /// Members whose credit reached their quota.
    pub met: i64,
    /// Not yet, but at least what an even pace would have earned by today.
    pub on_track: i64,
    /// Below the even pace.
    pub behind: i64,
}

/// Required courses (assigned as required to a member's home org or an ancestor).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequiredFigures {
    pub done: i64,
    /// Members × the required courses of their home org.
    pub total: i64,
    /// `done / total`, three decimals; `null` when nothing is required.
    pub rate: Option<f64>,
}

/// Attendance at occurrences of one kind that started in the period (not cancelled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KindAttendance {
    pub kind: String,
    pub occurrences: i64,
    pub invited: i64,
    pub present: i64,
    pub late: i64,
    pub proxy: i64,
    pub made_up: i64,
    pub absent: i64,
    /// Approved leave: neither attended nor absent.
    pub leave: i64,
    /// `(present + late + proxy) / (invited − leave)`, three decimals.
    pub rate: Option<f64>,
}

/// `GET /v1/orgs/{id}/stats`: an org's figures over its subtree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrgStats {
    pub org_id: i64,
    pub org_name: String,
    pub org_kind: String,
    pub period: Period,
    pub members: MemberCounts,
    /// Members with completed study or attendance (present, late, proxy, made up) in the period.
    pub active: i64,
    pub credit: CreditFigures,
    pub required_courses: RequiredFigures,
    pub attendance: Vec<KindAttendance>,
    /// Over every kind: `(present + late + proxy) / (invited − leave)`, three decimals, as
    /// each kind's `rate`; `null` when nobody was invited (what `sort=attendance_rate` of
    /// the children ranks by).
    #[serde(default)]
    pub attendance_rate: Option<f64>,
    /// Members without organizational life in the six months up to today.
    pub no_org_life_6m: i64,
}

impl KindAttendance {
    /// Who came: present, late or recorded by proxy.
    pub fn attended(&self) -> i64 {
        self.present + self.late + self.proxy
    }

    /// Who was expected: the invited less approved leave.
    pub fn expected(&self) -> i64 {
        self.invited - self.leave
    }
}

/// The attendance rate over every kind: attended over expected.
pub fn attendance_rate(kinds: &[KindAttendance]) -> Option<f64> {
    let (attended, expected) = kinds
        .iter()
        .fold((0, 0), |(n, d), k| (n + k.attended(), d + k.expected()));
    rate(attended, expected)
}

/// The roster of one group of members (keyed by org, category and cadre flag).
#[derive(Debug, Default)]
struct RosterGroup {
    members: i64,
    required_done: i64,
    no_org_life: i64,
}

/// The year rows of one group of members (members without a row earned nothing and were
/// not active).
#[derive(Debug, Default)]
struct YearGroup {
    members: i64,
    active: i64,
    credit: i64,
    met: i64,
    on_track: i64,
}

type GroupKey = (i64, String, bool);

/// One kind of occurrence at one org.
#[derive(Debug, Default)]
pub(super) struct OccurrenceGroup {
    pub org_id: i64,
    pub kind: String,
    pub occurrences: i64,
    pub invited: i64,
    pub present: i64,
    pub late: i64,
    pub proxy: i64,
    pub made_up: i64,
    pub absent: i64,
    pub leave: i64,
}

impl OccurrenceGroup {
    fn add(&mut self, o: &OccurrenceGroup) {
        self.occurrences += o.occurrences;
        self.invited += o.invited;
        self.present += o.present;
        self.late += o.late;
        self.proxy += o.proxy;
        self.made_up += o.made_up;
        self.absent += o.absent;
        self.leave += o.leave;
    }
}

/// A ratio with three decimals, `None` over zero.
pub fn rate(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| ((num as f64 / den as f64) * 1000.0).round() / 1000.0)
}

/// SQL: whether the member of year row `y` was active in the period (`false` without a
/// row).
pub fn active_sql(period: &Period) -> String {
    let mut parts = vec![format!(
        "(COALESCE(y.active_months, 0) & {}) <> 0",
        period.whole_months_mask()
    )];
    for (month, days) in period.partial_months() {
        let (_, bits) = days_column(month, i64::from(days));
        parts.push(format!(
            "(COALESCE(y.{}, 0) & {bits}) <> 0",
            days_column_name(month)
        ));
    }
    format!("({})", parts.join(" OR "))
}

/// SQL: `WHERE` on the path range of the subtree, for a table aliased `t` that carries
/// `org_path`.
pub fn in_subtree(sql: &mut Sql, t: &str, tree: &Subtree) {
    let (lo, hi) = subtree_range(&tree.root.path);
    sql.push(&format!(" WHERE {t}.org_path >= "))
        .bind(Bind::Text(lo))
        .push(&format!(" AND {t}.org_path < "))
        .bind(Bind::Text(hi));
}

/// The instant before which a member's last organizational life is too old.
pub fn org_life_cutoff(tree: &Subtree) -> NaiveDateTime {
    start_of(six_months_before(tree.today), tree.tz)
}

/// Members, required courses done and members without recent organizational life, per
/// group, from the roster digests of the subtree.
fn roster_groups(
    conn: &mut DbConnection,
    tree: &Subtree,
) -> ApiResult<HashMap<GroupKey, RosterGroup>> {
    let cutoff = org_life_cutoff(tree).and_utc().timestamp();
    let mut groups: HashMap<GroupKey, RosterGroup> = HashMap::new();
    for roster in digest::rosters(conn, &tree.root.path)? {
        // Per category and cadre flag, at `category * 2 + cadre`.
        let mut local: Vec<RosterGroup> = Vec::new();
        local.resize_with(roster.categories.len() * 2, RosterGroup::default);
        for m in &roster.members {
            let g = &mut local[usize::from(m.category) * 2 + usize::from(m.is_cadre)];
            g.members += 1;
            g.required_done += m.required_done;
            if m.last_org_life_s.is_none_or(|t| t < cutoff) {
                g.no_org_life += 1;
            }
        }
        for (i, l) in local.into_iter().enumerate() {
            if l.members == 0 {
                continue;
            }
            let key = (roster.org_id, roster.categories[i / 2].clone(), i % 2 == 1);
            // One roster digest per org: every key is new.
            groups.insert(key, l);
        }
    }
    Ok(groups)
}

/// Credit, pace and activity per group, from the year digests of the period's year, each
/// member compared with the group's quota and even pace.
fn year_groups(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
) -> ApiResult<HashMap<GroupKey, YearGroup>> {
    let year = period.year();
    let mut groups: HashMap<GroupKey, YearGroup> = HashMap::new();
    for digest in digest::years(conn, &tree.root.path, period)? {
        // Per category and cadre flag, at `category * 2 + cadre`: quota, even pace by
        // today, figures.
        let mut local: Vec<(i64, i64, YearGroup)> = (0..digest.categories.len() * 2)
            .map(|i| {
                let quota = tree.quota_of(digest.org_id, &digest.categories[i / 2], i % 2 == 1);
                (
                    quota,
                    expected_by(quota, year, tree.today),
                    YearGroup::default(),
                )
            })
            .collect();
        for m in &digest.members {
            let (quota, expected, g) =
                &mut local[usize::from(m.category) * 2 + usize::from(m.is_cadre)];
            g.members += 1;
            g.credit += m.credit_centi;
            if m.active {
                g.active += 1;
            }
            if m.credit_centi >= *quota {
                g.met += 1;
            } else if m.credit_centi >= *expected {
                g.on_track += 1;
            }
        }
        for (i, (_, _, l)) in local.into_iter().enumerate() {
            if l.members == 0 {
                continue;
            }
            let key = (digest.org_id, digest.categories[i / 2].clone(), i % 2 == 1);
            // One year digest per org and year: every key is new.
            groups.insert(key, l);
        }
    }
    Ok(groups)
}

/// Attendance per org and kind at the occurrences that started in the period, from the
/// occurrence digests of the UTC years the period touches.
fn occurrence_groups(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
) -> ApiResult<Vec<OccurrenceGroup>> {
    let (from, to) = period.utc_range(tree.tz);
    let last = to - chrono::Duration::microseconds(1);
    let (from_us, to_us) = (
        from.and_utc().timestamp_micros(),
        to.and_utc().timestamp_micros(),
    );
    let mut groups: HashMap<(i64, String), OccurrenceGroup> = HashMap::new();
    for digest in digest::occurrences(conn, &tree.root.path, from.year()..=last.year())? {
        let mut local: Vec<OccurrenceGroup> = Vec::new();
        local.resize_with(digest.kinds.len(), OccurrenceGroup::default);
        for o in &digest.items {
            if o.starts_at_us < from_us || o.starts_at_us >= to_us {
                continue;
            }
            let g = &mut local[usize::from(o.kind)];
            let c = &o.counts;
            g.occurrences += 1;
            g.invited += c[0];
            g.present += c[1];
            g.late += c[2];
            g.proxy += c[3];
            g.made_up += c[4];
            g.absent += c[5];
            g.leave += c[6];
        }
        for (kind, l) in local.into_iter().enumerate() {
            if l.occurrences == 0 {
                continue;
            }
            let g = groups
                .entry((digest.org_id, digest.kinds[kind].clone()))
                .or_insert_with_key(|(org_id, kind)| OccurrenceGroup {
                    org_id: *org_id,
                    kind: kind.clone(),
                    ..OccurrenceGroup::default()
                });
            g.add(&l);
        }
    }
    Ok(groups.into_values().collect())
}

/// One group of members as the figures count them: members, those without a year row,
/// and over those with one the active, the credit, the met and the on track.
#[derive(Debug, Default)]
pub(super) struct Counted {
    pub members: i64,
    pub without_row: i64,
    pub active: i64,
    pub credit: i64,
    pub met: i64,
    pub on_track: i64,
}

/// Sums groups into figures.
#[derive(Default)]
pub(super) struct Acc {
    members: MemberCounts,
    active: i64,
    credit: CreditFigures,
    pub required: RequiredFigures,
    pub no_org_life: i64,
    kinds: BTreeMap<String, KindAttendance>,
}

impl Acc {
    /// Adds one group: its roster and its year rows (`None` when none of its members has
    /// a row for the year).
    fn add_members(
        &mut self,
        (org_id, category, is_cadre): &GroupKey,
        g: &RosterGroup,
        y: Option<&YearGroup>,
        tree: &Subtree,
        year: i32,
    ) {
        let quota = tree.quota_of(*org_id, category, *is_cadre);
        let counted = Counted {
            members: g.members,
            // Members without a year row earned nothing.
            without_row: (g.members - y.map_or(0, |y| y.members)).max(0),
            active: y.map_or(0, |y| y.active),
            credit: y.map_or(0, |y| y.credit),
            met: y.map_or(0, |y| y.met),
            on_track: y.map_or(0, |y| y.on_track),
        };
        self.add_counted(category, *is_cadre, quota, &counted, tree, year);
        self.required.done += g.required_done;
        self.required.total += g.members * tree.required.get(org_id).map_or(0, |r| r.len() as i64);
        self.no_org_life += g.no_org_life;
    }

    /// Adds one group of members with the same category, cadre flag and quota.
    pub(super) fn add_counted(
        &mut self,
        category: &str,
        is_cadre: bool,
        quota: i64,
        c: &Counted,
        tree: &Subtree,
        year: i32,
    ) {
        let m = &mut self.members;
        m.total += c.members;
        match category {
            "full" => m.full += c.members,
            "probationary" => m.probationary += c.members,
            _ => m.activist += c.members,
        }
        if is_cadre && category != "activist" {
            m.cadres += c.members;
        }
        let (met0, on_track0) = if quota <= 0 {
            (c.without_row, 0)
        } else if expected_by(quota, year, tree.today) <= 0 {
            (0, c.without_row)
        } else {
            (0, 0)
        };
        let (met, on_track) = (c.met + met0, c.on_track + on_track0);
        self.active += c.active;
        self.credit.earned_centi += c.credit;
        self.credit.quota_centi += quota * c.members;
        self.credit.met += met;
        self.credit.on_track += on_track;
        self.credit.behind += c.members - met - on_track;
    }

    pub(super) fn add_occurrences(&mut self, g: &OccurrenceGroup) {
        let k = self
            .kinds
            .entry(g.kind.clone())
            .or_insert_with(|| KindAttendance {
                kind: g.kind.clone(),
                ..KindAttendance::default()
            });
        k.occurrences += g.occurrences;
        k.invited += g.invited;
        k.present += g.present;
        k.late += g.late;
        k.proxy += g.proxy;
        k.made_up += g.made_up;
        k.absent += g.absent;
        k.leave += g.leave;
    }

    pub(super) fn finish(mut self, org: &Org, period: &Period) -> OrgStats {
        self.credit.year = period.year();
        self.required.rate = rate(self.required.done, self.required.total);
        let attendance: Vec<KindAttendance> = self
            .kinds
            .into_values()
            .map(|mut k| {
                k.rate = rate(k.attended(), k.expected());
                k
            })
            .collect();
        let attendance_rate = attendance_rate(&attendance);
        OrgStats {
            org_id: org.id,
            org_name: org.name.clone(),
            org_kind: org.kind.clone(),
            period: period.clone(),
            members: self.members,
            active: self.active,
            credit: self.credit,
            required_courses: self.required,
            attendance,
            attendance_rate,
            no_org_life_6m: self.no_org_life,
        }
    }
}

/// What the three scans return.
struct Groups {
    years: HashMap<GroupKey, YearGroup>,
    roster: HashMap<GroupKey, RosterGroup>,
    occurrences: Vec<OccurrenceGroup>,
}

/// The root's figures and each direct child's. The three scans (year rows, roster,
/// occurrences) are independent and run at once on three reader connections. Callers
/// apply pending changes first ([`super::apply::catch_up`]); a digest that does not decode
/// is rebuilt and the scans run again.
pub async fn compute(
    db: &Db,
    tree: Arc<Subtree>,
    period: Period,
) -> ApiResult<(OrgStats, Vec<OrgStats>)> {
    let (t, p) = (tree.clone(), period.clone());
    if let Some(found) = db
        .read(move |c| super::totals_read::summarize(c, &t, &p))
        .await?
    {
        return Ok(found);
    }
    compute_from_digests(db, tree, period).await
}

/// [`compute`] from the digests of every org in the subtree, whatever the totals hold (the
/// path for periods the totals do not answer; tests compare the two).
pub async fn compute_from_digests(
    db: &Db,
    tree: Arc<Subtree>,
    period: Period,
) -> ApiResult<(OrgStats, Vec<OrgStats>)> {
    let path = tree.root.path.clone();
    digest::repairing(db, &path, || scan(db, tree.clone(), period.clone())).await
}

async fn scan(db: &Db, tree: Arc<Subtree>, period: Period) -> ApiResult<(OrgStats, Vec<OrgStats>)> {
    let (t, p) = (tree.clone(), period.clone());
    let years = db.read(move |c| timed(|| year_groups(c, &t, &p)));
    let t = tree.clone();
    let roster = db.read(move |c| timed(|| roster_groups(c, &t)));
    let (t, p) = (tree.clone(), period.clone());
    let occurrences = db.read(move |c| timed(|| occurrence_groups(c, &t, &p)));
    let ((years, years_ms), (roster, roster_ms), (occurrences, occurrences_ms)) =
        tokio::try_join!(years, roster, occurrences)?;
    tracing::debug!(
        org_id = tree.root.id,
        years_ms,
        roster_ms,
        occurrences_ms,
        "statistics scans"
    );
    Ok(combine(
        &tree,
        &period,
        Groups {
            years,
            roster,
            occurrences,
        },
    ))
}

/// `f`'s result and how long it took, in milliseconds (for the debug log).
fn timed<T>(f: impl FnOnce() -> ApiResult<T>) -> ApiResult<(T, f64)> {
    let start = Instant::now();
    Ok((f()?, start.elapsed().as_secs_f64() * 1000.0))
}

/// Sums the groups into the root's figures and each direct child's, in one pass.
fn combine(tree: &Subtree, period: &Period, groups: Groups) -> (OrgStats, Vec<OrgStats>) {
    let children = tree.children();
    let path_of: HashMap<i64, &str> = tree.orgs.iter().map(|o| (o.id, o.path.as_str())).collect();
    let mut root = Acc::default();
    let mut per_child: HashMap<i64, Acc> = HashMap::new();
    let child_id = |org_id: i64| {
        path_of
            .get(&org_id)
            .and_then(|p| tree.child_of(&children, p))
            .map(|c| c.id)
    };
    for (key, g) in &groups.roster {
        let y = groups.years.get(key);
        root.add_members(key, g, y, tree, period.year());
        if let Some(c) = child_id(key.0) {
            per_child
                .entry(c)
                .or_default()
                .add_members(key, g, y, tree, period.year());
        }
    }
    for g in groups.occurrences {
        root.add_occurrences(&g);
        if let Some(c) = child_id(g.org_id) {
            per_child.entry(c).or_default().add_occurrences(&g);
        }
    }
    let rows = children
        .iter()
        .map(|c| {
            per_child
                .remove(&c.id)
                .unwrap_or_default()
                .finish(c, period)
        })
        .collect();
    (root.finish(&tree.root, period), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(
        kind: &str,
        invited: i64,
        present: i64,
        late: i64,
        proxy: i64,
        leave: i64,
    ) -> KindAttendance {
        KindAttendance {
            kind: kind.into(),
            occurrences: 1,
            invited,
            present,
            late,
            proxy,
            made_up: 0,
            absent: invited - present - late - proxy - leave,
            leave,
            rate: None,
        }
    }

    #[test]
    fn the_attendance_rate_weighs_every_kind_by_who_was_expected() {
        // 6 of the 8 expected at the theme party day (2 on leave), 4 of 5 at the committee
        // meeting: 10 of 13, not the mean of 0.75 and 0.8.
        let kinds = [
            kind("theme_party_day", 10, 6, 0, 0, 2),
            kind("branch_committee", 5, 3, 0, 1, 0),
        ];
        assert_eq!(attendance_rate(&kinds), Some(0.769));
        assert_eq!(attendance_rate(&[]), None);
        assert_eq!(
            attendance_rate(&[kind("theme_party_day", 2, 0, 0, 0, 2)]),
            None
        );
    }
}
