//! Check-in nobody closes is closed by the background runner a while after the end
//! (`DANGKE_CHECKIN_AUTO_CLOSE`, default two hours; `off`: never), through the same close an
//! organizer's `POST /v1/occurrences/{id}/checkin/close` runs ([`super::session::close`]):
//! invitees without a record become absent (or made up), those who attended get the credit,
//! the changes are recorded, the live board is told, and the audit log says
//! `checkin_closed` by the system (no user). The close is a conditional update of the
//! check-in state, so two instances running the pass at once close each occurrence once.
//!
//! Only check-in that was opened is closed: an occurrence whose check-in was never opened
//! has no session to close (it still counts from its start, see [`super::start`], and its
//! organizer can record attendance and close it by hand).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::access::{OccurrenceCtx, find_activity, find_occurrence};
use super::model::CheckinState;
use super::session::{self, CloseSummary};
use crate::audit::{self, Actor, Target};
use crate::db::DbConnection;
use crate::db::schema::activity_occurrences as ao;
use crate::error::ApiResult;
use crate::state::AppState;

/// Occurrences closed per transaction.
const CHUNK: i64 = 50;

/// Closes the open check-in of at most [`CHUNK`] occurrences that ended at least `after`
/// before `now`. Returns what each close did (those another instance closed first are
/// `already_closed` and were not audited again).
pub fn close_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    after: std::time::Duration,
) -> ApiResult<Vec<CloseSummary>> {
    let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
    let Some(cutoff) = now.naive_utc().checked_sub_signed(after) else {
        return Ok(Vec::new());
    };
    let due: Vec<i64> = ao::table
        .filter(ao::checkin_state.eq(CheckinState::Open.as_str()))
        .filter(ao::status.ne("cancelled"))
        .filter(ao::ends_at.le(cutoff))
        .order(ao::ends_at.asc())
        .select(ao::id)
        .limit(CHUNK)
        .load(conn)?;
    let mut out = Vec::with_capacity(due.len());
    for id in due {
        let occ = find_occurrence(conn, id)?;
        let activity = find_activity(conn, occ.activity_id)?;
        let org = crate::orgs::tree::find(conn, occ.org_id)?;
        let mut ctx = OccurrenceCtx {
            occ,
            activity,
            org,
            manage: true,
        };
        let summary = session::close(conn, now, &mut ctx)?;
        if !summary.already_closed {
            audit::record(
                conn,
                now.naive_utc(),
                &Actor::system(),
                "checkin_closed",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                &summary,
            )?;
        }
        out.push(summary);
    }
    Ok(out)
}

/// One pass: closes every due check-in (in chunks) and announces each close to the live
/// boards. Returns how many this pass closed. Nothing when auto-close is off.
pub async fn run_once(state: &AppState) -> ApiResult<usize> {
    let Some(after) = state.config.checkin_auto_close else {
        return Ok(0);
    };
    let mut closed = 0;
    loop {
        let now = state.clock.now();
        let done = state.db.write(move |c| close_due(c, now, after)).await?;
        let fresh: Vec<i64> = done
            .iter()
            .filter(|s| !s.already_closed)
            .map(|s| s.occurrence_id)
            .collect();
        for id in &fresh {
            super::live::announce(state, *id).await;
        }
        closed += fresh.len();
        if (done.len() as i64) < CHUNK || fresh.is_empty() {
            return Ok(closed);
        }
    }
}

/// Runs [`run_once`] every `every` (zero, or auto-close off: never).
pub fn in_background(state: actix_web::web::Data<AppState>, every: std::time::Duration) {
    if state.config.checkin_auto_close.is_none() {
        return;
    }
    crate::clock::run_every(every, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(0) => {}
                Ok(closed) => tracing::info!(closed, "check-in closed automatically"),
                Err(e) => tracing::warn!(error = %e, "closing check-in automatically failed"),
            }
        }
    });
}
