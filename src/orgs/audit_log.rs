//! The audit log of an org's subtree, for its secretaries and administrators: who did what
//! to which object, newest first, filtered by actor, action and time, cursor-paged. Every
//! organizer action writes its entry in the transaction of the change (see
//! [`crate::audit`]); this is the way to read them back.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{Org, subtree_range};
use crate::db::DbConnection;
use crate::db::schema::{audit_log, orgs};
use crate::error::ApiResult;
use crate::http::pagination::{Page, PageParams};
use crate::http::text::Title;

/// Filters of the audit log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only what this user did.
    pub actor: Option<i64>,
    /// Only this action (`member_added`, `phone_changed`, `course_published`, …).
    pub action: Option<Title>,
    /// From this moment (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this moment.
    pub to: Option<DateTime<Utc>>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who did it (`null`: the system, or an anonymous attempt).
    pub actor_user_id: Option<i64>,
    pub action: String,
    /// What it was done to: `user`, `org`, `course`, `occurrence`, …
    pub target_type: String,
    pub target_id: String,
    /// The org it happened in.
    pub org_id: Option<i64>,
    /// The address the request came from.
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

type Row = (
    i64,
    NaiveDateTime,
    Option<i64>,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
);

/// The entries recorded in the subtree of `org`, newest first.
pub fn list(
    conn: &mut DbConnection,
    org: &Org,
    filter: &AuditFilter,
    page: &PageParams,
) -> ApiResult<Page<AuditEntry>> {
    let limit = page.limit()?;
    let before: Option<i64> = page.after()?;
    let (lo, hi) = subtree_range(&org.path);
    let in_subtree = orgs::table
        .filter(orgs::path.ge(lo))
        .filter(orgs::path.lt(hi))
        .select(orgs::id.nullable());
    let mut q = audit_log::table
        .filter(audit_log::org_id.eq_any(in_subtree))
        .order(audit_log::id.desc())
        .limit(limit + 1)
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor_user_id,
            audit_log::action,
            audit_log::target_type,
            audit_log::target_id,
            audit_log::org_id,
            audit_log::ip,
            audit_log::details,
        ))
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(audit_log::id.lt(before));
    }
    if let Some(actor) = filter.actor {
        q = q.filter(audit_log::actor_user_id.eq(actor));
    }
    if let Some(action) = &filter.action {
        q = q.filter(audit_log::action.eq(action.as_str().to_string()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_log::at.ge(from.naive_utc()));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_log::at.lt(to.naive_utc()));
    }
    let rows: Vec<Row> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(id, at, actor_user_id, action, target_type, target_id, org_id, ip, details)| {
                AuditEntry {
                    id,
                    at: at.and_utc(),
                    actor_user_id,
                    action,
                    target_type,
                    target_id,
                    org_id,
                    ip,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                }
            },
        )
        .collect();
    Ok(Page::from_rows(items, limit, |e: &AuditEntry| e.id))
}
