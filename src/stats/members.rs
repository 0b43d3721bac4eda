//! The member table of an org's subtree: each current member's credit against their quota,
//! required courses, attendance and last activity; filtered to those behind or inactive,
//! sorted, cursor-paginated (keyset on the sort value and the user id).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::context::{Bind, Sql, Subtree};
use super::digest::{self, Roster, YearEntry, Years};
use super::period::Period;
use super::summary::{active_sql, in_subtree, org_life_cutoff, rate};
use crate::db::schema::stats_member_months as smm;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text as Msg};
use crate::http::pagination::{Page, decode_cursor};
use crate::progress::study::expected_by;

/// Most rows per page of the member table.
pub const MAX_LIMIT: i64 = 1000;

/// Query of the member table.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// `2026-11`, `2026-Q4` or `2026` (default: this year).
    pub period: Option<String>,
    /// With `to`, instead of `period`: first day (in the org's zone).
    pub from: Option<chrono::NaiveDate>,
    /// Last day, in the same year as `from`.
    pub to: Option<chrono::NaiveDate>,
    /// `behind` (below the even pace), `inactive` (not active in the period) or `all` (default).
    pub filter: Option<String>,
    /// `credit` (default, lowest first), `-credit` or `name` (Chinese names by pinyin, then
    /// by character: 安 陈 李 王 张; see `src/collate.rs`).
    pub sort: Option<String>,
    /// Rows per page (1–1000, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The member table's export: its period, filter and order, every row (no pages).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersExportQuery {
    /// `2026-11`, `2026-Q4` or `2026` (default: this year).
    pub period: Option<String>,
    /// With `to`, instead of `period`: first day (in the org's zone).
    pub from: Option<chrono::NaiveDate>,
    /// Last day, in the same year as `from`.
    pub to: Option<chrono::NaiveDate>,
    /// `behind` (below the even pace), `inactive` (not active in the period) or `all` (default).
    pub filter: Option<String>,
    /// `credit` (default, lowest first), `-credit` or `name` (Chinese names by pinyin).
    pub sort: Option<String>,
}

impl From<MembersExportQuery> for MembersQuery {
    fn from(q: MembersExportQuery) -> MembersQuery {
        MembersQuery {
            period: q.period,
            from: q.from,
            to: q.to,
            filter: q.filter,
            sort: q.sort,
            limit: None,
            cursor: None,
        }
    }
}

/// Where a member stands against their quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    Met,
    OnTrack,
    Behind,
}

/// A member's attendance records at occurrences in the months of the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberAttendance {
    pub present: i64,
    pub late: i64,
    pub proxy: i64,
    pub made_up: i64,
    pub absent: i64,
    pub leave: i64,
    /// `(present + late + proxy) / (records − leave)`, three decimals.
    pub rate: Option<f64>,
}

/// One row of the member table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberStatsRow {
    pub user_id: i64,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    pub category: String,
    pub is_cadre: bool,
    pub status: String,
    /// Earned in the period's year (hundredths of a credit hour).
    pub credit_centi: i64,
    pub quota_centi: i64,
    /// What an even pace would have earned by today.
    pub expected_centi: i64,
    pub pace: Pace,
    pub required_done: i64,
    pub required_total: i64,
    pub attendance: MemberAttendance,
    /// Completed study or attended in the period.
    pub active: bool,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_org_life_at: Option<DateTime<Utc>>,
    /// No organizational life in the six months up to today.
    pub no_org_life_6m: bool,
}

/// Phase one sorted by name: the members in order.
#[derive(Debug, QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    /// [`crate::collate::sort_key`] of the name.
    #[diesel(sql_type = Text)]
    name_key: String,
}

/// The position after the last row: the sort value and the user id.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    u: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Credit,
    CreditDesc,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Behind,
    Inactive,
}

fn bad(field: &str, zh: &str, en: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
        field,
        "invalid_value",
        Msg::new(zh.to_string(), en.to_string()),
    ))
}

/// The checked options of a member-table query.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    sort: Sort,
    filter: Filter,
    limit: i64,
}

impl MembersQuery {
    pub fn options(&self) -> ApiResult<Options> {
        let sort = match self.sort.as_deref().unwrap_or("credit") {
            "credit" => Sort::Credit,
            "-credit" => Sort::CreditDesc,
            "name" => Sort::Name,
            _ => {
                return Err(bad(
                    "sort",
                    "排序应为 credit、-credit 或 name",
                    "sort must be credit, -credit or name",
                ));
            }
        };
        let filter = match self.filter.as_deref().unwrap_or("all") {
            "all" => Filter::All,
            "behind" => Filter::Behind,
            "inactive" => Filter::Inactive,
            _ => {
                return Err(bad(
                    "filter",
                    "筛选应为 behind、inactive 或 all",
                    "filter must be behind, inactive or all",
                ));
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(bad(
                "limit",
                "limit 应在 1 到 1000 之间",
                "limit must be between 1 and 1000",
            ));
        }
        Ok(Options {
            sort,
            filter,
            limit,
        })
    }
}

/// SQL: the member's credit in `year`, from the roster row (which carries the latest year
/// with data) — the year row is looked up only for members with data in a later year.
fn credit_sql(year: i32) -> String {
    format!(
        "(CASE WHEN s.latest_year = {year} THEN s.latest_credit_centi \
         WHEN s.latest_year > {year} THEN COALESCE((SELECT yc.credit_centi \
         FROM stats_member_years yc WHERE yc.user_id = s.user_id AND yc.year = {year}), 0) \
         ELSE 0 END)"
    )
}

/// One page of the member table (`all` for every row, as exports do). Sorted by credit, the
/// page comes from the org digests of the subtree (rosters and years read at once, then
/// filtered, sorted and cut here); sorted by name, from one scan of the roster joined to the
/// names, with the page's figures from the digests of their home orgs. Then the page's
/// attendance and names, at once. Callers apply pending changes first
/// ([`super::apply::catch_up`]); a digest that does not decode is rebuilt and the page read
/// again.
pub async fn page(
    db: &Db,
    tree: Arc<Subtree>,
    period: Period,
    opts: Options,
    cursor: Option<String>,
    all: bool,
) -> ApiResult<Page<MemberStatsRow>> {
    let cursor: Option<Cursor> = cursor.as_deref().map(decode_cursor).transpose()?;
    let path = tree.root.path.clone();
    digest::repairing(db, &path, || {
        read_page(db, tree.clone(), period.clone(), opts, cursor.clone(), all)
    })
    .await
}

async fn read_page(
    db: &Db,
    tree: Arc<Subtree>,
    period: Period,
    opts: Options,
    cursor: Option<Cursor>,
    all: bool,
) -> ApiResult<Page<MemberStatsRow>> {
    let started = Instant::now();
    let page = if opts.sort == Sort::Name {
        let (t, p) = (tree.clone(), period.clone());
        db.read(move |c| page_by_name(c, &t, &p, opts, cursor.as_ref(), all))
            .await?
    } else {
        let (t, p) = (tree.clone(), period.clone());
        let rosters = db.read(move |c| digest::rosters(c, &t.root.path));
        let (t, p2) = (tree.clone(), period.clone());
        let years = db.read(move |c| digest::years(c, &t.root.path, &p2));
        let (rosters, years) = tokio::try_join!(rosters, years)?;
        let t = tree.clone();
        tokio::task::spawn_blocking(move || {
            let figures = figures_of(&t, &p, &rosters, &years);
            let page = by_credit(&figures, opts, cursor.as_ref(), all)?;
            Ok::<_, ApiError>(Page {
                items: page.items.into_iter().cloned().collect::<Vec<_>>(),
                next_cursor: page.next_cursor,
            })
        })
        .await
        .map_err(ApiError::internal)??
    };
    let ordered = started.elapsed();
    let ids: Arc<Vec<i64>> = Arc::new(page.items.iter().map(|r| r.user_id).collect());
    let (i, p) = (ids.clone(), period.clone());
    let attendance = db.read(move |c| attendance_of(c, &i, &p));
    let i = ids.clone();
    let people = db.read(move |c| people_of(c, &i));
    let (attendance, people) = tokio::try_join!(attendance, people)?;
    tracing::debug!(
        org_id = tree.root.id,
        rows = ids.len(),
        order_ms = ordered.as_secs_f64() * 1000.0,
        rows_ms = (started.elapsed() - ordered).as_secs_f64() * 1000.0,
        "member table page"
    );
    let org_names: HashMap<i64, &str> = tree.orgs.iter().map(|o| (o.id, o.name.as_str())).collect();
    let cutoff = org_life_cutoff(&tree);
    let items = page
        .items
        .into_iter()
        .map(|r| {
            let who = people.get(&r.user_id).cloned().unwrap_or_default();
            MemberStatsRow {
                user_id: r.user_id,
                required_total: tree.required.get(&r.org_id).map_or(0, |s| s.len() as i64),
                attendance: attendance.get(&r.user_id).cloned().unwrap_or_default(),
                no_org_life_6m: who.last_org_life_at.is_none_or(|t| t < cutoff),
                name: who.name,
                org_id: r.org_id,
                org_name: org_names
                    .get(&r.org_id)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                category: r.category.to_string(),
                is_cadre: r.is_cadre,
                status: who.status,
                credit_centi: r.credit,
                quota_centi: r.quota,
                expected_centi: r.expected,
                pace: r.pace(),
                required_done: r.required_done,
                active: r.active,
                last_active_at: who.last_active_at.map(|t| t.and_utc()),
                last_org_life_at: who.last_org_life_at.map(|t| t.and_utc()),
            }
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Sorted by name: the page's members from the roster joined to the names, their figures
/// from the digests of their home orgs.
fn page_by_name(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
    opts: Options,
    cursor: Option<&Cursor>,
    all: bool,
) -> ApiResult<Page<Figures>> {
    let keys = keys_by_name(conn, tree, period, opts, cursor, all)?;
    let mut orgs: Vec<i64> = keys.iter().map(|k| k.org_id).collect();
    orgs.sort_unstable();
    orgs.dedup();
    let (rosters, years) = digest::of_orgs(conn, &orgs, period)?;
    let figures = figures_of(tree, period, &rosters, &years);
    let limit = if all { keys.len() as i64 } else { opts.limit };
    let page = Page::from_rows(keys, limit, |r| Cursor {
        c: None,
        n: Some(r.name_key.clone()),
        u: r.user_id,
    });
    let by_id: HashMap<i64, &Figures> = figures.iter().map(|f| (f.user_id, f)).collect();
    Ok(Page {
        // A member who left between the two reads is left out.
        items: page
            .items
            .iter()
            .filter_map(|k| by_id.get(&k.user_id).map(|f| (*f).clone()))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// Phase one sorted by name: the page's members in order from one scan of the roster
/// joined to their names.
fn keys_by_name(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
    opts: Options,
    cursor: Option<&Cursor>,
    all: bool,
) -> ApiResult<Vec<KeyRow>> {
    let credit = credit_sql(period.year());
    let expected = tree.expected_sql("s", period.year());
    let mut sql = Sql::default();
    sql.push(
        "SELECT s.user_id AS user_id, s.org_id AS org_id, u.name_key AS name_key \
         FROM stats_members s JOIN users u ON u.id = s.user_id",
    );
    if opts.filter == Filter::Inactive {
        sql.push(" LEFT JOIN stats_member_years y ON y.user_id = s.user_id AND y.year = ")
            .bind(Bind::Int(period.year()));
    }
    in_subtree(&mut sql, "s", tree);
    match opts.filter {
        Filter::All => {}
        Filter::Behind => {
            sql.push(&format!(" AND {credit} < {expected}"));
        }
        Filter::Inactive => {
            sql.push(&format!(" AND NOT {}", active_sql(period)));
        }
    }
    if let Some(c) = cursor {
        let Some(n) = &c.n else {
            return Err(cursor_mismatch());
        };
        // Keyset: past the last row's name key, or at it with a higher user id.
        sql.push(" AND (u.name_key > ")
            .bind(Bind::Text(n.clone()))
            .push(" OR (u.name_key = ")
            .bind(Bind::Text(n.clone()))
            .push(" AND s.user_id > ")
            .bind(Bind::BigInt(c.u))
            .push("))");
    }
    // Pinyin order (`collate::sort_key`, hex: byte order in every collation).
    sql.push(" ORDER BY u.name_key ASC, s.user_id ASC");
    if !all {
        sql.push(&format!(" LIMIT {}", opts.limit + 1));
    }
    Ok(sql.load(conn)?)
}

fn cursor_mismatch() -> ApiError {
    bad(
        "cursor",
        "cursor 与排序不符",
        "The cursor does not match the sort",
    )
}

/// Sorted by credit: every member of the subtree filtered, ordered by credit (then user id)
/// and cut after the cursor.
fn by_credit<'a>(
    figures: &'a [Figures],
    opts: Options,
    cursor: Option<&Cursor>,
    all: bool,
) -> ApiResult<Page<&'a Figures>> {
    let after = match cursor {
        None => None,
        Some(Cursor { c: Some(c), u, .. }) => Some((*c, *u)),
        Some(_) => return Err(cursor_mismatch()),
    };
    let desc = opts.sort == Sort::CreditDesc;
    // Ordered by (credit, or minus credit when descending; user id): compact keys sort
    // faster than the figures they point to.
    let mut keys: Vec<(i64, i64, usize)> = figures
        .iter()
        .enumerate()
        .filter(|(_, f)| match opts.filter {
            Filter::All => true,
            Filter::Behind => f.credit < f.expected,
            Filter::Inactive => !f.active,
        })
        .map(|(i, f)| (if desc { -f.credit } else { f.credit }, f.user_id, i))
        .filter(|(k, u, _)| match after {
            None => true,
            Some((c, after_u)) => {
                let c = if desc { -c } else { c };
                *k > c || (*k == c && *u > after_u)
            }
        })
        .collect();
    let limit = if all { keys.len() } else { opts.limit as usize };
    if keys.len() > limit + 1 {
        // Only the first `limit + 1` need to be in order.
        keys.select_nth_unstable(limit);
        keys.truncate(limit + 1);
    }
    keys.sort_unstable();
    let rows: Vec<&Figures> = keys.iter().map(|(_, _, i)| &figures[*i]).collect();
    Ok(Page::from_rows(rows, limit as i64, |f| Cursor {
        c: Some(f.credit),
        n: None,
        u: f.user_id,
    }))
}

/// A member's figures for the period, from the digests of their home org.
#[derive(Debug, Clone)]
struct Figures {
    user_id: i64,
    org_id: i64,
    category: Arc<str>,
    is_cadre: bool,
    credit: i64,
    quota: i64,
    expected: i64,
    required_done: i64,
    active: bool,
}

impl Figures {
    fn pace(&self) -> Pace {
        if self.credit >= self.quota {
            Pace::Met
        } else if self.credit >= self.expected {
            Pace::OnTrack
        } else {
            Pace::Behind
        }
    }
}

/// The figures of every member of `rosters` (members without a year entry earned nothing
/// and were not active).
fn figures_of(
    tree: &Subtree,
    period: &Period,
    rosters: &[Roster],
    years: &[Years],
) -> Vec<Figures> {
    let year = period.year();
    let years_of: HashMap<i64, &[YearEntry]> = years
        .iter()
        .map(|y| (y.org_id, y.members.as_slice()))
        .collect();
    let mut out = Vec::with_capacity(rosters.iter().map(|r| r.members.len()).sum());
    for r in rosters {
        // Quota and even pace per category and cadre flag, at `category * 2 + cadre`.
        let quotas: Vec<(i64, i64)> = (0..r.categories.len() * 2)
            .map(|i| {
                let quota = tree.quota_of(r.org_id, &r.categories[i / 2], i % 2 == 1);
                (quota, expected_by(quota, year, tree.today))
            })
            .collect();
        // Both lists are in user id order: one pass over each.
        let ys = years_of.get(&r.org_id).copied().unwrap_or_default();
        let categories: Vec<Arc<str>> =
            r.categories.iter().map(|c| Arc::from(c.as_str())).collect();
        let mut j = 0;
        for m in &r.members {
            let category = categories[usize::from(m.category)].clone();
            let (quota, expected) = quotas[usize::from(m.category) * 2 + usize::from(m.is_cadre)];
            while ys.get(j).is_some_and(|y| y.user_id < m.user_id) {
                j += 1;
            }
            let (credit, active) = match ys.get(j) {
                Some(y) if y.user_id == m.user_id => (y.credit_centi, y.active),
                _ => (0, false),
            };
            out.push(Figures {
                user_id: m.user_id,
                org_id: r.org_id,
                category,
                is_cadre: m.is_cadre,
                credit,
                quota,
                expected,
                required_done: m.required_done,
                active,
            });
        }
    }
    out
}

/// Who a member of a page is: name, membership status, last activity and organizational
/// life (exact).
#[derive(Debug, Clone, Default)]
struct Person {
    name: String,
    status: String,
    last_active_at: Option<NaiveDateTime>,
    last_org_life_at: Option<NaiveDateTime>,
}

/// The people of `users` (the rows of one page).
fn people_of(conn: &mut DbConnection, users: &[i64]) -> ApiResult<HashMap<i64, Person>> {
    use crate::db::schema::{memberships, stats_members as sm, users as u};
    let mut out = HashMap::with_capacity(users.len());
    for chunk in users.chunks(1000) {
        type Row = (
            i64,
            String,
            String,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        );
        // Driven by the current membership of each id (its partial unique index).
        let rows: Vec<Row> = memberships::table
            .inner_join(u::table.on(u::id.eq(memberships::user_id)))
            .left_join(sm::table.on(sm::user_id.eq(memberships::user_id)))
            .filter(memberships::user_id.eq_any(chunk))
            .filter(memberships::to_date.is_null())
            .select((
                u::id,
                u::name,
                memberships::status,
                sm::last_active_at.nullable(),
                sm::last_org_life_at.nullable(),
            ))
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|(id, name, status, active, org_life)| {
                    (
                        id,
                        Person {
                            name,
                            status,
                            last_active_at: active,
                            last_org_life_at: org_life,
                        },
                    )
                }),
        );
    }
    Ok(out)
}

/// Attendance of `users` at occurrences that started in the period (by the local day of
/// their start in the activity's zone, as the roll-ups count it): from the per-month
/// roll-ups when the period is whole months, else from the records themselves.
fn attendance_of(
    conn: &mut DbConnection,
    users: &[i64],
    period: &Period,
) -> ApiResult<HashMap<i64, MemberAttendance>> {
    let (first, last) = period.months();
    let whole = (first..=last).all(|m| period.whole_months_mask() & (1 << (m - 1)) != 0);
    if !whole {
        return attendance_by_day(conn, users, period);
    }
    let mut out: HashMap<i64, MemberAttendance> = HashMap::new();
    for chunk in users.chunks(1000) {
        use diesel::dsl::sum;
        type Sums = (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        // Summed per member in the database: one row per member, not one per month.
        let rows: Vec<(i64, Sums)> = smm::table
            .filter(smm::user_id.eq_any(chunk))
            .filter(smm::year.eq(period.year()))
            .filter(smm::month.between(first as i32, last as i32))
            .group_by(smm::user_id)
            .select((
                smm::user_id,
                (
                    sum(smm::present),
                    sum(smm::late),
                    sum(smm::proxy),
                    sum(smm::made_up),
                    sum(smm::absent),
                    sum(smm::leave),
                ),
            ))
            .load(conn)?;
        for (u, (present, late, proxy, made_up, absent, leave)) in rows {
            let a = out.entry(u).or_default();
            a.present += present.unwrap_or(0);
            a.late += late.unwrap_or(0);
            a.proxy += proxy.unwrap_or(0);
            a.made_up += made_up.unwrap_or(0);
            a.absent += absent.unwrap_or(0);
            a.leave += leave.unwrap_or(0);
        }
    }
    for a in out.values_mut() {
        let records = a.present + a.late + a.proxy + a.made_up + a.absent;
        a.rate = rate(a.present + a.late + a.proxy, records);
    }
    Ok(out)
}

/// [`attendance_of`] for a period that is not whole months: each record of a
/// non-cancelled occurrence whose local start day is inside the period.
fn attendance_by_day(
    conn: &mut DbConnection,
    users: &[i64],
    period: &Period,
) -> ApiResult<HashMap<i64, MemberAttendance>> {
    use crate::activities::model::AttendanceStatus;
    use crate::db::schema::{activities, activity_attendance as aa, activity_occurrences as ao};
    // Every zone is within a day of UTC: a day either side finds every candidate.
    let margin = chrono::Duration::days(1);
    let lo = period.from.and_time(chrono::NaiveTime::MIN) - margin;
    let hi = period.to.and_time(chrono::NaiveTime::MIN) + margin * 2;
    let mut out: HashMap<i64, MemberAttendance> = HashMap::new();
    for chunk in users.chunks(1000) {
        let rows: Vec<(i64, String, NaiveDateTime, String)> = aa::table
            .inner_join(ao::table.inner_join(activities::table))
            .filter(aa::user_id.eq_any(chunk))
            .filter(ao::status.ne("cancelled"))
            .filter(ao::starts_at.ge(lo))
            .filter(ao::starts_at.lt(hi))
            .select((
                aa::user_id,
                aa::status,
                ao::starts_at,
                activities::time_zone,
            ))
            .load(conn)?;
        for (user, status, starts_at, tz) in rows {
            let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Shanghai);
            let day = starts_at.and_utc().with_timezone(&tz).date_naive();
            if day < period.from || day > period.to {
                continue;
            }
            let a = out.entry(user).or_default();
            match AttendanceStatus::parse(&status) {
                Some(AttendanceStatus::Present) => a.present += 1,
                Some(AttendanceStatus::Late) => a.late += 1,
                Some(AttendanceStatus::Proxy) => a.proxy += 1,
                Some(AttendanceStatus::MadeUp) => a.made_up += 1,
                Some(AttendanceStatus::Absent) => a.absent += 1,
                Some(AttendanceStatus::Leave) => a.leave += 1,
                None => {}
            }
        }
    }
    for a in out.values_mut() {
        let records = a.present + a.late + a.proxy + a.made_up + a.absent;
        a.rate = rate(a.present + a.late + a.proxy, records);
    }
    Ok(out)
}
