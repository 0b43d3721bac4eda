//! Rows and API types of activities, occurrences, attendance and leave, and their text
//! enums.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::kind::ActivityKind;
use crate::db::schema::{activities, activity_attendance, activity_leaves, activity_occurrences};
use crate::http::text::{Body, Code, HttpUrl, Note, Title};
use crate::text_enum;

text_enum! {
    /// Who is invited: the members of the org's subtree, or its committee role holders.
    pub enum Audience {
        Members = "members",
        Committee = "committee",
    }
}

impl Audience {
    /// The default audience of a kind: committee meetings invite the committee.
    pub fn of(kind: ActivityKind) -> Audience {
        match kind {
            ActivityKind::BranchCommitteeMeeting => Audience::Committee,
            _ => Audience::Members,
        }
    }
}

text_enum! {
    /// Whether an occurrence takes place.
    pub enum OccurrenceStatus {
        Scheduled = "scheduled",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Where check-in of an occurrence stands.
    pub enum CheckinState {
        NotOpen = "not_open",
        Open = "open",
        Closed = "closed",
    }
}

text_enum! {
    /// A member's attendance at an occurrence.
    pub enum AttendanceStatus {
        Present = "present",
        Late = "late",
        /// Approved leave: neither attended nor absent.
        Leave = "leave",
        Absent = "absent",
        /// Recorded by the organizer for a member without a phone.
        Proxy = "proxy",
        /// Absent, then completed the linked course within the make-up window.
        MadeUp = "made_up",
    }
}

impl AttendanceStatus {
    /// Whether the member was there (what earns the activity's own credit).
    pub fn attended(self) -> bool {
        matches!(
            self,
            AttendanceStatus::Present | AttendanceStatus::Late | AttendanceStatus::Proxy
        )
    }
}

text_enum! {
    /// How an attendance record came about.
    pub enum AttendanceSource {
        Checkin = "checkin",
        Proxy = "proxy",
        Leave = "leave",
        Close = "close",
        Correction = "correction",
        Makeup = "makeup",
    }
}

text_enum! {
    /// Where a leave request stands.
    pub enum LeaveStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}

/// An activity: a one-off or a recurring series.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activities)]
pub struct Activity {
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub title: String,
    /// [`Details`] as JSON.
    pub details: String,
    pub course_id: Option<i64>,
    pub time_zone: String,
    pub dtstart_local: NaiveDateTime,
    pub duration_min: i32,
    pub rrule: Option<String>,
    pub credit_centi: i32,
    pub makeup_window_days: i32,
    pub materialized_until: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What an activity is about and where, kept together as JSON (nothing queries by it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    #[serde(default)]
    pub agenda: String,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub online_url: Option<String>,
}

impl Activity {
    /// The activity's zone (its TZID); Shanghai if the stored name is unknown.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    pub fn details(&self) -> Details {
        serde_json::from_str(&self.details).unwrap_or_default()
    }

    /// Who is invited, from the kind.
    pub fn audience(&self) -> Audience {
        ActivityKind::parse(&self.kind)
            .map(Audience::of)
            .unwrap_or(Audience::Members)
    }
}

/// One occurrence of an activity.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activity_occurrences)]
pub struct Occurrence {
    pub id: i64,
    pub activity_id: i64,
    pub org_id: i64,
    pub original_start: NaiveDateTime,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: String,
    pub is_exception: bool,
    pub place: Option<String>,
    pub cancel_reason: Option<String>,
    pub sequence: i32,
    pub checkin_state: String,
    pub checkin_secret: String,
    pub invitees_frozen_at: Option<NaiveDateTime>,
    pub held_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl Occurrence {
    pub fn is_cancelled(&self) -> bool {
        self.status == OccurrenceStatus::Cancelled.as_str()
    }

    pub fn checkin(&self) -> CheckinState {
        CheckinState::parse(&self.checkin_state).unwrap_or(CheckinState::NotOpen)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activity_attendance)]
pub struct AttendanceRow {
    pub occurrence_id: i64,
    pub user_id: i64,
    pub status: String,
    pub source: String,
    pub checked_in_at: Option<NaiveDateTime>,
    pub distance_m: Option<i32>,
    pub reason: Option<String>,
    pub recorded_by: Option<i64>,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activity_leaves)]
pub struct LeaveRow {
    pub id: i64,
    pub occurrence_id: i64,
    pub user_id: i64,
    pub reason: String,
    pub status: String,
    pub requested_at: NaiveDateTime,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_note: Option<String>,
}

/// Where check-in is allowed: a point and a radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// WGS-84 degrees (what phones report).
    pub latitude: f64,
    pub longitude: f64,
    /// Metres around the point (20–5000).
    pub radius_m: i32,
}

/// `POST /v1/orgs/{id}/activities`: a one-off (no `rrule`) or a series.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActivityRequest {
    pub kind: ActivityKind,
    pub title: Title,
    #[serde(default)]
    pub agenda: Option<Note>,
    #[serde(default)]
    pub place: Option<Title>,
    /// Check-in must happen inside this circle when given.
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub online_url: Option<HttpUrl>,
    /// A course (e.g. the recorded mini party class) studied for make-up.
    #[serde(default)]
    pub course_id: Option<i64>,
    /// Local wall time in the org's zone, without offset: `2027-01-01T09:00:00`.
    #[schema(value_type = String, example = "2027-01-01T09:00:00")]
    pub start_local: NaiveDateTime,
    #[schema(value_type = String, example = "2027-01-01T11:00:00")]
    pub end_local: NaiveDateTime,
    /// RFC 5545 RRULE without DTSTART, e.g. `FREQ=MONTHLY;BYMONTHDAY=1`,
    /// `FREQ=MONTHLY;BYDAY=-1FR`, `FREQ=MONTHLY;INTERVAL=3`.
    #[serde(default)]
    pub rrule: Option<Title>,
    /// Attendance credit (present, late, proxy), hundredths of a credit hour (0–1000).
    #[serde(default)]
    pub credit_centi: Option<i32>,
    /// Days after an occurrence in which completing the linked course makes an absence
    /// `made_up` (1–366; the server default when absent).
    #[serde(default)]
    pub makeup_window_days: Option<i32>,
}

/// `PATCH /v1/activities/{id}`: present fields change, `null` clears an optional one.
/// Occurrences already held or moved/cancelled on their own are never touched.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateActivityRequest {
    #[serde(default)]
    pub title: Option<Title>,
    #[serde(default)]
    pub agenda: Option<Note>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub place: Option<Option<Title>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub location: Option<Option<Location>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub online_url: Option<Option<HttpUrl>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub course_id: Option<Option<i64>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub start_local: Option<NaiveDateTime>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub end_local: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub rrule: Option<Option<Title>>,
    #[serde(default)]
    pub credit_centi: Option<i32>,
    #[serde(default)]
    pub makeup_window_days: Option<i32>,
}

/// An activity as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: i64,
    pub org_id: i64,
    pub kind: ActivityKind,
    pub title: String,
    pub agenda: String,
    pub place: Option<String>,
    pub location: Option<Location>,
    pub online_url: Option<String>,
    pub course_id: Option<i64>,
    pub audience: Audience,
    /// IANA zone of the local times (TZID).
    pub time_zone: String,
    #[schema(value_type = String)]
    pub start_local: NaiveDateTime,
    #[schema(value_type = String)]
    pub end_local: NaiveDateTime,
    pub rrule: Option<String>,
    pub credit_centi: i32,
    pub makeup_window_days: i32,
    /// The series was cancelled.
    pub ended: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An activity with its next occurrences.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityDetail {
    #[serde(flatten)]
    pub activity: ActivityView,
    /// Up to five coming occurrences.
    pub upcoming: Vec<OccurrenceView>,
}

/// An occurrence as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OccurrenceView {
    pub id: i64,
    pub activity_id: i64,
    pub org_id: i64,
    pub kind: ActivityKind,
    pub title: String,
    pub place: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The activity's zone, and the start and end as wall time there.
    pub time_zone: String,
    #[schema(value_type = String)]
    pub local_start: NaiveDateTime,
    #[schema(value_type = String)]
    pub local_end: NaiveDateTime,
    pub status: OccurrenceStatus,
    /// Moved or cancelled on its own.
    pub is_exception: bool,
    /// The start the series gave this occurrence (differs from `starts_at` once moved).
    pub original_start: DateTime<Utc>,
    pub cancel_reason: Option<String>,
    /// iCalendar SEQUENCE.
    pub sequence: i32,
    pub checkin: CheckinState,
    /// Attendance has been recorded.
    pub held: bool,
    pub has_minutes: bool,
}

/// My part in an occurrence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyAttendance {
    pub invited: bool,
    /// `null` while nothing is recorded (before check-in closes).
    pub status: Option<AttendanceStatus>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub leave: Option<LeaveView>,
}

/// An occurrence in my calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyOccurrence {
    #[serde(flatten)]
    pub occurrence: OccurrenceView,
    pub my: MyAttendance,
}

/// `GET /v1/me/activities`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyActivities {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub items: Vec<MyOccurrence>,
}

/// Minutes of a held occurrence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MinutesView {
    pub text: String,
    pub photo_media_ids: Vec<i64>,
    /// The photos with short-lived signed URLs, in `photo_media_ids` order: for the
    /// meeting's invitees and organizers; empty for anyone else who may read the occurrence.
    pub photos: Vec<MinutesPhoto>,
    pub recorded_by: Option<i64>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// A minutes photo an invitee may open: a signed URL (`/v1/media/{id}/content?exp=&sig=`)
/// that needs no `Authorization` header.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MinutesPhoto {
    pub media_id: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// `PUT /v1/occurrences/{id}/minutes`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinutesRequest {
    pub text: Body,
    /// Uploaded photos (media ids), at most 20.
    #[serde(default)]
    pub photo_media_ids: Vec<i64>,
}

/// Attendance counted by status.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AttendanceCounts {
    pub invited: i64,
    pub present: i64,
    pub late: i64,
    pub leave: i64,
    pub absent: i64,
    pub proxy: i64,
    pub made_up: i64,
    /// Invitees with nothing recorded yet (before close).
    pub unrecorded: i64,
}

/// An occurrence with what a member or organizer reads about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OccurrenceDetail {
    #[serde(flatten)]
    pub occurrence: OccurrenceView,
    pub agenda: String,
    pub online_url: Option<String>,
    pub course_id: Option<i64>,
    pub location: Option<Location>,
    pub credit_centi: i32,
    pub minutes: Option<MinutesView>,
    /// Guests (not invitees) recorded by an organizer; never counted as members.
    pub guests: Vec<super::guests::GuestView>,
    pub my: MyAttendance,
    /// The caller organizes it (may open check-in, record attendance, …).
    pub can_manage: bool,
    /// For organizers only.
    pub counts: Option<AttendanceCounts>,
}

/// `POST /v1/occurrences/{id}/move`: new local times in the activity's zone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveOccurrenceRequest {
    #[schema(value_type = String, example = "2027-03-03T09:00:00")]
    pub start_local: NaiveDateTime,
    #[schema(value_type = String, example = "2027-03-03T11:00:00")]
    pub end_local: NaiveDateTime,
    /// A different place for this occurrence only.
    #[serde(default)]
    pub place: Option<Title>,
}

/// `POST /v1/occurrences/{id}/cancel`, `POST /v1/activities/{id}/cancel`
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[serde(default)]
    pub reason: Option<Title>,
}

/// `GET /v1/occurrences/{id}/checkin/code`: what the organizer's screen shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckinCodeView {
    pub occurrence_id: i64,
    /// Six digits, rotating.
    pub code: String,
    /// The text to render as a QR code; scanning it gives the app the occurrence and code.
    pub qr_payload: String,
    /// Show the next code before this (the code is accepted until then).
    pub valid_until: DateTime<Utc>,
    pub step_s: u64,
}

/// `POST /v1/occurrences/{id}/checkin`: always for the caller themself.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    pub code: Code,
    /// Required when the activity has a location.
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// The outcome of a check-in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckinResult {
    pub occurrence_id: i64,
    pub status: AttendanceStatus,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The member had checked in already: nothing changed.
    pub already: bool,
}

/// `POST /v1/occurrences/{id}/proxy`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyRequest {
    pub user_id: i64,
    /// Why the member could not check in themself (no phone, working away, …).
    pub reason: Title,
}

/// `PUT /v1/occurrences/{id}/attendance/{user_id}`: an audited correction.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// Any status except `made_up` (which only the linked course gives).
    pub status: AttendanceStatus,
    pub reason: Title,
}

/// One invitee's attendance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceItem {
    pub user_id: i64,
    pub name: String,
    pub status: Option<AttendanceStatus>,
    pub source: Option<AttendanceSource>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub leave: Option<LeaveStatus>,
}

/// `GET /v1/occurrences/{id}/attendance`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceList {
    pub occurrence_id: i64,
    pub checkin: CheckinState,
    pub counts: AttendanceCounts,
    pub items: Vec<AttendanceItem>,
    /// Guests (not invitees), recorded by an organizer; never in `counts`.
    pub guests: Vec<super::guests::GuestView>,
}

/// `POST /v1/occurrences/{id}/leave`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveRequest {
    pub reason: Title,
}

/// `POST /v1/leaves/{id}/decision`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveDecisionRequest {
    pub approve: bool,
    #[serde(default)]
    pub note: Option<Title>,
}

/// A leave request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaveView {
    pub id: i64,
    pub occurrence_id: i64,
    pub user_id: i64,
    pub reason: String,
    pub status: LeaveStatus,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

impl LeaveView {
    pub fn from_row(r: &LeaveRow) -> Result<LeaveView, crate::error::ApiError> {
        Ok(LeaveView {
            id: r.id,
            occurrence_id: r.occurrence_id,
            user_id: r.user_id,
            reason: r.reason.clone(),
            status: LeaveStatus::from_db(&r.status)?,
            requested_at: r.requested_at.and_utc(),
            decided_at: r.decided_at.map(|t| t.and_utc()),
            decision_note: r.decision_note.clone(),
        })
    }
}

/// `POST /v1/me/calendar-token`: the subscription URL (shown once; rotate to replace it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarTokenView {
    pub token: String,
    /// Path of the feed, to put after the server's base URL.
    pub path: String,
    pub created_at: DateTime<Utc>,
}
