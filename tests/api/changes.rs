//! The change queue as a phone and an organizer see it: a read right after a write sees it
//! with the background runner off; a check-in in one village leaves another township's
//! cached figures valid; a batch that completes nothing records nothing; a process killed
//! with changes pending loses none; and two processes on one PostgreSQL apply each change
//! exactly once.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::activities::sh;
use crate::helpers::process::{Instance, metric_value};
use crate::helpers::{Client, Options, TestApp, TestDb, spawn_with};
use crate::stats::{add, assert_rebuild_changes_nothing, read_article, township_course};

/// Settings with the background runner off: only statistics reads apply changes.
fn runner_off() -> Vec<(&'static str, String)> {
    vec![
        ("DANGKE_ACCESS_TOKEN_TTL", "800d".into()),
        ("DANGKE_CHANGES_EVERY", "0".into()),
    ]
}

/// Statistics changes waiting to be applied.
async fn pending(app: &TestApp) -> i64 {
    app.pending_stats_changes().await
}

async fn summary(c: &Client, org: i64) -> Value {
    let r = c.get(&format!("/v1/orgs/{org}/stats?period=2026-11")).await;
    r.expect(200);
    r.json()
}

/// How many statistics cache lookups of `outcome` this app answered.
fn cache_lookups(app: &TestApp, outcome: &str) -> f64 {
    metric_value(
        &app.app_state.metrics.render(),
        "dangke_cache_lookups_total",
        &format!("cache=\"stats\",outcome=\"{outcome}\""),
    )
}

#[tokio::test]
async fn a_read_right_after_a_write_sees_it_with_the_runner_off() {
    let app = spawn_with(Options {
        vars: runner_off(),
        ..Default::default()
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let (_course, lesson) = township_course(&w).await;
    let before = summary(&w.admin, w.township).await;
    assert_eq!(before["credit"]["earned_centi"], 0, "{before}");
    assert_eq!(pending(&app).await, 0);

    app.clock.set(sh(2026, 11, 27, 9, 41));
    read_article(&w.member_a, lesson, "now-1", sh(2026, 11, 27, 9, 40)).await;
    // Recorded with the write, not applied: nothing runs in the background.
    assert!(pending(&app).await > 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(pending(&app).await > 0);
    // The very next read applies it first and shows the completion.
    let after = summary(&w.admin, w.township).await;
    assert_eq!(after["credit"]["earned_centi"], 100, "{after}");
    assert_eq!(pending(&app).await, 0);
    assert_rebuild_changes_nothing(&app).await;
}

#[tokio::test]
async fn a_batch_that_starts_and_completes_nothing_records_nothing() {
    let app = spawn_with(Options {
        vars: runner_off(),
        ..Default::default()
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let (_course, lesson) = township_course(&w).await;
    app.clock.set(sh(2026, 11, 27, 9, 41));
    let sync = |id: &str, from: i64, to: i64, end: chrono::DateTime<Utc>| {
        json!({"events": [{"client_event_id": id, "lesson_id": lesson, "kind": "read",
            "from_s": from, "to_s": to,
            "started_at": (end - chrono::Duration::seconds(to - from)).to_rfc3339(),
            "ended_at": end.to_rfc3339()}]})
    };
    // What setting up the world recorded is applied by a read.
    summary(&w.admin, w.township).await;
    assert_eq!(pending(&app).await, 0);
    // The first event starts the lesson (course funnels count it): one change.
    w.member_a
        .post(
            "/v1/progress/sync",
            sync("part-1", 0, 20, sh(2026, 11, 27, 9, 30)),
        )
        .await
        .expect(200);
    assert_eq!(pending(&app).await, 1);
    // More reading that completes nothing: nothing more to apply.
    w.member_a
        .post(
            "/v1/progress/sync",
            sync("part-2", 20, 40, sh(2026, 11, 27, 9, 31)),
        )
        .await
        .expect(200);
    assert_eq!(pending(&app).await, 1);
    // The event that completes it records again.
    w.member_a
        .post(
            "/v1/progress/sync",
            sync("part-3", 40, 60, sh(2026, 11, 27, 9, 40)),
        )
        .await
        .expect(200);
    assert_eq!(pending(&app).await, 2);
    let s = summary(&w.admin, w.township).await;
    assert_eq!(s["credit"]["earned_centi"], 100, "{s}");
    assert_rebuild_changes_nothing(&app).await;
}

#[tokio::test]
async fn a_check_in_in_one_village_leaves_another_townships_cached_summary_a_hit() {
    let app = spawn_with(Options {
        vars: runner_off(),
        ..Default::default()
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    // A second township with a village branch and a member.
    let town2 = app
        .create_org(&w.admin, w.county, "河口镇党委", "township_committee")
        .await;
    let village2 = app
        .create_org(&w.admin, town2, "河口村党支部", "branch")
        .await;
    add(&app, &w, village2, "13900000031", "河口一", "full").await;
    // A meeting in 东山村 (branch A of the first township), check-in open.
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "theme_party_day", "title": "主题党日",
            "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:00:00"}),
        )
        .await;
    r.expect(201);
    let occ = r.json()["upcoming"][0]["id"].as_i64().unwrap();
    app.clock.set(sh(2026, 11, 27, 10, 0));
    w.admin
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    let code = w.admin.checkin_code(occ).await;

    // Both townships' summaries cached.
    let town1_before = summary(&w.admin, w.township).await;
    let town2_before = summary(&w.admin, town2).await;
    let (hits, misses) = (cache_lookups(&app, "hit"), cache_lookups(&app, "miss"));
    assert_eq!(summary(&w.admin, town2).await, town2_before);
    assert_eq!(
        cache_lookups(&app, "hit"),
        hits + 1.0,
        "the second read is a hit"
    );

    // A member of 东山村 checks in.
    w.member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": code}),
        )
        .await
        .expect(200);
    // The other township: still the cached answer.
    let hits = cache_lookups(&app, "hit");
    assert_eq!(summary(&w.admin, town2).await, town2_before);
    assert_eq!(
        cache_lookups(&app, "hit"),
        hits + 1.0,
        "other township: a hit"
    );
    // The first township (and the county above both): recomputed, with the check-in.
    let misses_before = cache_lookups(&app, "miss");
    let town1_after = summary(&w.admin, w.township).await;
    assert_eq!(cache_lookups(&app, "miss"), misses_before + 1.0);
    assert_ne!(town1_after, town1_before);
    assert_eq!(town1_after["attendance"][0]["present"], 1, "{town1_after}");
    let county = summary(&w.admin, w.county).await;
    assert_eq!(county["attendance"][0]["present"], 1, "{county}");
    assert!(cache_lookups(&app, "miss") >= misses + 2.0);
    assert_rebuild_changes_nothing(&app).await;
}

/// A client of `c`'s user talking to `base` (another instance).
fn at(c: &Client, base: &str) -> Client {
    let mut c = c.clone();
    c.base = base.to_string();
    c
}

/// Waits until no statistics change is pending (up to 30 s).
async fn wait_applied(app: &TestApp) {
    for _ in 0..300 {
        if pending(app).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} statistics changes still pending", pending(app).await);
}

/// A process killed (`kill -9`) with changes recorded but not applied loses none: the
/// instance that starts next applies each of them once, to what a rebuild computes.
#[tokio::test]
async fn a_crash_between_a_write_and_its_application_loses_nothing() {
    let db = TestDb::fresh().await;
    let now = Utc::now();
    let app = spawn_with(Options {
        vars: runner_off(),
        share_db: Some(db.clone()),
        clock: Some(std::sync::Arc::new(dangke::clock::ManualClock::new(now))),
        ..Default::default()
    })
    .await;
    let w = app.world().await;
    let (_course, lesson) = township_course(&w).await;

    // A process with its runner off takes writes and is killed before applying them.
    let mut first = Instance::start(&db, &runner_off()).await;
    read_article(
        &at(&w.member_a, &first.base),
        lesson,
        "crash-1",
        Utc::now() - chrono::Duration::seconds(1),
    )
    .await;
    at(&w.admin, &first.base)
        .post(
            &format!("/v1/orgs/{}/members", w.branch_b),
            json!({"phone": "13900000041", "name": "赵新", "category": "full", "joined_party_on": "2010-07-01"}),
        )
        .await
        .expect(201);
    let recorded = pending(&app).await;
    assert!(recorded >= 2, "{recorded}");
    // `/metrics` shows the backlog and its age.
    let metrics = first.metrics().await;
    let label = "consumer=\"stats\"";
    assert_eq!(
        metric_value(&metrics, "dangke_changes_pending", label),
        recorded as f64
    );
    assert!(metric_value(&metrics, "dangke_changes_oldest_age_seconds", label) > 0.0);
    assert_eq!(
        metric_value(&metrics, "dangke_changes_applied_total", label),
        0.0
    );
    first.kill9();
    assert_eq!(
        pending(&app).await,
        recorded,
        "nothing applied, nothing lost"
    );

    // The next process applies every change once.
    let mut vars = runner_off();
    vars[1].1 = "1s".into();
    let second = Instance::start(&db, &vars).await;
    wait_applied(&app).await;
    let applied = metric_value(
        &second.metrics().await,
        "dangke_changes_applied_total",
        "consumer=\"stats\"",
    );
    assert_eq!(applied, recorded as f64, "each change applied once");
    let s = at(&w.admin, &second.base)
        .get(&format!("/v1/orgs/{}/stats", w.township))
        .await
        .json();
    assert_eq!(s["credit"]["earned_centi"], 100, "{s}");
    assert_rebuild_changes_nothing(&app).await;
}

/// Two server processes on one database, each applying the queue in the background and
/// before its statistics reads, apply every change exactly once: the changes each process
/// applied (its `dangke_changes_applied_total`) add up to the changes recorded, and the
/// roll-ups are what a rebuild computes. Runs on PostgreSQL (advisory lock) and on SQLite
/// (two processes, one file: the write lock serializes them).
#[tokio::test]
async fn two_processes_apply_each_change_exactly_once() {
    const MEMBERS: usize = 1_200;
    let db = TestDb::fresh().await;
    let app = spawn_with(Options {
        vars: runner_off(),
        share_db: Some(db.clone()),
        clock: Some(std::sync::Arc::new(dangke::clock::ManualClock::new(
            Utc::now(),
        ))),
        ..Default::default()
    })
    .await;
    let w = app.world().await;
    // 1,200 members join the two branches (as an import would), each recording a change:
    // several chunks for the two processes to contend for.
    let (a, b) = (w.branch_a, w.branch_b);
    let now = dangke::clock::Clock::now_naive(&*app.clock);
    app.app_state
        .db
        .write(move |c| {
            use dangke::changes::{Change, record};
            use dangke::orgs::import::bulk::{
                NewMembershipRow, NewUserRow, insert_memberships, insert_users,
            };
            let phones: Vec<String> = (0..MEMBERS).map(|i| format!("136{i:08}")).collect();
            let names: Vec<String> = (0..MEMBERS).map(|i| format!("并发{i:04}")).collect();
            let rows: Vec<NewUserRow> = (0..MEMBERS)
                .map(|i| NewUserRow {
                    phone: &phones[i],
                    name: &names[i],
                    gender: None,
                    birth_date: None,
                })
                .collect();
            let users = insert_users(c, now, &rows)?;
            let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
            let members: Vec<NewMembershipRow> = users
                .iter()
                .map(|(id, _)| NewMembershipRow {
                    user_id: *id,
                    org_id: if id % 2 == 0 { a } else { b },
                    category: "full",
                    is_cadre: false,
                    joined_party_on: None,
                    status: "active",
                    from_date: from,
                })
                .collect();
            insert_memberships(c, now, &members)?;
            let placed: Vec<Change> = users
                .iter()
                .map(|(id, _)| Change::Placed { user_id: *id })
                .collect();
            record(c, now, &placed)?;
            Ok(())
        })
        .await
        .unwrap();
    let recorded = pending(&app).await;
    assert!(recorded >= MEMBERS as i64, "{recorded}");

    // Both processes start with the backlog; both run the queue every second, and both
    // answer statistics reads (each applying what is pending first) at the same time.
    let mut vars = runner_off();
    vars[1].1 = "1s".into();
    let (one, two) = tokio::join!(Instance::start(&db, &vars), Instance::start(&db, &vars));
    let reads = |base: String| {
        let admin = at(&w.admin, &base);
        let orgs = [w.county, w.township, w.branch_a, w.branch_b];
        async move {
            for org in orgs {
                admin
                    .get(&format!("/v1/orgs/{org}/stats"))
                    .await
                    .expect(200);
            }
        }
    };
    tokio::join!(reads(one.base.clone()), reads(two.base.clone()));
    wait_applied(&app).await;
    let applied =
        |text: String| metric_value(&text, "dangke_changes_applied_total", "consumer=\"stats\"");
    let (by_one, by_two) = (applied(one.metrics().await), applied(two.metrics().await));
    assert_eq!(
        by_one + by_two,
        recorded as f64,
        "applied {by_one} + {by_two}, recorded {recorded}"
    );
    // Both see every member.
    for base in [&one.base, &two.base] {
        let s = at(&w.admin, base)
            .get(&format!("/v1/orgs/{}/stats", w.township))
            .await
            .json();
        assert!(
            s["members"]["total"].as_i64().unwrap() >= MEMBERS as i64,
            "{s}"
        );
    }
    assert_rebuild_changes_nothing(&app).await;
}

/// A digest that does not decode — damaged, or written in another format — is rebuilt from
/// the roll-ups by the read that finds it: the answer is the right figures, not a 500.
#[tokio::test]
async fn a_digest_that_does_not_decode_is_rebuilt_by_the_read() {
    let app = spawn_with(Options {
        vars: runner_off(),
        ..Default::default()
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let (_course, lesson) = township_course(&w).await;
    app.clock.set(sh(2026, 11, 27, 9, 41));
    read_article(&w.member_a, lesson, "dig-1", sh(2026, 11, 27, 9, 40)).await;
    summary(&w.admin, w.township).await;
    // Every digest: the rosters garbled, the others of a format this build does not know.
    let damaged = app
        .app_state
        .db
        .write(move |c| {
            use dangke::db::schema::stats_digests as d;
            use diesel::prelude::*;
            let n = diesel::update(d::table)
                .set(d::data.eq(vec![99_u8, 1, 2, 3]))
                .execute(c)?;
            diesel::update(d::table.filter(d::part.eq(0)))
                .set(d::data.eq(vec![0xff_u8; 3]))
                .execute(c)?;
            Ok(n)
        })
        .await
        .unwrap();
    assert!(damaged >= 2, "{damaged}");
    // Reads the cache has not seen: each reads the digests.
    let year = w
        .admin
        .get(&format!("/v1/orgs/{}/stats?period=2026", w.township))
        .await;
    year.expect(200);
    let page = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/members?period=2026&sort=-credit",
            w.township
        ))
        .await;
    page.expect(200);
    // The same as after a full rebuild.
    assert_rebuild_changes_nothing(&app).await;
    let rebuilt = w
        .admin
        .get(&format!("/v1/orgs/{}/stats?period=2026", w.township))
        .await;
    assert_eq!(year.json(), rebuilt.json());
    assert_eq!(year.json()["credit"]["earned_centi"], 100);
}
