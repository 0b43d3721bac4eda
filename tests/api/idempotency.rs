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
