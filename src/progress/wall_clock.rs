//! Study integrity: the wall-clock time one account claims may not exceed real time.
//!
//! A member studies one lesson at a time. Each study event claims the wall-clock span from
//! its `started_at` to its `ended_at`; the rule (see `docs/study-integrity.md`):
//!
//! - **No two lessons at once.** An event is rejected with `overlaps_other_lesson` when its
//!   span shares more than [`OVERLAP_SLACK_S`] seconds (clock rounding) with the span of an
//!   event already *accepted* for the same account on a *different* lesson. Spans on the
//!   same lesson may overlap (going back, re-watching): coverage counts unique seconds.
//! - **First accepted wins, nothing is taken back.** What was accepted before — in an
//!   earlier batch, from another phone, or earlier in the same batch (batch order) — stays
//!   accepted and credited; only the later-arriving event is rejected, with its reason
//!   stored, so a replay of its id answers the same rejection.
//! - **One event's span is capped** (`DANGKE_STUDY_MAX_EVENT_SPAN`, default 4 h):
//!   [`super::validate::check`] rejects a longer one with `span_too_long` before this
//!   check, so a refused span never blocks anything.
//!
//! The rule holds whenever the batch arrives (an offline batch days later is checked
//! against everything accepted meanwhile) and across phones: sync takes a per-account
//! transaction lock first ([`lock_account`]), so two phones' batches are checked one after
//! the other. The accepted spans that could touch a batch are loaded in one range query
//! (index `study_events_user_ended`), never one query per event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::EventInput;
use crate::db::DbConnection;
use crate::db::schema::study_events;
use crate::error::ApiResult;

/// Overlap tolerated between two lessons' spans (phone clocks and rounding), seconds.
pub const OVERLAP_SLACK_S: i64 = 2;

/// The rejection reason of an event whose span overlaps another lesson's accepted span.
pub const OVERLAPS_OTHER_LESSON: &str = "overlaps_other_lesson";

/// An accepted span of wall-clock time on one lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub lesson_id: i64,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Span {
    pub fn of(ev: &EventInput) -> Span {
        Span {
            lesson_id: ev.lesson_id,
            start: ev.started_at.naive_utc(),
            end: ev.ended_at.naive_utc(),
        }
    }

    /// Whether `self` and `other` are on different lessons and share more than the slack.
    fn conflicts_with(&self, other: &Span) -> bool {
        if self.lesson_id == other.lesson_id {
            return false;
        }
        let shared = self.end.min(other.end) - self.start.max(other.start);
        shared.num_milliseconds() > OVERLAP_SLACK_S * 1000
    }
}

/// Serializes the syncs of one account until the transaction ends, so that two phones'
/// batches are checked against each other's accepted spans (PostgreSQL: a transaction
/// advisory lock per account; SQLite's single writer already serializes).
pub fn lock_account(conn: &mut DbConnection, user_id: i64) -> ApiResult<()> {
    crate::db::sql::transaction_lock(conn, &format!("study.account.{user_id}"))?;
    Ok(())
}

/// The wall-clock spans an account has claimed, as far as a batch needs them.
#[derive(Debug, Default)]
pub struct Claimed {
    spans: Vec<Span>,
}

impl Claimed {
    pub fn new(spans: Vec<Span>) -> Claimed {
        Claimed { spans }
    }

    /// Loads the accepted spans of `user_id` that could overlap one of `candidates` (the
    /// batch's new events that passed the other checks), in one query. When every
    /// candidate is on the same lesson, spans on that lesson cannot conflict and are left
    /// out.
    pub fn load(
        conn: &mut DbConnection,
        user_id: i64,
        candidates: &[&EventInput],
    ) -> ApiResult<Claimed> {
        let (Some(lo), Some(hi)) = (
            candidates.iter().map(|e| e.started_at).min(),
            candidates.iter().map(|e| e.ended_at).max(),
        ) else {
            return Ok(Claimed::default());
        };
        let first = candidates[0].lesson_id;
        let only = candidates
            .iter()
            .all(|e| e.lesson_id == first)
            .then_some(first);
        let (lo, hi) = (lo.naive_utc(), hi.naive_utc());
        macro_rules! query {
            () => {
                study_events::table
                    .filter(study_events::user_id.eq(user_id))
                    .filter(study_events::ended_at.gt(lo))
                    .filter(study_events::started_at.lt(hi))
                    .filter(study_events::outcome.eq("accepted"))
                    .select((
                        study_events::lesson_id,
                        study_events::started_at,
                        study_events::ended_at,
                    ))
            };
        }
        let rows: Vec<(i64, NaiveDateTime, NaiveDateTime)> = match only {
            Some(lesson) => query!()
                .filter(study_events::lesson_id.ne(lesson))
                .load(conn)?,
            None => query!().load(conn)?,
        };
        Ok(Claimed::new(
            rows.into_iter()
                .map(|(lesson_id, start, end)| Span {
                    lesson_id,
                    start,
                    end,
                })
                .collect(),
        ))
    }

    /// Admits `ev` when its span overlaps no claimed span of another lesson, and claims it;
    /// otherwise the rejection reason.
    pub fn admit(&mut self, ev: &EventInput) -> Result<(), &'static str> {
        let span = Span::of(ev);
        if self.spans.iter().any(|s| s.conflicts_with(&span)) {
            return Err(OVERLAPS_OTHER_LESSON);
        }
        self.spans.push(span);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::model::EventKind;
    use chrono::{Duration, TimeZone, Utc};

    fn ev(lesson_id: i64, start_min: i64, minutes: i64) -> EventInput {
        let base = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        EventInput {
            client_event_id: "e".into(),
            lesson_id,
            kind: EventKind::Play,
            from_s: 0,
            to_s: 60,
            started_at: base + Duration::minutes(start_min),
            ended_at: base + Duration::minutes(start_min + minutes),
        }
    }

    #[test]
    fn two_lessons_in_the_same_half_hour_are_credited_once() {
        let mut c = Claimed::default();
        assert_eq!(c.admit(&ev(1, 0, 30)), Ok(()));
        assert_eq!(c.admit(&ev(2, 10, 30)), Err(OVERLAPS_OTHER_LESSON));
        assert_eq!(c.admit(&ev(2, -20, 30)), Err(OVERLAPS_OTHER_LESSON));
        assert_eq!(c.admit(&ev(3, 5, 5)), Err(OVERLAPS_OTHER_LESSON), "inside");
        assert_eq!(
            c.admit(&ev(3, -60, 120)),
            Err(OVERLAPS_OTHER_LESSON),
            "around"
        );
    }

    #[test]
    fn the_same_lesson_may_overlap_and_consecutive_lessons_do_not() {
        let mut c = Claimed::default();
        assert_eq!(c.admit(&ev(1, 0, 30)), Ok(()));
        assert_eq!(c.admit(&ev(1, 10, 30)), Ok(()), "re-watching");
        assert_eq!(c.admit(&ev(2, 40, 30)), Ok(()), "right after");
        assert_eq!(c.admit(&ev(3, 70, 0)), Ok(()), "zero length claims nothing");
    }

    #[test]
    fn a_rejected_event_claims_nothing() {
        let mut c = Claimed::default();
        assert_eq!(c.admit(&ev(1, 0, 30)), Ok(()));
        assert_eq!(c.admit(&ev(2, 20, 30)), Err(OVERLAPS_OTHER_LESSON));
        // 30..50 on lesson 3 only overlaps the rejected span of lesson 2.
        assert_eq!(c.admit(&ev(3, 30, 20)), Ok(()));
    }

    #[test]
    fn two_seconds_of_clock_slack() {
        let mut c = Claimed::default();
        assert_eq!(c.admit(&ev(1, 0, 30)), Ok(()));
        let mut e = ev(2, 30, 10);
        e.started_at -= Duration::seconds(OVERLAP_SLACK_S);
        assert_eq!(c.admit(&e), Ok(()));
        let mut c = Claimed::default();
        assert_eq!(c.admit(&ev(1, 0, 30)), Ok(()));
        let mut e = ev(3, 30, 10);
        e.started_at -= Duration::seconds(OVERLAP_SLACK_S + 1);
        assert_eq!(c.admit(&e), Err(OVERLAPS_OTHER_LESSON));
    }
}
