//! Rows and API types of progress sync, lesson progress and the credit ledger.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{lesson_progress, study_events};
use crate::text_enum;

/// Most events accepted in one sync request.
pub const MAX_BATCH: usize = 200;

text_enum! {
    /// `play` for audio/video positions, `read` for reading time of articles and PDFs.
    pub enum EventKind {
        Play = "play",
        Read = "read",
    }
}

/// One study event recorded on the phone.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Generated on the phone (a UUID); the same id is never applied twice.
    pub client_event_id: String,
    pub lesson_id: i64,
    pub kind: EventKind,
    /// Start of the played span (media position, seconds), or of the reading span.
    pub from_s: i32,
    /// End of the span (exclusive).
    pub to_s: i32,
    /// Wall-clock time the span started and ended on the phone.
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
}

/// `POST /v1/progress/sync`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// 1 to 200 events, in any order.
    pub events: Vec<EventInput>,
}

text_enum! {
    /// What happened to an event.
    pub enum EventStatus {
        Accepted = "accepted",
        Rejected = "rejected",
        /// The id was used before with different content.
        Conflict = "conflict",
    }
}

/// The result for one event. A replayed event returns its original result with `replayed`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventResult {
    pub client_event_id: String,
    pub status: EventStatus,
    /// Why it was rejected: `end_before_start`, `beyond_duration`, `too_fast`,
    /// `in_future`, `too_old`, `lesson_not_visible`, `kind_mismatch`, `invalid_span`,
    /// `span_too_long` (its wall-clock span is longer than the server allows, 4 h by
    /// default), `overlaps_other_lesson` (its wall-clock span overlaps, by more than 2 s, an
    /// event already accepted for this account on another lesson: one lesson at a time,
    /// the first accepted wins); for `conflict`, `id_reused_with_other_content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub replayed: bool,
}

/// A lesson's progress after the sync.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LessonProgressView {
    pub lesson_id: i64,
    /// Share of the lesson's seconds covered (0–1) for media; 0 for reading lessons.
    pub coverage: f64,
    pub covered_s: i32,
    pub read_s: i32,
    pub resume_s: i32,
    pub complete: bool,
}

/// Credit granted by this sync.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditView {
    pub lesson_id: i64,
    pub credit_centi: i32,
    pub year: i32,
}

/// `POST /v1/progress/sync` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncResponse {
    pub results: Vec<EventResult>,
    pub lessons: Vec<LessonProgressView>,
    pub credited: Vec<CreditView>,
    /// Courses completed by this sync.
    pub courses_completed: Vec<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lesson_progress)]
pub struct ProgressRow {
    pub user_id: i64,
    pub lesson_id: i64,
    pub covered: String,
    pub covered_s: i32,
    pub read_s: i32,
    pub resume_s: i32,
    pub last_event_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl ProgressRow {
    /// Whether accepted study is recorded (a row that rejected events alone created has
    /// none): what "started" means to the member's view and to the course funnel.
    pub fn has_study(&self) -> bool {
        self.completed_at.is_some() || self.covered_s > 0 || self.read_s > 0 || self.resume_s > 0
    }
}

/// A study event row. On PostgreSQL sync writes a batch of them as one JSON parameter
/// ([`crate::db::sql::insert_json_rows`] with [`NewStudyEvent::COLUMNS`]).
#[derive(Debug, Clone, Insertable, Serialize)]
#[diesel(table_name = study_events)]
pub struct NewStudyEvent {
    pub user_id: i64,
    pub client_event_id: String,
    pub lesson_id: i64,
    pub kind: String,
    pub from_s: i32,
    pub to_s: i32,
    #[serde(serialize_with = "crate::db::sql::serialize_timestamp")]
    pub started_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::sql::serialize_timestamp")]
    pub ended_at: NaiveDateTime,
    pub content_hash: String,
    pub outcome: String,
    #[serde(serialize_with = "crate::db::sql::serialize_timestamp")]
    pub received_at: NaiveDateTime,
}

impl NewStudyEvent {
    /// The columns of a study event row, as [`crate::db::sql::insert_json_rows`] takes them.
    pub const COLUMNS: &[crate::db::sql::JsonColumn] = &{
        use crate::db::sql::JsonColumn as C;
        [
            C {
                name: "user_id",
                pg_type: "bigint",
            },
            C {
                name: "client_event_id",
                pg_type: "text",
            },
            C {
                name: "lesson_id",
                pg_type: "bigint",
            },
            C {
                name: "kind",
                pg_type: "text",
            },
            C {
                name: "from_s",
                pg_type: "integer",
            },
            C {
                name: "to_s",
                pg_type: "integer",
            },
            C {
                name: "started_at",
                pg_type: "timestamp",
            },
            C {
                name: "ended_at",
                pg_type: "timestamp",
            },
            C {
                name: "content_hash",
                pg_type: "text",
            },
            C {
                name: "outcome",
                pg_type: "text",
            },
            C {
                name: "received_at",
                pg_type: "timestamp",
            },
        ]
    };
}

/// `GET /v1/me/study`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyYear {
    pub year: i32,
    /// `member`, `cadre` or `activist`: which quota applies.
    pub quota_category: String,
    pub quota_centi: i64,
    pub earned_centi: i64,
    pub remaining_centi: i64,
    /// Earned at least the quota pro-rated to today (for the current year), or the whole
    /// quota (past years).
    pub on_track: bool,
    /// What should have been earned by today at an even pace.
    pub expected_by_now_centi: i64,
    /// Earned per month, January first.
    pub by_month: Vec<i64>,
    pub open_required_courses: Vec<OpenRequiredCourse>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenRequiredCourse {
    pub course_id: i64,
    pub title: String,
    pub due_date: Option<NaiveDate>,
    pub lessons_total: i32,
    pub lessons_done: i32,
}

/// What a passed quiz attempt completed, in sync's terms (the attempt's answer carries it).
#[derive(Debug, Clone, Default)]
pub struct QuizCompletion {
    /// The attempt completed the lesson (its coverage or reading time was already met).
    pub lesson_completed: bool,
    /// The course the attempt completed, if it was the course's last open lesson.
    pub course_completed: Option<i64>,
    /// The lesson's credit granted by the attempt (none when it was credited before).
    pub credit: Option<CreditView>,
}
