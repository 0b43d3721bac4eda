//! Idempotency keys beyond the happy path: a request still in flight, an abandoned claim,
//! and expiry after 24 hours — driven through the quiz attempt route.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, spawn};

/// A course assigned to branch A with a one-question quiz (3 attempts); returns the lesson.
async fn quiz_lesson(w: &crate::helpers::world::World) -> i64 {
    let c = &w.secretary_a;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "幂等", "credit_centi": 10}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let lesson = c
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "一", "body": "<p>x</p>"}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    c.put(&format!("/v1/lessons/{lesson}/quiz"), json!({"max_attempts": 3, "questions": [{"kind": "true_false", "text": "对吗", "answer": true}]}))
        .await
        .expect(200);
    c.publish_and_assign(course, json!({"org_ids": [w.branch_a]}))
        .await;
    lesson
}

async fn post(c: &Client, lesson: i64, key: &str, body: &Value) -> crate::helpers::Resp {
    c.send(
        c.request(Method::POST, &format!("/v1/lessons/{lesson}/quiz/attempts"))
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

/// Plants an `in_progress` claim as if another request with the same key were running.
async fn plant_claim(app: &TestApp, user_id: i64, key: &str, body: &Value) {
    let hash = dangke::http::idempotency::hash_body(&serde_json::to_vec(body).unwrap());
    let now = {
        use dangke::clock::Clock;
        app.clock.now_naive()
    };
    let key = key.to_string();
    app.app_state
        .db
        .write(move |c| {
            use dangke::db::schema::idempotency_keys::dsl as ik;
            use diesel::prelude::*;
            diesel::insert_into(ik::idempotency_keys)
                .values((
                    ik::user_id.eq(user_id),
                    ik::method.eq("POST"),
                    ik::route.eq("/v1/lessons/{id}/quiz/attempts"),
                    ik::key.eq(key),
                    ik::request_hash.eq(hash),
                    ik::state.eq("in_progress"),
                    ik::created_at.eq(now),
                    ik::expires_at.eq(now + Duration::hours(24)),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn in_flight_abandoned_and_expired_keys() {
    let app = spawn().await;
    let w = app.world().await;
    let lesson = quiz_lesson(&w).await;
    let quiz = w
        .member_a
        .get(&format!("/v1/lessons/{lesson}/quiz"))
        .await
        .json();
    let q = &quiz["questions"][0];
    let body =
        json!({"answers": [{"question_id": q["id"], "option_ids": [q["options"][0]["id"]]}]});

    // The same key while the first request is still running: 409, nothing recorded.
    plant_claim(&app, w.member_a_id, "busy", &body).await;
    post(&w.member_a, lesson, "busy", &body)
        .await
        .expect_problem(409, "idempotency_in_progress");
    let used = w
        .member_a
        .get(&format!("/v1/lessons/{lesson}/quiz"))
        .await
        .json()["attempts_used"]
        .clone();
    assert_eq!(used, 0);
    // The first request died: after a while the key can be used again.
    app.clock.advance(Duration::minutes(3));
    post(&w.member_a, lesson, "busy", &body).await.expect(201);

    // Keys live 24 hours: the same key with another body is refused, then accepted once expired.
    let other = json!({"answers": []});
    post(&w.member_a, lesson, "busy", &other)
        .await
        .expect_problem(409, "idempotency_key_reused");
    app.clock.advance(Duration::hours(25));
    let member = app.login_as("13900000003").await;
    let r = post(&member, lesson, "busy", &other).await;
    r.expect(201);
    assert_eq!(r.json()["attempt_no"], 2);
    // Keys are per user: another member's identical key is independent.
    let committee = app.login_as("13900000002").await;
    let r = post(&committee, lesson, "busy", &body).await;
    r.expect(201);
    assert_eq!(r.json()["attempt_no"], 1);
    assert!(r.header("idempotent-replayed").is_none());
}

/// POSTs `body` to `path` with `Idempotency-Key: key`.
async fn post_keyed(c: &Client, path: &str, key: &str, body: Value) -> crate::helpers::Resp {
    c.send(
        c.request(Method::POST, path)
            .header("idempotency-key", key)
            .json(&body),
    )
    .await
}

/// Sends a create twice with one key (as a phone does when the first answer is lost):
/// both answers are the same 201, the second marked as a replay; the same key with another
/// body is refused. Returns the created object.
async fn created_once(c: &Client, path: &str, key: &str, body: Value) -> Value {
    let first = post_keyed(c, path, key, body.clone()).await;
    first.expect(201);
    assert!(first.header("idempotent-replayed").is_none());
    let again = post_keyed(c, path, key, body.clone()).await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.json(), first.json(), "{path}");
    let mut other = body;
    other["title"] = json!("另一个");
    post_keyed(c, path, key, other)
        .await
        .expect_problem(409, "idempotency_key_reused");
    first.json()
}

/// The creates an organizer retries on a flaky network — a course, a lesson, a scheduled
/// meeting, a digest schedule — make one object per key, not one per attempt.
#[tokio::test]
async fn retried_creates_make_one_object() {
    let app = spawn().await;
    let w = app.world().await;
    let c = &w.secretary_a;
    let count = |v: Value| v["items"].as_array().map(Vec::len).unwrap_or_default();

    let course = created_once(
        c,
        "/v1/courses",
        "course-1",
        json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "微党课", "credit_centi": 10}),
    )
    .await;
    let courses = c
        .get(&format!("/v1/orgs/{}/courses", w.branch_a))
        .await
        .json();
    assert_eq!(count(courses), 1);

    let course_id = course["id"].as_i64().unwrap();
    created_once(
        c,
        &format!("/v1/courses/{course_id}/lessons"),
        "lesson-1",
        json!({"kind": "article", "title": "第一讲", "body": "<p>原文</p>"}),
    )
    .await;
    let detail = c.get(&format!("/v1/courses/{course_id}")).await.json();
    assert_eq!(
        detail["lessons"].as_array().map(Vec::len),
        Some(1),
        "{detail}"
    );

    created_once(
        c,
        &format!("/v1/orgs/{}/activities", w.branch_a),
        "meeting-1",
        json!({"kind": "theme_party_day", "title": "十二月主题党日",
               "start_local": "2026-12-20T09:00:00", "end_local": "2026-12-20T11:00:00"}),
    )
    .await;
    let activities = c
        .get(&format!("/v1/orgs/{}/activities", w.branch_a))
        .await
        .json();
    assert_eq!(count(activities), 1);

    let channel = c
        .post(
            &format!("/v1/orgs/{}/push-channels", w.branch_a),
            json!({"kind": "wecom_robot", "name": "支部群", "key": "4a0c6f0e-1111-2222-3333-444455556666"}),
        )
        .await;
    channel.expect(201);
    let ch = channel.json()["channel"]["id"].as_i64().unwrap();
    let path = format!("/v1/push-channels/{ch}/schedules");
    let body = json!({"frequency": "weekly", "weekday": 1, "time": "08:00"});
    let first = post_keyed(c, &path, "schedule-1", body.clone()).await;
    first.expect(201);
    let again = post_keyed(c, &path, "schedule-1", body).await;
    again.expect(201);
    assert_eq!(again.json(), first.json());
    let schedules = c.get(&format!("/v1/push-channels/{ch}")).await.json()["schedules"].clone();
    assert_eq!(schedules.as_array().map(Vec::len), Some(1), "{schedules}");
}
