//! Test harness: starts the real server in-process on port 0 with a fresh database per test
//! (SQLite: a copy of a migrated template file; PostgreSQL: a fresh schema, dropped after),
//! and drives it over HTTP like a phone would.
//!
//! The backend comes from `DANGKE_TEST_BACKEND` (`sqlite` default, or `postgres` with
//! `DANGKE_TEST_PG_URL`); Redis is used when `DANGKE_TEST_REDIS_URL` is set.
//! `DANGKE_TEST_REQUIRE_PG=1` / `DANGKE_TEST_REQUIRE_REDIS=1` turn a missing service into a
//! failure instead of a skip. `TEST_LOG=1` shows the server's logs.

pub mod backend;
#[allow(
    dead_code,
    reason = "shared helper: not every console test uses every step"
)]
pub mod browser;
#[allow(
    dead_code,
    reason = "shared helpers: not every feature's tests use every method yet"
)]
pub mod client;
pub mod conformance;
pub mod process;
#[allow(
    dead_code,
    reason = "shared fixture: not every feature's tests use every receiver method yet"
)]
pub mod push_receivers;
pub mod s3_server;
#[allow(
    dead_code,
    reason = "shared helper: not every test reads every item kind"
)]
pub mod sse;
pub mod wechat_server;
#[allow(
    dead_code,
    reason = "shared fixture: not every feature's tests use every org and person yet"
)]
pub mod world;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use dangke::clock::ManualClock;
use dangke::config::Config;
use dangke::{Application, Deps};

pub use backend::{Backend, TestDb};
pub use client::{Client, Resp};

/// The moment every test starts at (a Friday morning in Shanghai).
pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 30, 0)
        .single()
        .expect("valid time")
}

/// A running app for one test.
pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub app_state: actix_web::web::Data<dangke::state::AppState>,
    pub db: TestDb,
    pub kv_prefix: String,
}

/// Options for [`spawn_with`].
#[derive(Default)]
pub struct Options {
    /// Extra environment-style settings, parsed by `Config::from_map`.
    pub vars: Vec<(&'static str, String)>,
    /// Reuse this database (a second instance on the same data).
    pub share_db: Option<TestDb>,
    /// Reuse this kv prefix (a second instance on the same Redis keys).
    pub kv_prefix: Option<String>,
    /// Use this clock (a second instance on the same time).
    pub clock: Option<Arc<ManualClock>>,
}

pub fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        dangke::telemetry::init("info");
    } else {
        // The servers' warnings and errors go to the test's captured output, which the
        // harness prints beside a failing test's panic (a refused replica connection, a
        // cancelled statement): the cause of a failure on a loaded machine, not a guess.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    }
}

/// Starts a fresh app on a fresh database.
pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    init_logs();
    let db = match opts.share_db {
        Some(db) => db,
        None => TestDb::fresh().await,
    };
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("DANGKE_BIND".into(), "127.0.0.1:0".into());
    vars.insert("DANGKE_WORKERS".into(), "1".into());
    vars.insert("DANGKE_DB_POOL_SIZE".into(), "3".into());
    vars.insert(
        "DANGKE_JWT_SECRET".into(),
        "test-secret-test-secret-test-secret-0123".into(),
    );
    vars.insert("DATABASE_URL".into(), db.url.clone());
    vars.insert("DANGKE_DATA_DIR".into(), db.data_dir.clone());
    // Robots nobody answers unless a test points them at its loopback receivers: a test never
    // reaches the real WeCom or DingTalk.
    vars.insert("DANGKE_WECOM_API_BASE".into(), "http://127.0.0.1:9".into());
    vars.insert(
        "DANGKE_DINGTALK_API_BASE".into(),
        "http://127.0.0.1:9".into(),
    );
    if let Some(redis) = backend::redis_url() {
        vars.insert("REDIS_URL".into(), redis);
    }
    for (k, v) in opts.vars {
        vars.insert(k.to_string(), v);
    }
    let config = Config::from_map(&vars).expect("test config");
    let clock = opts
        .clock
        .unwrap_or_else(|| Arc::new(ManualClock::new(start_time())));
    let kv_prefix = opts
        .kv_prefix
        .unwrap_or_else(|| format!("t{}:", uuid::Uuid::new_v4().simple()));
    let app = Application::build(
        config,
        Deps {
            clock: clock.clone(),
            kv_prefix: Some(kv_prefix.clone()),
        },
    )
    .await
    .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let app_state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        clock,
        app_state,
        db,
        kv_prefix,
    }
}

impl TestApp {
    /// Statistics changes waiting to be applied (rows of the change queue for `stats`).
    pub async fn pending_stats_changes(&self) -> i64 {
        self.app_state
            .db
            .read(|c| {
                use dangke::db::schema::changes as ch;
                use diesel::prelude::*;
                Ok(ch::table
                    .filter(ch::consumer.eq("stats"))
                    .count()
                    .get_result::<i64>(c)?)
            })
            .await
            .unwrap()
    }

    /// An anonymous client.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Creates a user with a password directly through the library (as the CLI does).
    pub async fn create_user(&self, phone: &str, name: &str, password: &str) -> i64 {
        dangke::auth::admin::create_user(&self.app_state, phone, name, Some(password.into()))
            .await
            .expect("user created")
            .user_id
    }
}

/// Helpers on the test clock.
pub trait ClockExt {
    fn now_ts(&self) -> i64;
}

impl ClockExt for ManualClock {
    fn now_ts(&self) -> i64 {
        use dangke::clock::Clock;
        self.now().timestamp()
    }
}

/// A Redis URL nobody listens on (a port that was free a moment ago): an instance given
/// it runs as it would with its Redis down.
pub fn unreachable_redis_url() -> String {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    format!("redis://127.0.0.1:{port}")
}

/// Every file under `dir`, as paths relative to it, sorted (empty if `dir` is missing).
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if let Ok(rel) = path.strip_prefix(base) {
                out.push(rel.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
