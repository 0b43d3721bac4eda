//! HTTP routes of statistics: extract, authorize (org operators: the same right as the
//! member list), answer from the cache or compute, respond.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use utoipa::IntoParams;

use super::cache;
use super::children::{self, ChildrenStats};
use super::compliance::{self, Compliance};
use super::context::Subtree;
use super::export::{self, FileFormat};
use super::funnel::{self, CourseFunnel};
use super::members::{self, MemberStatsRow, MembersExportQuery, MembersQuery};
use super::period::Period;
use super::summary::{self, OrgStats};
use super::{chart_data, chart_url, report, report_render};
use crate::auth::Caller;
use crate::db::Db;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem, Text};
use crate::http::pagination::Page;
use crate::orgs::access::{Right, authorize};
use crate::orgs::model::Org;
use crate::state::AppState;

/// The period of a statistics query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// `2026-11`, `2026-Q4` or `2026` (default: this year), in the org's zone.
    pub period: Option<String>,
    /// With `to`, instead of `period`: the first day.
    pub from: Option<NaiveDate>,
    /// The last day, in the same year as `from`.
    pub to: Option<NaiveDate>,
}

/// The ranking order of children.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenQuery {
    /// `name`, `behind_rate` (default `-behind_rate`), `met_rate`, `active_rate`,
    /// `attendance_rate`, `required_rate`; `-` in front for highest first (or Z to A).
    /// `name` orders Chinese names by pinyin (汉语拼音), character by character, then by
    /// the character itself; Latin names and digits come first.
    pub sort: Option<String>,
}

impl MembersQuery {
    /// The period part of the query.
    fn period_query(&self) -> PeriodQuery {
        PeriodQuery {
            period: self.period.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

impl PeriodQuery {
    pub fn parse(&self, today: NaiveDate) -> ApiResult<Period> {
        Period::parse(self.period.as_deref(), self.from, self.to, today)
    }

    fn key(&self) -> String {
        format!("{:?}|{:?}|{:?}", self.period, self.from, self.to)
    }
}

/// Authorizes the caller as an operator of `id` (404 outside their scope, 403 without the right).
pub async fn operated_org(state: &AppState, user_id: i64, id: i64) -> ApiResult<Org> {
    state
        .db
        .read(move |c| Ok(authorize(c, user_id, id, Right::Operate)?.0))
        .await
}

/// The org's subtree with its settings, and the period asked for in its zone.
async fn subtree_and_period(
    db: &Db,
    org: Org,
    now: NaiveDateTime,
    q: PeriodQuery,
) -> ApiResult<(Arc<Subtree>, Period)> {
    db.read(move |c| {
        let tree = Subtree::load(c, org, now)?;
        let period = q.parse(tree.today)?;
        Ok((Arc::new(tree), period))
    })
    .await
}

/// A cache key that also rolls over every hour ("on track" moves with the date).
fn key(state: &AppState, parts: &str) -> String {
    format!("{}|{}", state.clock.now().format("%Y%m%d%H"), parts)
}

/// An org's figures over its whole subtree for a period.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), PeriodQuery), responses(
    (status = 200, body = OrgStats), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/stats")]
pub async fn get_org_stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<PeriodQuery>,
) -> ApiResult<cache::CachedJson> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let org = operated_org(&state, caller.user_id, id).await?;
    let now = state.clock.now_naive();
    let k = key(&state, &format!("summary|{id}|{}", q.key()));
    cache::cached(&state, id, &k, |db| async move {
        let (tree, period) = subtree_and_period(&db, org, now, q).await?;
        Ok(summary::compute(&db, tree, period).await?.0)
    })
    .await
}

/// The same figures for each direct child org, ranked.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), PeriodQuery, ChildrenQuery), responses(
    (status = 200, body = ChildrenStats), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/stats/children")]
pub async fn get_children_stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<PeriodQuery>,
    sort: web::Query<ChildrenQuery>,
) -> ApiResult<cache::CachedJson> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let sort = sort.into_inner().sort;
    let (key_by, desc) = children::parse_sort(sort.as_deref())?;
    let org = operated_org(&state, caller.user_id, id).await?;
    let now = state.clock.now_naive();
    let label = sort.unwrap_or_else(|| "-behind_rate".into());
    let k = key(&state, &format!("children|{id}|{}|{label}", q.key()));
    cache::cached(&state, id, &k, |db| async move {
        let (tree, period) = subtree_and_period(&db, org, now, q).await?;
        let (_, mut items) = summary::compute(&db, tree, period).await?;
        children::rank(&mut items, key_by, desc);
        Ok(ChildrenStats {
            org_id: id,
            sort: label,
            items,
        })
    })
    .await
}

/// The members of the subtree with their figures: filtered, sorted, cursor-paginated.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), MembersQuery), responses(
    (status = 200, body = Page<MemberStatsRow>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/stats/members")]
pub async fn list_member_stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<MembersQuery>,
) -> ApiResult<cache::CachedJson> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let opts = q.options()?;
    let org = operated_org(&state, caller.user_id, id).await?;
    let now = state.clock.now_naive();
    let k = key(
        &state,
        &format!(
            "members|{id}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            q.period, q.from, q.to, q.filter, q.sort, q.limit, q.cursor
        ),
    );
    cache::cached(&state, id, &k, |db| async move {
        let (tree, period) = subtree_and_period(&db, org, now, q.period_query()).await?;
        members::page(&db, tree, period, opts, q.cursor, false).await
    })
    .await
}

/// The year of a compliance grid.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// Default: this year in the org's zone.
    pub year: Option<i32>,
}

/// Meeting-frequency compliance of every branch in the subtree: each required slot of the
/// year held, missing or upcoming; rows with missing slots first.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), YearQuery), responses(
    (status = 200, body = Compliance), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/compliance")]
pub async fn get_compliance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<YearQuery>,
) -> ApiResult<cache::CachedJson> {
    let (id, year) = (id.into_inner(), q.into_inner().year);
    check_year(year)?;
    let org = operated_org(&state, caller.user_id, id).await?;
    let now = state.clock.now_naive();
    let k = key(&state, &format!("compliance|{id}|{year:?}"));
    cache::cached(&state, id, &k, |db| async move {
        db.read(move |c| {
            let tree = Subtree::load(c, org, now)?;
            let year = year.unwrap_or(tree.today.year());
            compliance::grid(c, &tree, year)
        })
        .await
    })
    .await
}

fn check_year(year: Option<i32>) -> ApiResult<()> {
    if year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(
            ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
                "year",
                "out_of_range",
                Text::new(
                    "年份应在 2000 到 2100 之间",
                    "year must be between 2000 and 2100",
                ),
            )),
        );
    }
    Ok(())
}

/// The org of a course funnel.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FunnelQuery {
    /// Whose members (default: the course's owner org).
    pub org_id: Option<i64>,
}

/// A course's funnel among the members of an org's subtree: assigned, started, completed,
/// quiz passed, and per lesson started, completed and dropped off. The caller must see the
/// course (manage it, or study it) and operate in the org.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), FunnelQuery), responses(
    (status = 200, body = CourseFunnel), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/courses/{id}/stats")]
pub async fn get_course_stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<FunnelQuery>,
) -> ApiResult<cache::CachedJson> {
    let (id, org_id) = (id.into_inner(), q.into_inner().org_id);
    let user_id = caller.user_id;
    let (course, org) = state
        .db
        .read(move |c| {
            let course = crate::courses::authoring::find(c, id)?;
            // The course itself must be one the caller may see (404 otherwise), whatever org
            // they ask the funnel for.
            crate::courses::catalog::access(c, user_id, &course)?;
            let (org, _) = authorize(
                c,
                user_id,
                org_id.unwrap_or(course.owner_org_id),
                Right::Operate,
            )?;
            Ok((course, org))
        })
        .await?;
    let k = key(&state, &format!("funnel|{id}|{}", org.id));
    cache::cached(&state, org.id, &k, |db| async move {
        db.read(move |c| funnel::funnel(c, &course, &org)).await
    })
    .await
}

/// The period of a digest.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DigestQuery {
    /// `2026-11`, `2026-Q4` or `2026` (default: the month just ended, in the org's zone).
    pub period: Option<String>,
}

/// Previews the statistics digest of an org for a period (by default the month just
/// ended): the report and its WeCom and DingTalk markdown.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), DigestQuery), responses(
    (status = 200, body = report_render::DigestPreview), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/digest")]
pub async fn get_digest(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<DigestQuery>,
) -> ApiResult<cache::CachedJson> {
    let (id, period) = (id.into_inner(), q.into_inner().period);
    let org = operated_org(&state, caller.user_id, id).await?;
    let now = state.clock.now_naive();
    let k = key(&state, &format!("digest|{id}|{period:?}"));
    cache::cached(&state, id, &k, |db| async move {
        let (tree, period) = db
            .read(move |c| {
                let tree = Subtree::load(c, org, now)?;
                let label = period.unwrap_or_else(|| report::default_period(tree.today));
                let period = Period::parse(Some(&label), None, None, tree.today)?;
                Ok((Arc::new(tree), period))
            })
            .await?;
        let report = report::compute(&db, tree, period).await?;
        Ok(report_render::preview(report))
    })
    .await
}

/// The period of a digest chart, and the signature of a chart URL.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// `2026-11`, `2026-Q4` or `2026` (default: the month just ended, in the org's zone).
    pub period: Option<String>,
    /// With `to`, instead of `period`: the first day (a signed URL names its days).
    pub from: Option<NaiveDate>,
    /// The last day, in the same year as `from`.
    pub to: Option<NaiveDate>,
    /// The expiry of a signed URL (Unix seconds).
    pub exp: Option<String>,
    /// The signature of a signed URL: with `exp`, `from` and `to`, no bearer token is needed.
    pub sig: Option<String>,
}

/// How long a fetched chart may be reused.
const CHART_MAX_AGE_SECS: u32 = 300;

/// The digest chart of an org as a PNG: horizontal bars of its child orgs' study hours per
/// member (a branch: its members' hours) against quota, for `period` or `from`..`to`.
/// Fetched either by an organizer of the org (bearer token) or through a signed URL
/// (`exp`, `sig`, as the push module hands out for a group chat's robot), without a token.
#[utoipa::path(tag = "stats", security(("bearer" = []), ()), params(("id" = i64, Path), ChartQuery), responses(
    (status = 200, description = "the chart", content(("image/png"))),
    (status = 400, body = Problem), (status = 403, body = Problem, description = "chart_url_invalid / chart_url_expired, or not an organizer of the org"),
    (status = 404, body = Problem, description = "not_found, or chart_unavailable: the server has no font with Chinese glyphs"),
))]
#[get("/orgs/{id}/digest/chart.png")]
pub async fn get_digest_chart(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    q: web::Query<ChartQuery>,
) -> ApiResult<HttpResponse> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let org = if q.exp.is_some() || q.sig.is_some() {
        // The signature names the org and the days, nothing else.
        let (Some(from), Some(to), None) = (q.from, q.to, &q.period) else {
            return Err(ApiError::new(ErrorCode::ChartUrlInvalid));
        };
        let now = state.clock.now().timestamp();
        let signature = (q.exp.as_deref(), q.sig.as_deref());
        chart_url::verify(&state.chart.url_key, id, (from, to), signature, now)?;
        None
    } else {
        let caller = Caller::extract(&req).await?;
        Some(operated_org(&state, caller.user_id, id).await?)
    };
    let font = state
        .chart
        .font
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::ChartUnavailable))?;
    super::apply::catch_up(&state.db, &state.changes).await?;
    let db = state.db.caught_up_replica().await;
    let now = state.clock.now_naive();
    let (tree, period) = db
        .read(move |c| {
            let org = match org {
                Some(org) => org,
                None => crate::orgs::tree::find(c, id)?,
            };
            let tree = Subtree::load(c, org, now)?;
            let period = match (q.period, q.from, q.to) {
                (p, None, None) => {
                    let label = p.unwrap_or_else(|| report::default_period(tree.today));
                    Period::parse(Some(&label), None, None, tree.today)?
                }
                (None, Some(from), Some(to)) => report::period_between(from, to, tree.today)?,
                (p, from, to) => Period::parse(p.as_deref(), from, to, tree.today)?,
            };
            Ok((Arc::new(tree), period))
        })
        .await?;
    let body = chart_data::png(&db, font, tree, period).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((
            header::CACHE_CONTROL,
            format!("private, max-age={CHART_MAX_AGE_SECS}"),
        ))
        .body(body))
}

/// The format of an export.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv` (UTF-8 with a byte-order mark).
    pub format: Option<String>,
}

/// How the member table shows phone numbers.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhoneQuery {
    /// `masked` (default: `138****0001`) or `full`. `full` needs a role that administers
    /// the org (secretary, deputy secretary, admin): 403 for other organizers.
    pub phone: Option<String>,
}

fn attachment(format: FileFormat, stem: &str, body: Vec<u8>) -> HttpResponse {
    let name = format!("{stem}.{}", format.extension());
    HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// The member table as `.xlsx` (one more sheet per child org, and one for the members
/// attached to the org itself, when that splits the rows) or `.csv`: every row of the
/// filter, in the sort order, with the member id and phone (masked unless `phone=full`),
/// counts as integers, hours with two decimals, times in the org's zone.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), MembersExportQuery, ExportQuery, PhoneQuery), responses(
    (status = 200, description = "the file: xlsx, or csv with `format=csv`", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
    (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/stats/members/export")]
pub async fn export_member_stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<MembersExportQuery>,
    f: web::Query<ExportQuery>,
    p: web::Query<PhoneQuery>,
) -> ApiResult<HttpResponse> {
    let (id, q) = (id.into_inner(), MembersQuery::from(q.into_inner()));
    let format = export::parse_format(f.format.as_deref())?;
    let phone_column = export::parse_phone_column(p.phone.as_deref())?;
    let opts = q.options()?;
    let org = operated_org(&state, caller.user_id, id).await?;
    if phone_column == export::PhoneColumn::Full {
        let user_id = caller.user_id;
        state
            .db
            .read(move |c| authorize(c, user_id, id, Right::Administer).map(|_| ()))
            .await?;
    }
    let now = state.clock.now_naive();
    super::apply::catch_up(&state.db, &state.changes).await?;
    let db = state.db.caught_up_replica().await;
    let (tree, period) = subtree_and_period(&db, org, now, q.period_query()).await?;
    let rows = members::page(&db, tree.clone(), period.clone(), opts, None, true)
        .await?
        .items;
    let label = period.label;
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let phones = db
        .read(move |c| crate::auth::users::phones(c, &ids))
        .await?;
    let extras = export::MemberExtras {
        tz: tree.tz,
        phones,
        phone_column,
    };
    let body =
        tokio::task::spawn_blocking(move || export::members_export(format, &tree, &rows, &extras))
            .await
            .map_err(ApiError::internal)??;
    Ok(attachment(format, &format!("members-{id}-{label}"), body))
}

/// The compliance grid as `.xlsx` or `.csv`: one row per branch, kind and slot, missing first.
#[utoipa::path(tag = "stats", security(("bearer" = [])), params(("id" = i64, Path), YearQuery, ExportQuery), responses(
    (status = 200, description = "the file: xlsx, or csv with `format=csv`", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
    (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/compliance/export")]
pub async fn export_compliance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<YearQuery>,
    f: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let (id, year) = (id.into_inner(), q.into_inner().year);
    check_year(year)?;
    let format = export::parse_format(f.format.as_deref())?;
    let org = operated_org(&state, caller.user_id, id).await?;
    let now = state.clock.now_naive();
    super::apply::catch_up(&state.db, &state.changes).await?;
    let db = state.db.caught_up_replica().await;
    let (body, year) = db
        .read(move |c| {
            let tree = Subtree::load(c, org, now)?;
            let grid = compliance::grid(c, &tree, year.unwrap_or(tree.today.year()))?;
            Ok((export::compliance_file(format, &grid)?, grid.year))
        })
        .await?;
    Ok(attachment(format, &format!("compliance-{id}-{year}"), body))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_org_stats)
        .service(get_children_stats)
        .service(list_member_stats)
        .service(get_compliance)
        .service(get_course_stats)
        .service(get_digest)
        .service(get_digest_chart)
        .service(export_member_stats)
        .service(export_compliance);
}
