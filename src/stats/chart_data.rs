//! What the digest chart shows, from the figures the report is made of ([`super::summary`]
//! for child orgs, [`super::members`] for a branch's members), and the chart of an org for
//! the push module: [`digest_with_chart_between`] composes the digest and draws its chart
//! from one subtree and one set of figures ([`chart_between`] draws the chart alone), and [`super::chart_url::signed_chart_url`] says where
//! a group chat fetches it.
//!
//! A township or county is charted by its child orgs: each child's credit of the year so
//! far per member against its quota per member. A branch (or party group) is charted by its
//! members. Bars go lowest share of quota first, so what needs attention is on top.

use std::sync::Arc;

use ab_glyph::FontArc;
use actix_web::web;
use chrono::{Datelike, NaiveDate};

use super::chart::{self, Bar, ChartSpec, MAX_BARS, Standing};
use super::context::Subtree;
use super::members::{self, MemberStatsRow, MembersQuery, Pace};
use super::period::Period;
use super::report;
use super::report_render::{self, DigestPreview};
use super::summary::{self, OrgStats};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::orgs::model::OrgKind;
use crate::progress::study::expected_by;
use crate::state::AppState;

pub use super::chart_url::signed_chart_url;

/// The digest of `org_id` for the days `from..=to` (a whole calendar month reported as that
/// month), after applying pending changes, with its chart (`None` without a font): what the
/// push scheduler sends. The subtree is loaded once for both.
pub async fn digest_with_chart_between(
    state: &AppState,
    org_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<(DigestPreview, Option<Vec<u8>>)> {
    super::apply::catch_up(&state.db, &state.changes).await?;
    let (tree, period) = report::subtree_between(state, org_id, from, to).await?;
    let figures = report::compute(&state.db, tree.clone(), period.clone()).await?;
    let chart = match state.chart.font.clone() {
        Some(font) => Some(png(&state.db, font, tree, period).await?),
        None => None,
    };
    Ok((report_render::preview(figures), chart))
}

/// The digest chart (PNG) of `org_id` for the days `from..=to`, after applying pending
/// changes: the same org, period and figures as [`digest_with_chart_between`]. `None` when
/// the server has no font to draw with (the text digest still goes).
pub async fn chart_between(
    state: &web::Data<AppState>,
    org_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Option<Vec<u8>>> {
    let Some(font) = state.chart.font.clone() else {
        return Ok(None);
    };
    super::apply::catch_up(&state.db, &state.changes).await?;
    let (tree, period) = report::subtree_between(state, org_id, from, to).await?;
    png(&state.db, font, tree, period).await.map(Some)
}

/// Draws the chart of the subtree for the period. Callers apply pending changes first.
pub async fn png(db: &Db, font: FontArc, tree: Arc<Subtree>, period: Period) -> ApiResult<Vec<u8>> {
    let spec = spec(db, tree, period).await?;
    tokio::task::spawn_blocking(move || chart::render(&font, &spec))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("drawing the digest chart: {e}")))
}

/// What the chart of the subtree shows for the period.
pub async fn spec(db: &Db, tree: Arc<Subtree>, period: Period) -> ApiResult<ChartSpec> {
    let title = format!("{} · {} 学习学时", tree.root.name, period_zh(&period));
    let year = period.year();
    let branch = OrgKind::parse(&tree.root.kind).is_some_and(OrgKind::can_hold_members);
    let (today, root_id) = (tree.today, tree.root.id);
    if branch {
        let query = MembersQuery {
            filter: Some("all".into()),
            ..MembersQuery::default()
        };
        let rows = members::page(db, tree, period, query.options()?, None, true).await?;
        Ok(member_spec(title, year, rows.items))
    } else {
        let (_, children) = summary::compute(db, tree, period).await?;
        tracing::debug!(org_id = root_id, children = children.len(), "digest chart");
        Ok(org_spec(title, year, today, children))
    }
}

fn hours(centi: i64) -> f64 {
    centi as f64 / 100.0
}

/// `2026年11月`, `2026年第4季度`, `2026年`, or `2026-03-05 至 2026-04-20`.
pub fn period_zh(period: &Period) -> String {
    let label = &period.label;
    if label.contains("..") {
        return format!("{} 至 {}", period.from, period.to);
    }
    match label.split_once('-') {
        None => format!("{label}年"),
        Some((y, q)) if q.starts_with('Q') => format!("{y}年第{}季度", &q[1..]),
        Some(_) => format!("{}年{}月", period.from.year(), period.from.month()),
    }
}

/// Keeps the first [`MAX_BARS`] bars, lowest share of quota first.
fn cap(mut bars: Vec<Bar>) -> (Vec<Bar>, usize) {
    let share = |b: &Bar| {
        if b.quota > 0.0 {
            b.hours / b.quota
        } else {
            f64::INFINITY
        }
    };
    bars.sort_by(|a, b| {
        share(a)
            .partial_cmp(&share(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.label.cmp(&b.label))
    });
    let more = bars.len().saturating_sub(MAX_BARS);
    bars.truncate(MAX_BARS);
    (bars, more)
}

/// Child orgs with members, by per-member averages.
pub fn org_spec(title: String, year: i32, today: NaiveDate, children: Vec<OrgStats>) -> ChartSpec {
    let bars = children
        .into_iter()
        .filter(|c| c.members.total > 0)
        .map(|c| {
            let n = c.members.total as f64;
            let value = hours(c.credit.earned_centi) / n;
            let quota = hours(c.credit.quota_centi) / n;
            let expected = hours(expected_by(c.credit.quota_centi, year, today)) / n;
            Bar {
                label: c.org_name,
                hours: value,
                quota,
                expected,
                standing: Standing::of(value, quota, expected),
            }
        })
        .collect();
    let (bars, more) = cap(bars);
    ChartSpec {
        title,
        subtitle: format!("各下级组织人均学时（小时，{year}年累计），完成比例低的在前"),
        bars,
        more,
        more_noun: "个组织",
    }
}

/// A branch's members.
pub fn member_spec(title: String, year: i32, rows: Vec<MemberStatsRow>) -> ChartSpec {
    let bars = rows
        .into_iter()
        .map(|m| Bar {
            label: m.name,
            hours: hours(m.credit_centi),
            quota: hours(m.quota_centi),
            expected: hours(m.expected_centi),
            standing: match m.pace {
                Pace::Met => Standing::Met,
                Pace::OnTrack => Standing::OnTrack,
                Pace::Behind => Standing::Behind,
            },
        })
        .collect();
    let (bars, more) = cap(bars);
    ChartSpec {
        title,
        subtitle: format!("党员学时（小时，{year}年累计），完成比例低的在前"),
        bars,
        more,
        more_noun: "名党员",
    }
}
