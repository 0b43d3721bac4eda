//! Leave: an invited member asks before the start, with a reason; an organizer approves
//! or rejects it until check-in closes — and a request still pending then, afterwards
//! (audited like every decision); the member reads the outcome. Approved leave is
//! recorded as `leave` (neither attended nor absent); a member who comes after all and
//! checks in is present.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::attendance::{self, Record};
use super::invitees;
use super::model::{
    AttendanceSource, AttendanceStatus, CheckinState, LeaveRow, LeaveStatus, LeaveView,
};
use crate::db::DbConnection;
use crate::db::schema::{activity_attendance as aa, activity_leaves as al};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};

fn text(field: &str, value: &str, max: usize, required: bool) -> ApiResult<Option<String>> {
    let v = value.trim();
    if (required && v.is_empty()) || v.chars().count() > max {
        return Err(ApiError::invalid_field(
            field,
            "invalid_length",
            Text::new(
                format!("请填写（不超过 {max} 字）"),
                format!("Required, at most {max} characters"),
            ),
        ));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<LeaveRow> {
    Ok(al::table
        .find(id)
        .select(LeaveRow::as_select())
        .first(conn)?)
}

/// The caller's leave request for an occurrence, if any.
pub fn mine(
    conn: &mut DbConnection,
    occurrence_id: i64,
    user_id: i64,
) -> ApiResult<Option<LeaveRow>> {
    Ok(al::table
        .filter(al::occurrence_id.eq(occurrence_id))
        .filter(al::user_id.eq(user_id))
        .select(LeaveRow::as_select())
        .first(conn)
        .optional()?)
}

/// Asks for leave. A pending or approved request is returned as it is (`false`: nothing
/// new); after a rejection the member may ask again.
pub fn ask(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    user_id: i64,
    reason: &str,
) -> ApiResult<(LeaveView, bool)> {
    let reason = text("reason", reason, 500, true)?.unwrap_or_default();
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    if !invitees::contains(conn, &ctx.occ, &ctx.activity, &ctx.org, user_id)? {
        return Err(ApiError::new(ErrorCode::NotInvited));
    }
    let stamp = now.naive_utc();
    if let Some(row) = mine(conn, ctx.occ.id, user_id)?
        && row.status != LeaveStatus::Rejected.as_str()
    {
        return Ok((LeaveView::from_row(&row)?, false));
    }
    if stamp >= ctx.occ.starts_at || ctx.occ.checkin() == CheckinState::Closed {
        return Err(ApiError::new(ErrorCode::LeaveTooLate));
    }
    if let Some(row) = attendance::find(conn, ctx.occ.id, user_id)?
        && AttendanceStatus::parse(&row.status).is_some_and(AttendanceStatus::attended)
    {
        return Err(ApiError::new(ErrorCode::Conflict)
            .with_detail("你已签到，无需请假", "You have checked in already"));
    }
    let existing = mine(conn, ctx.occ.id, user_id)?;
    let id = match existing {
        Some(row) => {
            diesel::update(al::table.find(row.id))
                .set((
                    al::reason.eq(&reason),
                    al::status.eq(LeaveStatus::Pending.as_str()),
                    al::requested_at.eq(stamp),
                    al::decided_by.eq(None::<i64>),
                    al::decided_at.eq(None::<chrono::NaiveDateTime>),
                    al::decision_note.eq(None::<String>),
                ))
                .execute(conn)?;
            row.id
        }
        None => diesel::insert_into(al::table)
            .values((
                al::occurrence_id.eq(ctx.occ.id),
                al::user_id.eq(user_id),
                al::reason.eq(&reason),
                al::status.eq(LeaveStatus::Pending.as_str()),
                al::requested_at.eq(stamp),
            ))
            .returning(al::id)
            .get_result(conn)?,
    };
    Ok((LeaveView::from_row(&find(conn, id)?)?, true))
}

/// Approves or rejects a request: any request until check-in closes, a pending one after
/// (see [`decide_after_close`]). Returns the updated request.
pub fn decide(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    leave: &LeaveRow,
    by: i64,
    approve: bool,
    note: Option<&str>,
) -> ApiResult<LeaveView> {
    let note = match note {
        Some(n) => text("note", n, 500, false)?,
        None => None,
    };
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    let closed = ctx.occ.checkin() == CheckinState::Closed;
    if closed {
        return decide_after_close(conn, now, ctx, leave, by, approve, note.as_deref());
    }
    let stamp = now.naive_utc();
    let status = if approve {
        LeaveStatus::Approved
    } else {
        LeaveStatus::Rejected
    };
    diesel::update(al::table.find(leave.id))
        .set((
            al::status.eq(status.as_str()),
            al::decided_by.eq(by),
            al::decided_at.eq(stamp),
            al::decision_note.eq(&note),
        ))
        .execute(conn)?;
    let existing = attendance::find(conn, ctx.occ.id, leave.user_id)?;
    let attended = existing
        .as_ref()
        .and_then(|r| AttendanceStatus::parse(&r.status))
        .is_some_and(|s| s.attended());
    if approve && !attended {
        record_leave(conn, ctx.occ.id, leave, by, stamp)?;
    } else if !approve {
        diesel::delete(
            aa::table
                .find((ctx.occ.id, leave.user_id))
                .filter(aa::source.eq(AttendanceSource::Leave.as_str())),
        )
        .execute(conn)?;
    }
    attendance::record_change(conn, now.naive_utc(), ctx.occ.id, &[leave.user_id])?;
    LeaveView::from_row(&find(conn, leave.id)?)
}

/// Decides a request still pending when check-in closed (close recorded the member absent,
/// or made up, or they came after all). Approving turns `absent` into `leave` — an absent
/// member had no activity credit, so nothing is taken back — and leaves any other record
/// as it is; rejecting keeps the record. A request decided already stays decided (409
/// `attendance_final`): after close, changes go through corrections.
fn decide_after_close(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &OccurrenceCtx,
    leave: &LeaveRow,
    by: i64,
    approve: bool,
    note: Option<&str>,
) -> ApiResult<LeaveView> {
    if leave.status != LeaveStatus::Pending.as_str() {
        return Err(ApiError::new(ErrorCode::AttendanceFinal));
    }
    let stamp = now.naive_utc();
    let status = if approve {
        LeaveStatus::Approved
    } else {
        LeaveStatus::Rejected
    };
    let n = diesel::update(
        al::table
            .find(leave.id)
            .filter(al::status.eq(LeaveStatus::Pending.as_str())),
    )
    .set((
        al::status.eq(status.as_str()),
        al::decided_by.eq(by),
        al::decided_at.eq(stamp),
        al::decision_note.eq(note),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(ApiError::new(ErrorCode::AttendanceFinal));
    }
    let absent = attendance::find(conn, ctx.occ.id, leave.user_id)?
        .is_some_and(|r| r.status == AttendanceStatus::Absent.as_str());
    if approve && absent {
        record_leave(conn, ctx.occ.id, leave, by, stamp)?;
    }
    attendance::record_change(conn, stamp, ctx.occ.id, &[leave.user_id])?;
    LeaveView::from_row(&find(conn, leave.id)?)
}

/// Every request of an occurrence, oldest first.
pub fn list(conn: &mut DbConnection, occurrence_id: i64) -> ApiResult<Vec<LeaveView>> {
    al::table
        .filter(al::occurrence_id.eq(occurrence_id))
        .order(al::id.asc())
        .select(LeaveRow::as_select())
        .load::<LeaveRow>(conn)?
        .iter()
        .map(LeaveView::from_row)
        .collect()
}

/// Records an approved leave as the member's attendance, with its reason.
fn record_leave(
    conn: &mut DbConnection,
    occurrence_id: i64,
    leave: &LeaveRow,
    by: i64,
    stamp: chrono::NaiveDateTime,
) -> ApiResult<()> {
    let record = Record {
        status: AttendanceStatus::Leave,
        source: AttendanceSource::Leave,
        checked_in_at: None,
        distance_m: None,
        reason: Some(&leave.reason),
        recorded_by: Some(by),
    };
    attendance::set(conn, occurrence_id, leave.user_id, &record, stamp)
}
