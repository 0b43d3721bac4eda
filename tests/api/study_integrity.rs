//! Study integrity over HTTP: the wall-clock time one account claims may not exceed real
//! time. Two lessons' events over the same half hour are credited once — the later one is
//! rejected with `overlaps_other_lesson` — whether they come in one batch, from two phones
//! at once, or in an offline batch synced three days later; one event's span is capped
//! (`span_too_long`); nothing accepted before is taken back.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, Options, spawn, spawn_with};

/// The member's phone (member_a of the test world).
const MEMBER: &str = "13900000003";

/// A required course for branch A with two audio lessons of `duration` seconds each
/// (credit 1 h, half an hour each). Returns the two lesson ids.
async fn two_lessons(w: &World, duration: i32) -> (i64, i64) {
    let c = &w.secretary_a;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": "党史学习", "credit_centi": 100}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let mut ids = Vec::new();
    for title in ["第一讲", "第二讲"] {
        ids.push(
            c.post(&format!("/v1/courses/{course}/lessons"), json!({"kind": "audio", "title": title, "external_url": "https://cdn.example.com/a.mp3", "duration_s": duration}))
                .await
                .json()["id"]
                .as_i64()
                .unwrap(),
        );
    }
    c.publish_and_assign(
        course,
        json!({"org_ids": [w.branch_a], "required": true, "due_date": "2026-12-31"}),
    )
    .await;
    (ids[0], ids[1])
}

/// A play event of `from..to` over the wall-clock span `start..start + minutes`.
fn play(id: &str, lesson: i64, from: i32, to: i32, start: DateTime<Utc>, minutes: i64) -> Value {
    json!({"client_event_id": id, "lesson_id": lesson, "kind": "play", "from_s": from, "to_s": to,
           "started_at": start.to_rfc3339(), "ended_at": (start + Duration::minutes(minutes)).to_rfc3339()})
}

/// Half an hour of a lesson (0..1800 s) played from `start`.
fn half_hour(id: &str, lesson: i64, start: DateTime<Utc>) -> Value {
    play(id, lesson, 0, 1800, start, 30)
}

async fn sync(c: &Client, events: Vec<Value>) -> Value {
    let r = c.post("/v1/progress/sync", json!({"events": events})).await;
    r.expect(200);
    r.json()
}

/// (client_event_id, status, reason) of each result.
fn outcomes(res: &Value) -> Vec<(String, String, String)> {
    res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["client_event_id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn outcome(id: &str, status: &str, reason: &str) -> (String, String, String) {
    (id.to_string(), status.to_string(), reason.to_string())
}

fn lesson_state(res: &Value, lesson: i64) -> Value {
    res["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lesson_id"] == lesson)
        .cloned()
        .unwrap_or(Value::Null)
}

fn credited(res: &Value) -> Vec<i64> {
    res["credited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["lesson_id"].as_i64().unwrap())
        .collect()
}

async fn earned(c: &Client) -> i64 {
    c.get("/v1/me/study?year=2026").await.json()["earned_centi"]
        .as_i64()
        .unwrap()
}

async fn complete(c: &Client, lesson: i64) -> bool {
    c.get(&format!("/v1/lessons/{lesson}")).await.json()["my_state"]["complete"] == true
}

/// The accepted wall-clock spans of the whole database, as (lesson, start, end).
async fn accepted_spans(app: &crate::helpers::TestApp) -> Vec<(i64, i64, i64)> {
    app.app_state
        .db
        .read(|c| {
            use dangke::db::schema::study_events::dsl as e;
            use diesel::prelude::*;
            let rows: Vec<(i64, chrono::NaiveDateTime, chrono::NaiveDateTime)> = e::study_events
                .filter(e::outcome.eq("accepted"))
                .select((e::lesson_id, e::started_at, e::ended_at))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(l, s, t)| {
                    (
                        l,
                        s.and_utc().timestamp_millis(),
                        t.and_utc().timestamp_millis(),
                    )
                })
                .collect())
        })
        .await
        .unwrap()
}

/// No two accepted spans on different lessons share more than the 2 s slack.
fn assert_one_lesson_at_a_time(spans: &[(i64, i64, i64)]) {
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.0 != b.0 {
                let shared = a.2.min(b.2) - a.1.max(b.1);
                assert!(shared <= 2000, "{a:?} and {b:?} overlap");
            }
        }
    }
}

#[tokio::test]
async fn one_phone_two_lessons_in_the_same_half_hour_is_credited_once() {
    let app = spawn().await;
    let w = app.world().await;
    let (first, second) = two_lessons(&w, 1800).await;
    let m = &w.member_a;
    let noon = Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap();

    // One batch: both lessons "played" over the same half hour. The first in the batch wins.
    let batch = vec![
        half_hour("a1", first, noon),
        half_hour("b1", second, noon + Duration::minutes(5)),
    ];
    let res = sync(m, batch.clone()).await;
    assert_eq!(
        outcomes(&res),
        vec![
            outcome("a1", "accepted", ""),
            outcome("b1", "rejected", "overlaps_other_lesson"),
        ]
    );
    assert_eq!(credited(&res), vec![first]);
    assert_eq!(lesson_state(&res, first)["complete"], true);
    assert_eq!(lesson_state(&res, second)["covered_s"], 0);
    assert_eq!(lesson_state(&res, second)["complete"], false);
    assert_eq!(earned(m).await, 50);

    // The phone sends the batch again: the same results, replayed, the reason kept.
    let again = sync(m, batch).await;
    assert_eq!(
        outcomes(&again),
        vec![
            outcome("a1", "accepted", ""),
            outcome("b1", "rejected", "overlaps_other_lesson"),
        ]
    );
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["replayed"] == true)
    );
    assert!(credited(&again).is_empty());

    // The second lesson played right after the first, and re-watching part of the first
    // in the same half hour: both accepted (one lesson at a time, the same lesson may
    // overlap itself).
    let after = sync(
        m,
        vec![
            half_hour("b2", second, noon + Duration::minutes(30)),
            play("a2", first, 0, 600, noon + Duration::minutes(10), 10),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&after),
        vec![outcome("b2", "accepted", ""), outcome("a2", "accepted", "")]
    );
    assert_eq!(credited(&after), vec![second]);
    assert_eq!(earned(m).await, 100);

    // Batch order decides within a batch, not the times: the later-listed event is the
    // one rejected even though it started earlier.
    let evening = noon + Duration::hours(8);
    let res = sync(
        m,
        vec![
            play("b3", second, 0, 600, evening + Duration::minutes(10), 10),
            play("a3", first, 0, 600, evening, 15),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&res),
        vec![
            outcome("b3", "accepted", ""),
            outcome("a3", "rejected", "overlaps_other_lesson"),
        ]
    );
    assert_eq!(earned(m).await, 100, "nothing credited twice or taken back");
    assert_one_lesson_at_a_time(&accepted_spans(&app).await);
}

#[tokio::test]
async fn two_phones_on_one_account_cannot_study_two_lessons_at_once() {
    let app = spawn().await;
    let w = app.world().await;
    let (first, second) = two_lessons(&w, 1800).await;
    let phone_a = app.login_as(MEMBER).await;
    let phone_b = app.login_as(MEMBER).await;
    let base = Utc.with_ymd_and_hms(2026, 11, 20, 1, 0, 0).unwrap();

    // Ten half hours; in each, phone A claims the first lesson and phone B the second, at
    // the same moment. Exactly one of each pair is accepted, the other is rejected with
    // the reason, whichever the server applies first.
    for round in 0..10i64 {
        let start = base + Duration::hours(round * 3);
        let (a, b) = tokio::join!(
            phone_a.post(
                "/v1/progress/sync",
                json!({"events": [half_hour(&format!("a-{round}"), first, start)]}),
            ),
            phone_b.post(
                "/v1/progress/sync",
                json!({"events": [half_hour(&format!("b-{round}"), second, start + Duration::minutes(1))]}),
            ),
        );
        a.expect(200);
        b.expect(200);
        let (a, b) = (outcomes(&a.json()), outcomes(&b.json()));
        let statuses = [a[0].1.as_str(), b[0].1.as_str()];
        assert!(
            statuses == ["accepted", "rejected"] || statuses == ["rejected", "accepted"],
            "round {round}: {a:?} {b:?}"
        );
        let rejected = if a[0].1 == "rejected" { &a[0] } else { &b[0] };
        assert_eq!(rejected.2, "overlaps_other_lesson", "round {round}");
    }
    let spans = accepted_spans(&app).await;
    assert_eq!(spans.len(), 10, "one half hour credited per half hour");
    assert_one_lesson_at_a_time(&spans);

    // Credit: each lesson that got an accepted half hour is complete and credited once.
    let done = [
        complete(&phone_a, first).await,
        complete(&phone_a, second).await,
    ];
    let expect_earned = done.iter().filter(|d| **d).count() as i64 * 50;
    assert!(done.iter().any(|d| *d));
    assert_eq!(earned(&phone_a).await, expect_earned);

    // A replay of every event from the other phone answers the original results.
    for round in 0..10i64 {
        let start = base + Duration::hours(round * 3);
        let res = sync(
            &phone_b,
            vec![
                half_hour(&format!("a-{round}"), first, start),
                half_hour(&format!("b-{round}"), second, start + Duration::minutes(1)),
            ],
        )
        .await;
        let statuses: Vec<String> = outcomes(&res).into_iter().map(|o| o.1).collect();
        assert_eq!(statuses.iter().filter(|s| *s == "accepted").count(), 1);
        assert!(
            res["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["replayed"] == true)
        );
    }
    assert_eq!(accepted_spans(&app).await.len(), 10);
    assert_eq!(earned(&phone_a).await, expect_earned);
}

#[tokio::test]
async fn an_offline_batch_synced_three_days_later_cannot_claim_the_same_half_hour() {
    let app = spawn().await;
    let w = app.world().await;
    let (first, second) = two_lessons(&w, 1800).await;
    let phone_a = app.login_as(MEMBER).await;
    let noon = Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap();

    // Phone A is online: the first lesson over the half hour from noon, credited at once.
    let res = sync(&phone_a, vec![half_hour("a1", first, noon)]).await;
    assert_eq!(credited(&res), vec![first]);
    assert_eq!(earned(&phone_a).await, 50);

    // Phone B was offline in the fields and syncs three days later: the second lesson over
    // the same half hour (rejected) and then properly in the evening (accepted). The same
    // phone offline would be checked the same way.
    app.clock.advance(Duration::days(3));
    let phone_a = app.login_as(MEMBER).await;
    let phone_b = app.login_as(MEMBER).await;
    let late = sync(
        &phone_b,
        vec![
            half_hour("b1", second, noon + Duration::minutes(10)),
            half_hour("b2", second, noon + Duration::hours(7)),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&late),
        vec![
            outcome("b1", "rejected", "overlaps_other_lesson"),
            outcome("b2", "accepted", ""),
        ]
    );
    assert_eq!(credited(&late), vec![second]);

    // And an offline batch on the first lesson that overlaps the second lesson's evening:
    // rejected too, the first lesson's earlier credit untouched.
    let later = sync(
        &phone_a,
        vec![play("a2", first, 0, 1200, noon + Duration::hours(7), 20)],
    )
    .await;
    assert_eq!(
        outcomes(&later),
        vec![outcome("a2", "rejected", "overlaps_other_lesson")]
    );

    // Nothing accepted before was taken back.
    assert!(complete(&phone_a, first).await);
    assert!(complete(&phone_a, second).await);
    assert_eq!(earned(&phone_a).await, 100);
    let state = phone_a.get(&format!("/v1/lessons/{first}")).await.json();
    assert_eq!(state["my_state"]["coverage"], 1.0);
    assert_one_lesson_at_a_time(&accepted_spans(&app).await);
}

#[tokio::test]
async fn one_event_claims_at_most_the_configured_span() {
    // The default cap is 4 h.
    let app = spawn().await;
    let w = app.world().await;
    let (first, second) = two_lessons(&w, 1800).await;
    let m = &w.member_a;
    let t = Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap();
    let res = sync(
        m,
        vec![
            play("long", first, 0, 1800, t, 4 * 60 + 1),
            play(
                "month",
                first,
                0,
                1800,
                t - Duration::days(29),
                29 * 24 * 60,
            ),
            play("four", second, 0, 1800, t + Duration::hours(6), 4 * 60),
            // A refused span claims nothing: the same hours on the other lesson are fine.
            play("inside", first, 0, 1800, t + Duration::minutes(30), 30),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&res),
        vec![
            outcome("long", "rejected", "span_too_long"),
            outcome("month", "rejected", "span_too_long"),
            outcome("four", "accepted", ""),
            outcome("inside", "accepted", ""),
        ]
    );

    // Configured to 1 h.
    let app = spawn_with(Options {
        vars: vec![("DANGKE_STUDY_MAX_EVENT_SPAN", "1h".into())],
        ..Default::default()
    })
    .await;
    let w = app.world().await;
    let (first, _) = two_lessons(&w, 1800).await;
    let res = sync(
        &w.member_a,
        vec![
            play("long", first, 0, 1800, t, 61),
            play("hour", first, 0, 1800, t + Duration::hours(2), 60),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&res),
        vec![
            outcome("long", "rejected", "span_too_long"),
            outcome("hour", "accepted", ""),
        ]
    );
}
