//! Progress sync with group commit, as a real `dangke serve` process (issue 19): members'
//! phones sync batches concurrently (so batches share group transactions), the process is
//! killed with -9 in the middle, and after a restart every batch that had been answered
//! 200 is stored: sending it again replays each event (`replayed: true`, the same status)
//! and the stored events of each member are at least those acknowledged. A batch is
//! answered only after the transaction that holds it committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::process::{Instance, metric_value};
use crate::helpers::world::World;
use crate::helpers::{Client, Options, TestApp, TestDb, spawn_with};
use dangke::clock::ManualClock;

/// Phones syncing at once.
pub(crate) const PHONES: usize = 12;

/// A published audio lesson of 10 hours assigned to branch A; its id.
pub(crate) async fn long_lesson(w: &World) -> i64 {
    let c = &w.secretary_a;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": "长课", "credit_centi": 100}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let lesson = c
        .post(&format!("/v1/courses/{course}/lessons"), json!({"kind": "audio", "title": "十小时", "external_url": "https://cdn.example.com/a.mp3", "duration_s": 36000}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    c.publish_and_assign(course, json!({"org_ids": [w.branch_a]}))
        .await;
    lesson
}

/// Batch `k` of phone `p`: 20 plays of 20 s, following each other in wall-clock time
/// (from `t0`, yesterday), so every event is accepted.
pub(crate) fn batch(p: usize, k: usize, lesson: i64, t0: chrono::DateTime<Utc>) -> Value {
    let end = t0 + chrono::Duration::seconds((k as i64 + 1) * 430);
    let events: Vec<Value> = (0..20)
        .map(|j| {
            let ended = end - chrono::Duration::seconds((20 - j) * 20);
            let from = ((k * 20 + j as usize) * 20 % 35_000) as i32;
            json!({"client_event_id": format!("p{p}-k{k}-e{j}"), "lesson_id": lesson, "kind": "play",
                   "from_s": from, "to_s": from + 20,
                   "started_at": (ended - chrono::Duration::seconds(20)).to_rfc3339(),
                   "ended_at": ended.to_rfc3339()})
        })
        .collect();
    json!({ "events": events })
}

pub(crate) struct Phone {
    pub user_id: i64,
    pub token: String,
}

pub(crate) async fn phones(app: &TestApp, w: &World) -> Vec<Phone> {
    let mut out = Vec::new();
    for p in 0..PHONES {
        let phone = format!("1381111{p:04}");
        let user_id = app
            .add_member(&w.secretary_a, w.branch_a, &phone, &format!("同步{p}"))
            .await;
        let c: Client = app.login_as(&phone).await;
        out.push(Phone {
            user_id,
            token: c.access_token.unwrap(),
        });
    }
    out
}

#[tokio::test]
async fn a_process_killed_during_group_commits_loses_no_acknowledged_batch() {
    let db = TestDb::fresh().await;
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "1d".to_string()),
            ("DANGKE_PUSH_EVERY", "off".to_string()),
        ],
        share_db: Some(db.clone()),
        clock: Some(Arc::new(ManualClock::new(Utc::now()))),
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let lesson = long_lesson(&w).await;
    let phones = phones(&app, &w).await;
    let mut inst = Instance::start(
        &db,
        &[
            ("DANGKE_WORKERS", "2".to_string()),
            ("DANGKE_DB_POOL_SIZE", "8".to_string()),
            ("DANGKE_PUSH_EVERY", "off".to_string()),
        ],
    )
    .await;

    // Every phone syncs batch after batch until its request fails (the process is gone).
    let t0 = Utc::now() - chrono::Duration::days(1);
    let http = reqwest::Client::new();
    let dead = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (p, phone) in phones.iter().enumerate() {
        let (http, url, token, dead) = (
            http.clone(),
            format!("{}/v1/progress/sync", inst.base),
            phone.token.clone(),
            dead.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut acknowledged: Vec<(usize, Value)> = Vec::new();
            let mut failed = 0;
            for k in 0.. {
                if dead.load(Ordering::Relaxed) && failed > 0 {
                    break;
                }
                let res = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&batch(p, k, lesson, t0))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().as_u16() == 200 => {
                        acknowledged.push((k, r.json().await.unwrap()));
                    }
                    Ok(r) => panic!("sync answered {}: {:?}", r.status(), r.text().await),
                    Err(_) => {
                        failed += 1;
                        break;
                    }
                }
            }
            (acknowledged, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let metrics = inst.metrics().await;
    let grouped = metric_value(&metrics, "dangke_db_grouped_writes_total", "");
    dead.store(true, Ordering::Relaxed);
    inst.kill9();
    let mut acknowledged = Vec::new();
    let mut in_flight = 0;
    for t in tasks {
        let (acks, failed) = t.await.unwrap();
        in_flight += failed;
        acknowledged.push(acks);
    }
    let acked: usize = acknowledged.iter().map(Vec::len).sum();
    assert!(
        acked >= PHONES,
        "the kill came too early: {acked} batches answered"
    );
    assert!(
        in_flight > 0,
        "the kill landed between requests, not during them"
    );
    assert!(
        grouped > 0.0,
        "no batches shared a transaction before the kill:\n{metrics}"
    );

    inst.restart().await;
    let client = reqwest::Client::new();
    for (p, acks) in acknowledged.iter().enumerate() {
        let token = &phones[p].token;
        for (k, first) in acks {
            let again: Value = client
                .post(format!("{}/v1/progress/sync", inst.base))
                .bearer_auth(token)
                .json(&batch(p, *k, lesson, t0))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for (a, b) in first["results"]
                .as_array()
                .unwrap()
                .iter()
                .zip(again["results"].as_array().unwrap())
            {
                assert_eq!(a["status"], "accepted", "{a}");
                assert_eq!(b["status"], a["status"], "phone {p} batch {k}: {b}");
                assert_eq!(
                    b["replayed"], true,
                    "phone {p} batch {k}: an acknowledged event was lost: {b}"
                );
            }
        }
        let stored = stored_events(&app, phones[p].user_id).await;
        assert!(
            stored >= acks.len() as i64 * 20,
            "phone {p}: {stored} events stored, {} acknowledged",
            acks.len() * 20
        );
    }
    eprintln!(
        "{acked} batches acknowledged before the kill ({grouped} of them had shared a transaction by 1.5 s), {in_flight} in flight"
    );
}

async fn stored_events(app: &TestApp, user_id: i64) -> i64 {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::study_events as se;
            use diesel::prelude::*;
            Ok(se::table
                .filter(se::user_id.eq(user_id))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap()
}
