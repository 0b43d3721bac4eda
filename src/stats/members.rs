//! The member table of an org's subtree: each current member's credit against their quota,
//! required courses, attendance and last activity; filtered to those behind or inactive,
//! sorted, cursor-paginated (keyset on the sort value and the user id).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::context::{Bind, Sql, Subtree};
use super::period::Period;
use super::summary::{active_sql, in_subtree, org_life_cutoff, rate};
use crate::db::DbConnection;
use crate::db::schema::stats_member_months as smm;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text as Msg};
use crate::http::pagination::{Page, decode_cursor};

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
    /// `credit` (default, lowest first), `-credit` or `name`.
    pub sort: Option<String>,
    /// Rows per page (1–1000, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
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

/// Phase one of a page: the members in order, with the sort values only.
#[derive(Debug, QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    /// Only when sorting by name.
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = BigInt)]
    credit: i64,
}

/// Phase two: the figures of the page's members.
#[derive(Debug, QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Bool)]
    is_cadre: bool,
    #[diesel(sql_type = BigInt)]
    credit: i64,
    #[diesel(sql_type = BigInt)]
    quota: i64,
    #[diesel(sql_type = BigInt)]
    expected: i64,
    #[diesel(sql_type = BigInt)]
    required_done: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_active_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_org_life_at: Option<NaiveDateTime>,
    #[diesel(sql_type = BigInt)]
    active: i64,
}

/// The position after the last row: the sort value and the user id.
#[derive(Debug, Serialize, Deserialize)]
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

/// One page of the member table (`all` for every row, as exports do), in two phases: the
/// page's members in order from one scan of the roster (the sort value and the id only),
/// then their figures by id.
pub fn page(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
    opts: Options,
    cursor: Option<&str>,
    all: bool,
) -> ApiResult<Page<MemberStatsRow>> {
    let cursor: Option<Cursor> = cursor.map(decode_cursor).transpose()?;
    let credit = credit_sql(period.year());
    let expected = tree.expected_sql("s", period.year());
    let by_name = opts.sort == Sort::Name;
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT s.user_id AS user_id, {} AS name, CAST({credit} AS BIGINT) AS credit \
         FROM stats_members s",
        if by_name {
            "u.name"
        } else {
            "CAST(NULL AS TEXT)"
        }
    ));
    if by_name {
        sql.push(" JOIN users u ON u.id = s.user_id");
    }
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
    if let Some(c) = &cursor {
        // Keyset: past the last row's sort value, or at it with a higher user id.
        let (column, op, value) = match (opts.sort, &c.c, &c.n) {
            (Sort::Credit, Some(v), _) => (credit.as_str(), ">", Bind::BigInt(*v)),
            (Sort::CreditDesc, Some(v), _) => (credit.as_str(), "<", Bind::BigInt(*v)),
            (Sort::Name, _, Some(n)) => ("u.name", ">", Bind::Text(n.clone())),
            _ => {
                return Err(bad(
                    "cursor",
                    "cursor 与排序不符",
                    "The cursor does not match the sort",
                ));
            }
        };
        sql.push(&format!(" AND ({column} {op} "))
            .bind(value.clone())
            .push(&format!(" OR ({column} = "))
            .bind(value)
            .push(" AND s.user_id > ")
            .bind(Bind::BigInt(c.u))
            .push("))");
    }
    sql.push(match opts.sort {
        Sort::Credit => " ORDER BY credit ASC, s.user_id ASC",
        Sort::CreditDesc => " ORDER BY credit DESC, s.user_id ASC",
        Sort::Name => " ORDER BY u.name ASC, s.user_id ASC",
    });
    if !all {
        sql.push(&format!(" LIMIT {}", opts.limit + 1));
    }
    let keys: Vec<KeyRow> = sql.load(conn)?;
    let limit = if all { keys.len() as i64 } else { opts.limit };
    let page = Page::from_rows(keys, limit, |r| match opts.sort {
        Sort::Name => Cursor {
            c: None,
            n: r.name.clone(),
            u: r.user_id,
        },
        _ => Cursor {
            c: Some(r.credit),
            n: None,
            u: r.user_id,
        },
    });
    let ids: Vec<i64> = page.items.iter().map(|r| r.user_id).collect();
    let mut rows = figures_of(conn, tree, period, &ids)?;
    let attendance = attendance_of(conn, &ids, period)?;
    let people = names_and_statuses(conn, &ids)?;
    let org_names: HashMap<i64, &str> = tree.orgs.iter().map(|o| (o.id, o.name.as_str())).collect();
    let cutoff = org_life_cutoff(tree);
    let mut items = Vec::with_capacity(page.items.len());
    for key in page.items {
        // A member whose roster row went between the two phases is left out.
        let Some(r) = rows.remove(&key.user_id) else {
            continue;
        };
        let pace = if r.credit >= r.quota {
            Pace::Met
        } else if r.credit >= r.expected {
            Pace::OnTrack
        } else {
            Pace::Behind
        };
        let (name, status) = people.get(&r.user_id).cloned().unwrap_or_default();
        items.push(MemberStatsRow {
            user_id: r.user_id,
            required_total: tree.required.get(&r.org_id).map_or(0, |s| s.len() as i64),
            attendance: attendance.get(&r.user_id).cloned().unwrap_or_default(),
            no_org_life_6m: r.last_org_life_at.is_none_or(|t| t < cutoff),
            name,
            org_id: r.org_id,
            org_name: org_names
                .get(&r.org_id)
                .copied()
                .unwrap_or_default()
                .to_string(),
            category: r.category,
            is_cadre: r.is_cadre,
            status,
            credit_centi: r.credit,
            quota_centi: r.quota,
            expected_centi: r.expected,
            pace,
            required_done: r.required_done,
            active: r.active != 0,
            last_active_at: r.last_active_at.map(|t| t.and_utc()),
            last_org_life_at: r.last_org_life_at.map(|t| t.and_utc()),
        });
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Phase two of a page: the figures of `users` from their roster and year rows.
fn figures_of(
    conn: &mut DbConnection,
    tree: &Subtree,
    period: &Period,
    users: &[i64],
) -> ApiResult<HashMap<i64, Row>> {
    let (quota, expected) = (tree.quota_sql("s"), tree.expected_sql("s", period.year()));
    let active = active_sql(period);
    let mut out = HashMap::with_capacity(users.len());
    for chunk in users.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT s.user_id AS user_id, s.org_id AS org_id, \
             s.category AS category, s.is_cadre AS is_cadre, \
             CAST(COALESCE(y.credit_centi, 0) AS BIGINT) AS credit, \
             CAST({quota} AS BIGINT) AS quota, CAST({expected} AS BIGINT) AS expected, \
             CAST(s.required_done AS BIGINT) AS required_done, \
             s.last_active_at AS last_active_at, s.last_org_life_at AS last_org_life_at, \
             CAST(CASE WHEN {active} THEN 1 ELSE 0 END AS BIGINT) AS active \
             FROM stats_members s \
             LEFT JOIN stats_member_years y ON y.user_id = s.user_id AND y.year = "
        ))
        .bind(Bind::Int(period.year()))
        .push(&format!(
            " WHERE s.org_id IS NOT NULL AND s.user_id IN ({})",
            ids.join(",")
        ));
        let rows: Vec<Row> = sql.load(conn)?;
        out.extend(rows.into_iter().map(|r| (r.user_id, r)));
    }
    Ok(out)
}

/// Names and membership statuses of `users` (the rows of one page).
fn names_and_statuses(
    conn: &mut DbConnection,
    users: &[i64],
) -> ApiResult<HashMap<i64, (String, String)>> {
    use crate::db::schema::{memberships, users as u};
    let mut out = HashMap::new();
    for chunk in users.chunks(500) {
        let rows: Vec<(i64, String, String)> = u::table
            .inner_join(memberships::table.on(memberships::user_id.eq(u::id)))
            .filter(u::id.eq_any(chunk))
            .filter(memberships::to_date.is_null())
            .select((u::id, u::name, memberships::status))
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|(id, name, status)| (id, (name, status))),
        );
    }
    Ok(out)
}

/// Attendance of `users` in the months the period touches.
fn attendance_of(
    conn: &mut DbConnection,
    users: &[i64],
    period: &Period,
) -> ApiResult<HashMap<i64, MemberAttendance>> {
    let (first, last) = period.months();
    let mut out: HashMap<i64, MemberAttendance> = HashMap::new();
    for chunk in users.chunks(500) {
        let rows: Vec<(i64, i32, i32, i32, i32, i32, i32)> = smm::table
            .filter(smm::user_id.eq_any(chunk))
            .filter(smm::year.eq(period.year()))
            .filter(smm::month.between(first as i32, last as i32))
            .select((
                smm::user_id,
                smm::present,
                smm::late,
                smm::proxy,
                smm::made_up,
                smm::absent,
                smm::leave,
            ))
            .load(conn)?;
        for (u, present, late, proxy, made_up, absent, leave) in rows {
            let a = out.entry(u).or_default();
            a.present += i64::from(present);
            a.late += i64::from(late);
            a.proxy += i64::from(proxy);
            a.made_up += i64::from(made_up);
            a.absent += i64::from(absent);
            a.leave += i64::from(leave);
        }
    }
    for a in out.values_mut() {
        let records = a.present + a.late + a.proxy + a.made_up + a.absent;
        a.rate = rate(a.present + a.late + a.proxy, records);
    }
    Ok(out)
}
