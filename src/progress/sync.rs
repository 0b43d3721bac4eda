//! Applying a batch of study events from a phone, in one transaction:
//!
//! 1. load the lessons named and keep those the caller studies (published, assigned to
//!    their home org or an ancestor);
//! 2. take the account's study lock (a transaction advisory lock on PostgreSQL, the single
//!    writer on SQLite), so two phones of one account apply their batches one after the
//!    other; make sure a progress row exists for each lesson and lock them (row locks on
//!    PostgreSQL; a passed quiz completes a lesson under the same row lock);
//! 3. look up event ids already seen: the same content replays its original result, other
//!    content under a used id is a `conflict`;
//! 4. check the new events (one reason per rejection): each on its own
//!    ([`super::validate::check`]: speed, duration, age, a wall-clock span of at most
//!    `DANGKE_STUDY_MAX_EVENT_SPAN`), then, in batch order, against the wall-clock spans the
//!    account already has accepted on other lessons ([`super::wall_clock`]: one lesson at a
//!    time, the first accepted wins, `overlaps_other_lesson` for the later one); store them
//!    all in one multi-row insert-or-ignore;
//! 5. merge accepted spans into each lesson's coverage (unique seconds), move the resume
//!    position to the most recent event, complete lessons that reach their threshold and
//!    whose quiz (if any) is passed, credit the ledger once, and complete courses.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::coverage::{Coverage, reaches};
use super::ledger::{self, Credit, SOURCE_LESSON};
use super::model::{
    CreditView, EventInput, EventResult, EventStatus, LessonProgressView, MAX_BATCH, NewStudyEvent,
    ProgressRow, QuizCompletion, SyncResponse,
};
use super::validate::{LessonMeta, Limits, check, content_hash, valid_client_id};
use super::wall_clock::{self, Claimed};
use crate::changes::{self, Change};
use crate::courses::model::{CourseStatus, LessonKind};
use crate::db::DbConnection;
use crate::db::schema::{
    course_completions, courses, lesson_progress, lessons, quiz_attempts, quizzes, study_events,
};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};
use crate::orgs::model::Org;

/// The member's home org and its time zone (for dating credit).
struct Home {
    org: Option<Org>,
    tz: chrono_tz::Tz,
}

impl Home {
    fn load(conn: &mut DbConnection, user_id: i64) -> ApiResult<Home> {
        let org = crate::orgs::members::home_org(conn, user_id)?;
        let tz = match &org {
            Some(o) => crate::orgs::settings::time_zone(conn, o)?,
            None => chrono_tz::Asia::Shanghai,
        };
        Ok(Home { org, tz })
    }
}

fn shape_errors(events: &[EventInput]) -> ApiResult<()> {
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(ApiError::invalid_field(
            "events",
            "invalid_length",
            Text::new(
                format!("每批 1 到 {MAX_BATCH} 条学习记录"),
                format!("Send 1 to {MAX_BATCH} events per batch"),
            ),
        ));
    }
    let bad: Vec<FieldError> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| !valid_client_id(&e.client_event_id))
        .map(|(i, _)| {
            FieldError::new(
                format!("events[{i}].client_event_id"),
                "invalid_format",
                Text::new(
                    "应为 1 到 64 个字母、数字或 ._-（建议 UUID）",
                    "1-64 of letters, digits or ._- (a UUID)",
                ),
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ValidationFailed).with_fields(bad))
    }
}

/// The lessons among `ids` that `user_id` studies, with what sync needs about them.
pub fn studied_lessons(
    conn: &mut DbConnection,
    user_id: i64,
    ids: &[i64],
) -> ApiResult<HashMap<i64, LessonMeta>> {
    type Row = (i64, i64, String, Option<i32>, i32, Option<i32>, i32);
    let rows: Vec<Row> = lessons::table
        .inner_join(courses::table)
        .filter(lessons::id.eq_any(ids))
        .filter(courses::status.eq(CourseStatus::Published.as_str()))
        .select((
            lessons::id,
            lessons::course_id,
            lessons::kind,
            lessons::duration_s,
            lessons::min_coverage_permille,
            lessons::min_reading_s,
            lessons::credit_centi,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let chain = crate::courses::catalog::home_chain(conn, user_id)?;
    let course_ids: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let assigned = crate::courses::catalog::assigned_course_ids(conn, &chain, &course_ids)?;
    let with_quiz: HashSet<i64> = quizzes::table
        .filter(quizzes::lesson_id.eq_any(ids))
        .select(quizzes::lesson_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    rows.into_iter()
        .filter(|r| assigned.contains(&r.1))
        .map(
            |(
                id,
                course_id,
                kind,
                duration_s,
                min_coverage_permille,
                min_reading_s,
                credit_centi,
            )| {
                Ok((
                    id,
                    LessonMeta {
                        id,
                        course_id,
                        kind: LessonKind::from_db(&kind)?,
                        duration_s,
                        min_coverage_permille,
                        min_reading_s,
                        credit_centi,
                        has_quiz: with_quiz.contains(&id),
                    },
                ))
            },
        )
        .collect()
}

/// Ensures progress rows for `lesson_ids` exist and returns them locked.
fn lock_progress(
    conn: &mut DbConnection,
    user_id: i64,
    lesson_ids: &[i64],
    now: NaiveDateTime,
) -> ApiResult<HashMap<i64, ProgressRow>> {
    if lesson_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = lock_lesson_progress(conn, user_id, lesson_ids)?;
    if rows.len() == lesson_ids.len() {
        return Ok(rows.into_iter().map(|r| (r.lesson_id, r)).collect());
    }
    let have: HashSet<i64> = rows.iter().map(|r| r.lesson_id).collect();
    let fresh: Vec<_> = lesson_ids
        .iter()
        .filter(|id| !have.contains(id))
        .map(|id| {
            (
                lesson_progress::user_id.eq(user_id),
                lesson_progress::lesson_id.eq(*id),
                lesson_progress::covered.eq("[]"),
                lesson_progress::covered_s.eq(0),
                lesson_progress::read_s.eq(0),
                lesson_progress::resume_s.eq(0),
                lesson_progress::updated_at.eq(now),
            )
        })
        .collect();
    crate::insert_ignore!(conn, lesson_progress::table, &fresh)?;
    let rows = lock_lesson_progress(conn, user_id, lesson_ids)?;
    Ok(rows.into_iter().map(|r| (r.lesson_id, r)).collect())
}

/// Loads a user's progress rows for `lesson_ids`, locked until the transaction ends:
/// `SELECT … FOR UPDATE` on PostgreSQL; on SQLite the single writer already serializes.
fn lock_lesson_progress(
    conn: &mut DbConnection,
    user_id: i64,
    lesson_ids: &[i64],
) -> diesel::QueryResult<Vec<ProgressRow>> {
    use crate::db::schema::lesson_progress as lp;
    macro_rules! query {
        () => {
            lp::table
                .filter(lp::user_id.eq(user_id))
                .filter(lp::lesson_id.eq_any(lesson_ids))
                .order(lp::lesson_id.asc())
                .select(ProgressRow::as_select())
        };
    }
    match conn {
        DbConnection::Pg(c) => query!().for_update().load(c),
        DbConnection::Sqlite(c) => query!().load(c),
    }
}

/// Lessons among `ids` whose quiz the user has passed.
fn passed_quizzes(conn: &mut DbConnection, user_id: i64, ids: &[i64]) -> ApiResult<HashSet<i64>> {
    Ok(quiz_attempts::table
        .filter(quiz_attempts::user_id.eq(user_id))
        .filter(quiz_attempts::lesson_id.eq_any(ids))
        .filter(quiz_attempts::passed.eq(true))
        .select(quiz_attempts::lesson_id)
        .distinct()
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// Whether a lesson's own threshold (coverage or reading time) is met.
fn threshold_met(meta: &LessonMeta, covered: &Coverage) -> bool {
    if meta.kind.is_media() {
        let duration = meta.duration_s.unwrap_or(0);
        reaches(
            covered.seconds_within(duration),
            duration,
            meta.min_coverage_permille,
        )
    } else {
        covered.seconds() >= meta.min_reading_s.unwrap_or(0)
    }
}

/// What a batch needs from read-only queries, gathered before the write transaction (on
/// SQLite from a reader connection, so the single writer only does the writes).
pub struct Prepared {
    ids: Vec<i64>,
    metas: HashMap<i64, LessonMeta>,
}

/// Checks the batch's shape and loads the lessons it names that the caller studies.
pub fn prepare(
    conn: &mut DbConnection,
    user_id: i64,
    events: &[EventInput],
) -> ApiResult<Prepared> {
    shape_errors(events)?;
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e.lesson_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let metas = studied_lessons(conn, user_id, &ids)?;
    Ok(Prepared { ids, metas })
}

/// Applies one prepared batch for `user_id` (see the module docs). Runs inside a write
/// transaction.
pub fn apply(
    conn: &mut DbConnection,
    limits: &Limits,
    user_id: i64,
    events: &[EventInput],
    prepared: &Prepared,
) -> ApiResult<SyncResponse> {
    let now = limits.now.naive_utc();
    let (ids, metas) = (&prepared.ids, &prepared.metas);
    let mut studied: Vec<i64> = metas.keys().copied().collect();
    studied.sort_unstable();
    wall_clock::lock_account(conn, user_id)?;
    let mut progress = lock_progress(conn, user_id, &studied, now)?;
    let unstarted: Vec<i64> = progress
        .values()
        .filter(|r| !r.has_study())
        .map(|r| r.lesson_id)
        .collect();

    let client_ids: Vec<&str> = events.iter().map(|e| e.client_event_id.as_str()).collect();
    let existing: HashMap<String, (String, String)> = study_events::table
        .filter(study_events::user_id.eq(user_id))
        .filter(study_events::client_event_id.eq_any(&client_ids))
        .select((
            study_events::client_event_id,
            study_events::content_hash,
            study_events::outcome,
        ))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, h, o)| (id, (h, o)))
        .collect();

    // Each event checked on its own once; the accepted spans the new events that pass
    // could overlap, loaded once for the batch.
    let checked: Vec<Result<(), &'static str>> = events
        .iter()
        .map(|e| check(e, metas.get(&e.lesson_id), limits))
        .collect();
    let fresh: Vec<&EventInput> = events
        .iter()
        .zip(&checked)
        .filter(|(e, ok)| ok.is_ok() && !existing.contains_key(&e.client_event_id))
        .map(|(e, _)| e)
        .collect();
    let mut claimed = Claimed::load(conn, user_id, &fresh)?;

    let mut results = Vec::with_capacity(events.len());
    let mut new_rows: Vec<NewStudyEvent> = Vec::new();
    let mut in_batch: HashMap<&str, (String, String)> = HashMap::new();
    let mut accepted: Vec<&EventInput> = Vec::new();
    for (e, own_check) in events.iter().zip(checked) {
        let hash = content_hash(e);
        let seen = existing
            .get(&e.client_event_id)
            .or_else(|| in_batch.get(e.client_event_id.as_str()));
        if let Some((seen_hash, outcome)) = seen {
            results.push(if *seen_hash == hash {
                result_of(&e.client_event_id, outcome, true)
            } else {
                EventResult {
                    client_event_id: e.client_event_id.clone(),
                    status: EventStatus::Conflict,
                    reason: Some("id_reused_with_other_content".into()),
                    replayed: false,
                }
            });
            continue;
        }
        let outcome = match own_check.and_then(|()| claimed.admit(e)) {
            Ok(()) => {
                accepted.push(e);
                "accepted".to_string()
            }
            Err(reason) => reason.to_string(),
        };
        results.push(result_of(&e.client_event_id, &outcome, false));
        in_batch.insert(&e.client_event_id, (hash.clone(), outcome.clone()));
        new_rows.push(NewStudyEvent {
            user_id,
            client_event_id: e.client_event_id.clone(),
            lesson_id: e.lesson_id,
            kind: e.kind.as_str().to_string(),
            from_s: e.from_s,
            to_s: e.to_s,
            started_at: e.started_at.naive_utc(),
            ended_at: e.ended_at.naive_utc(),
            content_hash: hash,
            outcome,
            received_at: now,
        });
    }
    if !new_rows.is_empty() {
        crate::insert_ignore_rows!(
            conn,
            study_events::table,
            "study_events",
            NewStudyEvent::COLUMNS,
            &new_rows
        )?;
    }

    let touched: Vec<i64> = accepted
        .iter()
        .map(|e| e.lesson_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let gated: Vec<i64> = touched
        .iter()
        .copied()
        .filter(|id| metas.get(id).is_some_and(|m| m.has_quiz))
        .collect();
    let quiz_ok = if gated.is_empty() {
        HashSet::new()
    } else {
        passed_quizzes(conn, user_id, &gated)?
    };
    let mut completed: Vec<(LessonMeta, DateTime<Utc>)> = Vec::new();
    let mut merged: Vec<ProgressRow> = Vec::with_capacity(touched.len());
    for lesson_id in &touched {
        let (Some(meta), Some(row)) = (metas.get(lesson_id), progress.get_mut(lesson_id)) else {
            continue;
        };
        let mut mine: Vec<&&EventInput> = accepted
            .iter()
            .filter(|e| e.lesson_id == *lesson_id)
            .collect();
        mine.sort_by_key(|e| e.ended_at);
        if let Some(done_at) = merge_into(row, meta, &mine, quiz_ok.contains(lesson_id)) {
            completed.push((meta.clone(), done_at));
        }
        row.updated_at = now;
        merged.push(row.clone());
    }
    save_all(conn, &merged)?;

    let mut credited = Vec::new();
    let mut courses_completed = Vec::new();
    if !completed.is_empty() {
        let home = Home::load(conn, user_id)?;
        for (meta, at) in &completed {
            if let Some(c) = credit_lesson(conn, user_id, meta, *at, &home)? {
                credited.push(c);
            }
        }
        let course_ids: BTreeSet<i64> = completed.iter().map(|(m, _)| m.course_id).collect();
        for course_id in course_ids {
            let at = completed
                .iter()
                .filter(|(m, _)| m.course_id == course_id)
                .map(|(_, t)| *t)
                .max()
                .unwrap_or(limits.now);
            if complete_course_if_done(conn, user_id, course_id, at)? {
                courses_completed.push(course_id);
            }
        }
    }
    // Statistics read started lessons and completions, not each event: a batch that
    // starts and completes nothing records nothing. Started means the first accepted
    // study of a lesson (rejected events start nothing).
    let started = unstarted
        .iter()
        .any(|id| progress.get(id).is_some_and(ProgressRow::has_study));
    if started || !completed.is_empty() {
        changes::record(conn, now, &[Change::Studied { user_id }])?;
    }
    let lessons = studied
        .iter()
        .filter(|id| ids.contains(id))
        .filter_map(|id| progress.get(id).zip(metas.get(id)))
        .map(|(row, meta)| progress_view(row, meta))
        .collect();
    Ok(SyncResponse {
        results,
        lessons,
        credited,
        courses_completed,
    })
}

/// The result of an event with a stored outcome (`accepted` or a rejection reason).
fn result_of(client_event_id: &str, outcome: &str, replayed: bool) -> EventResult {
    let accepted = outcome == "accepted";
    EventResult {
        client_event_id: client_event_id.to_string(),
        status: if accepted {
            EventStatus::Accepted
        } else {
            EventStatus::Rejected
        },
        reason: (!accepted).then(|| outcome.to_string()),
        replayed,
    }
}

/// Merges events (sorted by end time) into a progress row. Returns the completion time
/// when this merge completes the lesson.
fn merge_into(
    row: &mut ProgressRow,
    meta: &LessonMeta,
    events: &[&&EventInput],
    quiz_passed: bool,
) -> Option<DateTime<Utc>> {
    let mut covered = Coverage::from_json(&row.covered);
    let mut crossed_at = None;
    let was_met = threshold_met(meta, &covered);
    for e in events {
        covered.add((e.from_s, e.to_s));
        if crossed_at.is_none() && !was_met && threshold_met(meta, &covered) {
            crossed_at = Some(e.ended_at);
        }
        // The resume position follows the most recent event, not the furthest one.
        if meta.kind.is_media()
            && row
                .last_event_at
                .is_none_or(|t| e.ended_at.naive_utc() >= t)
        {
            row.resume_s = e.to_s;
            row.last_event_at = Some(e.ended_at.naive_utc());
        } else if row
            .last_event_at
            .is_none_or(|t| e.ended_at.naive_utc() >= t)
        {
            row.last_event_at = Some(e.ended_at.naive_utc());
        }
    }
    row.covered = covered.to_json();
    if meta.kind.is_media() {
        row.covered_s = covered.seconds_within(meta.duration_s.unwrap_or(0));
    } else {
        row.read_s = covered.seconds();
    }
    if row.completed_at.is_some()
        || !threshold_met(meta, &covered)
        || (meta.has_quiz && !quiz_passed)
    {
        return None;
    }
    let at = crossed_at.or_else(|| events.last().map(|e| e.ended_at))?;
    row.completed_at = Some(at.naive_utc());
    Some(at)
}

/// Writes merged progress rows (locked by [`lock_progress`], so they exist) in one
/// statement for the whole batch, however many lessons it touched: a multi-row upsert.
fn save_all(conn: &mut DbConnection, rows: &[ProgressRow]) -> ApiResult<()> {
    use diesel::upsert::excluded;
    if rows.is_empty() {
        return Ok(());
    }
    crate::upsert_rows!(
        conn,
        lesson_progress::table,
        rows,
        (lesson_progress::user_id, lesson_progress::lesson_id),
        (
            lesson_progress::covered.eq(excluded(lesson_progress::covered)),
            lesson_progress::covered_s.eq(excluded(lesson_progress::covered_s)),
            lesson_progress::read_s.eq(excluded(lesson_progress::read_s)),
            lesson_progress::resume_s.eq(excluded(lesson_progress::resume_s)),
            lesson_progress::last_event_at.eq(excluded(lesson_progress::last_event_at)),
            lesson_progress::completed_at.eq(excluded(lesson_progress::completed_at)),
            lesson_progress::updated_at.eq(excluded(lesson_progress::updated_at)),
        )
    )?;
    Ok(())
}

fn save(conn: &mut DbConnection, row: &ProgressRow, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(lesson_progress::table.find((row.user_id, row.lesson_id)))
        .set((
            lesson_progress::covered.eq(&row.covered),
            lesson_progress::covered_s.eq(row.covered_s),
            lesson_progress::read_s.eq(row.read_s),
            lesson_progress::resume_s.eq(row.resume_s),
            lesson_progress::last_event_at.eq(row.last_event_at),
            lesson_progress::completed_at.eq(row.completed_at),
            lesson_progress::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn credit_lesson(
    conn: &mut DbConnection,
    user_id: i64,
    meta: &LessonMeta,
    at: DateTime<Utc>,
    home: &Home,
) -> ApiResult<Option<CreditView>> {
    let credit = Credit {
        user_id,
        source_kind: SOURCE_LESSON,
        source_id: meta.id,
        credit_centi: meta.credit_centi,
        org_id: home.org.as_ref().map(|o| o.id),
        earned_at: at,
    };
    Ok(
        ledger::grant(conn, &credit, home.tz)?.map(|year| CreditView {
            lesson_id: meta.id,
            credit_centi: meta.credit_centi,
            year,
        }),
    )
}

/// Records the course as complete when all its lessons are; true when newly completed.
fn complete_course_if_done(
    conn: &mut DbConnection,
    user_id: i64,
    course_id: i64,
    at: DateTime<Utc>,
) -> ApiResult<bool> {
    let total: i64 = lessons::table
        .filter(lessons::course_id.eq(course_id))
        .count()
        .get_result(conn)?;
    let done: i64 = lesson_progress::table
        .inner_join(lessons::table)
        .filter(lessons::course_id.eq(course_id))
        .filter(lesson_progress::user_id.eq(user_id))
        .filter(lesson_progress::completed_at.is_not_null())
        .count()
        .get_result(conn)?;
    if total == 0 || done < total {
        return Ok(false);
    }
    let inserted = crate::with_backend!(conn, |c| diesel::insert_into(course_completions::table)
        .values((
            course_completions::user_id.eq(user_id),
            course_completions::course_id.eq(course_id),
            course_completions::completed_at.eq(at.naive_utc()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 1 {
        // An absence from an activity linking this course may now be made up.
        crate::activities::makeup::on_course_completed(conn, user_id, course_id, at)?;
    }
    Ok(inserted == 1)
}

fn progress_view(row: &ProgressRow, meta: &LessonMeta) -> LessonProgressView {
    let coverage = match meta.duration_s {
        Some(d) if d > 0 && meta.kind.is_media() => {
            ((f64::from(row.covered_s) / f64::from(d)).min(1.0) * 1000.0).round() / 1000.0
        }
        _ => 0.0,
    };
    LessonProgressView {
        lesson_id: row.lesson_id,
        coverage,
        covered_s: row.covered_s,
        read_s: row.read_s,
        resume_s: row.resume_s,
        complete: row.completed_at.is_some(),
    }
}

/// After a passed quiz: completes the lesson if its coverage or reading time is already
/// met (the quiz was the last gate), credits it dated `now`, and completes the course.
/// Returns what it completed and credited.
pub fn complete_after_quiz(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    user_id: i64,
    lesson_id: i64,
) -> ApiResult<QuizCompletion> {
    let nothing = QuizCompletion::default();
    let metas = studied_lessons(conn, user_id, &[lesson_id])?;
    let Some(meta) = metas.get(&lesson_id) else {
        return Ok(nothing);
    };
    let mut rows = lock_progress(conn, user_id, &[lesson_id], now.naive_utc())?;
    let Some(row) = rows.get_mut(&lesson_id) else {
        return Ok(nothing);
    };
    if row.completed_at.is_some() || !threshold_met(meta, &Coverage::from_json(&row.covered)) {
        return Ok(nothing);
    }
    row.completed_at = Some(now.naive_utc());
    save(conn, row, now.naive_utc())?;
    let home = Home::load(conn, user_id)?;
    let credit = credit_lesson(conn, user_id, meta, now, &home)?;
    let course_done = complete_course_if_done(conn, user_id, meta.course_id, now)?;
    changes::record(conn, now.naive_utc(), &[Change::Studied { user_id }])?;
    Ok(QuizCompletion {
        lesson_completed: true,
        course_completed: course_done.then_some(meta.course_id),
        credit,
    })
}
