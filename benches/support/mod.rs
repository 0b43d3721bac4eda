#![allow(clippy::expect_used, reason = "benchmark set-up fails loudly")]
//! Shared pieces of the in-process benchmarks: a server on a temporary database, seeded
//! through the library, and a latency recorder.

#![allow(dead_code, reason = "each benchmark uses part of it")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dangke::config::Config;
use dangke::state::AppState;
use dangke::{Application, Deps};

/// A running server and its state.
pub struct Bench {
    pub base: String,
    pub state: actix_web::web::Data<AppState>,
    _dir: tempfile::TempDir,
}

/// Starts the app on `BENCH_DATABASE_URL` (a fresh schema is the caller's job) or a fresh
/// SQLite file, with `BENCH_WORKERS` HTTP workers and `BENCH_POOL` connections.
pub async fn start() -> Bench {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("DANGKE_BIND".into(), "127.0.0.1:0".into());
    vars.insert("DANGKE_DATA_DIR".into(), dir.path().display().to_string());
    vars.insert("DANGKE_LOG".into(), "warn".into());
    vars.insert(
        "DANGKE_JWT_SECRET".into(),
        "bench-secret-bench-secret-bench-secret-0".into(),
    );
    for (k, default) in [("BENCH_WORKERS", "2"), ("BENCH_POOL", "16")] {
        let v = std::env::var(k).unwrap_or_else(|_| default.into());
        let var = if k == "BENCH_WORKERS" {
            "DANGKE_WORKERS"
        } else {
            "DANGKE_DB_POOL_SIZE"
        };
        vars.insert(var.into(), v);
    }
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        vars.insert("DATABASE_URL".into(), url);
    }
    if let Ok(url) = std::env::var("BENCH_REDIS_URL") {
        vars.insert("REDIS_URL".into(), url);
    }
    let config = Config::from_map(&vars).expect("config");
    let app = Application::build(config, Deps::default())
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    Bench {
        base,
        state,
        _dir: dir,
    }
}

/// Latencies of completed requests.
#[derive(Default)]
pub struct Latencies {
    pub micros: Vec<u64>,
    pub errors: u64,
}

impl Latencies {
    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.micros.is_empty() {
            return Duration::ZERO;
        }
        self.micros.sort_unstable();
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        Duration::from_micros(self.micros[i])
    }
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub type Shared<T> = Arc<T>;

/// A county with one village branch and `n` members of it (phones 1370000000…), written
/// in `c`'s transaction. Returns (county, branch, member user ids).
pub fn county_branch_members(
    c: &mut dangke::db::DbConnection,
    now: chrono::NaiveDateTime,
    n: usize,
) -> dangke::error::ApiResult<(dangke::orgs::model::Org, dangke::orgs::model::Org, Vec<i64>)> {
    use dangke::orgs::model::{Category, MemberStatus, OrgKind, Sector};
    let county = dangke::orgs::tree::create(
        c,
        now,
        None,
        "压测县委",
        OrgKind::CountyCommittee,
        Sector::Village,
    )?;
    let branch = dangke::orgs::tree::create(
        c,
        now,
        Some(&county),
        "压测村党支部",
        OrgKind::Branch,
        Sector::Village,
    )?;
    let today = now.date();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let phone = dangke::auth::phone::Phone::parse(&format!("1370{:07}", i)).expect("phone");
        let user = dangke::auth::users::create(c, now, &phone, &format!("党员{i}"), None)?;
        dangke::orgs::members::insert_membership(
            c,
            now,
            user.id,
            branch.id,
            Category::Full,
            false,
            None,
            MemberStatus::Active,
            today,
        )?;
        ids.push(user.id);
    }
    Ok((county, branch, ids))
}

/// An access token for `user_id`, issued as a password login would.
pub async fn token(state: &AppState, user_id: i64) -> String {
    dangke::auth::login::issue_session(state, user_id, "password", None)
        .await
        .expect("token")
        .access_token
}
