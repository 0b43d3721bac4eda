//! A version per org, stored in the database: the statistics consumer bumps it for every org
//! whose figures a change touched and for its ancestors, in the transaction that applies the
//! change, and cached responses are keyed on it ([`super::cache`]). A check-in in one village
//! therefore leaves every other township's cached dashboard valid, and a lost kv entry or a
//! kv outage can only cost a recomputation, never serve stale figures.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::stats_versions as sv;
use crate::error::ApiResult;

/// Orgs per statement.
const CHUNK: usize = 500;

/// Increments the version of every org in `org_ids`.
pub fn bump(conn: &mut DbConnection, org_ids: &BTreeSet<i64>) -> ApiResult<()> {
    let ids: Vec<i64> = org_ids.iter().copied().collect();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| (sv::org_id.eq(*id), sv::version.eq(0_i64)))
            .collect();
        crate::insert_ignore!(conn, sv::table, &rows)?;
        diesel::update(sv::table.filter(sv::org_id.eq_any(chunk)))
            .set(sv::version.eq(sv::version + 1))
            .execute(conn)?;
    }
    Ok(())
}

/// The current version of `org_id` (0 before its first change).
pub fn of(conn: &mut DbConnection, org_id: i64) -> ApiResult<i64> {
    Ok(sv::table
        .find(org_id)
        .select(sv::version)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}
