//! The per-meeting record a branch files as its 三会一课 record
//! (`GET /v1/occurrences/{id}/record`): what the meeting was (title, kind, time and place in
//! the org's zone, agenda), who was there and who recorded it, leave with reasons and
//! decisions, proxies with reasons, the guests (列席, not counted), the counts, the minutes
//! and their photos. This file
//! gathers it; [`super::record_xlsx`] and [`super::record_pdf`] render it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::access::OccurrenceCtx;
use super::attendance;
use super::guests;
use super::minutes;
use super::model::{AttendanceCounts, AttendanceSource, AttendanceStatus, LeaveRow, LeaveStatus};
use crate::db::DbConnection;
use crate::db::schema::{activity_attendance as aa, activity_leaves as al, users};
use crate::error::ApiResult;
use crate::media::Media;

/// Everything the record shows, times already in the org's zone.
#[derive(Debug, Clone)]
pub struct MeetingRecord {
    pub title: String,
    /// The kind's Chinese name (主题党日, …).
    pub kind: String,
    pub org_name: String,
    pub starts_local: NaiveDateTime,
    pub ends_local: NaiveDateTime,
    /// The IANA zone the times are in.
    pub time_zone: String,
    pub place: String,
    pub agenda: String,
    /// 已取消 when cancelled, 已召开 when held, else 未召开.
    pub status: &'static str,
    pub counts: AttendanceCounts,
    pub attendance: Vec<AttendanceLine>,
    pub leaves: Vec<LeaveLine>,
    /// Guests (列席人员): recorded by name and org, never among the counts.
    pub guests: Vec<GuestLine>,
    pub minutes: Option<MinutesLine>,
    /// The minutes photos, in the minutes' order (bytes filled in by the handler).
    pub photos: Vec<Photo>,
}

/// One invitee's line.
#[derive(Debug, Clone)]
pub struct AttendanceLine {
    pub name: String,
    /// 出席, 迟到, 代签, 请假, 缺席, 补学 or 未记录.
    pub status: &'static str,
    pub checked_in_local: Option<NaiveDateTime>,
    /// How it was recorded and by whom: 本人签到, 代签（王芳）, 更正（王芳）, ….
    pub recorded_by: String,
    /// The proxy's or correction's reason.
    pub reason: String,
}

/// One leave request.
#[derive(Debug, Clone)]
pub struct LeaveLine {
    pub name: String,
    pub reason: String,
    /// 待审批, 已批准 or 未批准.
    pub status: &'static str,
    pub decided_by: String,
    pub decided_local: Option<NaiveDateTime>,
    pub note: String,
}

/// One guest.
#[derive(Debug, Clone)]
pub struct GuestLine {
    pub name: String,
    /// The guest's org (a tree org's name or the free text given).
    pub org: String,
    pub recorded_by: String,
    pub recorded_local: NaiveDateTime,
}

/// The minutes' text and who wrote them.
#[derive(Debug, Clone)]
pub struct MinutesLine {
    pub text: String,
    pub recorded_by: String,
    pub recorded_local: Option<NaiveDateTime>,
}

/// A minutes photo: its media row and, once read from the store, its bytes.
#[derive(Debug, Clone)]
pub struct Photo {
    pub media: Media,
    pub bytes: Vec<u8>,
}

/// The Chinese name of an attendance status (none recorded: 未记录).
pub fn status_zh(status: Option<AttendanceStatus>) -> &'static str {
    match status {
        Some(AttendanceStatus::Present) => "出席",
        Some(AttendanceStatus::Late) => "迟到",
        Some(AttendanceStatus::Proxy) => "代签",
        Some(AttendanceStatus::Leave) => "请假",
        Some(AttendanceStatus::Absent) => "缺席",
        Some(AttendanceStatus::MadeUp) => "补学",
        None => "未记录",
    }
}

/// The Chinese name of a leave request's state.
pub fn leave_zh(status: LeaveStatus) -> &'static str {
    match status {
        LeaveStatus::Pending => "待审批",
        LeaveStatus::Approved => "已批准",
        LeaveStatus::Rejected => "未批准",
    }
}

/// How a record came about, with who recorded it when that was someone else.
pub fn recorded_by_zh(source: Option<AttendanceSource>, by: Option<&str>) -> String {
    let with = |what: &str| match by {
        Some(name) if !name.is_empty() => format!("{what}（{name}）"),
        _ => what.to_string(),
    };
    match source {
        Some(AttendanceSource::Checkin) => "本人签到".into(),
        Some(AttendanceSource::Proxy) => with("代签"),
        Some(AttendanceSource::Leave) => with("请假批准"),
        Some(AttendanceSource::Close) => "签到结束时未签到".into(),
        Some(AttendanceSource::Correction) => with("更正"),
        Some(AttendanceSource::Makeup) => "课程补学".into(),
        None => String::new(),
    }
}

/// Gathers the record (photos without their bytes: the caller reads them from the store).
pub fn gather(conn: &mut DbConnection, ctx: &OccurrenceCtx) -> ApiResult<MeetingRecord> {
    let tz = ctx.activity.tz();
    let local = |t: NaiveDateTime| t.and_utc().with_timezone(&tz).naive_local();
    let local_utc = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let list = attendance::list(conn, ctx)?;
    let recorders: HashMap<i64, Option<i64>> = aa::table
        .filter(aa::occurrence_id.eq(ctx.occ.id))
        .select((aa::user_id, aa::recorded_by))
        .load::<(i64, Option<i64>)>(conn)?
        .into_iter()
        .collect();
    let leaves: Vec<LeaveRow> = al::table
        .filter(al::occurrence_id.eq(ctx.occ.id))
        .order(al::id.asc())
        .select(LeaveRow::as_select())
        .load(conn)?;
    let minutes = minutes::view(conn, ctx.occ.id)?;
    let guests = guests::list(conn, ctx.occ.id)?;
    let mut ids: Vec<i64> = recorders.values().flatten().copied().collect();
    ids.extend(leaves.iter().map(|l| l.user_id));
    ids.extend(leaves.iter().filter_map(|l| l.decided_by));
    ids.extend(minutes.as_ref().and_then(|m| m.recorded_by));
    ids.extend(guests.iter().map(|g| g.recorded_by));
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let name = |id: Option<i64>| id.and_then(|id| names.get(&id).cloned());
    let attendance = list
        .items
        .iter()
        .map(|item| {
            let by = recorders.get(&item.user_id).copied().flatten();
            let by = name(by);
            AttendanceLine {
                name: item.name.clone(),
                status: status_zh(item.status),
                checked_in_local: item.checked_in_at.map(local_utc),
                recorded_by: recorded_by_zh(item.source, by.as_deref()),
                reason: item.reason.clone().unwrap_or_default(),
            }
        })
        .collect();
    let leaves = leaves
        .iter()
        .map(|l| {
            Ok(LeaveLine {
                name: name(Some(l.user_id)).unwrap_or_default(),
                reason: l.reason.clone(),
                status: leave_zh(LeaveStatus::from_db(&l.status)?),
                decided_by: name(l.decided_by).unwrap_or_default(),
                decided_local: l.decided_at.map(local),
                note: l.decision_note.clone().unwrap_or_default(),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let guests = guests
        .into_iter()
        .map(|g| GuestLine {
            recorded_by: name(Some(g.recorded_by)).unwrap_or_default(),
            recorded_local: local_utc(g.recorded_at),
            name: g.name,
            org: g.org_name.unwrap_or_default(),
        })
        .collect();
    let photo_ids = minutes
        .as_ref()
        .map(|m| m.photo_media_ids.clone())
        .unwrap_or_default();
    let found = crate::media::find_many(conn, &photo_ids)?;
    let photos = photo_ids
        .iter()
        .filter_map(|id| found.iter().find(|m| m.id == *id))
        .map(|m| Photo {
            media: m.clone(),
            bytes: Vec::new(),
        })
        .collect();
    let details = ctx.activity.details();
    let status = if ctx.occ.is_cancelled() {
        "已取消"
    } else if ctx.occ.held_at.is_some() {
        "已召开"
    } else {
        "未召开"
    };
    Ok(MeetingRecord {
        title: ctx.activity.title.clone(),
        kind: super::kind::kind_zh(&ctx.activity.kind).to_string(),
        org_name: ctx.org.name.clone(),
        starts_local: local(ctx.occ.starts_at),
        ends_local: local(ctx.occ.ends_at),
        time_zone: tz.name().to_string(),
        place: ctx.occ.place.clone().or(details.place).unwrap_or_default(),
        agenda: details.agenda,
        status,
        counts: list.counts,
        attendance,
        leaves,
        guests,
        minutes: minutes.map(|m| MinutesLine {
            text: m.text,
            recorded_by: name(m.recorded_by).unwrap_or_default(),
            recorded_local: m.recorded_at.map(local_utc),
        }),
        photos,
    })
}

/// The record's time line: `2026-11-27 10:00–12:00` (the end's date too when it differs).
pub fn when(r: &MeetingRecord) -> String {
    let start = r.starts_local.format("%Y-%m-%d %H:%M");
    if r.starts_local.date() == r.ends_local.date() {
        format!("{start}–{}", r.ends_local.format("%H:%M"))
    } else {
        format!("{start} – {}", r.ends_local.format("%Y-%m-%d %H:%M"))
    }
}

/// A local time as the record prints it.
pub fn stamp(t: Option<NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The counts as (label, value), in the record's order.
pub fn count_lines(c: &AttendanceCounts) -> [(&'static str, i64); 8] {
    [
        ("应到", c.invited),
        ("出席", c.present),
        ("迟到", c.late),
        ("代签", c.proxy),
        ("请假", c.leave),
        ("缺席", c.absent),
        ("补学", c.made_up),
        ("未记录", c.unrecorded),
    ]
}
