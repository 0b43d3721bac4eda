//! Authoring courses and lessons: create, edit, publish/archive, add/correct/remove lessons,
//! and the even split of a course's credit over its lessons.
//!
//! A published course's lessons can be corrected but not added or removed, so "who studied
//! what" stays meaningful (409 `course_locked`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    Course, CourseStatus, CreateCourseRequest, CreateLessonRequest, Lesson, LessonKind,
    UpdateCourseRequest, UpdateLessonRequest,
};
use crate::db::DbConnection;
use crate::db::schema::{courses, lessons};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};
use crate::http::text::Title;

/// Default share of unique seconds for completion, in thousandths.
pub const DEFAULT_MIN_COVERAGE_PERMILLE: i32 = 900;
/// Default minimum reading time of articles and PDFs, seconds.
pub const DEFAULT_MIN_READING_S: i32 = 60;

pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<Course> {
    courses::table
        .find(id)
        .select(Course::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub fn find_lesson(conn: &mut DbConnection, id: i64) -> ApiResult<Lesson> {
    lessons::table
        .find(id)
        .select(Lesson::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

pub fn lessons_of(conn: &mut DbConnection, course_id: i64) -> ApiResult<Vec<Lesson>> {
    Ok(lessons::table
        .filter(lessons::course_id.eq(course_id))
        .order(lessons::position.asc())
        .select(Lesson::as_select())
        .load(conn)?)
}

fn field(errors: &mut Vec<FieldError>, name: &str, code: &'static str, zh: &str, en: &str) {
    errors.push(FieldError::new(name, code, Text::new(zh, en)));
}

fn fail(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ValidationFailed).with_fields(errors))
    }
}

fn check_text(errors: &mut Vec<FieldError>, name: &str, value: &str, min: usize, max: usize) {
    let n = value.trim().chars().count();
    if n < min || n > max {
        field(
            errors,
            name,
            "invalid_length",
            &format!("长度应为 {min} 到 {max} 个字符"),
            &format!("Must be {min} to {max} characters"),
        );
    }
}

fn check_url(errors: &mut Vec<FieldError>, name: &str, url: Option<&str>) {
    if let Some(u) = url
        && (!(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 1000)
    {
        field(
            errors,
            name,
            "invalid_format",
            "应为 http(s) 地址",
            "Must be an http(s) URL",
        );
    }
}

fn check_credit(errors: &mut Vec<FieldError>, credit: i32) {
    if !(0..=10_000).contains(&credit) {
        field(
            errors,
            "credit_centi",
            "out_of_range",
            "学时应在 0 到 100 之间（单位：0.01 学时）",
            "Credit must be 0 to 100 hours (in hundredths)",
        );
    }
}

fn check_tags(errors: &mut Vec<FieldError>, tags: &[Title]) {
    if tags.len() > 10
        || tags
            .iter()
            .any(|t| t.trim().is_empty() || t.chars().count() > 20)
    {
        field(
            errors,
            "tags",
            "invalid_value",
            "最多 10 个标签，每个 1 到 20 个字符",
            "At most 10 tags of 1-20 characters",
        );
    }
}

fn tags_json(tags: &[Title]) -> String {
    serde_json::to_string(&tags.iter().map(|t| t.trim()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub fn create(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    by: i64,
    req: &CreateCourseRequest,
) -> ApiResult<Course> {
    let mut errors = Vec::new();
    check_text(&mut errors, "title", &req.title, 1, 200);
    check_text(&mut errors, "summary", &req.summary, 0, 2000);
    check_url(&mut errors, "cover_url", req.cover_url.as_deref());
    check_credit(&mut errors, req.credit_centi);
    check_tags(&mut errors, &req.tags);
    fail(errors)?;
    let id: i64 = diesel::insert_into(courses::table)
        .values((
            courses::owner_org_id.eq(req.owner_org_id),
            courses::kind.eq(req.kind.as_str()),
            courses::title.eq(req.title.trim()),
            courses::summary.eq(req.summary.trim()),
            courses::cover_media_id.eq(req.cover_media_id),
            courses::cover_url.eq(req.cover_url.as_deref()),
            courses::credit_centi.eq(req.credit_centi),
            courses::tags.eq(tags_json(&req.tags)),
            courses::status.eq(CourseStatus::Draft.as_str()),
            courses::created_by.eq(by),
            courses::created_at.eq(now),
            courses::updated_at.eq(now),
        ))
        .returning(courses::id)
        .get_result(conn)?;
    find(conn, id)
}

pub fn update(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    course: &Course,
    req: &UpdateCourseRequest,
) -> ApiResult<Course> {
    let mut errors = Vec::new();
    if let Some(t) = &req.title {
        check_text(&mut errors, "title", t, 1, 200);
    }
    if let Some(s) = &req.summary {
        check_text(&mut errors, "summary", s, 0, 2000);
    }
    if let Some(Some(u)) = &req.cover_url {
        check_url(&mut errors, "cover_url", Some(u));
    }
    if let Some(c) = req.credit_centi {
        check_credit(&mut errors, c);
    }
    if let Some(tags) = &req.tags {
        check_tags(&mut errors, tags);
    }
    fail(errors)?;
    let status = CourseStatus::from_db(&course.status)?;
    if req.credit_centi.is_some_and(|c| c != course.credit_centi) && status != CourseStatus::Draft {
        return Err(ApiError::new(ErrorCode::CourseLocked).with_detail(
            "已发布课程的学时不能修改",
            "The credit of a published course cannot change",
        ));
    }
    let target = courses::table.find(course.id);
    if let Some(t) = &req.title {
        diesel::update(target)
            .set(courses::title.eq(t.trim()))
            .execute(conn)?;
    }
    if let Some(s) = &req.summary {
        diesel::update(target)
            .set(courses::summary.eq(s.trim()))
            .execute(conn)?;
    }
    if let Some(m) = req.cover_media_id {
        diesel::update(target)
            .set(courses::cover_media_id.eq(m))
            .execute(conn)?;
    }
    if let Some(u) = &req.cover_url {
        diesel::update(target)
            .set(courses::cover_url.eq(u.as_deref()))
            .execute(conn)?;
    }
    if let Some(tags) = &req.tags {
        diesel::update(target)
            .set(courses::tags.eq(tags_json(tags)))
            .execute(conn)?;
    }
    if let Some(c) = req.credit_centi {
        diesel::update(target)
            .set(courses::credit_centi.eq(c))
            .execute(conn)?;
    }
    diesel::update(target)
        .set(courses::updated_at.eq(now))
        .execute(conn)?;
    rebalance_credit(conn, course.id)?;
    find(conn, course.id)
}

/// Publishes (a course needs at least one lesson) or archives a course.
pub fn set_status(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    course: &Course,
    to: CourseStatus,
) -> ApiResult<Course> {
    if to == CourseStatus::Published && lessons_of(conn, course.id)?.is_empty() {
        return Err(ApiError::invalid_field(
            "lessons",
            "required",
            Text::new(
                "至少需要一个课时才能发布",
                "A course needs at least one lesson to be published",
            ),
        ));
    }
    let target = courses::table.find(course.id);
    diesel::update(target)
        .set((courses::status.eq(to.as_str()), courses::updated_at.eq(now)))
        .execute(conn)?;
    match to {
        CourseStatus::Published if course.published_at.is_none() => {
            diesel::update(target)
                .set(courses::published_at.eq(now))
                .execute(conn)?;
        }
        CourseStatus::Archived => {
            diesel::update(target)
                .set(courses::archived_at.eq(now))
                .execute(conn)?;
        }
        _ => {}
    }
    find(conn, course.id)
}

fn ensure_draft(course: &Course) -> ApiResult<()> {
    if CourseStatus::from_db(&course.status)? == CourseStatus::Draft {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::CourseLocked))
    }
}

/// Sanitizes an article body to safe HTML.
pub fn sanitize(body: &str) -> String {
    ammonia::clean(body)
}

/// The duration, coverage and reading fields shared by create and update.
struct LessonFields {
    kind: LessonKind,
    media_id: Option<i64>,
    external_url: Option<String>,
    duration_s: Option<i32>,
    body: Option<String>,
    min_coverage: Option<f64>,
    min_reading_s: Option<i32>,
}

fn check_lesson(
    f: &LessonFields,
    media_duration: Option<i32>,
) -> ApiResult<(Option<i32>, i32, Option<i32>)> {
    let mut errors = Vec::new();
    check_url(&mut errors, "external_url", f.external_url.as_deref());
    let has_source = f.media_id.is_some() || f.external_url.is_some();
    if f.media_id.is_some() && f.external_url.is_some() {
        field(
            &mut errors,
            "external_url",
            "invalid_value",
            "上传的媒体和外部地址只能二选一",
            "Give either uploaded media or an external URL, not both",
        );
    }
    match f.kind {
        LessonKind::Video | LessonKind::Audio | LessonKind::Pdf if !has_source => {
            field(
                &mut errors,
                "media_id",
                "required",
                "请上传媒体或填写外部地址",
                "Upload media or give an external URL",
            );
        }
        LessonKind::Article if f.body.as_deref().is_none_or(|b| b.trim().is_empty()) => {
            field(
                &mut errors,
                "body",
                "required",
                "图文课时需要正文",
                "An article needs a body",
            );
        }
        _ => {}
    }
    let duration = f.duration_s.or(media_duration);
    if f.kind.is_media() && !duration.is_some_and(|d| (1..=36_000).contains(&d)) {
        field(
            &mut errors,
            "duration_s",
            "required",
            "音视频课时需要时长（1 秒到 10 小时）",
            "Audio and video lessons need a duration (1 s to 10 h)",
        );
    }
    let coverage = f.min_coverage.unwrap_or(0.9);
    if !(0.5..=1.0).contains(&coverage) {
        field(
            &mut errors,
            "min_coverage",
            "out_of_range",
            "完成比例应在 0.5 到 1 之间",
            "min_coverage must be between 0.5 and 1",
        );
    }
    let reading = match f.kind {
        LessonKind::Article | LessonKind::Pdf => {
            Some(f.min_reading_s.unwrap_or(DEFAULT_MIN_READING_S))
        }
        _ => None,
    };
    if reading.is_some_and(|r| !(0..=7200).contains(&r)) {
        field(
            &mut errors,
            "min_reading_s",
            "out_of_range",
            "最短阅读时间应在 0 到 7200 秒之间",
            "min_reading_s must be 0 to 7200",
        );
    }
    fail(errors)?;
    Ok((
        duration.filter(|_| f.kind.is_media()),
        (coverage * 1000.0).round() as i32,
        reading,
    ))
}

/// Adds a lesson at the end of a draft course.
pub fn add_lesson(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    course: &Course,
    req: &CreateLessonRequest,
    media_duration: Option<i32>,
) -> ApiResult<Lesson> {
    ensure_draft(course)?;
    let mut errors = Vec::new();
    check_text(&mut errors, "title", &req.title, 1, 200);
    fail(errors)?;
    let fields = LessonFields {
        kind: req.kind,
        media_id: req.media_id,
        external_url: req.external_url.clone().map(String::from),
        duration_s: req.duration_s,
        body: req.body.clone().map(String::from),
        min_coverage: req.min_coverage,
        min_reading_s: req.min_reading_s,
    };
    let (duration, coverage, reading) = check_lesson(&fields, media_duration)?;
    let next: Option<i32> = lessons::table
        .filter(lessons::course_id.eq(course.id))
        .select(diesel::dsl::max(lessons::position))
        .first(conn)?;
    let id: i64 = diesel::insert_into(lessons::table)
        .values((
            lessons::course_id.eq(course.id),
            lessons::position.eq(next.unwrap_or(0) + 1),
            lessons::kind.eq(req.kind.as_str()),
            lessons::title.eq(req.title.trim()),
            lessons::media_id.eq(req.media_id),
            lessons::external_url.eq(req.external_url.as_deref()),
            lessons::duration_s.eq(duration),
            lessons::body.eq(req.body.as_deref().map(sanitize)),
            lessons::min_coverage_permille.eq(coverage),
            lessons::min_reading_s.eq(reading),
            lessons::credit_centi.eq(0),
            lessons::created_at.eq(now),
            lessons::updated_at.eq(now),
        ))
        .returning(lessons::id)
        .get_result(conn)?;
    rebalance_credit(conn, course.id)?;
    find_lesson(conn, id)
}

/// Corrects a lesson (allowed on published courses).
pub fn update_lesson(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lesson: &Lesson,
    req: &UpdateLessonRequest,
    media_duration: Option<i32>,
) -> ApiResult<Lesson> {
    if let Some(t) = &req.title {
        let mut errors = Vec::new();
        check_text(&mut errors, "title", t, 1, 200);
        fail(errors)?;
    }
    let fields = LessonFields {
        kind: LessonKind::from_db(&lesson.kind)?,
        media_id: req.media_id.unwrap_or(lesson.media_id),
        external_url: req
            .external_url
            .clone()
            .map_or_else(|| lesson.external_url.clone(), |u| u.map(String::from)),
        duration_s: req.duration_s.or(if req.media_id.is_some() {
            None
        } else {
            lesson.duration_s
        }),
        body: req
            .body
            .clone()
            .map(String::from)
            .or_else(|| lesson.body.clone()),
        min_coverage: req
            .min_coverage
            .or(Some(f64::from(lesson.min_coverage_permille) / 1000.0)),
        min_reading_s: req.min_reading_s.or(lesson.min_reading_s),
    };
    let (duration, coverage, reading) = check_lesson(&fields, media_duration)?;
    diesel::update(lessons::table.find(lesson.id))
        .set((
            lessons::title.eq(req.title.as_deref().map(str::trim).unwrap_or(&lesson.title)),
            lessons::media_id.eq(fields.media_id),
            lessons::external_url.eq(fields.external_url.as_deref()),
            lessons::duration_s.eq(duration),
            lessons::body.eq(fields.body.as_deref().map(sanitize)),
            lessons::min_coverage_permille.eq(coverage),
            lessons::min_reading_s.eq(reading),
            lessons::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_lesson(conn, lesson.id)
}

/// Removes a lesson from a draft course and renumbers the rest.
pub fn delete_lesson(conn: &mut DbConnection, course: &Course, lesson: &Lesson) -> ApiResult<()> {
    ensure_draft(course)?;
    diesel::delete(lessons::table.find(lesson.id)).execute(conn)?;
    for (i, l) in lessons_of(conn, course.id)?.iter().enumerate() {
        diesel::update(lessons::table.find(l.id))
            .set(lessons::position.eq(i as i32 + 1))
            .execute(conn)?;
    }
    rebalance_credit(conn, course.id)
}

/// The even split of `total` over `n` lessons; the remainder goes to the first lessons.
pub fn split_credit(total: i32, n: usize) -> Vec<i32> {
    if n == 0 {
        return Vec::new();
    }
    let n_i = n as i32;
    let (base, rest) = (total / n_i, total % n_i);
    (0..n_i).map(|i| base + i32::from(i < rest)).collect()
}

/// Splits the course credit over its lessons (only while the course is a draft).
fn rebalance_credit(conn: &mut DbConnection, course_id: i64) -> ApiResult<()> {
    let course = find(conn, course_id)?;
    if CourseStatus::from_db(&course.status)? != CourseStatus::Draft {
        return Ok(());
    }
    let lessons = lessons_of(conn, course_id)?;
    for (lesson, credit) in lessons
        .iter()
        .zip(split_credit(course.credit_centi, lessons.len()))
    {
        if lesson.credit_centi != credit {
            diesel::update(lessons::table.find(lesson.id))
                .set(lessons::credit_centi.eq(credit))
                .execute(conn)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_credit;

    #[test]
    fn credit_split_sums_to_the_total() {
        assert_eq!(split_credit(100, 3), vec![34, 33, 33]);
        assert_eq!(split_credit(50, 1), vec![50]);
        assert_eq!(split_credit(0, 2), vec![0, 0]);
        assert!(split_credit(10, 0).is_empty());
        for total in [0, 1, 7, 100, 333, 10_000] {
            for n in 1..12 {
                let parts = split_credit(total, n);
                assert_eq!(parts.iter().sum::<i32>(), total);
                assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
            }
        }
    }

    #[test]
    fn sanitizer_strips_scripts() {
        let clean = super::sanitize(
            "<p>学习<script>alert(1)</script><a href=\"javascript:x\">链接</a></p>",
        );
        assert!(!clean.contains("script"));
        assert!(!clean.contains("javascript"));
        assert!(clean.contains("学习"));
    }
}
