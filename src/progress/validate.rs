//! Which study events are possible: pure checks, one reason per rejected event.

use chrono::{DateTime, Duration, Utc};

use super::model::{EventInput, EventKind};
use crate::courses::model::LessonKind;

/// What sync needs to know about a lesson.
#[derive(Debug, Clone)]
pub struct LessonMeta {
    pub id: i64,
    pub course_id: i64,
    pub kind: LessonKind,
    pub duration_s: Option<i32>,
    pub min_coverage_permille: i32,
    pub min_reading_s: Option<i32>,
    pub credit_centi: i32,
    pub has_quiz: bool,
}

/// Time limits for events.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub now: DateTime<Utc>,
    /// Events that ended longer ago than this are refused.
    pub max_age: Duration,
    /// Phone clocks run a little fast: this much in the future is tolerated.
    pub future_skew: Duration,
    /// Longest wall-clock span one event may claim (`DANGKE_STUDY_MAX_EVENT_SPAN`).
    pub max_span: Duration,
}

/// Fastest playback a player offers: 2x.
pub const MAX_SPEED: i64 = 2;
/// Slack for rounding of positions and clocks, seconds.
const TOLERANCE_S: i64 = 2;
/// Longest reading span one event may claim, seconds.
const MAX_READ_SPAN_S: i32 = 4 * 3600;

/// Checks one event against its lesson (`None` when the caller cannot see the lesson).
pub fn check(
    ev: &EventInput,
    lesson: Option<&LessonMeta>,
    limits: &Limits,
) -> Result<(), &'static str> {
    if ev.from_s < 0 || ev.to_s < 0 {
        return Err("invalid_span");
    }
    if ev.to_s < ev.from_s || ev.ended_at < ev.started_at {
        return Err("end_before_start");
    }
    if ev.ended_at > limits.now + limits.future_skew {
        return Err("in_future");
    }
    if ev.ended_at < limits.now - limits.max_age {
        return Err("too_old");
    }
    if ev.ended_at - ev.started_at > limits.max_span {
        return Err("span_too_long");
    }
    let Some(lesson) = lesson else {
        return Err("lesson_not_visible");
    };
    let media = lesson.kind.is_media();
    if (ev.kind == EventKind::Play) != media {
        return Err("kind_mismatch");
    }
    let bound = if media {
        lesson.duration_s.unwrap_or(0)
    } else {
        MAX_READ_SPAN_S
    };
    if i64::from(ev.to_s) > i64::from(bound) + TOLERANCE_S {
        return Err("beyond_duration");
    }
    let wall = (ev.ended_at - ev.started_at).num_seconds();
    let speed = if media { MAX_SPEED } else { 1 };
    if i64::from(ev.to_s - ev.from_s) > wall * speed + TOLERANCE_S {
        return Err("too_fast");
    }
    Ok(())
}

/// The content fingerprint of an event, to tell a replay from a reuse of its id.
pub fn content_hash(ev: &EventInput) -> String {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{}|{}|{}|{}|{}|{}",
        ev.lesson_id,
        ev.kind.as_str(),
        ev.from_s,
        ev.to_s,
        ev.started_at.timestamp_millis(),
        ev.ended_at.timestamp_millis()
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Client event ids: 1–64 characters of `[A-Za-z0-9._-]` (a UUID fits).
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn lesson(kind: LessonKind) -> LessonMeta {
        LessonMeta {
            id: 1,
            course_id: 1,
            kind,
            duration_s: Some(600),
            min_coverage_permille: 900,
            min_reading_s: Some(60),
            credit_centi: 50,
            has_quiz: false,
        }
    }

    fn limits() -> Limits {
        Limits {
            now: Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap(),
            max_age: Duration::days(30),
            future_skew: Duration::minutes(2),
            max_span: Duration::hours(4),
        }
    }

    fn ev(from: i32, to: i32, wall_s: i64, ago_s: i64) -> EventInput {
        let end = limits().now - Duration::seconds(ago_s);
        EventInput {
            client_event_id: "e".into(),
            lesson_id: 1,
            kind: EventKind::Play,
            from_s: from,
            to_s: to,
            started_at: end - Duration::seconds(wall_s),
            ended_at: end,
        }
    }

    #[test]
    fn honest_events_pass_at_up_to_double_speed() {
        let l = lesson(LessonKind::Audio);
        assert_eq!(check(&ev(0, 60, 60, 100), Some(&l), &limits()), Ok(()));
        assert_eq!(
            check(&ev(0, 120, 60, 100), Some(&l), &limits()),
            Ok(()),
            "2x speed"
        );
        assert_eq!(
            check(&ev(0, 130, 60, 100), Some(&l), &limits()),
            Err("too_fast")
        );
        assert_eq!(
            check(&ev(100, 100, 0, 100), Some(&l), &limits()),
            Ok(()),
            "zero length"
        );
    }

    #[test]
    fn impossible_events_are_refused_with_a_reason() {
        let l = lesson(LessonKind::Audio);
        assert_eq!(
            check(&ev(60, 30, 30, 100), Some(&l), &limits()),
            Err("end_before_start")
        );
        assert_eq!(
            check(&ev(590, 700, 200, 100), Some(&l), &limits()),
            Err("beyond_duration")
        );
        assert_eq!(
            check(&ev(0, 60, 60, -3600), Some(&l), &limits()),
            Err("in_future")
        );
        assert_eq!(
            check(&ev(0, 60, 60, -60), Some(&l), &limits()),
            Ok(()),
            "a minute fast is fine"
        );
        assert_eq!(
            check(&ev(0, 60, 60, 31 * 86400), Some(&l), &limits()),
            Err("too_old")
        );
        assert_eq!(
            check(&ev(0, 60, 60, 100), None, &limits()),
            Err("lesson_not_visible")
        );
        assert_eq!(
            check(&ev(-5, 60, 60, 100), Some(&l), &limits()),
            Err("invalid_span")
        );
        assert_eq!(
            check(
                &ev(0, 60, 60, 100),
                Some(&lesson(LessonKind::Article)),
                &limits()
            ),
            Err("kind_mismatch")
        );
    }

    #[test]
    fn one_event_claims_at_most_the_longest_span() {
        let l = lesson(LessonKind::Audio);
        assert_eq!(
            check(&ev(0, 600, 4 * 3600, 100), Some(&l), &limits()),
            Ok(()),
            "exactly the cap"
        );
        assert_eq!(
            check(&ev(0, 600, 4 * 3600 + 1, 100), Some(&l), &limits()),
            Err("span_too_long")
        );
        assert_eq!(
            check(&ev(0, 600, 29 * 86400, 100), Some(&l), &limits()),
            Err("span_too_long"),
            "a 29-day sitting"
        );
    }

    #[test]
    fn reading_is_at_most_real_time() {
        let l = lesson(LessonKind::Article);
        let mut e = ev(0, 60, 60, 100);
        e.kind = EventKind::Read;
        assert_eq!(check(&e, Some(&l), &limits()), Ok(()));
        e.to_s = 100;
        assert_eq!(check(&e, Some(&l), &limits()), Err("too_fast"));
    }

    #[test]
    fn ids_and_hashes() {
        assert!(valid_client_id("3f1c2d5e-aaaa-4bbb-8ccc-123456789abc"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("has space"));
        let a = ev(0, 60, 60, 100);
        let mut b = a.clone();
        assert_eq!(content_hash(&a), content_hash(&b));
        b.to_s = 61;
        assert_ne!(content_hash(&a), content_hash(&b));
    }
}
