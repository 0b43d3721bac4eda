//! The check-in session of an occurrence as the organizer runs it: open it (at most two
//! hours before the start), show the rotating code, close it. Closing makes attendance
//! final: invitees without a record become `absent` (or `made_up` if they already studied
//! the linked course), and those who attended get the activity's credit.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::attendance::{self, Record};
use super::checkin_code::{self, CodeKey};
use super::invitees;
use super::makeup;
use super::model::{AttendanceSource, AttendanceStatus, CheckinCodeView, CheckinState};
use crate::db::DbConnection;
use crate::db::schema::{activity_attendance as aa, activity_occurrences as ao};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// How early before the start check-in may open.
pub const OPEN_EARLY_MINUTES: i64 = 120;

/// What codes are derived from: the step and the app key.
#[derive(Clone)]
pub struct CodeSettings {
    pub step_secs: u64,
    pub app_key: Vec<u8>,
}

impl CodeSettings {
    /// The key of one occurrence's codes.
    pub fn key(&self, occurrence_secret: &str) -> CodeKey {
        CodeKey::derive(&self.app_key, occurrence_secret)
    }
}

/// The label of the check-in key, derived from the JWT secret through the token keys
/// (an HMAC under a key only the server holds).
const APP_KEY_LABEL: &str = "dangke check-in code key v1";

/// The code settings of this process.
pub fn code_settings(state: &crate::state::AppState) -> CodeSettings {
    CodeSettings {
        step_secs: state.config.checkin_code_step.as_secs().max(1),
        app_key: state.tokens.successor_of(APP_KEY_LABEL).into_bytes(),
    }
}

/// Opens check-in. Opening an open session changes nothing; a closed one stays closed.
pub fn open(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &mut OccurrenceCtx,
) -> ApiResult<bool> {
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    match ctx.occ.checkin() {
        CheckinState::Open => return Ok(false),
        CheckinState::Closed => return Err(ApiError::new(ErrorCode::AttendanceFinal)),
        CheckinState::NotOpen => {}
    }
    let stamp = now.naive_utc();
    if stamp < ctx.occ.starts_at - Duration::minutes(OPEN_EARLY_MINUTES) {
        return Err(ApiError::new(ErrorCode::CheckinNotOpen).with_detail(
            "签到最早在活动开始前 2 小时开启",
            "Check-in opens at most 2 hours before the start",
        ));
    }
    diesel::update(
        ao::table
            .find(ctx.occ.id)
            .filter(ao::checkin_state.eq(CheckinState::NotOpen.as_str())),
    )
    .set((
        ao::checkin_state.eq(CheckinState::Open.as_str()),
        ao::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    ctx.occ.checkin_state = CheckinState::Open.as_str().to_string();
    invitees::freeze_if_due(conn, &mut ctx.occ, &ctx.activity, &ctx.org, stamp, false)?;
    Ok(true)
}

/// The code to show now (check-in must be open).
pub fn current_code(
    ctx: &OccurrenceCtx,
    settings: &CodeSettings,
    now: DateTime<Utc>,
) -> ApiResult<CheckinCodeView> {
    if ctx.occ.checkin() != CheckinState::Open {
        return Err(ApiError::new(ErrorCode::CheckinNotOpen));
    }
    let t = now.timestamp();
    let code = checkin_code::current(
        &settings.key(&ctx.occ.checkin_secret),
        t,
        settings.step_secs,
    );
    let until = checkin_code::valid_until(t, settings.step_secs);
    Ok(CheckinCodeView {
        occurrence_id: ctx.occ.id,
        qr_payload: checkin_code::qr_payload(ctx.occ.id, &code),
        code,
        valid_until: DateTime::from_timestamp(until, 0).unwrap_or(now),
        step_s: settings.step_secs,
    })
}

/// What closing did, for the response and the audit record.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct CloseSummary {
    pub occurrence_id: i64,
    /// Invitees marked absent at close.
    pub marked_absent: usize,
    /// Of those, already made up by the linked course.
    pub made_up: usize,
    /// Members who got the activity's credit.
    pub credited: usize,
    /// It was closed before (nothing changed).
    pub already_closed: bool,
}

/// Closes check-in (at or after the start). Closing again changes nothing.
pub fn close(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &mut OccurrenceCtx,
) -> ApiResult<CloseSummary> {
    let mut summary = CloseSummary {
        occurrence_id: ctx.occ.id,
        ..CloseSummary::default()
    };
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    if ctx.occ.checkin() == CheckinState::Closed {
        summary.already_closed = true;
        return Ok(summary);
    }
    let stamp = now.naive_utc();
    if stamp < ctx.occ.starts_at {
        return Err(ApiError::new(ErrorCode::Conflict).with_detail(
            "活动开始后才能结束签到",
            "Check-in can be closed once the activity has started",
        ));
    }
    let n = diesel::update(
        ao::table
            .find(ctx.occ.id)
            .filter(ao::checkin_state.ne(CheckinState::Closed.as_str())),
    )
    .set((
        ao::checkin_state.eq(CheckinState::Closed.as_str()),
        ao::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    if n == 0 {
        summary.already_closed = true;
        return Ok(summary);
    }
    ctx.occ.checkin_state = CheckinState::Closed.as_str().to_string();
    invitees::freeze_if_due(conn, &mut ctx.occ, &ctx.activity, &ctx.org, stamp, true)?;
    let invited = invitees::of(conn, &ctx.occ, &ctx.activity, &ctx.org)?;
    let recorded: Vec<(i64, String)> = aa::table
        .filter(aa::occurrence_id.eq(ctx.occ.id))
        .select((aa::user_id, aa::status))
        .load(conn)?;
    let absent: Vec<i64> = invited
        .iter()
        .copied()
        .filter(|u| !recorded.iter().any(|(r, _)| r == u))
        .collect();
    let record = Record {
        status: AttendanceStatus::Absent,
        source: AttendanceSource::Close,
        checked_in_at: None,
        distance_m: None,
        reason: None,
        recorded_by: None,
    };
    for user_id in &absent {
        attendance::insert_new(conn, ctx.occ.id, *user_id, &record, stamp)?;
    }
    summary.marked_absent = absent.len();
    let window = (
        ctx.occ.starts_at,
        ctx.occ.ends_at,
        ctx.activity.makeup_window_days,
    );
    summary.made_up =
        makeup::at_close(conn, ctx.occ.id, ctx.activity.course_id, window, &absent)?.len();
    let attended: Vec<i64> = recorded
        .iter()
        .filter(|(_, s)| AttendanceStatus::parse(s).is_some_and(AttendanceStatus::attended))
        .map(|(u, _)| *u)
        .collect();
    attendance::grant_credit(conn, ctx, &attended)?;
    summary.credited = if ctx.activity.credit_centi > 0 {
        attended.len()
    } else {
        0
    };
    attendance::refresh_held(conn, ctx.occ.id, stamp)?;
    attendance::record_change(conn, stamp, ctx.occ.id, &invited)?;
    // The occurrence itself changed too (its check-in closed): alerts listen for that.
    attendance::record_change(conn, stamp, ctx.occ.id, &[])?;
    Ok(summary)
}
