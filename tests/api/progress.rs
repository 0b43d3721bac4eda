//! Progress sync over HTTP: offline batches, replays, conflicts, impossible events,
//! completion with a quiz gate, the credit ledger, "my year", and two phones at once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, spawn};

/// A required course for branch A: an audio lesson (`duration` s, with a quiz when asked)
/// and an article (60 s minimum reading). Returns (course, audio, article).
async fn course_for_branch_a(w: &World, duration: i32, with_quiz: bool) -> (i64, i64, i64) {
    let c = &w.secretary_a;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": "党章学习", "credit_centi": 100}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let audio = c
        .post(&format!("/v1/courses/{course}/lessons"), json!({"kind": "audio", "title": "音频", "external_url": "https://cdn.example.com/a.mp3", "duration_s": duration}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let article = c
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "原文", "body": "<p>正文</p>", "min_reading_s": 60}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    if with_quiz {
        c.put(
            &format!("/v1/lessons/{audio}/quiz"),
            json!({"questions": [{"kind": "true_false", "text": "对吗", "answer": true}]}),
        )
        .await
        .expect(200);
    }
    c.publish_and_assign(
        course,
        json!({"org_ids": [w.branch_a], "required": true, "due_date": "2026-12-31"}),
    )
    .await;
    (course, audio, article)
}

/// A study event: `from..to` played (or read) during `wall` seconds ending at `end`.
fn ev(
    id: &str,
    lesson: i64,
    kind: &str,
    from: i32,
    to: i32,
    end: DateTime<Utc>,
    wall: i64,
) -> Value {
    json!({"client_event_id": id, "lesson_id": lesson, "kind": kind, "from_s": from, "to_s": to,
           "started_at": (end - Duration::seconds(wall)).to_rfc3339(), "ended_at": end.to_rfc3339()})
}

async fn sync(c: &Client, events: Vec<Value>) -> Value {
    let r = c.post("/v1/progress/sync", json!({"events": events})).await;
    r.expect(200);
    r.json()
}

fn lesson_state(res: &Value, lesson: i64) -> &Value {
    res["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lesson_id"] == lesson)
        .unwrap()
}

#[tokio::test]
async fn an_offline_week_syncs_once_completes_with_the_quiz_and_credits_the_year() {
    let app = spawn().await;
    let w = app.world().await;
    let (course, audio, article) = course_for_branch_a(&w, 180, true).await;
    let m = &w.member_a;
    let mine = m.get("/v1/me/courses?status=todo").await.json();
    assert_eq!(mine["items"][0]["course_id"], course);

    // Studied offline two days ago, synced now in chunks.
    let day = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
    let chunk1 = vec![
        ev("e1", audio, "play", 0, 40, day, 40),
        ev(
            "e2",
            audio,
            "play",
            30,
            60,
            day + Duration::seconds(100),
            30,
        ),
    ];
    let first = sync(m, chunk1.clone()).await;
    assert!(
        first["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "accepted" && r["replayed"] == false)
    );
    assert_eq!(lesson_state(&first, audio)["covered_s"], 60);

    // The phone lost the answer and sends the chunk again: same results, nothing changes.
    let again = sync(m, chunk1).await;
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "accepted" && r["replayed"] == true)
    );
    assert_eq!(lesson_state(&again, audio)["covered_s"], 60);

    // An event edited under a used id is a conflict; the rest of the batch applies.
    let edited = sync(
        m,
        vec![
            ev(
                "e2",
                audio,
                "play",
                30,
                90,
                day + Duration::seconds(100),
                60,
            ),
            ev(
                "e3",
                audio,
                "play",
                60,
                150,
                day + Duration::seconds(300),
                90,
            ),
        ],
    )
    .await;
    assert_eq!(edited["results"][0]["status"], "conflict");
    assert_eq!(edited["results"][1]["status"], "accepted");
    assert_eq!(lesson_state(&edited, audio)["covered_s"], 150);

    // Coverage reaches 0.9 (170 of 180 s) but the quiz is not passed yet.
    let covered = sync(
        m,
        vec![ev(
            "e4",
            audio,
            "play",
            150,
            170,
            day + Duration::seconds(400),
            20,
        )],
    )
    .await;
    let state = lesson_state(&covered, audio);
    assert_eq!(state["complete"], false);
    assert_eq!(state["resume_s"], 170);
    assert!(covered["credited"].as_array().unwrap().is_empty());
    assert_eq!(
        m.get("/v1/me/courses").await.json()["items"][0]["status"],
        "in_progress"
    );

    // The quiz completes the lesson and credits it.
    let quiz = m.get(&format!("/v1/lessons/{audio}/quiz")).await.json();
    let q = &quiz["questions"][0];
    let right = q["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["text"] == "正确")
        .unwrap()["id"]
        .clone();
    m.send(
        m.request(Method::POST, &format!("/v1/lessons/{audio}/quiz/attempts"))
            .header("idempotency-key", "quiz-1")
            .json(&json!({"answers": [{"question_id": q["id"], "option_ids": [right]}]})),
    )
    .await
    .expect(201);
    let lesson = m.get(&format!("/v1/lessons/{audio}")).await.json();
    assert_eq!(lesson["my_state"]["complete"], true);
    assert_eq!(lesson["my_state"]["quiz_passed"], true);

    // The article: reading time in two sittings, the second completes the course.
    let r = sync(
        m,
        vec![ev(
            "r1",
            article,
            "read",
            0,
            30,
            day + Duration::hours(2),
            30,
        )],
    )
    .await;
    assert_eq!(lesson_state(&r, article)["complete"], false);
    let r = sync(
        m,
        vec![ev(
            "r2",
            article,
            "read",
            30,
            75,
            day + Duration::hours(3),
            45,
        )],
    )
    .await;
    assert_eq!(lesson_state(&r, article)["complete"], true);
    assert_eq!(r["credited"][0]["lesson_id"], article);
    assert_eq!(r["credited"][0]["year"], 2026);
    assert_eq!(r["courses_completed"], json!([course]));

    let done = m.get("/v1/me/courses?status=done").await.json();
    assert_eq!(done["items"][0]["course_id"], course);
    let year = m.get("/v1/me/study?year=2026").await;
    year.expect(200);
    let year = year.json();
    assert_eq!(year["quota_category"], "member");
    assert_eq!(year["quota_centi"], 3200);
    assert_eq!(year["earned_centi"], 100);
    assert_eq!(year["remaining_centi"], 3100);
    assert_eq!(year["by_month"][10], 100, "November");
    assert!(year["open_required_courses"].as_array().unwrap().is_empty());
    // Pro-rated to 27 November, 100 of 3200 is behind.
    assert_eq!(year["on_track"], false);
    assert_eq!(year["expected_by_now_centi"], 3200 * 331 / 365);

    // Replaying everything again credits nothing twice.
    let replay = sync(
        m,
        vec![ev(
            "r2",
            article,
            "read",
            30,
            75,
            day + Duration::hours(3),
            45,
        )],
    )
    .await;
    assert!(replay["credited"].as_array().unwrap().is_empty());
    assert_eq!(m.get("/v1/me/study").await.json()["earned_centi"], 100);
}

#[tokio::test]
async fn impossible_events_are_refused_one_by_one() {
    let app = spawn().await;
    let w = app.world().await;
    let (_, audio, article) = course_for_branch_a(&w, 600, false).await;
    // A lesson of branch B the member cannot see.
    let other = w
        .admin
        .post("/v1/courses", json!({"owner_org_id": w.branch_b, "kind": "mini_class", "title": "西河", "credit_centi": 10}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let hidden = w
        .admin
        .post(&format!("/v1/courses/{other}/lessons"), json!({"kind": "audio", "title": "x", "external_url": "https://cdn.example.com/b.mp3", "duration_s": 60}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    w.admin
        .publish_and_assign(other, json!({"org_ids": [w.branch_b]}))
        .await;

    let now = Utc.with_ymd_and_hms(2026, 11, 27, 1, 30, 0).unwrap();
    let t = now - Duration::hours(1);
    let res = sync(
        &w.member_a,
        vec![
            ev("ok", audio, "play", 0, 100, t, 100),
            ev("fast", audio, "play", 100, 400, t, 100),
            ev("long", audio, "play", 500, 700, t, 200),
            ev("back", audio, "play", 80, 20, t, 60),
            ev("future", audio, "play", 0, 60, now + Duration::hours(2), 60),
            ev("old", audio, "play", 0, 60, now - Duration::days(40), 60),
            ev("hidden", hidden, "play", 0, 30, t, 30),
            ev("kind", article, "play", 0, 30, t, 30),
            ev("zero", audio, "play", 300, 300, t, 0),
        ],
    )
    .await;
    let reasons: Vec<(String, String)> = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["client_event_id"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expect = [
        ("ok", ""),
        ("fast", "too_fast"),
        ("long", "beyond_duration"),
        ("back", "end_before_start"),
        ("future", "in_future"),
        ("old", "too_old"),
        ("hidden", "lesson_not_visible"),
        ("kind", "kind_mismatch"),
        ("zero", ""),
    ];
    for ((id, reason), (eid, ereason)) in reasons.iter().zip(expect) {
        assert_eq!((id.as_str(), reason.as_str()), (eid, ereason));
    }
    assert_eq!(
        lesson_state(&res, audio)["covered_s"],
        100,
        "only the good event counts"
    );
    assert!(
        res["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["lesson_id"] != hidden)
    );

    // Batch shape errors are the request's fault.
    w.member_a
        .post("/v1/progress/sync", json!({"events": []}))
        .await
        .expect_problem(422, "validation_failed");
    let too_many: Vec<Value> = (0..201)
        .map(|i| ev(&format!("n{i}"), audio, "play", 0, 1, t, 1))
        .collect();
    w.member_a
        .post("/v1/progress/sync", json!({"events": too_many}))
        .await
        .expect_problem(422, "validation_failed");
    let body = w
        .member_a
        .post(
            "/v1/progress/sync",
            json!({"events": [ev("bad id!", audio, "play", 0, 1, t, 1)]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "events[0].client_event_id");
    w.member_a
        .post(
            "/v1/progress/sync",
            json!({"events": [{"client_event_id": "x", "lesson_id": audio}]}),
        )
        .await
        .expect_problem(422, "invalid_body");
}

#[tokio::test]
async fn the_resume_position_follows_the_latest_event_not_the_furthest() {
    let app = spawn().await;
    let w = app.world().await;
    let (_, audio, _) = course_for_branch_a(&w, 600, false).await;
    let t = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
    // Listened to 300-400 first, then went back to 10-50: resume at 50.
    let res = sync(
        &w.member_a,
        vec![
            ev("b", audio, "play", 10, 50, t + Duration::minutes(10), 40),
            ev("a", audio, "play", 300, 400, t, 100),
        ],
    )
    .await;
    assert_eq!(lesson_state(&res, audio)["resume_s"], 50);
    // A late-arriving older event does not move it.
    let res = sync(
        &w.member_a,
        vec![ev("c", audio, "play", 500, 560, t - Duration::hours(1), 60)],
    )
    .await;
    assert_eq!(lesson_state(&res, audio)["resume_s"], 50);
    assert_eq!(lesson_state(&res, audio)["covered_s"], 40 + 100 + 60);
}

#[tokio::test]
async fn credit_lands_in_the_home_zone_year_of_the_completing_event() {
    let app = spawn().await;
    let w = app.world().await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap());
    let member = app.login_as("13900000003").await;
    let secretary = app.login_as("13900000001").await;
    let w = World {
        member_a: member,
        secretary_a: secretary,
        ..w
    };
    let (_, _, article) = course_for_branch_a(&w, 60, false).await;
    // 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Shanghai.
    let end = Utc.with_ymd_and_hms(2026, 12, 31, 16, 30, 0).unwrap();
    let res = sync(&w.member_a, vec![ev("y", article, "read", 0, 60, end, 60)]).await;
    assert_eq!(res["credited"][0]["year"], 2027);
    let y2027 = w.member_a.get("/v1/me/study?year=2027").await.json();
    assert_eq!(y2027["earned_centi"], 50);
    assert_eq!(y2027["by_month"][0], 50);
    assert_eq!(
        w.member_a.get("/v1/me/study?year=2026").await.json()["earned_centi"],
        0
    );
}

#[tokio::test]
async fn two_phones_on_one_account_never_lose_a_merge_or_credit_twice() {
    let app = spawn().await;
    let w = app.world().await;
    let (_, audio, _) = course_for_branch_a(&w, 3600, false).await;
    let phone_a = app.login_as("13900000003").await;
    let phone_b = app.login_as("13900000003").await;
    let base = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();

    // 50 batches per phone, each of 4 overlapping 40-second spans; the phones' spans
    // overlap each other too, and together cover the whole hour.
    let batch = |phone: &str, i: i32| -> Vec<Value> {
        let shift = if phone == "a" { 0 } else { 9 };
        (0..4)
            .map(|j| {
                let from = (i * 72 + j * 18 + shift).min(3560);
                ev(
                    &format!("{phone}-{i}-{j}"),
                    audio,
                    "play",
                    from,
                    from + 40,
                    base + Duration::seconds(i64::from(i * 100 + j)),
                    40,
                )
            })
            .collect()
    };
    let mut expected = dangke::progress::coverage::Coverage::new();
    for phone in ["a", "b"] {
        for i in 0..50 {
            for e in batch(phone, i) {
                expected.add((
                    e["from_s"].as_i64().unwrap() as i32,
                    e["to_s"].as_i64().unwrap() as i32,
                ));
            }
        }
    }
    let mut tasks = Vec::new();
    for i in 0..50 {
        for (phone, client) in [("a", phone_a.clone()), ("b", phone_b.clone())] {
            let events = batch(phone, i);
            tasks.push(tokio::spawn(async move {
                let r = client
                    .post("/v1/progress/sync", json!({"events": events}))
                    .await;
                assert_eq!(r.status.as_u16(), 200, "{}", r.text());
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let lesson = phone_a.get(&format!("/v1/lessons/{audio}")).await.json();
    let covered = (lesson["my_state"]["coverage"].as_f64().unwrap() * 3600.0).round() as i32;
    assert_eq!(
        covered,
        expected.seconds(),
        "coverage is the union of every span"
    );
    assert_eq!(expected.seconds(), 3600);
    assert_eq!(lesson["my_state"]["complete"], true);
    let credits = app
        .app_state
        .db
        .read(move |c| {
            use dangke::db::schema::credit_ledger::dsl as l;
            use diesel::prelude::*;
            Ok(l::credit_ledger
                .filter(l::source_id.eq(audio))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(credits, 1, "credited exactly once");
    let events = app
        .app_state
        .db
        .read(|c| {
            use dangke::db::schema::study_events::dsl as e;
            use diesel::prelude::*;
            Ok(e::study_events.count().get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(events, 400);
}

/// Issue 22: a member whose only event was rejected (`too_fast`) has not started the course
/// — not in her own view, and not in the organizers' funnel (started, per lesson, dropped).
#[tokio::test]
async fn a_rejected_event_starts_nothing_in_the_course_funnel() {
    let app = spawn().await;
    let w = app.world().await;
    let (course, audio, _) = course_for_branch_a(&w, 600, false).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 1, 30, 0).unwrap();
    let res = sync(
        &w.member_a,
        vec![ev(
            "fast",
            audio,
            "play",
            0,
            500,
            now - Duration::minutes(5),
            100,
        )],
    )
    .await;
    assert_eq!(res["results"][0]["reason"], "too_fast", "{res}");

    let mine = w.member_a.get("/v1/me/courses").await.json();
    let item = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["course_id"] == course)
        .unwrap()
        .clone();
    assert_eq!(item["status"], "todo", "{item}");

    let funnel = w
        .secretary_a
        .get(&format!("/v1/courses/{course}/stats?org_id={}", w.branch_a))
        .await;
    funnel.expect(200);
    let funnel = funnel.json();
    assert_eq!(funnel["started"], 0, "{funnel}");
    let lesson = funnel["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lesson_id"] == audio)
        .unwrap()
        .clone();
    assert_eq!(
        (&lesson["started"], &lesson["dropped"]),
        (&json!(0), &json!(0)),
        "{lesson}"
    );

    // An accepted event does start it.
    sync(
        &w.member_a,
        vec![ev(
            "ok",
            audio,
            "play",
            0,
            100,
            now - Duration::minutes(1),
            100,
        )],
    )
    .await;
    let funnel = w
        .secretary_a
        .get(&format!("/v1/courses/{course}/stats?org_id={}", w.branch_a))
        .await
        .json();
    assert_eq!(funnel["started"], 1, "{funnel}");
}
