//! The figures of an org over its subtree for a period (DESIGN.md "Statistics terms"),
//! computed from the roll-ups joined to the current memberships — one grouped query for the
//! members and one for the occurrences — and summed per org, so the same rows give the
//! org's own figures and each child's.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::{Bind, Sql, Subtree};
use super::period::{Period, six_months_before, start_of};
use crate::db::DbConnection;
use crate::error::ApiResult;
use crate::orgs::model::{Org, subtree_range};

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
    /// Members without organizational life in the six months up to today.
    pub no_org_life_6m: i64,
}

/// One group of members: an org, a category and the cadre flag.
#[derive(Debug, QueryableByName)]
struct MemberGroup {
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Bool)]
    is_cadre: bool,
    #[diesel(sql_type = BigInt)]
    members: i64,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    credit: i64,
    #[diesel(sql_type = BigInt)]
    met: i64,
    #[diesel(sql_type = BigInt)]
    on_track: i64,
    #[diesel(sql_type = BigInt)]
    required_done: i64,
    #[diesel(sql_type = BigInt)]
    no_org_life: i64,
}

/// One kind of occurrence at one org.
#[derive(Debug, QueryableByName)]
struct OccurrenceGroup {
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    occurrences: i64,
    #[diesel(sql_type = BigInt)]
    invited: i64,
    #[diesel(sql_type = BigInt)]
    present: i64,
    #[diesel(sql_type = BigInt)]
    late: i64,
    #[diesel(sql_type = BigInt)]
    proxy: i64,
    #[diesel(sql_type = BigInt)]
    made_up: i64,
    #[diesel(sql_type = BigInt)]
    absent: i64,
    #[diesel(sql_type = BigInt)]
    leave: i64,
}

/// A ratio with three decimals, `None` over zero.
pub fn rate(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| ((num as f64 / den as f64) * 1000.0).round() / 1000.0)
}

/// SQL: whether the member of row `m` (joined with `y` and `p0`, `p1`, …) was active in
/// the period.
pub fn active_sql(period: &Period) -> String {
    let mut parts = vec![format!(
        "(COALESCE(y.active_months, 0) & {}) <> 0",
        period.whole_months_mask()
    )];
    for (i, (_, days)) in period.partial_months().iter().enumerate() {
        parts.push(format!("(COALESCE(p{i}.active_days, 0) & {days}) <> 0"));
    }
    format!("({})", parts.join(" OR "))
}

/// SQL: the joins every member query shares: `m` current memberships under the root, `o`
/// their orgs, `u` the users (when `with_users`), `y` the period's year, `s` the member,
/// `p0…` partial months. Leaves the statement open after its `WHERE` conditions.
pub fn member_from(sql: &mut Sql, tree: &Subtree, period: &Period, with_users: bool) {
    let (lo, hi) = subtree_range(&tree.root.path);
    sql.push(" FROM memberships m JOIN orgs o ON o.id = m.org_id");
    if with_users {
        sql.push(" JOIN users u ON u.id = m.user_id");
    }
    sql.push(" LEFT JOIN stats_member_years y ON y.user_id = m.user_id AND y.year = ")
        .bind(Bind::Int(period.year()))
        .push(" LEFT JOIN stats_members s ON s.user_id = m.user_id");
    for (i, (month, _)) in period.partial_months().iter().enumerate() {
        sql.push(&format!(
            " LEFT JOIN stats_member_months p{i} ON p{i}.user_id = m.user_id AND p{i}.month = {month} AND p{i}.year = "
        ))
        .bind(Bind::Int(period.year()));
    }
    sql.push(" WHERE m.to_date IS NULL AND o.path >= ")
        .bind(Bind::Text(lo))
        .push(" AND o.path < ")
        .bind(Bind::Text(hi));
}

/// The instant before which a member's last organizational life is too old.
pub fn org_life_cutoff(tree: &Subtree) -> NaiveDateTime {
    start_of(six_months_before(tree.today), tree.tz)
}

fn member_groups(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
) -> ApiResult<Vec<MemberGroup>> {
    let credit = "COALESCE(y.credit_centi, 0)";
    let (quota, expected) = (tree.quota_sql(), tree.expected_sql(period.year()));
    let count = |cond: &str| {
        format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS BIGINT)")
    };
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT m.org_id AS org_id, m.category AS category, m.is_cadre AS is_cadre, \
         COUNT(*) AS members, {} AS active, \
         CAST(COALESCE(SUM({credit}), 0) AS BIGINT) AS credit, {} AS met, {} AS on_track, \
         CAST(COALESCE(SUM(COALESCE(s.required_done, 0)), 0) AS BIGINT) AS required_done, \
         CAST(COALESCE(SUM(CASE WHEN s.last_org_life_at IS NULL OR s.last_org_life_at < ",
        count(&active_sql(period)),
        count(&format!("{credit} >= {quota}")),
        count(&format!("{credit} < {quota} AND {credit} >= {expected}")),
    ))
    .bind(Bind::Ts(org_life_cutoff(tree)))
    .push(" THEN 1 ELSE 0 END), 0) AS BIGINT) AS no_org_life");
    member_from(&mut sql, tree, period, false);
    sql.push(" GROUP BY m.org_id, m.category, m.is_cadre");
    Ok(sql.load(conn)?)
}

fn occurrence_groups(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
) -> ApiResult<Vec<OccurrenceGroup>> {
    let (lo, hi) = subtree_range(&tree.root.path);
    let (from, to) = period.utc_range(tree.tz);
    let sum = |c: &str| format!("CAST(COALESCE(SUM(so.{c}), 0) AS BIGINT) AS {c}");
    let cols: Vec<String> = [
        "invited", "present", "late", "proxy", "made_up", "absent", "leave",
    ]
    .iter()
    .map(|c| sum(c))
    .collect();
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT so.org_id AS org_id, so.kind AS kind, COUNT(*) AS occurrences, {} \
         FROM stats_occurrences so JOIN orgs o ON o.id = so.org_id WHERE o.path >= ",
        cols.join(", ")
    ))
    .bind(Bind::Text(lo))
    .push(" AND o.path < ")
    .bind(Bind::Text(hi))
    .push(" AND so.starts_at >= ")
    .bind(Bind::Ts(from))
    .push(" AND so.starts_at < ")
    .bind(Bind::Ts(to))
    .push(" GROUP BY so.org_id, so.kind");
    Ok(sql.load(conn)?)
}

/// Sums groups into figures.
#[derive(Default)]
struct Acc {
    members: MemberCounts,
    active: i64,
    credit: CreditFigures,
    required: RequiredFigures,
    no_org_life: i64,
    kinds: BTreeMap<String, KindAttendance>,
}

impl Acc {
    fn add_members(&mut self, g: &MemberGroup, tree: &Subtree) {
        let m = &mut self.members;
        m.total += g.members;
        match g.category.as_str() {
            "full" => m.full += g.members,
            "probationary" => m.probationary += g.members,
            _ => m.activist += g.members,
        }
        let activist = g.category == "activist";
        if g.is_cadre && !activist {
            m.cadres += g.members;
        }
        self.active += g.active;
        let q = tree.quotas.get(&g.org_id).copied().unwrap_or_default();
        let quota = match (activist, g.is_cadre) {
            (true, _) => q[2],
            (false, true) => q[1],
            _ => q[0],
        };
        self.credit.earned_centi += g.credit;
        self.credit.quota_centi += quota * g.members;
        self.credit.met += g.met;
        self.credit.on_track += g.on_track;
        self.credit.behind += g.members - g.met - g.on_track;
        self.required.done += g.required_done;
        self.required.total +=
            g.members * tree.required.get(&g.org_id).map_or(0, |r| r.len() as i64);
        self.no_org_life += g.no_org_life;
    }

    fn add_occurrences(&mut self, g: &OccurrenceGroup) {
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

    fn finish(mut self, org: &Org, period: &Period) -> OrgStats {
        self.credit.year = period.year();
        self.required.rate = rate(self.required.done, self.required.total);
        let attendance = self
            .kinds
            .into_values()
            .map(|mut k| {
                k.rate = rate(k.present + k.late + k.proxy, k.invited - k.leave);
                k
            })
            .collect();
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
            no_org_life_6m: self.no_org_life,
        }
    }
}

/// The root's figures and each direct child's, from one pass over the groups.
pub fn compute(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
) -> ApiResult<(OrgStats, Vec<OrgStats>)> {
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
    for g in member_groups(conn, tree, period)? {
        root.add_members(&g, tree);
        if let Some(c) = child_id(g.org_id) {
            per_child.entry(c).or_default().add_members(&g, tree);
        }
    }
    for g in occurrence_groups(conn, tree, period)? {
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
    Ok((root.finish(&tree.root, period), rows))
}
