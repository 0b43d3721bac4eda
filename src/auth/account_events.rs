//! What happened to one's own account: the audit entries whose target is the caller — a
//! phone number changed by a secretary (which also ended every session and the WeChat
//! binding), details edited, a WeChat account bound, a password changed, logins. A person
//! whose identity someone else touched sees it here (`GET /v1/me/account-events`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::audit_log;
use crate::error::ApiResult;
use crate::http::pagination::{Page, PageParams};

/// One thing that happened to the caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// What happened: `phone_changed`, `member_updated`, `wechat_bound`, `password_changed`,
    /// `login`, …
    pub action: String,
    /// Who did it (`null`: the system, or an anonymous attempt).
    pub actor_user_id: Option<i64>,
    /// The details recorded with it (phone numbers masked).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The caller's account events, newest first, cursor-paged.
pub fn list(
    conn: &mut DbConnection,
    user_id: i64,
    page: &PageParams,
) -> ApiResult<Page<AccountEvent>> {
    let limit = page.limit()?;
    let before: Option<i64> = page.after()?;
    let mut q = audit_log::table
        .filter(audit_log::target_type.eq("user"))
        .filter(audit_log::target_id.eq(user_id.to_string()))
        .order(audit_log::id.desc())
        .limit(limit + 1)
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::action,
            audit_log::actor_user_id,
            audit_log::details,
        ))
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(audit_log::id.lt(before));
    }
    let rows: Vec<(i64, NaiveDateTime, String, Option<i64>, String)> = q.load(conn)?;
    let items = rows
        .into_iter()
        .map(|(id, at, action, actor_user_id, details)| AccountEvent {
            id,
            at: at.and_utc(),
            action,
            actor_user_id,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Page::from_rows(items, limit, |e: &AccountEvent| e.id))
}
