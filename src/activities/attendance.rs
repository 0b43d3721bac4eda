//! Attendance records: writing one (check-in, proxy, leave, close, correction, make-up),
//! the organizer's list with counts, proxy attendance and audited corrections, and the
//! activity's own credit, which the ledger books once per occurrence and member for
//! present, late and proxy once check-in is closed.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::invitees;
use super::model::{
    AttendanceCounts, AttendanceItem, AttendanceList, AttendanceRow, AttendanceSource,
    AttendanceStatus, CheckinState, LeaveStatus,
};
use crate::changes::{self, Change};
use crate::db::DbConnection;
use crate::db::schema::{
    activity_attendance as aa, activity_leaves, activity_occurrences as ao, credit_ledger, users,
};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::progress::ledger::{self, Credit, SOURCE_ACTIVITY};

/// One record to write.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub status: AttendanceStatus,
    pub source: AttendanceSource,
    pub checked_in_at: Option<NaiveDateTime>,
    pub distance_m: Option<i32>,
    pub reason: Option<&'a str>,
    pub recorded_by: Option<i64>,
}

/// The record of one member, if any.
pub fn find(
    conn: &mut DbConnection,
    occurrence_id: i64,
    user_id: i64,
) -> ApiResult<Option<AttendanceRow>> {
    Ok(aa::table
        .find((occurrence_id, user_id))
        .select(AttendanceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts the record unless one exists; true when inserted.
pub fn insert_new(
    conn: &mut DbConnection,
    occurrence_id: i64,
    user_id: i64,
    r: &Record,
    at: NaiveDateTime,
) -> ApiResult<bool> {
    let row = (
        aa::occurrence_id.eq(occurrence_id),
        aa::user_id.eq(user_id),
        aa::status.eq(r.status.as_str()),
        aa::source.eq(r.source.as_str()),
        aa::checked_in_at.eq(r.checked_in_at),
        aa::distance_m.eq(r.distance_m),
        aa::reason.eq(r.reason),
        aa::recorded_by.eq(r.recorded_by),
        aa::recorded_at.eq(at),
    );
    Ok(crate::insert_ignore!(conn, aa::table, vec![row])? == 1)
}

/// Writes the record, replacing any earlier one.
pub fn set(
    conn: &mut DbConnection,
    occurrence_id: i64,
    user_id: i64,
    r: &Record,
    at: NaiveDateTime,
) -> ApiResult<()> {
    if insert_new(conn, occurrence_id, user_id, r, at)? {
        return Ok(());
    }
    diesel::update(aa::table.find((occurrence_id, user_id)))
        .set((
            aa::status.eq(r.status.as_str()),
            aa::source.eq(r.source.as_str()),
            aa::checked_in_at.eq(r.checked_in_at),
            aa::distance_m.eq(r.distance_m),
            aa::reason.eq(r.reason),
            aa::recorded_by.eq(r.recorded_by),
            aa::recorded_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks the occurrence held (attendance is recorded) if it is not yet.
pub fn mark_held(conn: &mut DbConnection, occurrence_id: i64, at: NaiveDateTime) -> ApiResult<()> {
    diesel::update(ao::table.find(occurrence_id).filter(ao::held_at.is_null()))
        .set(ao::held_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Held means at least one attendee is recorded present, late or by proxy: marks the
/// occurrence held from `at` when one is (and it was not yet), and not held when none is
/// (a close with nobody there, or the only attendee corrected to absent).
pub fn refresh_held(
    conn: &mut DbConnection,
    occurrence_id: i64,
    at: NaiveDateTime,
) -> ApiResult<()> {
    let attended = [
        AttendanceStatus::Present,
        AttendanceStatus::Late,
        AttendanceStatus::Proxy,
    ]
    .map(|s| s.as_str());
    let any: bool = diesel::select(diesel::dsl::exists(
        aa::table
            .filter(aa::occurrence_id.eq(occurrence_id))
            .filter(aa::status.eq_any(attended)),
    ))
    .get_result(conn)?;
    if any {
        return mark_held(conn, occurrence_id, at);
    }
    diesel::update(
        ao::table
            .find(occurrence_id)
            .filter(ao::held_at.is_not_null()),
    )
    .set(ao::held_at.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

/// Books the activity's credit for members who attended (no-op without credit).
pub fn grant_credit(
    conn: &mut DbConnection,
    ctx: &OccurrenceCtx,
    user_ids: &[i64],
) -> ApiResult<()> {
    if ctx.activity.credit_centi <= 0 {
        return Ok(());
    }
    let tz = ctx.activity.tz();
    for user_id in user_ids {
        let credit = Credit {
            user_id: *user_id,
            source_kind: SOURCE_ACTIVITY,
            source_id: ctx.occ.id,
            credit_centi: ctx.activity.credit_centi,
            org_id: Some(ctx.activity.org_id),
            earned_at: ctx.occ.starts_at.and_utc(),
        };
        ledger::grant(conn, &credit, tz)?;
    }
    Ok(())
}

/// Takes back the activity's credit of one member (a correction away from attended).
fn revoke_credit(conn: &mut DbConnection, occurrence_id: i64, user_id: i64) -> ApiResult<()> {
    diesel::delete(
        credit_ledger::table
            .filter(credit_ledger::user_id.eq(user_id))
            .filter(credit_ledger::source_kind.eq(SOURCE_ACTIVITY))
            .filter(credit_ledger::source_id.eq(occurrence_id)),
    )
    .execute(conn)?;
    Ok(())
}

fn require_invited(conn: &mut DbConnection, ctx: &OccurrenceCtx, user_id: i64) -> ApiResult<()> {
    if invitees::contains(conn, &ctx.occ, &ctx.activity, &ctx.org, user_id)? {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::NotInvited))
    }
}

fn reason_of(reason: &str) -> ApiResult<&str> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(ApiError::invalid_field(
            "reason",
            "invalid_length",
            Text::new(
                "请填写原因（不超过 500 字）",
                "Give a reason (at most 500 characters)",
            ),
        ));
    }
    Ok(r)
}

/// Records a member as attending by proxy, before check-in closes. Returns the earlier
/// status (for the audit record).
pub fn record_proxy(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &mut OccurrenceCtx,
    by: i64,
    user_id: i64,
    reason: &str,
) -> ApiResult<Option<AttendanceStatus>> {
    let reason = reason_of(reason)?;
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    if ctx.occ.checkin() == CheckinState::Closed {
        return Err(ApiError::new(ErrorCode::AttendanceFinal));
    }
    require_invited(conn, ctx, user_id)?;
    let stamp = now.naive_utc();
    invitees::freeze_if_due(conn, &mut ctx.occ, &ctx.activity, &ctx.org, stamp, false)?;
    let before = find(conn, ctx.occ.id, user_id)?
        .map(|r| AttendanceStatus::from_db(&r.status))
        .transpose()?;
    if matches!(
        before,
        Some(AttendanceStatus::Present | AttendanceStatus::Late)
    ) {
        return Err(ApiError::new(ErrorCode::Conflict)
            .with_detail("该党员已自行签到", "The member has checked in themself"));
    }
    let record = Record {
        status: AttendanceStatus::Proxy,
        source: AttendanceSource::Proxy,
        checked_in_at: Some(stamp),
        distance_m: None,
        reason: Some(reason),
        recorded_by: Some(by),
    };
    set(conn, ctx.occ.id, user_id, &record, stamp)?;
    mark_held(conn, ctx.occ.id, stamp)?;
    record_change(conn, stamp, ctx.occ.id, &[user_id])?;
    Ok(before)
}

/// Corrects one member's record (any status but `made_up`), with a reason. After close,
/// the activity credit follows the correction. Returns the earlier status.
pub fn correct(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    ctx: &mut OccurrenceCtx,
    by: i64,
    user_id: i64,
    status: AttendanceStatus,
    reason: &str,
) -> ApiResult<Option<AttendanceStatus>> {
    let reason = reason_of(reason)?;
    if status == AttendanceStatus::MadeUp {
        return Err(ApiError::invalid_field(
            "status",
            "invalid_value",
            Text::new(
                "“已补学”只能由学完关联课程得到",
                "made_up comes only from completing the linked course",
            ),
        ));
    }
    if ctx.occ.is_cancelled() {
        return Err(ApiError::new(ErrorCode::OccurrenceCancelled));
    }
    require_invited(conn, ctx, user_id)?;
    let stamp = now.naive_utc();
    invitees::freeze_if_due(conn, &mut ctx.occ, &ctx.activity, &ctx.org, stamp, false)?;
    let earlier = find(conn, ctx.occ.id, user_id)?;
    let before = earlier
        .as_ref()
        .map(|r| AttendanceStatus::from_db(&r.status))
        .transpose()?;
    let record = Record {
        status,
        source: AttendanceSource::Correction,
        checked_in_at: earlier.and_then(|r| r.checked_in_at),
        distance_m: None,
        reason: Some(reason),
        recorded_by: Some(by),
    };
    set(conn, ctx.occ.id, user_id, &record, stamp)?;
    refresh_held(conn, ctx.occ.id, stamp)?;
    if ctx.occ.checkin() == CheckinState::Closed {
        if status.attended() {
            grant_credit(conn, ctx, &[user_id])?;
        } else {
            revoke_credit(conn, ctx.occ.id, user_id)?;
        }
    }
    record_change(conn, stamp, ctx.occ.id, &[user_id])?;
    Ok(before)
}

/// Records that the attendance of `users` at `occurrence_id` changed — or, with no users,
/// that the occurrence itself did (held, closed) — for statistics and pushes.
pub fn record_change(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    occurrence_id: i64,
    users: &[i64],
) -> ApiResult<()> {
    let mut list: Vec<Change> = users
        .iter()
        .map(|user_id| Change::Attended {
            occurrence_id,
            user_id: *user_id,
        })
        .collect();
    if list.is_empty() {
        list.push(Change::OccurrenceChanged { occurrence_id });
    }
    super::live::append(conn, at, occurrence_id, users)?;
    changes::record(conn, at, &list)
}

/// Every invitee (and anyone with a record) with their attendance, by name.
pub fn list(conn: &mut DbConnection, ctx: &OccurrenceCtx) -> ApiResult<AttendanceList> {
    let invited = invitees::of(conn, &ctx.occ, &ctx.activity, &ctx.org)?;
    let rows: HashMap<i64, AttendanceRow> = aa::table
        .filter(aa::occurrence_id.eq(ctx.occ.id))
        .select(AttendanceRow::as_select())
        .load::<AttendanceRow>(conn)?
        .into_iter()
        .map(|r| (r.user_id, r))
        .collect();
    let leaves: HashMap<i64, String> = activity_leaves::table
        .filter(activity_leaves::occurrence_id.eq(ctx.occ.id))
        .select((activity_leaves::user_id, activity_leaves::status))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let ids: BTreeSet<i64> = invited
        .iter()
        .copied()
        .chain(rows.keys().copied())
        .collect();
    let ids: Vec<i64> = ids.into_iter().collect();
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut counts = AttendanceCounts {
        invited: invited.len() as i64,
        ..AttendanceCounts::default()
    };
    let mut items = Vec::with_capacity(ids.len());
    for user_id in ids {
        let row = rows.get(&user_id);
        let status = row
            .map(|r| AttendanceStatus::from_db(&r.status))
            .transpose()?;
        match status {
            Some(AttendanceStatus::Present) => counts.present += 1,
            Some(AttendanceStatus::Late) => counts.late += 1,
            Some(AttendanceStatus::Leave) => counts.leave += 1,
            Some(AttendanceStatus::Absent) => counts.absent += 1,
            Some(AttendanceStatus::Proxy) => counts.proxy += 1,
            Some(AttendanceStatus::MadeUp) => counts.made_up += 1,
            None => counts.unrecorded += 1,
        }
        items.push(AttendanceItem {
            user_id,
            name: names.get(&user_id).cloned().unwrap_or_default(),
            status,
            source: row
                .map(|r| AttendanceSource::from_db(&r.source))
                .transpose()?,
            checked_in_at: row.and_then(|r| r.checked_in_at).map(|t| t.and_utc()),
            reason: row.and_then(|r| r.reason.clone()),
            leave: leaves
                .get(&user_id)
                .map(|s| LeaveStatus::from_db(s))
                .transpose()?,
        });
    }
    items.sort_by(|a, b| {
        crate::collate::cmp_names(&a.name, &b.name).then(a.user_id.cmp(&b.user_id))
    });
    Ok(AttendanceList {
        occurrence_id: ctx.occ.id,
        checkin: ctx.occ.checkin(),
        counts,
        items,
        guests: super::guests::list(conn, ctx.occ.id)?,
    })
}
