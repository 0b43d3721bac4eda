//! Database statements per request on the hot routes a phone calls all day: `/v1/me`,
//! `/v1/me/courses`, a sync batch, a check-in. Counted by the connections' instrumentation
//! (`Db::statements`, every statement sent, transaction statements included) with the
//! background workers off, so nothing else runs meanwhile. Each route has a budget, and
//! the count must not grow with the data: more courses on the to-do list, more lessons
//! in one batch. A test that fails when a route starts issuing one query per row (N+1).

use std::future::Future;

use chrono::Duration;
use serde_json::{Value, json};

use crate::activities::{schedule, sh};
use crate::helpers::world::World;
use crate::helpers::{Client, Options, Resp, TestApp, spawn_with};

/// Statement budgets: (SQLite, PostgreSQL). PostgreSQL adds the pool's `SELECT 1` on each
/// checkout and the per-account advisory lock of sync. On SQLite, rows are written one
/// cached single-row statement each (in-process, no round trip to save: see
/// `dangke::insert_ignore_rows`), so a sync batch costs its budget plus one statement per
/// event stored and per progress row written; on PostgreSQL each is one statement per batch.
struct Budget {
    sqlite: u64,
    postgres: u64,
}

impl Budget {
    fn of(&self, app: &TestApp) -> u64 {
        match app.app_state.db.backend() {
            dangke::db::Backend::Sqlite => self.sqlite,
            dangke::db::Backend::Postgres => self.postgres,
        }
    }
}

/// `/v1/me` read from the database (the first call, or after a write to the user).
const ME: Budget = Budget {
    sqlite: 3,
    postgres: 4,
};
/// `/v1/me` again while nothing changed: served from the kv identity snapshot.
const ME_CACHED: Budget = Budget {
    sqlite: 0,
    postgres: 0,
};
const MY_COURSES: Budget = Budget {
    sqlite: 6,
    postgres: 7,
};
/// A sync batch, beyond one statement per row written on SQLite (see `sync_budget`).
const SYNC_BATCH: Budget = Budget {
    sqlite: 14,
    postgres: 17,
};
const CHECK_IN: Budget = Budget {
    sqlite: 13,
    postgres: 15,
};

async fn quiet_app() -> TestApp {
    spawn_with(Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "800d".to_string()),
            ("DANGKE_PUSH_EVERY", "off".to_string()),
            ("DANGKE_CHANGES_EVERY", "off".to_string()),
            ("DANGKE_HOUSEKEEPING_EVERY", "off".to_string()),
        ],
        ..Options::default()
    })
    .await
}

/// Runs one request and returns the statements it cost with its response.
async fn counted<F: Future<Output = Resp>>(app: &TestApp, request: F) -> (u64, Resp) {
    let before = app.app_state.db.statements();
    let res = request.await;
    (app.app_state.db.statements() - before, res)
}

/// A published article course assigned to branch A with `lessons` articles; its lesson ids.
pub async fn course(w: &World, title: &str, lessons: usize) -> Vec<i64> {
    let c = &w.secretary_a;
    let course = c
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": title, "credit_centi": 100}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..lessons {
        let r = c
            .post(
                &format!("/v1/courses/{course}/lessons"),
                json!({"kind": "article", "title": format!("第{i}课"), "body": "<p>正文</p>", "min_reading_s": 3600}),
            )
            .await;
        r.expect(201);
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    c.publish_and_assign(
        course,
        json!({"org_ids": [w.branch_a], "required": true, "due_date": "2026-12-31"}),
    )
    .await;
    ids
}

/// `n` reading events of 20 s, one after the other, round-robin over `lessons`, ending at
/// `end` (distinct lessons never overlap in wall-clock time).
fn batch(tag: &str, lessons: &[i64], n: usize, end: chrono::DateTime<chrono::Utc>) -> Value {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let lesson = lessons[i % lessons.len()];
            let ended = end - Duration::seconds(((n - i) * 21) as i64);
            let from = (i / lessons.len()) as i32 * 20;
            json!({"client_event_id": format!("{tag}-{i}"), "lesson_id": lesson, "kind": "read",
                   "from_s": from, "to_s": from + 20,
                   "started_at": (ended - Duration::seconds(20)).to_rfc3339(),
                   "ended_at": ended.to_rfc3339()})
        })
        .collect();
    json!({ "events": events })
}

fn assert_within(route: &str, counts: &[u64], budget: &Budget, app: &TestApp) {
    let max = budget.of(app);
    assert!(
        counts.iter().all(|c| *c <= max),
        "{route}: {counts:?} statements, budget {max} on {}",
        app.app_state.db.backend().name()
    );
}

#[tokio::test]
async fn hot_routes_keep_their_statement_budget_as_data_grows() {
    let app = quiet_app().await;
    let w = app.world().await;
    let member = &w.member_a;

    // /v1/me: read once from the database, then from the identity snapshot.
    let mut me = Vec::new();
    for _ in 0..3 {
        let (n, r) = counted(&app, member.get("/v1/me")).await;
        r.expect(200);
        me.push(n);
    }
    eprintln!("/v1/me statements: {me:?}");
    assert_within("GET /v1/me (database)", &me[..1], &ME, &app);
    assert_within("GET /v1/me (snapshot)", &me[1..], &ME_CACHED, &app);

    // The to-do list with 2 courses, then with 8: the same statements.
    let first = course(&w, "课程一", 3).await;
    course(&w, "课程二", 1).await;
    let (with_two, r) = counted(&app, member.get("/v1/me/courses")).await;
    r.expect(200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let mut more = Vec::new();
    for i in 3..=8 {
        more.extend(course(&w, &format!("课程{i}"), 2).await);
    }
    let (with_eight, r) = counted(&app, member.get("/v1/me/courses")).await;
    r.expect(200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 8);
    eprintln!("/v1/me/courses statements: {with_two}, {with_eight}");
    assert_eq!(
        with_two, with_eight,
        "GET /v1/me/courses grows with the courses: {with_two} statements for 2, {with_eight} for 8"
    );
    assert_within(
        "GET /v1/me/courses",
        &[with_two, with_eight],
        &MY_COURSES,
        &app,
    );

    // Sync: 20 events on one lesson (started, then again), then 20 events over 4 lessons
    // and over 10 lessons: the per-batch count does not grow with the lessons touched.
    let now = {
        use dangke::clock::Clock;
        app.clock.now()
    };
    let mut sync = Vec::new();
    let mut accepted = 0;
    for (i, lessons) in [
        &first[..1],
        &first[..1],
        &more[..4],
        &more[..10],
        &more[..10],
    ]
    .iter()
    .enumerate()
    {
        let end = now - Duration::hours(10 - i as i64);
        let body = batch(&format!("b{i}"), lessons, 20, end);
        let (n, r) = counted(&app, member.post("/v1/progress/sync", body)).await;
        r.expect(200);
        accepted += r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] == "accepted")
            .count();
        sync.push(n);
    }
    assert_eq!(accepted, 100, "every event accepted");
    eprintln!(
        "sync statements on {}: {sync:?}",
        app.app_state.db.backend().name()
    );
    // Beyond the rows written on SQLite, the count does not grow with the lessons touched;
    // the first batch on new lessons also creates their progress rows.
    let lessons_touched = [1u64, 1, 4, 10, 10];
    let per_batch: Vec<u64> = match app.app_state.db.backend() {
        dangke::db::Backend::Sqlite => sync
            .iter()
            .zip(lessons_touched)
            .map(|(n, lessons)| n - 20 - lessons)
            .collect(),
        dangke::db::Backend::Postgres => sync.clone(),
    };
    assert_within("POST /v1/progress/sync", &per_batch, &SYNC_BATCH, &app);
    assert_eq!(
        per_batch[1], per_batch[4],
        "a batch over 10 known lessons costs what a batch over one does: {sync:?}"
    );

    // Check-in: one member with a valid code.
    let checkin = check_in_cost(&app, &w).await;
    eprintln!("check-in statements: {checkin:?}");
    assert_within(
        "POST /v1/occurrences/{id}/checkin",
        &checkin,
        &CHECK_IN,
        &app,
    );
    eprintln!(
        "statements on {}: /v1/me {me:?}, /v1/me/courses {with_two}/{with_eight}, sync {sync:?}, check-in {checkin:?}",
        app.app_state.db.backend().name()
    );
}

/// Statements of three members' check-ins at a theme party day.
async fn check_in_cost(app: &TestApp, w: &World) -> Vec<u64> {
    const LAT: f64 = 28.228_2;
    const LON: f64 = 112.938_8;
    let sec = &w.secretary_a;
    let a = schedule(
        sec,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": "主题党日", "place": "村部",
               "location": {"latitude": LAT, "longitude": LON, "radius_m": 200},
               "start_local": "2026-12-01T09:00:00", "end_local": "2026-12-01T11:00:00",
               "rrule": "FREQ=MONTHLY;BYMONTHDAY=1"}),
    )
    .await;
    let occ = a["upcoming"][0]["id"].as_i64().unwrap();
    app.clock.set(sh(2026, 12, 1, 8, 50));
    sec.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    let code = sec.checkin_code(occ).await;
    let mut out = Vec::new();
    let people: [&Client; 3] = [&w.member_a, &w.committee_a, sec];
    for c in people {
        let (n, r) = counted(
            app,
            c.post(
                &format!("/v1/occurrences/{occ}/checkin"),
                json!({"code": code, "latitude": LAT + 0.0003, "longitude": LON}),
            ),
        )
        .await;
        r.expect(200);
        out.push(n);
    }
    out
}
