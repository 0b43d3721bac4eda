//! Occurrences count from their start even if nobody touches them: a background task
//! freezes the invitee list of every occurrence whose start has passed (the same freeze the
//! first check-in, proxy or close after the start does), which records "occurrence
//! started" in the change queue, so a meeting is counted from its start though nobody
//! touches it: in attendance (its invitees, and whoever was recorded, also before the start)
//! and, once someone was recorded there, as held in compliance.
//!
//! Before check-in closes, an invitee without a record is not absent yet (she may still
//! come late, or be recorded by proxy): statistics count her as invited, neither present nor
//! absent. The close makes her absent (or made up) — the organizer's, or the automatic one
//! at end + `DANGKE_CHECKIN_AUTO_CLOSE` ([`super::auto_close`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::access::{find_activity, find_occurrence};
use super::invitees;
use crate::db::schema::activity_occurrences as ao;
use crate::db::{Db, DbConnection};
use crate::error::ApiResult;

/// Occurrences started per transaction.
const CHUNK: i64 = 100;

/// Freezes the invitees of at most [`CHUNK`] occurrences that started by `now` and are not
/// frozen or cancelled. Returns how many.
pub fn start_due(conn: &mut DbConnection, now: NaiveDateTime) -> ApiResult<usize> {
    let due: Vec<i64> = ao::table
        .filter(ao::invitees_frozen_at.is_null())
        .filter(ao::starts_at.le(now))
        .filter(ao::status.ne("cancelled"))
        .order(ao::starts_at.asc())
        .select(ao::id)
        .limit(CHUNK)
        .load(conn)?;
    for id in &due {
        let mut occ = find_occurrence(conn, *id)?;
        let activity = find_activity(conn, occ.activity_id)?;
        let org = crate::orgs::tree::find(conn, occ.org_id)?;
        invitees::freeze_if_due(conn, &mut occ, &activity, &org, now, false)?;
    }
    Ok(due.len())
}

/// Starts due occurrences every `every` (zero: never), in chunks until none is left.
pub fn in_background(
    db: Db,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    every: std::time::Duration,
) {
    crate::clock::run_every(every, move || {
        let (db, clock) = (db.clone(), clock.clone());
        async move {
            loop {
                let now = clock.now_naive();
                match db.write(move |c| start_due(c, now)).await {
                    Ok(n) if n as i64 == CHUNK => continue,
                    Ok(0) => {}
                    Ok(started) => tracing::debug!(started, "occurrences started"),
                    Err(e) => tracing::warn!(error = %e, "starting occurrences failed"),
                }
                break;
            }
        }
    });
}
