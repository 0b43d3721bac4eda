//! Check-in that closes by itself soon: which open check-ins reach their automatic close
//! (`DANGKE_CHECKIN_AUTO_CLOSE` after the end) within [`LEAD_MINUTES`], and where each
//! stands — who has no record yet. Read by the alert to the org's channels
//! ([`super::alerts::checkin_closing_soon`]) and by the WeChat reminder to the org's role
//! holders ([`super::reminders`]).

use chrono::{NaiveDateTime, TimeZone};
use diesel::prelude::*;

use super::tomorrow;
use crate::activities::access::{OccurrenceCtx, find_activity};
use crate::activities::model::{AttendanceCounts, CheckinState, Occurrence};
use crate::db::DbConnection;
use crate::db::schema::activity_occurrences as ao;
use crate::error::ApiResult;
use crate::state::AppState;

/// How long before the automatic close of check-in its organizers are told (at most the
/// whole delay after the end).
pub const LEAD_MINUTES: i64 = 30;

/// The automatic close's delay after the end, when it is on.
pub fn delay(state: &AppState) -> Option<chrono::Duration> {
    state
        .config
        .checkin_auto_close
        .map(|d| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
}

/// Open, not cancelled occurrences (of `orgs`, or of all orgs) whose check-in closes by
/// itself (`after` their end) within `(now, now + lead]`.
pub fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: chrono::Duration,
    orgs: Option<&[i64]>,
) -> ApiResult<Vec<Occurrence>> {
    let lead = chrono::Duration::minutes(LEAD_MINUTES).min(after);
    let (Some(lo), Some(hi)) = (
        now.checked_sub_signed(after),
        now.checked_sub_signed(after - lead),
    ) else {
        return Ok(Vec::new());
    };
    let mut q = ao::table
        .filter(ao::checkin_state.eq(CheckinState::Open.as_str()))
        .filter(ao::status.ne("cancelled"))
        .filter(ao::ends_at.gt(lo))
        .filter(ao::ends_at.le(hi))
        .order(ao::id.asc())
        .select(Occurrence::as_select())
        .into_boxed();
    if let Some(orgs) = orgs {
        q = q.filter(ao::org_id.eq_any(orgs.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// Where a check-in about to close stands.
pub struct Closing {
    pub ctx: OccurrenceCtx,
    pub counts: AttendanceCounts,
    /// Invitees with no record yet, by name (in the attendance list's order).
    pub unrecorded: Vec<String>,
    pub closes_at: NaiveDateTime,
    /// The start and the close in the meeting's zone: `2026-11-27 09:00`, `13:00`.
    pub start_local: String,
    pub closes_local: String,
    /// The close with its date, in the meeting's zone: `2026-11-27 13:00`.
    pub closes_local_full: String,
}

impl Closing {
    /// Invitees recorded present, late or by proxy.
    pub fn attended(&self) -> i64 {
        self.counts.present + self.counts.late + self.counts.proxy
    }
}

/// The state of `occ`'s check-in, which closes `after` its end.
pub fn snapshot(
    conn: &mut DbConnection,
    occ: Occurrence,
    after: chrono::Duration,
) -> ApiResult<Closing> {
    let activity = find_activity(conn, occ.activity_id)?;
    let org = crate::orgs::tree::find(conn, occ.org_id)?;
    let tz = tomorrow::zone_of(&activity);
    let closes_at = occ.ends_at + after;
    let start_local = tz
        .from_utc_datetime(&occ.starts_at)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let closes = tz.from_utc_datetime(&closes_at);
    let ctx = OccurrenceCtx {
        occ,
        activity,
        org,
        manage: true,
    };
    let list = crate::activities::attendance::list(conn, &ctx)?;
    let unrecorded = list
        .items
        .iter()
        .filter(|i| i.status.is_none())
        .map(|i| i.name.clone())
        .collect();
    Ok(Closing {
        ctx,
        counts: list.counts,
        unrecorded,
        closes_at,
        start_local,
        closes_local: closes.format("%H:%M").to_string(),
        closes_local_full: closes.format("%Y-%m-%d %H:%M").to_string(),
    })
}
