//! Fair quizzes over HTTP: a failed attempt names the wrong questions but never the right
//! options while attempts remain; the last attempt (or a pass) reveals them unless the quiz
//! says `never`; her secretary (or the course's managers) grants extra attempts, audited;
//! the passing attempt says what it completed and credited, as sync does.

use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, Resp, TestApp, spawn};

/// A published course owned by `owner` and assigned to branch A: one audio lesson of 60 s
/// with `quiz`, and `more` further lessons given as JSON. Returns (course, lesson ids, the
/// quiz as its managers see it: in authored order, with the answers).
async fn course_with_quiz(
    by: &Client,
    w: &World,
    owner: i64,
    quiz: Value,
    more: &[Value],
) -> (i64, Vec<i64>, Value) {
    let course = by
        .post("/v1/courses", json!({"owner_org_id": owner, "kind": "mini_class", "title": "党章党规知识测验", "credit_centi": 100}))
        .await;
    course.expect(201);
    let course = course.json()["id"].as_i64().unwrap();
    let mut lessons = Vec::new();
    let audio = json!({"kind": "audio", "title": "学习党章", "external_url": "https://cdn.example.com/dz.mp3", "duration_s": 60});
    for body in std::iter::once(&audio).chain(more) {
        let r = by
            .post(&format!("/v1/courses/{course}/lessons"), body.clone())
            .await;
        r.expect(201);
        lessons.push(r.json()["id"].as_i64().unwrap());
    }
    let manager = by
        .put(&format!("/v1/lessons/{}/quiz", lessons[0]), quiz)
        .await;
    manager.expect(200);
    let manager = manager.json();
    by.publish_and_assign(course, json!({"org_ids": [w.branch_a], "required": true}))
        .await;
    (course, lessons, manager)
}

/// Three questions (single, multiple, true/false), `max_attempts` attempts.
fn three_questions(max_attempts: i32, reveal: Option<&str>) -> Value {
    let mut quiz = json!({
        "pass_mark_pct": 100,
        "max_attempts": max_attempts,
        "questions": [
            {"kind": "single", "text": "党的最高理想和最终目标是？", "options": [
                {"text": "实现共产主义", "correct": true}, {"text": "全面建成小康社会"}, {"text": "实现现代化"}]},
            {"kind": "multiple", "text": "党员的义务包括哪些？", "options": [
                {"text": "认真学习", "correct": true}, {"text": "遵守党的纪律", "correct": true}, {"text": "可以不交党费"}]},
            {"kind": "true_false", "text": "党员每年学习不少于32学时。", "answer": true}
        ]
    });
    if let Some(r) = reveal {
        quiz["reveal_answers"] = json!(r);
    }
    quiz
}

/// The right options of each question, from a manager's view of the quiz.
fn right_options(manager: &Value) -> Vec<(i64, BTreeSet<i64>)> {
    manager["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let right = q["options"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["correct"] == true)
                .map(|o| o["id"].as_i64().unwrap())
                .collect();
            (q["id"].as_i64().unwrap(), right)
        })
        .collect()
}

/// Answers: the right options for the questions in `right_ones`, a wrong option elsewhere.
fn answers(manager: &Value, right_ones: &[usize]) -> Value {
    let qs = manager["questions"].as_array().unwrap();
    let out: Vec<Value> = qs
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let want = right_ones.contains(&i);
            let ids: Vec<i64> = q["options"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| (o["correct"] == true) == want)
                .map(|o| o["id"].as_i64().unwrap())
                .take(if want { 8 } else { 1 })
                .collect();
            json!({"question_id": q["id"], "option_ids": ids})
        })
        .collect();
    json!({"answers": out})
}

async fn attempt(c: &Client, lesson: i64, key: &str, body: &Value) -> Resp {
    c.send(
        c.request(Method::POST, &format!("/v1/lessons/{lesson}/quiz/attempts"))
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

async fn grant(c: &Client, lesson: i64, key: &str, body: Value) -> Resp {
    c.send(
        c.request(
            Method::POST,
            &format!("/v1/lessons/{lesson}/quiz/extra-attempts"),
        )
        .header("idempotency-key", key)
        .json(&body),
    )
    .await
}

/// A graded attempt without `correct_option_ids` anywhere, in which no right option of a
/// question she got wrong appears (her own choices of those were wrong ones).
fn reveals_nothing(body: &Value, right: &[(i64, BTreeSet<i64>)], wrong_qs: &[i64]) {
    assert!(
        !body.to_string().contains("correct_option_ids"),
        "no right options: {body}"
    );
    let mut ids = BTreeSet::new();
    for q in body["questions"].as_array().unwrap() {
        for (k, v) in q.as_object().unwrap() {
            if k != "question_id" {
                collect_numbers(v, &mut ids);
            }
        }
    }
    for (q, opts) in right {
        if wrong_qs.contains(q) {
            assert!(
                opts.is_disjoint(&ids),
                "a right option of question {q} is in {body}"
            );
        }
    }
}

fn collect_numbers(v: &Value, out: &mut BTreeSet<i64>) {
    match v {
        Value::Number(n) => {
            if let Some(n) = n.as_i64() {
                out.insert(n);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_numbers(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_numbers(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_failed_attempt_names_the_wrong_questions_but_not_the_right_options_until_the_last() {
    let app = spawn().await;
    let w = app.world().await;
    let (_, lessons, manager) = course_with_quiz(
        &w.secretary_a,
        &w,
        w.branch_a,
        three_questions(2, None),
        &[],
    )
    .await;
    let lesson = lessons[0];
    assert_eq!(manager["reveal_answers"], "after_pass_or_last_attempt");
    let right = right_options(&manager);
    let m = &w.member_a;

    // First attempt: only the first question right.
    let first = attempt(m, lesson, "fair-1", &answers(&manager, &[0])).await;
    first.expect(201);
    let first = first.json();
    assert_eq!(first["passed"], false);
    assert_eq!(first["attempts_left"], 1);
    assert_eq!(first["answers_revealed"], false);
    let marks: Vec<bool> = first["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["correct"].as_bool().unwrap())
        .collect();
    assert_eq!(
        marks.iter().filter(|c| **c).count(),
        1,
        "which were wrong: {first}"
    );
    let wrong_qs: Vec<i64> = first["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["correct"] == false)
        .map(|q| q["question_id"].as_i64().unwrap())
        .collect();
    assert_eq!(wrong_qs, vec![right[1].0, right[2].0]);
    reveals_nothing(&first, &right, &wrong_qs);
    assert_eq!(first["lesson_completed"], false);
    assert_eq!(first["course_completed"], Value::Null);
    assert_eq!(first["credit"], Value::Null);

    // Nor does her view of the quiz (for the next attempt) reveal them.
    let view = m.get(&format!("/v1/lessons/{lesson}/quiz")).await;
    view.expect(200);
    let view = view.json();
    assert_eq!(view["attempts_left"], 1);
    assert_eq!(view["reveal_answers"], "after_pass_or_last_attempt");
    assert!(view["questions"].as_array().unwrap().iter().all(|q| {
        q["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o.get("correct").is_none())
    }));

    // The next attempt cannot be a copy: resending what the failed answer holds (her own
    // choices) fails again — this time her last, which shows the right options.
    let copied: Vec<Value> = first["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| json!({"question_id": q["question_id"], "option_ids": q["chosen_option_ids"]}))
        .collect();
    let last = attempt(m, lesson, "fair-2", &json!({"answers": copied})).await;
    last.expect(201);
    let last = last.json();
    assert_eq!(last["passed"], false);
    assert_eq!(last["attempts_left"], 0);
    assert_eq!(last["answers_revealed"], true);
    for (q, opts) in &right {
        let r = last["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["question_id"] == *q)
            .unwrap();
        let shown: BTreeSet<i64> = r["correct_option_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(&shown, opts, "the right options after the last attempt");
    }
    attempt(m, lesson, "fair-3", &answers(&manager, &[0, 1, 2]))
        .await
        .expect_problem(409, "quiz_attempts_exhausted");
}

#[tokio::test]
async fn a_quiz_set_to_never_keeps_its_answers_and_an_unlimited_one_takes_no_grants() {
    let app = spawn().await;
    let w = app.world().await;
    let article =
        json!({"kind": "article", "title": "原文", "body": "<p>党章</p>", "min_reading_s": 30});
    let (_, lessons, manager) = course_with_quiz(
        &w.secretary_a,
        &w,
        w.branch_a,
        three_questions(1, Some("never")),
        &[article],
    )
    .await;
    let (lesson, other) = (lessons[0], lessons[1]);
    assert_eq!(manager["reveal_answers"], "never");
    let right = right_options(&manager);
    let view = w
        .member_a
        .get(&format!("/v1/lessons/{lesson}/quiz"))
        .await
        .json();
    assert_eq!(view["reveal_answers"], "never");

    // Her only attempt fails: no attempt left, and still no right options.
    let r = attempt(&w.member_a, lesson, "never-1", &answers(&manager, &[])).await;
    r.expect(201);
    let r = r.json();
    assert_eq!(r["attempts_left"], 0);
    assert_eq!(r["answers_revealed"], false);
    let all: Vec<i64> = right.iter().map(|(q, _)| *q).collect();
    reveals_nothing(&r, &right, &all);

    // An unknown setting is refused; a quiz without a limit takes no grants.
    let mut bad = three_questions(1, None);
    bad["reveal_answers"] = json!("always");
    w.secretary_a
        .put(&format!("/v1/lessons/{other}/quiz"), bad)
        .await
        .expect_problem(422, "invalid_body");
    w.secretary_a
        .put(
            &format!("/v1/lessons/{other}/quiz"),
            json!({"questions": [{"kind": "true_false", "text": "对吗", "answer": true}]}),
        )
        .await
        .expect(200);
    grant(
        &w.secretary_a,
        other,
        "g-unlimited",
        json!({"user_id": w.member_a_id, "attempts": 1, "reason": "再试一次"}),
    )
    .await
    .expect_problem(409, "quiz_attempts_unlimited");
}

/// Adds a county organizer (manages county courses; no right over members) and logs in.
async fn county_organizer(app: &TestApp, w: &World) -> (Client, i64) {
    let id = app
        .add_member(&w.admin, w.branch_b, "13900000009", "钱组织员")
        .await;
    app.grant(&w.admin, w.county, id, "organizer").await;
    (app.login_as("13900000009").await, id)
}

#[tokio::test]
async fn her_secretary_grants_an_extra_attempt_and_the_pass_says_what_it_completed() {
    let app = spawn().await;
    let w = app.world().await;
    // A county course: branch A's secretary does not manage it, she manages the member.
    let quiz = json!({"max_attempts": 1, "questions": [
        {"kind": "true_false", "text": "主题党日每月开展一次。", "answer": true}]});
    let (course, lessons, manager) = course_with_quiz(&w.admin, &w, w.county, quiz, &[]).await;
    let lesson = lessons[0];
    let m = &w.member_a;

    // She plays the whole lesson; only the quiz stands between her and completion.
    let end = Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap();
    let synced = m
        .post(
            "/v1/progress/sync",
            json!({"events": [{"client_event_id": "grant-play-1", "lesson_id": lesson, "kind": "play",
                "from_s": 0, "to_s": 60, "started_at": (end - Duration::seconds(60)).to_rfc3339(),
                "ended_at": end.to_rfc3339()}]}),
        )
        .await;
    synced.expect(200);
    assert_eq!(synced.json()["results"][0]["status"], "accepted");

    // Her only attempt fails; a further one is refused.
    let failed = attempt(m, lesson, "g-1", &answers(&manager, &[])).await;
    failed.expect(201);
    assert_eq!(failed.json()["attempts_left"], 0);
    attempt(m, lesson, "g-2", &answers(&manager, &[0]))
        .await
        .expect_problem(409, "quiz_attempts_exhausted");

    let body = json!({"user_id": w.member_a_id, "attempts": 1, "reason": "外出务工，补考一次"});
    // Another branch's secretary: she is outside his scope.
    app.grant(&w.admin, w.branch_b, w.organizer_b_id, "secretary")
        .await;
    grant(&w.organizer_b, lesson, "g-b", body.clone())
        .await
        .expect_problem(404, "not_found");
    // Her branch's committee member sees her but neither administers her nor manages
    // the course; she cannot grant herself one; a member cannot grant another one.
    grant(&w.committee_a, lesson, "g-c", body.clone())
        .await
        .expect_problem(403, "forbidden");
    grant(&w.member_a, lesson, "g-self", body.clone())
        .await
        .expect_problem(403, "forbidden");
    grant(
        &w.member_a,
        lesson,
        "g-m",
        json!({"user_id": w.committee_a_id, "attempts": 1, "reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    // Out of range, or without a reason.
    for (attempts, reason) in [(0, "原因"), (6, "原因"), (1, "  ")] {
        grant(
            &w.secretary_a,
            lesson,
            &format!("g-bad-{attempts}"),
            json!({"user_id": w.member_a_id, "attempts": attempts, "reason": reason}),
        )
        .await
        .expect_problem(422, "validation_failed");
    }

    // Her secretary grants one; the phone's retry does not grant a second.
    let granted = grant(&w.secretary_a, lesson, "g-sec", body.clone()).await;
    granted.expect(201);
    let granted = granted.json();
    assert_eq!(granted["extra_attempts"], 1);
    assert_eq!(granted["attempts_left"], 1);
    assert_eq!(granted["attempts_used"], 1);
    let replay = grant(&w.secretary_a, lesson, "g-sec", body.clone()).await;
    replay.expect(201);
    assert_eq!(replay.json(), granted);
    let view = m.get(&format!("/v1/lessons/{lesson}/quiz")).await.json();
    assert_eq!(view["extra_attempts"], 1);
    assert_eq!(view["attempts_used"], 1);
    assert_eq!(view["attempts_left"], 1);

    // A county organizer manages the course, so may grant too (without administering her).
    let (organizer, _) = county_organizer(&app, &w).await;
    let more = grant(
        &organizer,
        lesson,
        "g-org",
        json!({"user_id": w.member_a_id, "attempts": 2, "reason": "课程管理员补发"}),
    )
    .await;
    more.expect(201);
    assert_eq!(more.json()["extra_attempts"], 3);
    assert_eq!(more.json()["attempts_left"], 3);

    // She passes: the lesson and the course complete, and the credit is in the answer.
    let pass = attempt(m, lesson, "g-3", &answers(&manager, &[0])).await;
    pass.expect(201);
    let pass = pass.json();
    assert_eq!(pass["passed"], true);
    assert_eq!(pass["attempt_no"], 2);
    assert_eq!(pass["attempts_left"], 2);
    assert_eq!(pass["answers_revealed"], true);
    assert_eq!(pass["lesson_completed"], true);
    assert_eq!(pass["course_completed"], course);
    assert_eq!(
        pass["credit"],
        json!({"lesson_id": lesson, "credit_centi": 100, "year": 2026})
    );
    assert_eq!(m.get("/v1/me/study").await.json()["earned_centi"], 100);

    // Each grant is in the audit log of her home org, with who, how many and why.
    let log = w
        .secretary_a
        .get(&format!(
            "/v1/orgs/{}/audit?action=quiz_attempts_granted",
            w.branch_a
        ))
        .await;
    log.expect(200);
    let items = log.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "one entry per grant, none for the replay");
    let by_secretary = items
        .iter()
        .find(|e| e["actor_user_id"] == w.secretary_a_id)
        .unwrap();
    assert_eq!(by_secretary["target_type"], "user");
    assert_eq!(by_secretary["target_id"], w.member_a_id.to_string());
    assert_eq!(by_secretary["org_id"], w.group_a);
    assert_eq!(by_secretary["details"]["lesson_id"], lesson);
    assert_eq!(by_secretary["details"]["course_id"], course);
    assert_eq!(by_secretary["details"]["attempts"], 1);
    assert_eq!(by_secretary["details"]["reason"], "外出务工，补考一次");
}
