//! The audit log: who did what to which object, when, from where. Every organizer action,
//! every login (failed or not), password change and revocation is recorded here, in the same
//! transaction as the change it describes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::schema::audit_log;
use crate::error::ApiResult;

/// Who acted: a user (or nobody, for anonymous attempts) from an address.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn user(user_id: i64, ip: Option<String>) -> Actor {
        Actor {
            user_id: Some(user_id),
            ip,
        }
    }

    pub fn system() -> Actor {
        Actor::default()
    }
}

/// What was acted on: a kind and an id (`user`/`12`, `org`/`3`, `phone`/`13807310001`).
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    /// The org the action happened in, for scoping the log to a subtree.
    pub org_id: Option<i64>,
}

impl Target {
    pub fn new(kind: &'static str, id: impl ToString) -> Target {
        Target {
            kind,
            id: id.to_string(),
            org_id: None,
        }
    }

    pub fn in_org(mut self, org_id: i64) -> Target {
        self.org_id = Some(org_id);
        self
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditRow<'a> {
    at: NaiveDateTime,
    actor_user_id: Option<i64>,
    action: &'a str,
    target_type: &'a str,
    target_id: &'a str,
    org_id: Option<i64>,
    ip: Option<&'a str>,
    details: String,
}

/// Records one action. `details` is any serializable value, stored as JSON text.
pub fn record(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    actor: &Actor,
    action: &str,
    target: &Target,
    details: impl Serialize,
) -> ApiResult<()> {
    let details = serde_json::to_string(&details).unwrap_or_else(|_| "{}".into());
    diesel::insert_into(audit_log::table)
        .values(NewAuditRow {
            at,
            actor_user_id: actor.user_id,
            action,
            target_type: target.kind,
            target_id: &target.id,
            org_id: target.org_id,
            ip: actor.ip.as_deref(),
            details,
        })
        .execute(conn)?;
    Ok(())
}
