//! What every statistics read needs about the org asked for: its subtree, the effective
//! quotas, required courses and frequencies of every org in it (resolved here in a few
//! queries, not one per org), its zone and today's date there; and a small builder for the
//! portable SQL the reads run.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use crate::activities::kind::{ActivityKind, Frequency};
use crate::db::DbConnection;
use crate::db::schema::{course_assignments, org_settings, orgs};
use crate::error::ApiResult;
use crate::orgs::model::{Org, subtree_range};
use crate::orgs::settings::{
    DEFAULT_COMMITTEE_MIN_MEMBERS, QUOTA_KEYS, created_on, default_quota_centi, key_adoption_date,
    key_committee_min_members, key_frequency, key_quota, key_time_zone,
};
use crate::progress::study::expected_by;

/// Quotas (member, cadre, activist) in hundredths of a credit hour.
pub type Quotas = [i64; 3];

/// The subtree of one org with its effective settings.
pub struct Subtree {
    pub root: Org,
    /// The root and every org below it, by path.
    pub orgs: Vec<Org>,
    pub tz: Tz,
    pub today: NaiveDate,
    pub quotas: HashMap<i64, Quotas>,
    /// Required courses that apply to each org (assigned to it or an ancestor).
    pub required: HashMap<i64, HashSet<i64>>,
    overrides: HashMap<i64, HashMap<String, String>>,
}

impl Subtree {
    pub fn load(conn: &mut DbConnection, root: Org, now: NaiveDateTime) -> ApiResult<Subtree> {
        let (lo, hi) = subtree_range(&root.path);
        let orgs_below: Vec<Org> = orgs::table
            .filter(orgs::path.ge(&lo))
            .filter(orgs::path.lt(&hi))
            .order(orgs::path.asc())
            .select(Org::as_select())
            .load(conn)?;
        let ancestors = root.path_ids();
        let mut settings: Vec<(i64, String, String)> = org_settings::table
            .inner_join(orgs::table)
            .filter(orgs::path.ge(&lo))
            .filter(orgs::path.lt(&hi))
            .select((org_settings::org_id, org_settings::key, org_settings::value))
            .load(conn)?;
        settings.extend(
            org_settings::table
                .filter(org_settings::org_id.eq_any(&ancestors))
                .filter(org_settings::org_id.ne(root.id))
                .select((org_settings::org_id, org_settings::key, org_settings::value))
                .load::<(i64, String, String)>(conn)?,
        );
        let mut assigned: Vec<(i64, i64)> = course_assignments::table
            .inner_join(orgs::table)
            .filter(orgs::path.ge(&lo))
            .filter(orgs::path.lt(&hi))
            .filter(course_assignments::required.eq(true))
            .filter(course_assignments::revoked_at.is_null())
            .select((course_assignments::org_id, course_assignments::course_id))
            .load(conn)?;
        assigned.extend(
            course_assignments::table
                .filter(course_assignments::org_id.eq_any(&ancestors))
                .filter(course_assignments::org_id.ne(root.id))
                .filter(course_assignments::required.eq(true))
                .filter(course_assignments::revoked_at.is_null())
                .select((course_assignments::org_id, course_assignments::course_id))
                .load::<(i64, i64)>(conn)?,
        );
        Ok(Self::resolved(root, orgs_below, settings, assigned, now))
    }

    /// Some orgs (not a subtree) with their effective settings: what building their own
    /// totals needs, without reading the subtrees below them. `root` is the first of them.
    pub fn load_orgs(
        conn: &mut DbConnection,
        list: Vec<Org>,
        now: NaiveDateTime,
    ) -> ApiResult<Option<Subtree>> {
        let Some(root) = list.first().cloned() else {
            return Ok(None);
        };
        let ids: Vec<i64> = list
            .iter()
            .flat_map(|o| o.path_ids())
            .collect::<HashSet<i64>>()
            .into_iter()
            .collect();
        let mut settings: Vec<(i64, String, String)> = Vec::new();
        let mut assigned: Vec<(i64, i64)> = Vec::new();
        for chunk in ids.chunks(500) {
            settings.extend(
                org_settings::table
                    .filter(org_settings::org_id.eq_any(chunk))
                    .select((org_settings::org_id, org_settings::key, org_settings::value))
                    .load::<(i64, String, String)>(conn)?,
            );
            assigned.extend(
                course_assignments::table
                    .filter(course_assignments::org_id.eq_any(chunk))
                    .filter(course_assignments::required.eq(true))
                    .filter(course_assignments::revoked_at.is_null())
                    .select((course_assignments::org_id, course_assignments::course_id))
                    .load::<(i64, i64)>(conn)?,
            );
        }
        Ok(Some(Self::resolved(root, list, settings, assigned, now)))
    }

    /// The subtree with every org's settings resolved from the overrides and required
    /// assignments on it and its ancestors.
    fn resolved(
        root: Org,
        orgs_below: Vec<Org>,
        settings: Vec<(i64, String, String)>,
        assigned: Vec<(i64, i64)>,
        now: NaiveDateTime,
    ) -> Subtree {
        let mut overrides: HashMap<i64, HashMap<String, String>> = HashMap::new();
        for (org, key, value) in settings {
            overrides.entry(org).or_default().insert(key, value);
        }
        let mut by_org: HashMap<i64, Vec<i64>> = HashMap::new();
        for (org, course) in assigned {
            by_org.entry(org).or_default().push(course);
        }
        let mut tree = Subtree {
            tz: chrono_tz::Asia::Shanghai,
            today: now.date(),
            quotas: HashMap::new(),
            required: HashMap::new(),
            overrides,
            orgs: orgs_below,
            root,
        };
        tree.tz = tree
            .resolve(&tree.root, &key_time_zone())
            .and_then(|s| s.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai);
        tree.today = now.and_utc().with_timezone(&tree.tz).date_naive();
        let mut quotas = HashMap::new();
        let mut required = HashMap::new();
        for org in &tree.orgs {
            let q = QUOTA_KEYS.map(|cat| {
                tree.resolve(org, &key_quota(cat))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| default_quota_centi(cat))
            });
            quotas.insert(org.id, q);
            let courses: HashSet<i64> = org
                .path_ids()
                .iter()
                .filter_map(|id| by_org.get(id))
                .flatten()
                .copied()
                .collect();
            required.insert(org.id, courses);
        }
        tree.quotas = quotas;
        tree.required = required;
        tree
    }

    /// The zone in effect at `org` (the default where none is set).
    pub fn zone_of(&self, org: &Org) -> Tz {
        self.resolve(org, &key_time_zone())
            .and_then(|s| s.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The nearest value of `key` set on `org` or an ancestor.
    fn resolve(&self, org: &Org, key: &str) -> Option<String> {
        org.path_ids()
            .iter()
            .rev()
            .find_map(|id| self.overrides.get(id).and_then(|m| m.get(key)).cloned())
    }

    /// The effective required frequency of `kind` at `org`.
    pub fn frequency(&self, org: &Org, kind: ActivityKind) -> Frequency {
        self.resolve(org, &key_frequency(kind))
            .and_then(|v| Frequency::parse(&v))
            .unwrap_or_else(|| kind.default_frequency())
    }

    /// The day `org` started using dangke: the adoption date set on it or an ancestor,
    /// else the day it was created in dangke (in its zone).
    pub fn adoption_date(&self, org: &Org) -> NaiveDate {
        self.resolve(org, &key_adoption_date())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| created_on(org, self.zone_of(org)))
    }

    /// How many full members a branch of `org` needs to have a committee.
    pub fn committee_min_members(&self, org: &Org) -> i64 {
        self.resolve(org, &key_committee_min_members())
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_COMMITTEE_MIN_MEMBERS)
    }

    /// The yearly quota of a member of `org_id` with this category and cadre flag.
    pub fn quota_of(&self, org_id: i64, category: &str, is_cadre: bool) -> i64 {
        let q = self.quotas.get(&org_id).copied().unwrap_or_default();
        match (category == "activist", is_cadre) {
            (true, _) => q[2],
            (false, true) => q[1],
            _ => q[0],
        }
    }

    /// The direct children of the root, by path.
    pub fn children(&self) -> Vec<&Org> {
        self.orgs
            .iter()
            .filter(|o| o.parent_id == Some(self.root.id))
            .collect()
    }

    /// The child of the root that `path` lies under (`None` for the root itself).
    pub fn child_of<'a>(&self, children: &[&'a Org], path: &str) -> Option<&'a Org> {
        children.iter().find(|c| path.starts_with(&c.path)).copied()
    }

    pub fn org(&self, id: i64) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    /// SQL: what an even pace would have earned by today in `year`.
    pub fn expected_sql(&self, t: &str, year: i32) -> String {
        let today = self.today;
        self.per_org_sql(t, |q| q.map(|v| expected_by(v, year, today)))
    }

    fn per_org_sql(&self, t: &str, f: impl Fn(&Quotas) -> Quotas) -> String {
        let mut sets: BTreeMap<Quotas, Vec<i64>> = BTreeMap::new();
        for (org, q) in &self.quotas {
            sets.entry(f(q)).or_default().push(*org);
        }
        let by_category = |q: &Quotas| {
            format!(
                "(CASE WHEN {t}.category = 'activist' THEN {} WHEN {t}.is_cadre THEN {} ELSE {} END)",
                q[2], q[1], q[0]
            )
        };
        let mut sets: Vec<(Quotas, Vec<i64>)> = sets.into_iter().collect();
        sets.sort_by_key(|(_, orgs)| std::cmp::Reverse(orgs.len()));
        let Some((common, _)) = sets.first() else {
            return "0".into();
        };
        if sets.len() == 1 {
            return by_category(common);
        }
        let mut sql = String::from("(CASE");
        for (q, orgs) in &sets[1..] {
            let ids: Vec<String> = orgs.iter().map(|i| i.to_string()).collect();
            sql.push_str(&format!(
                " WHEN {t}.org_id IN ({}) THEN {}",
                ids.join(","),
                by_category(q)
            ));
        }
        sql.push_str(&format!(" ELSE {} END)", by_category(common)));
        sql
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Int(i32),
    BigInt(i64),
    Ts(NaiveDateTime),
}

/// SQL text with `$n` placeholders numbered in the order they appear (SQLite numbers them
/// by first appearance), the same text on both backends.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    pub fn load<T>(&self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
    {
        use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
        crate::with_backend!(conn, |c| {
            let mut q = diesel::sql_query(self.text.clone()).into_boxed();
            for b in &self.binds {
                q = match b {
                    Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                    Bind::Int(i) => q.bind::<Integer, _>(*i),
                    Bind::BigInt(i) => q.bind::<BigInt, _>(*i),
                    Bind::Ts(t) => q.bind::<Timestamp, _>(*t),
                };
            }
            q.load::<T>(c)
        })
    }
}
