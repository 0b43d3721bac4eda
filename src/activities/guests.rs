//! Guests of an occurrence: people who are not invitees — a township cadre attending a
//! village meeting — recorded by an organizer by name and org (an org of the tree by id,
//! or an org name as free text). They are shown beside the attendance and in the
//! occurrence, and never counted: attendance figures and statistics read only
//! `activity_attendance`, where guests have no row.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::OccurrenceCtx;
use crate::db::DbConnection;
use crate::db::schema::{activity_guests as ag, orgs};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::http::text::Name;
use crate::orgs::access::{Right, Scope};

/// Most guests per occurrence.
pub const MAX_GUESTS: i64 = 50;

/// `POST /v1/occurrences/{id}/guests`: a guest's name and either an org id or an org name.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestRequest {
    pub name: Name,
    /// An org of the tree the guest comes from (the occurrence's org or above it, or one the
    /// caller may see).
    #[serde(default)]
    pub org_id: Option<i64>,
    /// The guest's org as free text (when it is not in the tree).
    #[serde(default)]
    pub org_name: Option<Name>,
}

/// A guest of an occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GuestView {
    pub id: i64,
    pub name: String,
    /// The org in the tree, when one was given.
    pub org_id: Option<i64>,
    /// The org's name: the tree org's name, or the free text given.
    pub org_name: Option<String>,
    pub recorded_by: i64,
    pub recorded_at: DateTime<Utc>,
}

type Row = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    i64,
    NaiveDateTime,
    Option<String>,
);

/// The guests of an occurrence, in the order recorded.
pub fn list(conn: &mut DbConnection, occurrence_id: i64) -> ApiResult<Vec<GuestView>> {
    let rows: Vec<Row> = ag::table
        .left_join(orgs::table.on(ag::org_id.eq(orgs::id.nullable())))
        .filter(ag::occurrence_id.eq(occurrence_id))
        .order(ag::id.asc())
        .select((
            ag::id,
            ag::name,
            ag::org_id,
            ag::org_name,
            ag::recorded_by,
            ag::recorded_at,
            orgs::name.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, org_id, org_name, by, at, tree_name)| GuestView {
                id,
                name,
                org_id,
                org_name: tree_name.or(org_name),
                recorded_by: by,
                recorded_at: at.and_utc(),
            },
        )
        .collect())
}

/// The org id, if given, must name an org on the occurrence's branch line (its org or an
/// ancestor) or one the caller may see; any other id is refused like a missing one.
fn check_org(
    conn: &mut DbConnection,
    ctx: &OccurrenceCtx,
    user_id: i64,
    org_id: i64,
) -> ApiResult<()> {
    let path: Option<String> = orgs::table
        .find(org_id)
        .select(orgs::path)
        .first(conn)
        .optional()?;
    let ok = match path {
        Some(p) if ctx.org.path.starts_with(p.as_str()) => true,
        Some(p) => Scope::load(conn, user_id)?.has(&p, Right::View),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "org_id",
            "unknown_org",
            Text::new("找不到该组织", "No such org"),
        ))
    }
}

/// Records a guest. The same name with the same org again is the guest already recorded
/// (`false`: nothing new), so a retried request adds no one twice.
pub fn add(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    by: i64,
    req: &GuestRequest,
) -> ApiResult<(GuestView, bool)> {
    if req.org_id.is_some() && req.org_name.is_some() {
        return Err(ApiError::invalid_field(
            "org_name",
            "org_id_or_name",
            Text::new(
                "组织编号与组织名称只填其一",
                "Give an org id or an org name, not both",
            ),
        ));
    }
    if req.name.is_empty() {
        return Err(ApiError::invalid_field(
            "name",
            "invalid_length",
            Text::new("请填写姓名", "A name is required"),
        ));
    }
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    if let Some(org_id) = req.org_id {
        check_org(conn, ctx, by, org_id)?;
    }
    let name = req.name.as_str();
    let org_name = req
        .org_name
        .as_ref()
        .map(|n| n.as_str())
        .filter(|n| !n.is_empty());
    let mut same = ag::table
        .filter(ag::occurrence_id.eq(ctx.occ.id))
        .filter(ag::name.eq(name))
        .into_boxed();
    same = match req.org_id {
        Some(o) => same.filter(ag::org_id.eq(o)),
        None => same.filter(ag::org_id.is_null()),
    };
    same = match org_name {
        Some(n) => same.filter(ag::org_name.eq(n)),
        None => same.filter(ag::org_name.is_null()),
    };
    let existing: Option<i64> = same.select(ag::id).first(conn).optional()?;
    let (id, created) = match existing {
        Some(id) => (id, false),
        None => {
            let count: i64 = ag::table
                .filter(ag::occurrence_id.eq(ctx.occ.id))
                .count()
                .get_result(conn)?;
            if count >= MAX_GUESTS {
                return Err(ApiError::new(ErrorCode::Conflict).with_detail(
                    format!("每次活动最多记录 {MAX_GUESTS} 位列席人员"),
                    format!("At most {MAX_GUESTS} guests per occurrence"),
                ));
            }
            let id: i64 = diesel::insert_into(ag::table)
                .values((
                    ag::occurrence_id.eq(ctx.occ.id),
                    ag::name.eq(name),
                    ag::org_id.eq(req.org_id),
                    ag::org_name.eq(org_name),
                    ag::recorded_by.eq(by),
                    ag::recorded_at.eq(now.naive_utc()),
                ))
                .returning(ag::id)
                .get_result(conn)?;
            (id, true)
        }
    };
    let view = list(conn, ctx.occ.id)?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("guest not saved")))?;
    Ok((view, created))
}

/// Removes a guest; the guest removed, or `None` when there was none (already removed).
pub fn remove(
    conn: &mut DbConnection,
    ctx: &OccurrenceCtx,
    guest_id: i64,
) -> ApiResult<Option<GuestView>> {
    let found = list(conn, ctx.occ.id)?
        .into_iter()
        .find(|g| g.id == guest_id);
    if found.is_some() {
        diesel::delete(
            ag::table
                .find(guest_id)
                .filter(ag::occurrence_id.eq(ctx.occ.id)),
        )
        .execute(conn)?;
    }
    Ok(found)
}
