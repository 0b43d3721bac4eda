//! Statistics on a read replica (issue 20): with `DATABASE_READ_URL` pointing at a real
//! PostgreSQL streaming replica (started by `scripts/test` with `pg_basebackup -R`), a
//! statistics read goes to the replica once it has replayed what the primary had committed
//! at the read, and to the primary while the replica lags — so what a secretary just did
//! (a member placed) is in the very next read either way. Replay is paused on the replica to make it lag.

use std::sync::Arc;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

use crate::helpers::backend::{self, Backend};
use crate::helpers::{Options, TestApp, TestDb, spawn_with};
use dangke::clock::ManualClock;

/// Resumes replay on the replica when dropped (also when the test fails).
struct Paused(String);

impl Paused {
    fn pause(admin: &str) -> Paused {
        let mut c = PgConnection::establish(admin).expect("connect to the replica");
        c.batch_execute("SELECT pg_wal_replay_pause()").unwrap();
        Paused(admin.to_string())
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        // Retried: a replica left paused would lag for every read after this test.
        for _ in 0..50 {
            if let Ok(mut c) = PgConnection::establish(&self.0)
                && c.batch_execute("SELECT pg_wal_replay_resume()").is_ok()
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        eprintln!("could not resume replay on the replica");
    }
}

/// The replica's replay state, for failure messages.
fn replay_state(admin: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName, Debug)]
    #[allow(dead_code)]
    struct State {
        #[diesel(sql_type = diesel::sql_types::Text)]
        pause: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        replayed: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        received: Option<String>,
    }
    match PgConnection::establish(admin) {
        Ok(mut c) => format!(
            "{:?}",
            diesel::sql_query(
                "SELECT pg_get_wal_replay_pause_state() AS pause, \
                 pg_last_wal_replay_lsn()::text AS replayed, \
                 pg_last_wal_receive_lsn()::text AS received"
            )
            .get_result::<State>(&mut c)
        ),
        Err(e) => format!("cannot connect: {e}"),
    }
}

/// Why the last read of `app` that could not use the replica could not.
fn unusable(app: &TestApp) -> String {
    let r = app.app_state.db.replica_reads();
    format!("{:?}", r.last_unavailable.lock().map(|l| l.clone()))
}

fn choices(app: &TestApp) -> (u64, u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let r = app.app_state.db.replica_reads();
    (
        r.replica.load(Relaxed),
        r.lagging.load(Relaxed),
        r.unavailable.load(Relaxed),
    )
}

#[tokio::test]
async fn statistics_read_the_replica_once_caught_up_and_the_primary_while_it_lags() {
    if backend::skip_unless(
        backend::backend() == Backend::Postgres && backend::pg_replica_url().is_some(),
        "a PostgreSQL streaming replica (DANGKE_TEST_PG_REPLICA_URL)",
    ) {
        return;
    }
    let admin = backend::pg_replica_url().unwrap();
    let db = TestDb::fresh().await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    // The replica replays the WAL of every test running beside this one (the LSN is the
    // cluster's), so on a loaded machine it can be seconds behind. The instance that must
    // read the replica waits up to 60 s for it (100 ms by default); the one that must see
    // it lag waits 300 ms while replay is paused. Where a read goes then depends on replay,
    // not on timing.
    let with_wait = |wait_ms: &str| Options {
        vars: vec![
            ("DATABASE_READ_URL", db.on_replica(&admin).unwrap()),
            ("DANGKE_DB_REPLICA_WAIT_MS", wait_ms.to_string()),
            ("DANGKE_ACCESS_TOKEN_TTL", "1d".to_string()),
        ],
        share_db: Some(db.clone()),
        clock: Some(clock.clone()),
        ..Options::default()
    };
    let app = spawn_with(with_wait("60000")).await;
    let impatient = spawn_with(with_wait("300")).await;
    let w = app.world().await;
    let stats_on = |on: &TestApp, label: &'static str| {
        let sec = on
            .client()
            .with_token(w.secretary_a.access_token.as_deref().unwrap());
        let path = format!("/v1/orgs/{}/stats/members?limit=200", w.branch_a);
        async move {
            let r = sec.get(&path).await;
            assert_eq!(r.status, 200, "{label}: {:?}", r.json());
            r.json()
        }
    };
    let stats = |label: &'static str| stats_on(&app, label);
    let listed = |page: &Value, user: i64| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["user_id"] == user)
    };

    // Caught up: the replica serves, and a member placed a moment ago is there.
    let first = app
        .add_member(&w.secretary_a, w.branch_a, "13766660001", "副本甲")
        .await;
    let page = stats("after the first placement").await;
    let (on_replica, lagging, unavailable) = choices(&app);
    assert!(
        on_replica >= 1,
        "no read went to the replica: {:?} ({}), replay {}",
        choices(&app),
        unusable(&app),
        replay_state(&admin)
    );
    assert_eq!((lagging, unavailable), (0, 0));
    assert!(listed(&page, first), "{page}");

    // WAL that another session wrote after the last commit and has not committed (nor
    // flushed: the WAL writer flushes only up to the last commit, and full pages) is no
    // reason to wait: a replica would not reach it until something else commits. The read
    // position must cover every commit, not every record inserted.
    let fourth = app
        .add_member(&w.secretary_a, w.branch_a, "13766660004", "副本丁")
        .await;
    for _ in 0..500 {
        if app.pending_stats_changes().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.pending_stats_changes().await, 0);
    let mut open =
        PgConnection::establish(&backend::pg_url().unwrap()).expect("connect to the primary");
    open.batch_execute(&format!(
        "BEGIN; CREATE TABLE replica_unflushed_{} (x int)",
        std::process::id()
    ))
    .unwrap();
    let before = choices(&app).0;
    let page = stats("after uncommitted WAL").await;
    assert!(
        choices(&app).0 > before,
        "a read after uncommitted WAL did not go to the replica: {:?} ({}), replay {}",
        choices(&app),
        unusable(&app),
        replay_state(&admin)
    );
    assert!(listed(&page, fourth), "{page}");
    open.batch_execute("ROLLBACK").unwrap();
    drop(open);

    // The replica stops replaying: the next member is still in the next read (the primary).
    {
        let _paused = Paused::pause(&admin);
        let second = app
            .add_member(&w.secretary_a, w.branch_a, "13766660002", "副本乙")
            .await;
        let page = stats_on(&impatient, "while the replica lags").await;
        let (on_replica, lagging, _) = choices(&impatient);
        assert!(
            lagging >= 1 && on_replica == 0,
            "the lagging replica was read: {:?} ({})",
            choices(&impatient),
            unusable(&impatient)
        );
        assert!(
            listed(&page, second),
            "a member placed before the read is missing: {page}"
        );
    }

    // Replay resumes: the replica serves again, with the same figures as the primary.
    let before = choices(&app).0;
    let third = app
        .add_member(&w.secretary_a, w.branch_a, "13766660003", "副本丙")
        .await;
    let page = stats("after replay resumed").await;
    assert!(
        choices(&app).0 > before,
        "reads did not return to the replica: (replica, lagging, unavailable) = {:?} ({}), replay {}",
        choices(&app),
        unusable(&app),
        replay_state(&admin)
    );
    assert!(listed(&page, third), "{page}");
    // The replica closes the session a read is waiting on (as it may in conflict with
    // recovery): the read asks again on a new connection and still reads the replica once
    // it has caught up, instead of giving up the wait.
    let fifth = app
        .add_member(&w.secretary_a, w.branch_a, "13766660005", "副本戊")
        .await;
    let (before, _, unavailable_before) = choices(&app);
    let paused = Paused::pause(&admin);
    let interrupt = async {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let mut c = PgConnection::establish(&admin).expect("connect to the replica");
        let closed = diesel::sql_query(
            // OFFSET 0 keeps the filter inside: this session is never terminated.
            "SELECT pid FROM (SELECT pid FROM pg_stat_activity \
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() OFFSET 0) s \
             WHERE pg_terminate_backend(pid)",
        )
        .execute(&mut c)
        .unwrap();
        drop(paused);
        closed
    };
    let (page, closed) = tokio::join!(stats("after the replica closed the session"), interrupt);
    assert!(closed >= 1, "no replica session was waiting");
    let (after, _, unavailable_after) = choices(&app);
    assert!(
        after > before && unavailable_after == unavailable_before,
        "a closed replica session made the read give up the replica: {:?} ({}), replay {}",
        choices(&app),
        unusable(&app),
        replay_state(&admin)
    );
    assert!(listed(&page, fifth), "{page}");

    let primary_only = spawn_with(Options {
        share_db: Some(db.clone()),
        clock: Some(app.clock.clone()),
        ..Options::default()
    })
    .await;
    let sec = primary_only
        .client()
        .with_token(w.secretary_a.access_token.as_deref().unwrap());
    let on_primary = sec
        .get(&format!("/v1/orgs/{}/stats/members?limit=200", w.branch_a))
        .await
        .json();
    assert_eq!(page, on_primary, "the replica and the primary disagree");
}
