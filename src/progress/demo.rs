//! The demo county's study in the credit year so far (`dangke seed-demo`, wired by
//! [`crate::demo`]): from 1 January of the current year (in each member's home zone) to
//! now, every member finishes each course open to them with the chance their engagement
//! gives ([`crate::orgs::demo::Engagement`], more for required courses), leaves some
//! half-done, and studies in sittings at noon or in the evening on days spread over the
//! months, one lesson at a time (a sitting that would overlap another starts ten minutes
//! after it, so every event passes sync's study-integrity rule). Members who engage with nothing study nothing; the plain member whose login is
//! printed leaves the required courses due within a month untouched.
//!
//! It writes what the sync path ([`super::sync`]) writes for the same study, in one
//! transaction and in bulk: the accepted study events (played spans in real time, reading
//! time), the lesson progress with its coverage of unique seconds, completion where the
//! lesson's threshold is met (and, for a lesson with a quiz, at the passing attempt, which
//! goes through [`crate::courses::quiz::submit`] itself), the ledger's credit once per
//! lesson dated in the home zone's month, the course completions — and records
//! [`Change::Studied`] for every member who studied, so statistics count it.
//!
//! Everything is drawn from each member's own seed: the same clock gives the same rows.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::coverage::{Coverage, reaches};
use super::ledger::SOURCE_LESSON;
use super::model::{EventInput, EventKind, NewStudyEvent};
use super::validate::content_hash;
use crate::changes::{self, Change};
use crate::courses::model::{CourseStatus, LessonKind};
use crate::courses::quiz::{self, AnswerInput};
use crate::db::DbConnection;
use crate::db::schema::{
    course_assignments, course_completions, courses, credit_ledger, lesson_progress, lessons,
};
use crate::error::ApiResult;
use crate::orgs::demo::{DemoMember, Rng};

/// Rows per multi-row insert (twelve columns at most, well under every bind limit).
const ROWS: usize = 200;

/// What the history holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StudyHistory {
    /// Members who studied at all.
    pub members: usize,
    pub events: usize,
    pub lessons_completed: usize,
    pub courses_completed: usize,
    /// Credit granted for lessons (hundredths of a credit hour).
    pub credit_centi: i64,
}

/// A quiz question: its id, the right options and the wrong ones.
type Question = (i64, Vec<i64>, Vec<i64>);

/// A lesson as the history needs it.
#[derive(Debug, Clone)]
struct Lesson {
    id: i64,
    kind: LessonKind,
    duration_s: i32,
    min_coverage_permille: i32,
    min_reading_s: i32,
    credit_centi: i32,
    /// The quiz's questions with their right options, when it has one.
    quiz: Option<Vec<Question>>,
}

/// A published course and its lessons in order.
#[derive(Debug, Clone)]
struct Course {
    id: i64,
    published: NaiveDateTime,
    lessons: Vec<Lesson>,
}

/// Rows to write, gathered over all members.
#[derive(Default)]
struct Rows {
    events: Vec<NewStudyEvent>,
    progress: Vec<Progress>,
    ledger: Vec<Credit>,
    completions: Vec<(i64, i64, NaiveDateTime)>,
    quizzes: Vec<(NaiveDateTime, i64, i64, Vec<AnswerInput>)>,
    studied: Vec<Change>,
}

struct Progress {
    user_id: i64,
    lesson_id: i64,
    covered: String,
    covered_s: i32,
    read_s: i32,
    resume_s: i32,
    last_event_at: NaiveDateTime,
    completed_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

struct Credit {
    user_id: i64,
    year: i32,
    month: i32,
    lesson_id: i64,
    credit_centi: i32,
    org_id: i64,
    earned_at: NaiveDateTime,
}

/// Writes the study of `people` from the start of the credit year to `now` (see the module
/// docs). Runs inside one write transaction.
pub fn seed_history(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    people: &[DemoMember],
) -> ApiResult<StudyHistory> {
    let catalog = load_catalog(conn)?;
    let course_ids: Vec<i64> = catalog.iter().map(|c| c.id).collect();
    let mut zones: BTreeMap<i64, Tz> = BTreeMap::new();
    let mut rows = Rows::default();
    let mut history = StudyHistory::default();
    for person in people {
        if person.engagement.study == 0 {
            continue;
        }
        let tz = match zones.get(&person.org_id) {
            Some(tz) => *tz,
            None => {
                let org = crate::orgs::tree::find(conn, person.org_id)?;
                let tz = crate::orgs::settings::time_zone(conn, &org)?;
                zones.insert(person.org_id, tz);
                tz
            }
        };
        let chain = crate::courses::catalog::home_chain(conn, person.user_id)?;
        let open = crate::courses::catalog::assigned_course_ids(conn, &chain, &course_ids)?;
        let due: Vec<(i64, Option<NaiveDate>)> = course_assignments::table
            .filter(course_assignments::org_id.eq_any(&chain))
            .filter(course_assignments::revoked_at.is_null())
            .filter(course_assignments::required.eq(true))
            .select((course_assignments::course_id, course_assignments::due_date))
            .load(conn)?;
        let required: HashSet<i64> = due.iter().map(|(id, _)| *id).collect();
        // The member whose login is printed still has the required courses due within a
        // month ahead of her, so the phone app shows what she must still do.
        let soon = now.with_timezone(&tz).date_naive() + Duration::days(31);
        let left_open: HashSet<i64> = due
            .iter()
            .filter(|(_, d)| person.shown && d.is_some_and(|d| d <= soon))
            .map(|(id, _)| *id)
            .collect();
        let mut member = Member {
            person,
            tz,
            now,
            rng: Rng(person.seed),
            studied: false,
            busy: Vec::new(),
        };
        for course in catalog
            .iter()
            .filter(|c| open.contains(&c.id) && !left_open.contains(&c.id))
        {
            member.course(
                course,
                required.contains(&course.id),
                &mut rows,
                &mut history,
            );
        }
        if member.studied {
            history.members += 1;
            rows.studied.push(Change::Studied {
                user_id: person.user_id,
            });
        }
    }
    write(conn, now, rows)?;
    Ok(history)
}

/// The published courses with their lessons and quizzes, by id.
fn load_catalog(conn: &mut DbConnection) -> ApiResult<Vec<Course>> {
    type Row = (
        i64,
        Option<NaiveDateTime>,
        i64,
        String,
        Option<i32>,
        i32,
        Option<i32>,
        i32,
    );
    let rows: Vec<Row> = lessons::table
        .inner_join(courses::table)
        .filter(courses::status.eq(CourseStatus::Published.as_str()))
        .order((courses::id.asc(), lessons::position.asc()))
        .select((
            courses::id,
            courses::published_at,
            lessons::id,
            lessons::kind,
            lessons::duration_s,
            lessons::min_coverage_permille,
            lessons::min_reading_s,
            lessons::credit_centi,
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.2).collect();
    let with_quiz = crate::courses::catalog::quiz_lessons(conn, &ids)?;
    let mut out: Vec<Course> = Vec::new();
    for (course_id, published, id, kind, duration, coverage, reading, credit) in rows {
        let quiz = if with_quiz.contains(&id) {
            let questions = quiz::questions(conn, id)?;
            Some(
                questions
                    .into_iter()
                    .map(|q| {
                        let right = q.options.iter().filter(|o| o.2).map(|o| o.0).collect();
                        let wrong = q.options.iter().filter(|o| !o.2).map(|o| o.0).collect();
                        (q.id, right, wrong)
                    })
                    .collect(),
            )
        } else {
            None
        };
        let lesson = Lesson {
            id,
            kind: LessonKind::from_db(&kind)?,
            duration_s: duration.unwrap_or(0),
            min_coverage_permille: coverage,
            min_reading_s: reading.unwrap_or(0),
            credit_centi: credit,
            quiz,
        };
        match out.last_mut() {
            Some(c) if c.id == course_id => c.lessons.push(lesson),
            _ => out.push(Course {
                id: course_id,
                published: published.unwrap_or_default(),
                lessons: vec![lesson],
            }),
        }
    }
    Ok(out)
}

/// One member's study being drawn.
struct Member<'a> {
    person: &'a DemoMember,
    tz: Tz,
    now: DateTime<Utc>,
    rng: Rng,
    studied: bool,
    /// The wall-clock spans of the sittings drawn so far: a member studies one lesson at a
    /// time, as sync requires ([`super::wall_clock`]).
    busy: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One sitting: a span of the lesson played (or read) in real time.
struct Sitting {
    from_s: i32,
    to_s: i32,
    ended_at: DateTime<Utc>,
}

impl Member<'_> {
    fn local(&self, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        self.tz
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The first moment from `at` when a sitting of `len` overlaps no earlier sitting: ten
    /// minutes after the sittings it would overlap.
    fn free_from(&self, mut at: DateTime<Utc>, len: Duration) -> DateTime<Utc> {
        while let Some(end) = self
            .busy
            .iter()
            .filter(|(s, e)| *s < at + len && at < *e)
            .map(|(_, e)| *e)
            .max()
        {
            at = end + Duration::minutes(10);
        }
        at
    }

    /// Finishes the course, leaves it half-done or does not open it.
    fn course(&mut self, course: &Course, required: bool, rows: &mut Rows, h: &mut StudyHistory) {
        let chance = u64::from(self.person.engagement.study) + if required { 10 } else { 0 };
        let roll = self.rng.range(0, 99);
        let lessons = course.lessons.len();
        let planned = if roll < chance {
            lessons
        } else if roll < chance + 25 {
            self.rng.range(0, lessons.saturating_sub(1) as u64) as usize
        } else {
            return;
        };
        // The first day: after publication and the first days of January, before today.
        let today = self.now.with_timezone(&self.tz).date_naive();
        let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
        let published = Utc
            .from_utc_datetime(&course.published)
            .with_timezone(&self.tz)
            .date_naive();
        let first = (year_start + Duration::days(3)).max(published + Duration::days(1));
        let last = today - Duration::days(1);
        let span = (last - first).num_days();
        if span < 0 {
            return;
        }
        let mut day = first + Duration::days(self.rng.range(0, span as u64) as i64);
        let mut completed_at: Vec<DateTime<Utc>> = Vec::new();
        for (i, lesson) in course.lessons.iter().enumerate() {
            if i > 0 {
                day += Duration::days(self.rng.range(0, 4) as i64);
            }
            if day >= today {
                break;
            }
            let finish = i < planned;
            match self.lesson(lesson, day, finish, rows) {
                Some(at) => {
                    completed_at.push(at);
                    h.lessons_completed += 1;
                    h.credit_centi += i64::from(lesson.credit_centi);
                }
                None => break,
            }
            if !finish {
                break;
            }
        }
        if completed_at.len() == lessons
            && let Some(at) = completed_at.iter().max()
        {
            rows.completions
                .push((self.person.user_id, course.id, at.naive_utc()));
            h.courses_completed += 1;
        }
    }

    /// Studies one lesson on `day`: to completion (returns when it completed) or part of it.
    fn lesson(
        &mut self,
        lesson: &Lesson,
        day: NaiveDate,
        finish: bool,
        rows: &mut Rows,
    ) -> Option<DateTime<Utc>> {
        // Noon break or evening, as members study around field work.
        let start = if self.rng.chance(30) {
            NaiveTime::from_hms_opt(12, self.rng.range(0, 40) as u32, 0)
        } else {
            NaiveTime::from_hms_opt(19, self.rng.range(0, 59) as u32, 0)
        }?;
        let mut at = self.local(day, start)?;
        let media = lesson.kind.is_media();
        let total = if media {
            lesson.duration_s
        } else {
            let r = lesson.min_reading_s.max(60);
            r + self.rng.range(0, (r / 3) as u64) as i32
        };
        let end = if finish {
            total
        } else {
            total * self.rng.range(20, 70) as i32 / 100
        };
        let sittings = if total > 1200 {
            self.rng.range(1, 3) as i32
        } else {
            1
        };
        let mut spans: Vec<Sitting> = Vec::new();
        for j in 0..sittings {
            let from = end * j / sittings;
            let to = end * (j + 1) / sittings;
            // A second sitting replays the last half minute before going on.
            let from = if j > 0 { (from - 30).max(0) } else { from };
            if to <= from {
                continue;
            }
            let len = Duration::seconds(i64::from(to - from));
            at = self.free_from(at, len);
            let ended = at + len;
            if ended >= self.now - Duration::hours(1) {
                break;
            }
            self.busy.push((at, ended));
            spans.push(Sitting {
                from_s: from,
                to_s: to,
                ended_at: ended,
            });
            at = ended + Duration::minutes(self.rng.range(90, 240) as i64);
        }
        if spans.is_empty() {
            return None;
        }
        self.studied = true;
        let user_id = self.person.user_id;
        let mut covered = Coverage::new();
        let mut crossed = None;
        let mut received = None;
        for s in &spans {
            covered.add((s.from_s, s.to_s));
            let met = if media {
                reaches(
                    covered.seconds_within(lesson.duration_s),
                    lesson.duration_s,
                    lesson.min_coverage_permille,
                )
            } else {
                covered.seconds() >= lesson.min_reading_s
            };
            if met && crossed.is_none() {
                crossed = Some(s.ended_at);
            }
            // Synced when the phone is back online: at once, or after the walk home.
            let got = (s.ended_at + Duration::minutes(self.rng.range(1, 90) as i64)).min(self.now);
            received = Some(got);
            let event = EventInput {
                client_event_id: self.uuid(),
                lesson_id: lesson.id,
                kind: if media {
                    EventKind::Play
                } else {
                    EventKind::Read
                },
                from_s: s.from_s,
                to_s: s.to_s,
                started_at: s.ended_at - Duration::seconds(i64::from(s.to_s - s.from_s)),
                ended_at: s.ended_at,
            };
            rows.events.push(NewStudyEvent {
                user_id,
                content_hash: content_hash(&event),
                client_event_id: event.client_event_id,
                lesson_id: lesson.id,
                kind: event.kind.as_str().to_string(),
                from_s: event.from_s,
                to_s: event.to_s,
                started_at: event.started_at.naive_utc(),
                ended_at: event.ended_at.naive_utc(),
                outcome: "accepted".to_string(),
                received_at: got.naive_utc(),
            });
        }
        let last = spans.last()?;
        let mut completed = crossed;
        if let (Some(done), Some(questions)) = (crossed, &lesson.quiz) {
            // The quiz right after: a fifth of members miss a question the first time.
            let mut t = done + Duration::minutes(self.rng.range(2, 6) as i64);
            if self.rng.chance(20) {
                rows.quizzes
                    .push((t.naive_utc(), lesson.id, user_id, answers(questions, true)));
                t += Duration::minutes(self.rng.range(3, 10) as i64);
            }
            if t < self.now {
                rows.quizzes
                    .push((t.naive_utc(), lesson.id, user_id, answers(questions, false)));
                completed = Some(t);
            } else {
                completed = None;
            }
        }
        let updated = received
            .unwrap_or(last.ended_at)
            .max(completed.unwrap_or(last.ended_at));
        rows.progress.push(Progress {
            user_id,
            lesson_id: lesson.id,
            covered: covered.to_json(),
            covered_s: if media {
                covered.seconds_within(lesson.duration_s)
            } else {
                0
            },
            read_s: if media { 0 } else { covered.seconds() },
            resume_s: if media { last.to_s } else { 0 },
            last_event_at: last.ended_at.naive_utc(),
            completed_at: completed.map(|t| t.naive_utc()),
            updated_at: updated.naive_utc(),
        });
        let done = completed?;
        let local = done.with_timezone(&self.tz);
        rows.ledger.push(Credit {
            user_id,
            year: local.year(),
            month: local.month() as i32,
            lesson_id: lesson.id,
            credit_centi: lesson.credit_centi,
            org_id: self.person.org_id,
            earned_at: done.naive_utc(),
        });
        Some(done)
    }

    /// A client event id shaped like the UUIDs phones send.
    fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.draw(), self.rng.draw());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// Answers to a quiz: all right, or with the first question wrong.
fn answers(questions: &[Question], miss_first: bool) -> Vec<AnswerInput> {
    questions
        .iter()
        .enumerate()
        .map(|(i, (id, right, wrong))| AnswerInput {
            question_id: *id,
            option_ids: match wrong.first() {
                Some(w) if miss_first && i == 0 => vec![*w],
                _ => right.clone(),
            },
        })
        .collect()
}

/// Writes the gathered rows in bulk, the quiz attempts through the quiz itself, and the
/// changes statistics consume.
fn write(conn: &mut DbConnection, now: DateTime<Utc>, rows: Rows) -> ApiResult<()> {
    for chunk in rows.events.chunks(ROWS) {
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            crate::db::schema::study_events::table
        )
        .values(chunk)
        .execute(c))?;
    }
    for chunk in rows.progress.chunks(ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    lesson_progress::user_id.eq(p.user_id),
                    lesson_progress::lesson_id.eq(p.lesson_id),
                    lesson_progress::covered.eq(&p.covered),
                    lesson_progress::covered_s.eq(p.covered_s),
                    lesson_progress::read_s.eq(p.read_s),
                    lesson_progress::resume_s.eq(p.resume_s),
                    lesson_progress::last_event_at.eq(Some(p.last_event_at)),
                    lesson_progress::completed_at.eq(p.completed_at),
                    lesson_progress::updated_at.eq(p.updated_at),
                )
            })
            .collect();
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(lesson_progress::table)
            .values(&values)
            .execute(c))?;
    }
    for chunk in rows.ledger.chunks(ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|l| {
                (
                    credit_ledger::user_id.eq(l.user_id),
                    credit_ledger::year.eq(l.year),
                    credit_ledger::month.eq(l.month),
                    credit_ledger::source_kind.eq(SOURCE_LESSON),
                    credit_ledger::source_id.eq(l.lesson_id),
                    credit_ledger::credit_centi.eq(l.credit_centi),
                    credit_ledger::org_id.eq(Some(l.org_id)),
                    credit_ledger::earned_at.eq(l.earned_at),
                )
            })
            .collect();
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(credit_ledger::table)
            .values(&values)
            .execute(c))?;
    }
    for chunk in rows.completions.chunks(ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(user, course, at)| {
                (
                    course_completions::user_id.eq(*user),
                    course_completions::course_id.eq(*course),
                    course_completions::completed_at.eq(*at),
                )
            })
            .collect();
        crate::with_backend!(&mut *conn, |c| diesel::insert_into(
            course_completions::table
        )
        .values(&values)
        .execute(c))?;
    }
    // Attempts in the order they were made, each graded by the quiz.
    let mut attempts = rows.quizzes;
    attempts.sort_by_key(|(at, lesson, user, _)| (*at, *lesson, *user));
    for (at, lesson, user, answers) in &attempts {
        quiz::submit(conn, *at, *lesson, *user, answers)?;
    }
    changes::record(conn, now.naive_utc(), &rows.studied)
}
