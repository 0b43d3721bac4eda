//! Rows and API types of courses, lessons, assignments and quizzes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{course_assignments, courses, lessons, quiz_attempts};
use crate::http::text::{Body, HttpUrl, Note, Title};
use crate::text_enum;

text_enum! {
    /// `online_class` (a full online party class) or `mini_class` (a recorded 5–15 minute
    /// mini party class).
    pub enum CourseKind {
        OnlineClass = "online_class",
        MiniClass = "mini_class",
    }
}

text_enum! {
    /// `draft` -> `published` -> `archived` (archived courses can be published again).
    pub enum CourseStatus {
        Draft = "draft",
        Published = "published",
        Archived = "archived",
    }
}

text_enum! {
    pub enum LessonKind {
        Video = "video",
        Audio = "audio",
        Article = "article",
        Pdf = "pdf",
    }
}

impl LessonKind {
    /// Media lessons complete by coverage; reading lessons by reading time.
    pub fn is_media(self) -> bool {
        matches!(self, LessonKind::Video | LessonKind::Audio)
    }
}

text_enum! {
    pub enum QuestionKind {
        Single = "single",
        Multiple = "multiple",
        TrueFalse = "true_false",
    }
}

text_enum! {
    /// When a member's graded attempts show the right options: once she has passed or has
    /// no attempt left (`after_pass_or_last_attempt`, the default), or `never`. A failed
    /// attempt with attempts remaining only says which questions were wrong.
    pub enum RevealAnswers {
        AfterPassOrLastAttempt = "after_pass_or_last_attempt",
        Never = "never",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = courses)]
pub struct Course {
    pub id: i64,
    pub owner_org_id: i64,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub cover_media_id: Option<i64>,
    pub cover_url: Option<String>,
    pub credit_centi: i32,
    pub tags: String,
    pub status: String,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = lessons)]
pub struct Lesson {
    pub id: i64,
    pub course_id: i64,
    pub position: i32,
    pub kind: String,
    pub title: String,
    pub media_id: Option<i64>,
    pub external_url: Option<String>,
    pub duration_s: Option<i32>,
    pub body: Option<String>,
    pub min_coverage_permille: i32,
    pub min_reading_s: Option<i32>,
    pub credit_centi: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = course_assignments)]
pub struct Assignment {
    pub id: i64,
    pub course_id: i64,
    pub org_id: i64,
    pub required: bool,
    pub due_date: Option<NaiveDate>,
    pub assigned_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quiz_attempts)]
pub struct QuizAttempt {
    pub id: i64,
    pub lesson_id: i64,
    pub user_id: i64,
    pub attempt_no: i32,
    pub answers: String,
    pub score_pct: i32,
    pub passed: bool,
    pub submitted_at: NaiveDateTime,
}

// --- requests ----------------------------------------------------------------------------

/// `POST /v1/courses`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCourseRequest {
    pub owner_org_id: i64,
    pub kind: CourseKind,
    pub title: Title,
    #[serde(default)]
    pub summary: Note,
    /// An uploaded image (`422 not_an_image` for another kind of media).
    #[serde(default)]
    pub cover_media_id: Option<i64>,
    /// An external (CDN) cover image URL, instead of an uploaded one.
    #[serde(default)]
    pub cover_url: Option<HttpUrl>,
    /// Total credit in hundredths of a credit hour, split evenly over the lessons.
    pub credit_centi: i32,
    #[serde(default)]
    pub tags: Vec<Title>,
}

/// `PATCH /v1/courses/{id}`: present fields change. Credit can change only in draft.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCourseRequest {
    #[serde(default)]
    pub title: Option<Title>,
    #[serde(default)]
    pub summary: Option<Note>,
    /// An uploaded image (`422 not_an_image` for another kind of media); `null` removes it.
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub cover_media_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub cover_url: Option<Option<HttpUrl>>,
    #[serde(default)]
    pub credit_centi: Option<i32>,
    #[serde(default)]
    pub tags: Option<Vec<Title>>,
}

/// `POST /v1/courses/{id}/lessons`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLessonRequest {
    pub kind: LessonKind,
    pub title: Title,
    /// Uploaded media (video/audio/pdf).
    #[serde(default)]
    pub media_id: Option<i64>,
    /// External media (a CDN URL), instead of an upload.
    #[serde(default)]
    pub external_url: Option<HttpUrl>,
    /// Seconds; taken from the media when it was read from the file.
    #[serde(default)]
    pub duration_s: Option<i32>,
    /// Article body (HTML; sanitized).
    #[serde(default)]
    pub body: Option<Body>,
    /// Share of unique seconds to cover for completion (0.5–1.0, default 0.9).
    #[serde(default)]
    pub min_coverage: Option<f64>,
    /// Minimum reading time for articles and PDFs, seconds.
    #[serde(default)]
    pub min_reading_s: Option<i32>,
}

/// `PATCH /v1/lessons/{id}`: corrections (allowed on published courses).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLessonRequest {
    #[serde(default)]
    pub title: Option<Title>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub media_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::http::patch::double_option")]
    pub external_url: Option<Option<HttpUrl>>,
    #[serde(default)]
    pub duration_s: Option<i32>,
    #[serde(default)]
    pub body: Option<Body>,
    #[serde(default)]
    pub min_coverage: Option<f64>,
    #[serde(default)]
    pub min_reading_s: Option<i32>,
}

/// `POST /v1/courses/{id}/assignments`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// Orgs to publish to; each applies to its whole subtree.
    pub org_ids: Vec<i64>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
}

// --- responses ---------------------------------------------------------------------------

/// A course as organizers manage it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseView {
    pub id: i64,
    pub owner_org_id: i64,
    pub kind: CourseKind,
    pub title: String,
    pub summary: String,
    /// The uploaded cover's lasting signed image URL (the same string while the cover
    /// stays), or the external cover URL.
    pub cover_url: Option<String>,
    pub cover_media_id: Option<i64>,
    pub credit_centi: i32,
    pub tags: Vec<String>,
    pub status: CourseStatus,
    pub lessons: Vec<LessonView>,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// My state in a lesson (real once progress tracking records it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct LessonState {
    /// Share of the lesson's seconds covered (0–1).
    pub coverage: f64,
    /// Seconds read (articles, PDFs).
    pub read_s: i32,
    pub complete: bool,
    /// Where to resume playing, seconds.
    pub resume_s: i32,
    pub quiz_passed: bool,
}

/// A lesson.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LessonView {
    pub id: i64,
    pub course_id: i64,
    pub position: i32,
    pub kind: LessonKind,
    pub title: String,
    pub media_id: Option<i64>,
    /// Where to play or open it: a short-lived signed URL for uploaded media, or the external URL.
    pub url: Option<String>,
    pub url_expires_at: Option<DateTime<Utc>>,
    pub duration_s: Option<i32>,
    /// Article body (sanitized HTML); only in single-lesson reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub min_coverage: f64,
    pub min_reading_s: Option<i32>,
    pub credit_centi: i32,
    pub has_quiz: bool,
    /// The caller's state (members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_state: Option<LessonState>,
}

/// An assignment of a course to an org.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentView {
    pub course_id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub required: bool,
    pub due_date: Option<NaiveDate>,
    pub assigned_at: DateTime<Utc>,
}

text_enum! {
    /// Where I am in a course.
    pub enum MyCourseStatus {
        Todo = "todo",
        InProgress = "in_progress",
        Done = "done",
    }
}

/// A course in my list (small: phones on 2G).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyCourseItem {
    pub course_id: i64,
    pub kind: CourseKind,
    pub title: String,
    /// A lasting URL: it does not change with the clock, so neither does the list's `ETag`.
    pub cover_url: Option<String>,
    pub credit_centi: i32,
    pub required: bool,
    pub due_date: Option<NaiveDate>,
    pub lessons_total: i32,
    pub lessons_done: i32,
    pub status: MyCourseStatus,
}

/// My part in a course I study.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyCourse {
    pub required: bool,
    pub due_date: Option<NaiveDate>,
    pub status: MyCourseStatus,
    pub lessons_done: i32,
}

/// `GET /v1/courses/{id}`: the course, my part in it (when I study it; lessons then carry
/// `my_state`), and whether I may manage it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseDetail {
    #[serde(flatten)]
    pub course: CourseView,
    pub my: Option<MyCourse>,
    pub can_manage: bool,
}
