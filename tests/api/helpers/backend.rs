//! Per-test databases on SQLite or PostgreSQL.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use diesel::Connection;
use diesel::connection::SimpleConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("DANGKE_TEST_BACKEND").as_deref() {
        Ok("postgres") | Ok("pg") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

fn flag(name: &str) -> bool {
    std::env::var(name).map(|v| v == "1").unwrap_or(false)
}

/// The admin URL of the test PostgreSQL server, if any.
pub fn pg_url() -> Option<String> {
    let url = std::env::var("DANGKE_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if url.is_none() && (flag("DANGKE_TEST_REQUIRE_PG") || backend() == Backend::Postgres) {
        panic!(
            "PostgreSQL is required (DANGKE_TEST_REQUIRE_PG=1 or DANGKE_TEST_BACKEND=postgres) but DANGKE_TEST_PG_URL is not set"
        );
    }
    url
}

/// The test Redis URL, if any.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("DANGKE_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if url.is_none() && flag("DANGKE_TEST_REQUIRE_REDIS") {
        panic!(
            "Redis is required (DANGKE_TEST_REQUIRE_REDIS=1) but DANGKE_TEST_REDIS_URL is not set"
        );
    }
    url
}

/// The test PostgreSQL server's streaming replica, if `scripts/test` started one
/// (`DANGKE_TEST_PG_REPLICA_URL`, the same admin URL on the replica's port).
pub fn pg_replica_url() -> Option<String> {
    std::env::var("DANGKE_TEST_PG_REPLICA_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// `url` with `search_path` set to `schema` (libpq `options`).
pub fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// A database for one test; dropped (schema or directory) when the last clone goes.
#[derive(Clone)]
pub struct TestDb {
    pub url: String,
    pub data_dir: String,
    pub backend: Backend,
    _guard: Arc<Guard>,
}

/// Removes the test's data directory, and its PostgreSQL schema if it has one.
struct Guard {
    _dir: tempfile::TempDir,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// This database's schema on the replica whose admin URL is `replica` (PostgreSQL only).
    pub fn on_replica(&self, replica: &str) -> Option<String> {
        let (_, schema) = self._guard.schema.as_ref()?;
        Some(with_schema(replica, schema))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = &self.schema
            && let Ok(mut c) = diesel::PgConnection::establish(admin_url)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A migrated, checkpointed SQLite file that each test copies.
fn sqlite_template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("template.db");
            let url = dangke::db::DatabaseUrl::Sqlite(path.clone());
            let mut conn = dangke::db::Manager {
                url,
                role: dangke::db::Role::Writer,
                counter: Default::default(),
                statement_cache: true,
            }
            .connect_now()
            .expect("template db");
            dangke::db::migrate::run(&mut conn).expect("template migrations");
            if let dangke::db::DbConnection::Sqlite(c) = &mut conn {
                c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
                    .expect("checkpoint");
            }
            drop(conn);
            (dir, path)
        })
        .1
}

impl TestDb {
    pub async fn fresh() -> TestDb {
        match backend() {
            Backend::Sqlite => TestDb::fresh_sqlite(),
            Backend::Postgres => TestDb::fresh_pg().await,
        }
    }

    pub fn fresh_sqlite() -> TestDb {
        let template = sqlite_template();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dangke.db");
        std::fs::copy(template, &path).expect("copy template");
        TestDb {
            url: format!("sqlite:{}", path.display()),
            data_dir: dir.path().display().to_string(),
            backend: Backend::Sqlite,
            _guard: Arc::new(Guard {
                _dir: dir,
                schema: None,
            }),
        }
    }

    /// A fresh, empty schema on the test PostgreSQL server (migrations run when the app
    /// starts on it).
    pub async fn fresh_pg() -> TestDb {
        let admin_url = pg_url().expect("PostgreSQL test URL");
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_url.clone();
        let s = schema.clone();
        tokio::task::spawn_blocking(move || {
            let mut c =
                diesel::PgConnection::establish(&admin).expect("connect to test PostgreSQL");
            c.batch_execute(&format!("CREATE SCHEMA {s}"))
                .expect("create schema");
        })
        .await
        .expect("schema task");
        let dir = tempfile::tempdir().expect("tempdir");
        TestDb {
            url: with_schema(&admin_url, &schema),
            data_dir: dir.path().display().to_string(),
            backend: Backend::Postgres,
            _guard: Arc::new(Guard {
                _dir: dir,
                schema: Some((admin_url, schema)),
            }),
        }
    }
}

/// Whether a test that needs something this run lacks should skip. The SQLite run has no
/// PostgreSQL or Redis, so tests that need them skip there (saying so) and run in the
/// PostgreSQL + Redis run; with `DANGKE_TEST_NO_SKIP=1` (that run, in `scripts/test`) a
/// skip is a failure, so nothing passes there without having run.
pub fn skip_unless(available: bool, what: &str) -> bool {
    if available {
        return false;
    }
    if flag("DANGKE_TEST_NO_SKIP") {
        panic!("this test needs {what}, which this run lacks (DANGKE_TEST_NO_SKIP=1)");
    }
    eprintln!("skipped: needs {what}");
    true
}
