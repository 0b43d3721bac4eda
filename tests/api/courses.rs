//! Courses, lessons, publishing to branches, my course list with ETag, quizzes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, TestApp, spawn};

/// A draft course owned by branch A with an audio lesson (external URL) and an article.
async fn draft_course(by: &Client, w: &World) -> (i64, i64, i64) {
    let r = by
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "学习新思想 做好接班人",
                   "summary": "村党支部书记讲微党课", "credit_centi": 100, "tags": ["微党课", "乡村振兴"]}),
        )
        .await;
    r.expect(201);
    let course = r.json();
    assert_eq!(course["status"], "draft");
    let id = course["id"].as_i64().unwrap();
    let audio = by
        .post(
            &format!("/v1/courses/{id}/lessons"),
            json!({"kind": "audio", "title": "第一讲", "external_url": "https://cdn.example.com/a.mp3", "duration_s": 180}),
        )
        .await;
    audio.expect(201);
    let article = by
        .post(
            &format!("/v1/courses/{id}/lessons"),
            json!({"kind": "article", "title": "学习材料", "body": "<p>原文</p><script>alert(1)</script>", "min_reading_s": 120}),
        )
        .await;
    article.expect(201);
    let article = article.json();
    assert!(
        !article["body"].as_str().unwrap().contains("script"),
        "article bodies are sanitized"
    );
    (
        id,
        audio.json()["id"].as_i64().unwrap(),
        article["id"].as_i64().unwrap(),
    )
}

async fn publish_to(
    by: &Client,
    course: i64,
    org: i64,
    required: bool,
    due: Option<&str>,
) -> Value {
    by.post(&format!("/v1/courses/{course}/publish"), json!({}))
        .await
        .expect(200);
    let r = by
        .post(
            &format!("/v1/courses/{course}/assignments"),
            json!({"org_ids": [org], "required": required, "due_date": due}),
        )
        .await;
    r.expect(200);
    r.json()
}

async fn my_courses(c: &Client, query: &str) -> Vec<Value> {
    let r = c.get(&format!("/v1/me/courses{query}")).await;
    r.expect(200);
    r.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_published_course_reaches_its_branch_and_no_one_else() {
    let app = spawn().await;
    let w = app.world().await;
    let (course, audio, _) = draft_course(&w.secretary_a, &w).await;
    let detail = w
        .secretary_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .json();
    assert_eq!(detail["credit_centi"], 100);
    let credits: Vec<i64> = detail["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["credit_centi"].as_i64().unwrap())
        .collect();
    assert_eq!(
        credits,
        vec![50, 50],
        "the course credit is split over its lessons"
    );
    assert_eq!(detail["can_manage"], true);

    // A draft is invisible to members.
    assert!(my_courses(&w.member_a, "").await.is_empty());
    w.member_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .expect_problem(404, "not_found");

    publish_to(&w.secretary_a, course, w.branch_a, true, Some("2026-12-31")).await;
    let mine = my_courses(&w.member_a, "?status=todo").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["course_id"], course);
    assert_eq!(mine[0]["required"], true);
    assert_eq!(mine[0]["due_date"], "2026-12-31");
    assert_eq!(mine[0]["lessons_total"], 2);
    assert_eq!(mine[0]["status"], "todo");
    assert!(my_courses(&w.member_a, "?status=done").await.is_empty());
    assert!(my_courses(&w.member_a, "?required=false").await.is_empty());
    // The member of the sibling branch sees nothing.
    assert!(my_courses(&w.organizer_b, "").await.is_empty());
    w.organizer_b
        .get(&format!("/v1/courses/{course}"))
        .await
        .expect_problem(404, "not_found");
    w.organizer_b
        .get(&format!("/v1/lessons/{audio}"))
        .await
        .expect_problem(404, "not_found");

    // The member reads the course with their (not yet started) state.
    let d = w.member_a.get(&format!("/v1/courses/{course}")).await;
    d.expect(200);
    let d = d.json();
    assert_eq!(d["my"]["status"], "todo");
    assert_eq!(d["can_manage"], false);
    assert_eq!(d["lessons"][0]["my_state"]["complete"], false);
    let lesson = w.member_a.get(&format!("/v1/lessons/{audio}")).await.json();
    assert_eq!(lesson["url"], "https://cdn.example.com/a.mp3");
    assert_eq!(lesson["duration_s"], 180);
    assert_eq!(lesson["min_coverage"], 0.9);

    // A course assigned to the township reaches both branches.
    let (c2, _, _) = draft_course(&w.admin, &w).await;
    publish_to(&w.admin, c2, w.township, false, None).await;
    assert_eq!(my_courses(&w.organizer_b, "").await.len(), 1);
    let mine = my_courses(&w.member_a, "").await;
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["course_id"], course, "required courses come first");

    // Archiving hides it again.
    w.secretary_a
        .post(&format!("/v1/courses/{course}/archive"), json!({}))
        .await
        .expect(200);
    assert_eq!(my_courses(&w.member_a, "").await.len(), 1);
}

#[tokio::test]
async fn my_courses_answers_304_until_an_assignment_changes() {
    let app = spawn().await;
    let w = app.world().await;
    let (course, _, _) = draft_course(&w.secretary_a, &w).await;
    publish_to(&w.secretary_a, course, w.branch_a, true, Some("2026-12-31")).await;
    let c = &w.member_a;
    let first = c.get("/v1/me/courses").await;
    first.expect(200);
    let tag = first.header("etag").unwrap();
    let again = c
        .send(
            c.request(Method::GET, "/v1/me/courses")
                .header("if-none-match", &tag),
        )
        .await;
    again.expect(304);
    assert!(again.body.is_empty());
    // The due date moves: a new tag.
    publish_to(&w.secretary_a, course, w.branch_a, true, Some("2027-01-15")).await;
    let changed = c
        .send(
            c.request(Method::GET, "/v1/me/courses")
                .header("if-none-match", &tag),
        )
        .await;
    changed.expect(200);
    assert_ne!(changed.header("etag").unwrap(), tag);
    assert_eq!(changed.json()["items"][0]["due_date"], "2027-01-15");
    // Withdrawn: another new tag, and the list is empty.
    let tag2 = changed.header("etag").unwrap();
    w.secretary_a
        .delete(&format!("/v1/courses/{course}/assignments/{}", w.branch_a))
        .await
        .expect(204);
    let gone = c
        .send(
            c.request(Method::GET, "/v1/me/courses")
                .header("if-none-match", &tag2),
        )
        .await;
    gone.expect(200);
    assert!(gone.json()["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn published_lessons_can_be_corrected_but_not_added_or_removed() {
    let app = spawn().await;
    let w = app.world().await;
    let (course, audio, article) = draft_course(&w.secretary_a, &w).await;
    // While a draft: remove and re-add freely, credit rebalances.
    w.secretary_a
        .delete(&format!("/v1/lessons/{article}"))
        .await
        .expect(204);
    let d = w
        .secretary_a
        .get(&format!("/v1/courses/{course}"))
        .await
        .json();
    assert_eq!(d["lessons"][0]["credit_centi"], 100);
    w.secretary_a
        .post(&format!("/v1/courses/{course}/publish"), json!({}))
        .await
        .expect(200);
    w.secretary_a
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "补充", "body": "<p>x</p>"}),
        )
        .await
        .expect_problem(409, "course_locked");
    w.secretary_a
        .delete(&format!("/v1/lessons/{audio}"))
        .await
        .expect_problem(409, "course_locked");
    w.secretary_a
        .patch(
            &format!("/v1/courses/{course}"),
            json!({"credit_centi": 300}),
        )
        .await
        .expect_problem(409, "course_locked");
    let fixed = w
        .secretary_a
        .patch(
            &format!("/v1/lessons/{audio}"),
            json!({"title": "第一讲（修订）", "duration_s": 185}),
        )
        .await;
    fixed.expect(200);
    assert_eq!(fixed.json()["title"], "第一讲（修订）");
    assert_eq!(fixed.json()["duration_s"], 185);
    // A committee member manages too; a member may not.
    w.committee_a
        .patch(
            &format!("/v1/courses/{course}"),
            json!({"summary": "修改简介"}),
        )
        .await
        .expect(200);
    w.secretary_a
        .post(
            &format!("/v1/courses/{course}/assignments"),
            json!({"org_ids": [w.branch_a], "required": true}),
        )
        .await
        .expect(200);
    w.member_a
        .patch(&format!("/v1/lessons/{audio}"), json!({"title": "x"}))
        .await
        .expect_problem(403, "forbidden");
    // The secretary cannot assign her course outside her scope.
    w.secretary_a
        .post(
            &format!("/v1/courses/{course}/assignments"),
            json!({"org_ids": [w.branch_b]}),
        )
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn lesson_and_course_input_is_validated() {
    let app = spawn().await;
    let w = app.world().await;
    let (course, _, _) = draft_course(&w.secretary_a, &w).await;
    let bad = w
        .secretary_a
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "video", "title": "无源"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"media_id") && fields.contains(&"duration_s"),
        "{fields:?}"
    );
    w.secretary_a
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "空"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    w.secretary_a
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "audio", "title": "x", "external_url": "ftp://x/a.mp3", "duration_s": 10, "min_coverage": 0.2}),
        )
        .await
        .expect_problem(422, "validation_failed");
    w.secretary_a
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "", "credit_centi": -1}))
        .await
        .expect_problem(422, "validation_failed");
    w.secretary_a
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "lecture", "title": "x", "credit_centi": 1}),
        )
        .await
        .expect_problem(422, "invalid_body");
    // An empty course cannot be published; assigning a draft is refused.
    let empty = w
        .secretary_a
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": "空课程", "credit_centi": 100}))
        .await
        .json();
    let empty_id = empty["id"].as_i64().unwrap();
    w.secretary_a
        .post(&format!("/v1/courses/{empty_id}/publish"), json!({}))
        .await
        .expect_problem(422, "validation_failed");
    w.secretary_a
        .post(
            &format!("/v1/courses/{empty_id}/assignments"),
            json!({"org_ids": [w.branch_a]}),
        )
        .await
        .expect_problem(409, "course_not_published");
}

fn quiz_body() -> Value {
    json!({
        "pass_mark_pct": 60,
        "max_attempts": 2,
        "questions": [
            {"kind": "single", "text": "党的根本宗旨是？", "options": [
                {"text": "全心全意为人民服务", "correct": true}, {"text": "发展经济"}, {"text": "对外开放"}]},
            {"kind": "multiple", "text": "“三会一课”包括哪些？", "points": 2, "options": [
                {"text": "支部党员大会", "correct": true}, {"text": "支部委员会", "correct": true},
                {"text": "党小组会", "correct": true}, {"text": "党课", "correct": true}, {"text": "村民大会"}]},
            {"kind": "true_false", "text": "主题党日每月开展一次。", "answer": true},
            {"kind": "single", "text": "党员每年学习不少于多少学时？", "options": [
                {"text": "16"}, {"text": "32", "correct": true}, {"text": "56"}]},
            {"kind": "true_false", "text": "预备党员没有表决权。", "answer": true},
            {"kind": "single", "text": "党支部委员会每届任期几年？", "options": [
                {"text": "三年"}, {"text": "五年", "correct": true}]}
        ]
    })
}

/// Answers chosen from a member's view of the quiz: all right, or all wrong.
fn answers(quiz: &Value, manager_view: &Value, right: bool) -> Value {
    let mut out = Vec::new();
    for q in quiz["questions"].as_array().unwrap() {
        let mq = manager_view["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == q["id"])
            .unwrap();
        let ids: Vec<i64> = mq["options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["correct"].as_bool().unwrap() == right)
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        let ids = if q["kind"] == "multiple" || right {
            ids
        } else {
            ids.into_iter().take(1).collect()
        };
        out.push(json!({"question_id": q["id"], "option_ids": ids}));
    }
    json!({"answers": out})
}

async fn attempt(c: &Client, lesson: i64, key: &str, body: &Value) -> crate::helpers::Resp {
    c.send(
        c.request(Method::POST, &format!("/v1/lessons/{lesson}/quiz/attempts"))
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn quizzes_hide_answers_shuffle_per_attempt_grade_on_the_server_and_replay() {
    let app: TestApp = spawn().await;
    let w = app.world().await;
    let (course, audio, _) = draft_course(&w.secretary_a, &w).await;
    let manager = w
        .secretary_a
        .put(&format!("/v1/lessons/{audio}/quiz"), quiz_body())
        .await;
    manager.expect(200);
    let manager = manager.json();
    assert_eq!(
        manager["questions"][0]["options"][0]["correct"], true,
        "managers see the answers"
    );
    publish_to(&w.secretary_a, course, w.branch_a, true, None).await;

    let quiz = w.member_a.get(&format!("/v1/lessons/{audio}/quiz")).await;
    quiz.expect(200);
    let quiz = quiz.json();
    assert!(
        !quiz.to_string().contains("correct"),
        "no answers before submission: {quiz}"
    );
    assert_eq!(quiz["attempts_left"], 2);
    // Reloading shows the same order; the order is not the authored one.
    let reload = w
        .member_a
        .get(&format!("/v1/lessons/{audio}/quiz"))
        .await
        .json();
    assert_eq!(quiz, reload);
    let order = |q: &Value| -> Vec<i64> {
        q["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect()
    };
    assert_ne!(order(&quiz), order(&manager));

    // A wrong attempt, retried with the same key: one attempt used, same body.
    let wrong = answers(&quiz, &manager, false);
    let first = attempt(&w.member_a, audio, "k-1", &wrong).await;
    first.expect(201);
    let first_body = first.json();
    assert_eq!(first_body["passed"], false);
    assert_eq!(first_body["attempt_no"], 1);
    // Failed with an attempt left: which questions were wrong, never the right options.
    assert_eq!(first_body["answers_revealed"], false);
    assert_eq!(first_body["attempts_left"], 1);
    assert!(
        first_body["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["correct"] == false && q.get("correct_option_ids").is_none()),
        "no right options while attempts remain: {first_body}"
    );
    let replay = attempt(&w.member_a, audio, "k-1", &wrong).await;
    replay.expect(201);
    assert_eq!(
        replay.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(replay.json(), first_body);
    // Same key, other answers: refused.
    attempt(&w.member_a, audio, "k-1", &answers(&quiz, &manager, true))
        .await
        .expect_problem(409, "idempotency_key_reused");

    // The second attempt has a new order and passes.
    let quiz2 = w
        .member_a
        .get(&format!("/v1/lessons/{audio}/quiz"))
        .await
        .json();
    assert_eq!(quiz2["attempts_used"], 1);
    assert_ne!(order(&quiz2), order(&quiz), "shuffled per attempt");
    let pass = attempt(&w.member_a, audio, "k-2", &answers(&quiz2, &manager, true)).await;
    pass.expect(201);
    assert_eq!(pass.json()["score_pct"], 100);
    assert_eq!(pass.json()["passed"], true);
    assert_eq!(pass.json()["attempts_left"], 0);
    // Passed: the right options come now.
    assert_eq!(pass.json()["answers_revealed"], true);
    assert_eq!(
        pass.json()["questions"][0]["correct_option_ids"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "answers revealed after the pass"
    );
    // No attempts left (and the refusal is itself replayable).
    attempt(&w.member_a, audio, "k-3", &wrong)
        .await
        .expect_problem(409, "quiz_attempts_exhausted");
    attempt(&w.member_a, audio, "k-3", &wrong)
        .await
        .expect_problem(409, "quiz_attempts_exhausted");
    // The pass shows in my state; the quiz can no longer be replaced.
    let lesson = w.member_a.get(&format!("/v1/lessons/{audio}")).await.json();
    assert_eq!(lesson["my_state"]["quiz_passed"], true);
    w.secretary_a
        .put(&format!("/v1/lessons/{audio}/quiz"), quiz_body())
        .await
        .expect_problem(409, "quiz_locked");
    // Bad answers are field errors, and someone it is not assigned to cannot attempt.
    let bad = attempt(
        &w.committee_a,
        audio,
        "k-9",
        &json!({"answers": [{"question_id": 999999, "option_ids": []}]}),
    )
    .await;
    bad.expect_problem(422, "validation_failed");
    attempt(&w.organizer_b, audio, "k-9", &wrong)
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .send(
            w.member_a
                .request(Method::POST, &format!("/v1/lessons/{audio}/quiz/attempts"))
                .header("idempotency-key", "bad key with spaces")
                .json(&wrong),
        )
        .await
        .expect_problem(400, "invalid_header");
}

#[tokio::test]
async fn quiz_authoring_is_validated() {
    let app = spawn().await;
    let w = app.world().await;
    let (_, audio, _) = draft_course(&w.secretary_a, &w).await;
    let bad = w
        .secretary_a
        .put(
            &format!("/v1/lessons/{audio}/quiz"),
            json!({"questions": [
                {"kind": "single", "text": "两个正确", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": true}]},
                {"kind": "true_false", "text": "缺答案"},
                {"kind": "multiple", "text": "一个选项", "options": [{"text": "a", "correct": true}]}
            ]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "questions[0].options",
            "questions[1].answer",
            "questions[2].options"
        ]
    );
}
