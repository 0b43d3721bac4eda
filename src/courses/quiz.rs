//! Quizzes: authoring (single choice, multiple choice, true/false; pass mark; attempt
//! limit; when answers are revealed), the member's view (questions and options shuffled per
//! attempt, answers never sent before submission), and grading on the server.
//!
//! Fairness: option ids are stable between attempts (only their order changes), so a
//! graded attempt that named the right options would let the next attempt copy them. A
//! failed attempt with attempts remaining therefore says only *which* questions were wrong;
//! the right options come once she has passed or has no attempt left, and never when the
//! quiz says `never` (see [`reveals`]). Extra attempts granted to a member
//! ([`super::extra_attempts`]) count towards her attempts left.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Lesson, QuestionKind, QuizAttempt, RevealAnswers};
use crate::db::DbConnection;
use crate::db::schema::{
    quiz_attempt_grants, quiz_attempts, quiz_options, quiz_questions, quizzes,
};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Text};
use crate::http::text::Note;
use crate::progress::model::{CreditView, QuizCompletion};

/// `PUT /v1/lessons/{id}/quiz`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutQuizRequest {
    /// Percentage of points needed to pass (1–100, default 60).
    #[serde(default)]
    pub pass_mark_pct: Option<i32>,
    /// Attempts allowed per member (1–20); unlimited when absent.
    #[serde(default)]
    pub max_attempts: Option<i32>,
    /// When members see the right options of their graded attempts (default
    /// `after_pass_or_last_attempt`).
    #[serde(default)]
    pub reveal_answers: Option<RevealAnswers>,
    pub questions: Vec<QuestionInput>,
}

impl PutQuizRequest {
    /// The reveal setting asked for, or the default.
    pub fn reveal(&self) -> RevealAnswers {
        self.reveal_answers
            .unwrap_or(RevealAnswers::AfterPassOrLastAttempt)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    pub kind: QuestionKind,
    pub text: Note,
    /// 1–10, default 1.
    #[serde(default)]
    pub points: Option<i32>,
    /// For single and multiple choice (2–8 options).
    #[serde(default)]
    pub options: Vec<OptionInput>,
    /// For true/false: the right answer.
    #[serde(default)]
    pub answer: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    pub text: Note,
    #[serde(default)]
    pub correct: bool,
}

/// A quiz as shown: to a member without the answers (and shuffled for their next attempt),
/// to its managers with them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuizView {
    pub lesson_id: i64,
    pub pass_mark_pct: i32,
    pub max_attempts: Option<i32>,
    pub reveal_answers: RevealAnswers,
    /// Extra attempts granted to the caller (by her secretary or the course's managers).
    pub extra_attempts: i32,
    pub attempts_used: i32,
    /// `max_attempts + extra_attempts − attempts_used` (never below 0); null when unlimited.
    pub attempts_left: Option<i32>,
    pub passed: bool,
    pub best_score_pct: Option<i32>,
    pub questions: Vec<QuestionView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionView {
    pub id: i64,
    pub kind: QuestionKind,
    pub text: String,
    pub points: i32,
    pub options: Vec<OptionView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionView {
    pub id: i64,
    pub text: String,
    /// Only for those who manage the course.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
}

/// `POST /v1/lessons/{id}/quiz/attempts`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitAttemptRequest {
    pub answers: Vec<AnswerInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub question_id: i64,
    pub option_ids: Vec<i64>,
}

/// The graded attempt: which questions were right, the right options only when the quiz
/// reveals them (`answers_revealed`), and — for a pass — what it completed and credited.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptResult {
    pub attempt_no: i32,
    pub score_pct: i32,
    pub passed: bool,
    pub pass_mark_pct: i32,
    /// Null when attempts are unlimited.
    #[schema(required = true)]
    pub attempts_left: Option<i32>,
    /// Whether `correct_option_ids` is given: she has passed or has no attempt left, and
    /// the quiz's `reveal_answers` is not `never`.
    pub answers_revealed: bool,
    pub questions: Vec<QuestionResult>,
    /// The attempt completed the lesson (a pass with the lesson's coverage or reading time
    /// already met; otherwise the sync that meets it completes the lesson).
    pub lesson_completed: bool,
    /// The course this attempt completed (its last open lesson), else null.
    #[schema(required = true)]
    pub course_completed: Option<i64>,
    /// The credit this attempt granted (as in sync's `credited`), else null.
    #[schema(required = true)]
    pub credit: Option<CreditView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionResult {
    pub question_id: i64,
    pub correct: bool,
    pub chosen_option_ids: Vec<i64>,
    /// The right options; only when `answers_revealed` (absent otherwise, never null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub correct_option_ids: Option<Vec<i64>>,
}

/// A question with its options, as stored.
#[derive(Debug, Clone)]
pub struct Question {
    pub id: i64,
    pub kind: QuestionKind,
    pub text: String,
    pub points: i32,
    /// (option id, text, correct), in authored order.
    pub options: Vec<(i64, String, bool)>,
}

fn validate(req: &PutQuizRequest) -> ApiResult<()> {
    let mut errors = Vec::new();
    let mut err = |field: String, code: &'static str, zh: &str, en: &str| {
        errors.push(FieldError::new(field, code, Text::new(zh, en)))
    };
    if req.pass_mark_pct.is_some_and(|p| !(1..=100).contains(&p)) {
        err(
            "pass_mark_pct".into(),
            "out_of_range",
            "及格线应在 1 到 100 之间",
            "pass_mark_pct must be 1 to 100",
        );
    }
    if req
        .max_attempts
        .is_some_and(|m| !(1..=MAX_ATTEMPTS).contains(&m))
    {
        err(
            "max_attempts".into(),
            "out_of_range",
            "作答次数应在 1 到 20 之间",
            "max_attempts must be 1 to 20",
        );
    }
    if req.questions.is_empty() || req.questions.len() > 50 {
        err(
            "questions".into(),
            "invalid_length",
            "题目数量应为 1 到 50",
            "A quiz has 1 to 50 questions",
        );
    }
    for (i, q) in req.questions.iter().enumerate() {
        let at = |f: &str| format!("questions[{i}].{f}");
        let n = q.text.trim().chars().count();
        if n == 0 || n > 500 {
            err(
                at("text"),
                "invalid_length",
                "题干应为 1 到 500 个字符",
                "Question text must be 1 to 500 characters",
            );
        }
        if q.points.is_some_and(|p| !(1..=10).contains(&p)) {
            err(
                at("points"),
                "out_of_range",
                "分值应在 1 到 10 之间",
                "points must be 1 to 10",
            );
        }
        let correct = q.options.iter().filter(|o| o.correct).count();
        let bad_option = q
            .options
            .iter()
            .any(|o| o.text.trim().is_empty() || o.text.chars().count() > 200);
        match q.kind {
            QuestionKind::TrueFalse => {
                if q.answer.is_none() || !q.options.is_empty() {
                    err(
                        at("answer"),
                        "required",
                        "判断题需要 answer（true/false），不需要选项",
                        "A true/false question needs `answer` and no options",
                    );
                }
            }
            QuestionKind::Single | QuestionKind::Multiple => {
                if !(2..=8).contains(&q.options.len()) || bad_option {
                    err(
                        at("options"),
                        "invalid_length",
                        "选择题需要 2 到 8 个非空选项",
                        "Choice questions need 2 to 8 non-empty options",
                    );
                } else if q.kind == QuestionKind::Single && correct != 1 {
                    err(
                        at("options"),
                        "invalid_value",
                        "单选题必须恰好有一个正确选项",
                        "A single-choice question has exactly one correct option",
                    );
                } else if correct == 0 {
                    err(
                        at("options"),
                        "invalid_value",
                        "多选题至少有一个正确选项",
                        "A multiple-choice question needs a correct option",
                    );
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ValidationFailed).with_fields(errors))
    }
}

/// Replaces the quiz of a lesson. Refused once anyone has attempted it (409 `quiz_locked`).
pub fn put(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lesson: &Lesson,
    req: &PutQuizRequest,
) -> ApiResult<()> {
    validate(req)?;
    let attempts: i64 = quiz_attempts::table
        .filter(quiz_attempts::lesson_id.eq(lesson.id))
        .count()
        .get_result(conn)?;
    if attempts > 0 {
        return Err(ApiError::new(ErrorCode::QuizLocked));
    }
    diesel::delete(quizzes::table.find(lesson.id)).execute(conn)?;
    diesel::insert_into(quizzes::table)
        .values((
            quizzes::lesson_id.eq(lesson.id),
            quizzes::pass_mark_pct.eq(req.pass_mark_pct.unwrap_or(60)),
            quizzes::max_attempts.eq(req.max_attempts),
            quizzes::reveal_answers.eq(req.reveal().as_str()),
            quizzes::created_at.eq(now),
            quizzes::updated_at.eq(now),
        ))
        .execute(conn)?;
    for (i, q) in req.questions.iter().enumerate() {
        let qid: i64 = diesel::insert_into(quiz_questions::table)
            .values((
                quiz_questions::lesson_id.eq(lesson.id),
                quiz_questions::position.eq(i as i32 + 1),
                quiz_questions::kind.eq(q.kind.as_str()),
                quiz_questions::text.eq(q.text.trim()),
                quiz_questions::points.eq(q.points.unwrap_or(1)),
            ))
            .returning(quiz_questions::id)
            .get_result(conn)?;
        let options: Vec<(String, bool)> = match (q.kind, q.answer) {
            (QuestionKind::TrueFalse, Some(answer)) => {
                vec![("正确".into(), answer), ("错误".into(), !answer)]
            }
            _ => q
                .options
                .iter()
                .map(|o| (o.text.trim().to_string(), o.correct))
                .collect(),
        };
        for (j, (text, correct)) in options.iter().enumerate() {
            diesel::insert_into(quiz_options::table)
                .values((
                    quiz_options::question_id.eq(qid),
                    quiz_options::position.eq(j as i32 + 1),
                    quiz_options::text.eq(text),
                    quiz_options::is_correct.eq(correct),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Most attempts a quiz allows per member.
pub const MAX_ATTEMPTS: i32 = 20;

/// A quiz's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub pass_mark_pct: i32,
    pub max_attempts: Option<i32>,
    pub reveal_answers: RevealAnswers,
}

/// The quiz settings of a lesson, 404 when it has none.
pub fn settings(conn: &mut DbConnection, lesson_id: i64) -> ApiResult<Settings> {
    let (pass_mark_pct, max_attempts, reveal): (i32, Option<i32>, String) = quizzes::table
        .find(lesson_id)
        .select((
            quizzes::pass_mark_pct,
            quizzes::max_attempts,
            quizzes::reveal_answers,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    Ok(Settings {
        pass_mark_pct,
        max_attempts,
        reveal_answers: RevealAnswers::from_db(&reveal)?,
    })
}

/// Extra attempts granted to `user_id` for a lesson's quiz, in all.
pub fn extra_attempts(conn: &mut DbConnection, lesson_id: i64, user_id: i64) -> ApiResult<i32> {
    let sum: Option<i64> = quiz_attempt_grants::table
        .filter(quiz_attempt_grants::lesson_id.eq(lesson_id))
        .filter(quiz_attempt_grants::user_id.eq(user_id))
        .select(diesel::dsl::sum(quiz_attempt_grants::attempts))
        .first(conn)?;
    Ok(i32::try_from(sum.unwrap_or(0)).unwrap_or(i32::MAX))
}

/// Attempts left: `max + extra − used`, never below 0; `None` when unlimited.
pub fn attempts_left(max_attempts: Option<i32>, extra: i32, used: i32) -> Option<i32> {
    max_attempts.map(|m| m.saturating_add(extra).saturating_sub(used).max(0))
}

/// Whether a graded attempt shows the right options: the quiz allows it and she has
/// passed (now or before) or has no attempt left.
pub fn reveals(reveal: RevealAnswers, passed: bool, attempts_left: Option<i32>) -> bool {
    reveal != RevealAnswers::Never && (passed || attempts_left == Some(0))
}

/// The questions of a lesson's quiz in authored order.
pub fn questions(conn: &mut DbConnection, lesson_id: i64) -> ApiResult<Vec<Question>> {
    let qs: Vec<(i64, String, String, i32)> = quiz_questions::table
        .filter(quiz_questions::lesson_id.eq(lesson_id))
        .order(quiz_questions::position.asc())
        .select((
            quiz_questions::id,
            quiz_questions::kind,
            quiz_questions::text,
            quiz_questions::points,
        ))
        .load(conn)?;
    let ids: Vec<i64> = qs.iter().map(|q| q.0).collect();
    let opts: Vec<(i64, i64, String, bool)> = quiz_options::table
        .filter(quiz_options::question_id.eq_any(&ids))
        .order((
            quiz_options::question_id.asc(),
            quiz_options::position.asc(),
        ))
        .select((
            quiz_options::question_id,
            quiz_options::id,
            quiz_options::text,
            quiz_options::is_correct,
        ))
        .load(conn)?;
    qs.into_iter()
        .map(|(id, kind, text, points)| {
            Ok(Question {
                id,
                kind: QuestionKind::from_db(&kind)?,
                text,
                points,
                options: opts
                    .iter()
                    .filter(|o| o.0 == id)
                    .map(|o| (o.1, o.2.clone(), o.3))
                    .collect(),
            })
        })
        .collect()
}

fn attempts_of(
    conn: &mut DbConnection,
    lesson_id: i64,
    user_id: i64,
) -> ApiResult<Vec<QuizAttempt>> {
    Ok(quiz_attempts::table
        .filter(quiz_attempts::lesson_id.eq(lesson_id))
        .filter(quiz_attempts::user_id.eq(user_id))
        .order(quiz_attempts::attempt_no.asc())
        .select(QuizAttempt::as_select())
        .load(conn)?)
}

/// The shuffle seed of one member's attempt: the order differs per attempt but stays the
/// same when the phone reloads the quiz before answering.
fn seed(user_id: i64, lesson_id: i64, attempt_no: i32) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{user_id}:{lesson_id}:{attempt_no}").as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// The quiz for `user_id`: shuffled for their next attempt, answers shown only to managers.
pub fn view(
    conn: &mut DbConnection,
    lesson_id: i64,
    user_id: i64,
    with_answers: bool,
) -> ApiResult<QuizView> {
    let set = settings(conn, lesson_id)?;
    let extra = extra_attempts(conn, lesson_id, user_id)?;
    let attempts = attempts_of(conn, lesson_id, user_id)?;
    let used = attempts.len() as i32;
    let mut qs = questions(conn, lesson_id)?;
    if !with_answers {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed(user_id, lesson_id, used + 1));
        qs.shuffle(&mut rng);
        for q in &mut qs {
            if q.kind != QuestionKind::TrueFalse {
                q.options.shuffle(&mut rng);
            }
        }
    }
    Ok(QuizView {
        lesson_id,
        pass_mark_pct: set.pass_mark_pct,
        max_attempts: set.max_attempts,
        reveal_answers: set.reveal_answers,
        extra_attempts: extra,
        attempts_used: used,
        attempts_left: attempts_left(set.max_attempts, extra, used),
        passed: attempts.iter().any(|a| a.passed),
        best_score_pct: attempts.iter().map(|a| a.score_pct).max(),
        questions: qs
            .into_iter()
            .map(|q| QuestionView {
                id: q.id,
                kind: q.kind,
                text: q.text,
                points: q.points,
                options: q
                    .options
                    .into_iter()
                    .map(|(id, text, correct)| OptionView {
                        id,
                        text,
                        correct: with_answers.then_some(correct),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// Grades answers against the questions: (score %, per-question results). Unanswered
/// questions are wrong; a question is right only when the chosen set equals the correct set.
pub fn grade(questions: &[Question], answers: &[AnswerInput]) -> (i32, Vec<QuestionResult>) {
    let chosen: HashMap<i64, HashSet<i64>> = answers
        .iter()
        .map(|a| (a.question_id, a.option_ids.iter().copied().collect()))
        .collect();
    let total: i32 = questions.iter().map(|q| q.points).sum();
    let mut earned = 0;
    let results = questions
        .iter()
        .map(|q| {
            let right: HashSet<i64> = q.options.iter().filter(|o| o.2).map(|o| o.0).collect();
            let picked = chosen.get(&q.id).cloned().unwrap_or_default();
            let correct = !picked.is_empty() && picked == right;
            if correct {
                earned += q.points;
            }
            let mut chosen_ids: Vec<i64> = picked.into_iter().collect();
            chosen_ids.sort_unstable();
            let mut correct_ids: Vec<i64> = right.into_iter().collect();
            correct_ids.sort_unstable();
            QuestionResult {
                question_id: q.id,
                correct,
                chosen_option_ids: chosen_ids,
                correct_option_ids: Some(correct_ids),
            }
        })
        .collect();
    let score = if total == 0 { 0 } else { earned * 100 / total };
    (score, results)
}

fn check_answers(questions: &[Question], answers: &[AnswerInput]) -> ApiResult<()> {
    let mut seen = HashSet::new();
    for (i, a) in answers.iter().enumerate() {
        let Some(q) = questions.iter().find(|q| q.id == a.question_id) else {
            return Err(ApiError::invalid_field(
                format!("answers[{i}].question_id"),
                "invalid_value",
                Text::new("不是本测验的题目", "Not a question of this quiz"),
            ));
        };
        if !seen.insert(a.question_id) {
            return Err(ApiError::invalid_field(
                format!("answers[{i}].question_id"),
                "duplicate",
                Text::new("同一题目重复作答", "Question answered twice"),
            ));
        }
        let valid: HashSet<i64> = q.options.iter().map(|o| o.0).collect();
        let single = matches!(q.kind, QuestionKind::Single | QuestionKind::TrueFalse);
        if a.option_ids.iter().any(|o| !valid.contains(o)) || (single && a.option_ids.len() > 1) {
            return Err(ApiError::invalid_field(
                format!("answers[{i}].option_ids"),
                "invalid_value",
                Text::new("选项无效", "Invalid options for this question"),
            ));
        }
    }
    Ok(())
}

/// Grades and records an attempt; 409 `quiz_attempts_exhausted` when none are left. The
/// right options are in the result only when [`reveals`] allows; what a pass completes is
/// left for the caller to fill in ([`AttemptResult::completing`]).
pub fn submit(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lesson_id: i64,
    user_id: i64,
    answers: &[AnswerInput],
) -> ApiResult<AttemptResult> {
    let set = settings(conn, lesson_id)?;
    let extra = extra_attempts(conn, lesson_id, user_id)?;
    let earlier = attempts_of(conn, lesson_id, user_id)?;
    let used = earlier.len() as i32;
    if attempts_left(set.max_attempts, extra, used) == Some(0) {
        return Err(ApiError::new(ErrorCode::QuizAttemptsExhausted));
    }
    let qs = questions(conn, lesson_id)?;
    check_answers(&qs, answers)?;
    let (score_pct, mut results) = grade(&qs, answers);
    let passed = score_pct >= set.pass_mark_pct;
    let attempt_no = used + 1;
    let left = attempts_left(set.max_attempts, extra, attempt_no);
    let revealed = reveals(
        set.reveal_answers,
        passed || earlier.iter().any(|a| a.passed),
        left,
    );
    if !revealed {
        for r in &mut results {
            r.correct_option_ids = None;
        }
    }
    diesel::insert_into(quiz_attempts::table)
        .values((
            quiz_attempts::lesson_id.eq(lesson_id),
            quiz_attempts::user_id.eq(user_id),
            quiz_attempts::attempt_no.eq(attempt_no),
            quiz_attempts::answers
                .eq(serde_json::to_string(answers).unwrap_or_else(|_| "[]".into())),
            quiz_attempts::score_pct.eq(score_pct),
            quiz_attempts::passed.eq(passed),
            quiz_attempts::submitted_at.eq(now),
        ))
        .execute(conn)?;
    if passed {
        // Course funnels count passed quizzes.
        crate::changes::record(conn, now, &[crate::changes::Change::Studied { user_id }])?;
    }
    Ok(AttemptResult {
        attempt_no,
        score_pct,
        passed,
        pass_mark_pct: set.pass_mark_pct,
        attempts_left: left,
        answers_revealed: revealed,
        questions: results,
        lesson_completed: false,
        course_completed: None,
        credit: None,
    })
}

impl AttemptResult {
    /// The result with what the attempt completed and credited.
    pub fn completing(self, done: QuizCompletion) -> AttemptResult {
        AttemptResult {
            lesson_completed: done.lesson_completed,
            course_completed: done.course_completed,
            credit: done.credit,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: i64, kind: QuestionKind, points: i32, options: &[(i64, bool)]) -> Question {
        Question {
            id,
            kind,
            text: String::new(),
            points,
            options: options
                .iter()
                .map(|(o, c)| (*o, String::new(), *c))
                .collect(),
        }
    }

    #[test]
    fn grading_needs_the_exact_set() {
        let qs = vec![
            q(1, QuestionKind::Single, 1, &[(10, true), (11, false)]),
            q(
                2,
                QuestionKind::Multiple,
                2,
                &[(20, true), (21, true), (22, false)],
            ),
            q(3, QuestionKind::TrueFalse, 1, &[(30, false), (31, true)]),
        ];
        let a = |q: i64, o: &[i64]| AnswerInput {
            question_id: q,
            option_ids: o.to_vec(),
        };
        assert_eq!(
            grade(&qs, &[a(1, &[10]), a(2, &[20, 21]), a(3, &[31])]).0,
            100
        );
        // A partial multiple choice earns nothing; a missing answer is wrong.
        let (score, results) = grade(&qs, &[a(1, &[10]), a(2, &[20])]);
        assert_eq!(score, 25);
        assert!(results[0].correct && !results[1].correct && !results[2].correct);
        assert_eq!(results[1].correct_option_ids, Some(vec![20, 21]));
        assert_eq!(grade(&qs, &[]).0, 0);
    }

    #[test]
    fn answers_are_revealed_only_after_a_pass_or_the_last_attempt() {
        use RevealAnswers::{AfterPassOrLastAttempt as Default, Never};
        // Failed with attempts remaining, or unlimited: only which questions were wrong.
        assert!(!reveals(Default, false, Some(1)));
        assert!(!reveals(Default, false, None));
        // Passed, or no attempt left.
        assert!(reveals(Default, true, Some(2)));
        assert!(reveals(Default, true, None));
        assert!(reveals(Default, false, Some(0)));
        // Never, whatever happened.
        assert!(!reveals(Never, true, Some(0)));
        assert!(!reveals(Never, false, Some(0)));
    }

    #[test]
    fn attempts_left_counts_grants() {
        assert_eq!(attempts_left(Some(2), 0, 0), Some(2));
        assert_eq!(attempts_left(Some(2), 0, 2), Some(0));
        assert_eq!(attempts_left(Some(2), 1, 2), Some(1));
        assert_eq!(attempts_left(Some(2), 3, 4), Some(1));
        assert_eq!(attempts_left(Some(1), 0, 5), Some(0), "never below 0");
        assert_eq!(attempts_left(None, 3, 7), None);
    }

    #[test]
    fn shuffle_seed_changes_per_attempt_but_not_per_reload() {
        assert_eq!(seed(1, 2, 1), seed(1, 2, 1));
        assert_ne!(seed(1, 2, 1), seed(1, 2, 2));
        assert_ne!(seed(1, 2, 1), seed(3, 2, 1));
    }
}
