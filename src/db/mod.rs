//! The database: connection pools over SQLite or PostgreSQL, the migrations, the schema,
//! and the few statements that differ between the two backends.
//!
//! Features use two calls: [`Db::read`] for queries and [`Db::write`] for a transaction.
//! Both run the closure on a blocking thread, off the async workers. On SQLite all writes go
//! through one writer connection whose transactions begin `IMMEDIATE` (so a read-then-write
//! transaction never fails with `SQLITE_BUSY`), and reads use a small `query_only` pool.

mod connection;
pub mod group_commit;
pub mod meta;
pub mod migrate;
pub mod schema;
pub mod sql;
pub mod text_enum;

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};

pub use connection::{
    Backend, DatabaseUrl, DbConnection, Manager, Role, StatementCounter, redact_password,
};

use crate::error::{ApiError, ApiResult};

pub type Pool = r2d2::Pool<Manager>;

/// How long a request waits for a free connection before failing with 503.
pub(crate) const POOL_WAIT: Duration = Duration::from_secs(10);

/// The database handle kept in app state. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
    /// Reads go to the read replica (a handle from [`Db::caught_up_replica`]).
    on_replica: bool,
}

struct Inner {
    backend: Backend,
    writer: Pool,
    reader: Pool,
    /// A PostgreSQL read replica (`DATABASE_READ_URL`), connected lazily.
    replica: Option<Pool>,
    group: group_commit::GroupWriter,
    statements: StatementCounter,
    replica_reads: ReplicaReads,
    replica_wait: Duration,
}

/// How statistics reads chose between the replica and the primary (for `/metrics`).
#[derive(Default)]
pub struct ReplicaReads {
    /// The replica had replayed what the primary had committed: read there.
    pub replica: std::sync::atomic::AtomicU64,
    /// The replica lagged behind that point for longer than the wait: read the primary.
    pub lagging: std::sync::atomic::AtomicU64,
    /// The replica could not be reached: read the primary.
    pub unavailable: std::sync::atomic::AtomicU64,
    /// Why the last read counted as `unavailable` could not use the replica (also logged).
    pub last_unavailable: std::sync::Mutex<Option<String>>,
}

/// Options of [`Db::open`] beyond the URL and pool sizes.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// A PostgreSQL read replica for statistics reads.
    pub read_url: Option<DatabaseUrl>,
    /// How long a read waits for the replica to catch up before reading the primary.
    pub replica_wait: Duration,
    /// Keep prepared statements per PostgreSQL connection (see [`Manager`]).
    pub statement_cache: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            read_url: None,
            replica_wait: Duration::from_millis(100),
            statement_cache: true,
        }
    }
}

impl Db {
    /// Opens the pools (creating the SQLite file's directory if needed) and starts the
    /// group-commit lanes (`write_lanes` on PostgreSQL, one on SQLite). Blocking.
    pub fn open(
        url: &DatabaseUrl,
        pool_size: u32,
        write_lanes: usize,
        options: &DbOptions,
    ) -> anyhow::Result<Db> {
        let statement_cache = options.statement_cache;
        let backend = url.backend();
        let statements = StatementCounter::default();
        let build = |role: Role, size: u32| -> anyhow::Result<Pool> {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(size.min(2)))
                .connection_timeout(POOL_WAIT)
                // A SQLite file does not drop connections: skip the `SELECT 1` r2d2 runs
                // on every checkout. PostgreSQL keeps it (a restarted server or a proxy
                // closes idle connections; the check replaces them before use).
                .test_on_check_out(backend == Backend::Postgres)
                .build(Manager {
                    url: url.clone(),
                    role,
                    counter: statements.clone(),
                    statement_cache,
                })
                .map_err(|e| anyhow::anyhow!("cannot connect to the database {url:?}: {e}"))
        };
        let (writer, reader) = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())
                    })?;
                }
                // The writer first, so the file exists and is in WAL mode before readers open.
                let writer = build(Role::Writer, 1)?;
                let reader = build(Role::Reader, pool_size.clamp(2, 8))?;
                (writer, reader)
            }
            DatabaseUrl::Postgres(_) => {
                let pool = build(Role::Writer, pool_size)?;
                (pool.clone(), pool)
            }
        };
        let lanes = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => write_lanes.max(1),
        };
        let group = group_commit::GroupWriter::start(&writer, lanes)
            .map_err(|e| anyhow::anyhow!("cannot start the database writer threads: {e}"))?;
        // The replica is connected on first use: one that is down at start does not stop
        // the process (statistics read the primary meanwhile).
        let replica = options.read_url.as_ref().map(|u| {
            r2d2::Pool::builder()
                .max_size(pool_size)
                .min_idle(Some(0))
                .connection_timeout(Duration::from_secs(2))
                .test_on_check_out(true)
                .build_unchecked(Manager {
                    url: u.clone(),
                    role: Role::Reader,
                    counter: statements.clone(),
                    statement_cache,
                })
        });
        Ok(Db {
            inner: Arc::new(Inner {
                backend,
                writer,
                reader,
                replica,
                group,
                statements,
                replica_reads: ReplicaReads::default(),
                replica_wait: options.replica_wait,
            }),
            on_replica: false,
        })
    }

    /// A handle whose reads go to the read replica if it has replayed everything the
    /// primary had committed when this is called (waiting up to `DANGKE_DB_REPLICA_WAIT_MS`),
    /// else to the primary — so a statistics read after a member's sync always sees it.
    /// Without a replica: this handle. Writes always go to the primary.
    pub async fn caught_up_replica(&self) -> Db {
        let Some(replica) = self.inner.replica.clone() else {
            return self.clone();
        };
        let writer = self.inner.writer.clone();
        let wait = self.inner.replica_wait;
        let outcome = run_blocking(move || {
            let started = std::time::Instant::now();
            let unusable = |what: &str, e: &dyn std::fmt::Display| {
                Ok(Err(format!("{what} after {:?}: {e}", started.elapsed())))
            };
            let position = match writer
                .get_timeout(POOL_WAIT)
                .map_err(ApiError::from)
                .and_then(|mut primary| Ok(sql::wal_position(&mut primary)?))
            {
                Ok(Some(position)) => position,
                Ok(None) => return Ok(Ok(false)),
                Err(e) => return unusable("reading the primary's WAL position", &e),
            };
            // A first connection may take longer than a replay wait of 100 ms.
            let connect = wait.max(Duration::from_secs(1));
            let mut conn = match replica.get_timeout(connect) {
                Ok(conn) => conn,
                Err(e) => return unusable("connecting to the replica", &e),
            };
            let deadline = std::time::Instant::now() + wait;
            loop {
                match sql::replayed(&mut conn, &position) {
                    Ok(true) => return Ok(Ok(true)),
                    Ok(false) => {}
                    // A replica that is replaying may cancel a statement or close a
                    // session in conflict with recovery: that is no reason to give up the
                    // wait. Ask again on a checked connection until the deadline.
                    Err(e) if std::time::Instant::now() < deadline => {
                        tracing::debug!(error = %e, "asking the replica again");
                        drop(conn);
                        std::thread::sleep(Duration::from_millis(10));
                        conn = match replica.get_timeout(connect) {
                            Ok(conn) => conn,
                            Err(e) => return unusable("reconnecting to the replica", &e),
                        };
                        continue;
                    }
                    Err(e) => return unusable("asking the replica its replay position", &e),
                }
                if std::time::Instant::now() >= deadline {
                    return Ok(Ok(false));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        use std::sync::atomic::Ordering::Relaxed;
        let counts = &self.inner.replica_reads;
        match outcome {
            Ok(true) => {
                counts.replica.fetch_add(1, Relaxed);
                Db {
                    inner: self.inner.clone(),
                    on_replica: true,
                }
            }
            Ok(false) => {
                counts.lagging.fetch_add(1, Relaxed);
                self.clone()
            }
            Err(reason) => {
                tracing::warn!(%reason, "read replica unusable; reading the primary");
                counts.unavailable.fetch_add(1, Relaxed);
                if let Ok(mut last) = counts.last_unavailable.lock() {
                    *last = Some(reason);
                }
                self.clone()
            }
        }
    }

    /// How statistics reads chose between the replica and the primary.
    pub fn replica_reads(&self) -> &ReplicaReads {
        &self.inner.replica_reads
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Runs read-only queries on a reader connection (the replica's, for a handle from
    /// [`Db::caught_up_replica`]).
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = match (&self.inner.replica, self.on_replica) {
            (Some(replica), true) => replica.clone(),
            _ => self.inner.reader.clone(),
        };
        run_blocking(move || {
            let mut conn = pool.get_timeout(POOL_WAIT)?;
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` in one write transaction: committed if it returns `Ok`, rolled back otherwise.
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.inner.writer.clone();
        run_blocking(move || {
            let mut conn = pool.get_timeout(POOL_WAIT)?;
            write_transaction(&mut conn, f)
        })
        .await
    }

    /// Like [`Db::write`], for a hot path of many small transactions: `f` may share its
    /// transaction with other jobs queued at the same moment (group commit, see
    /// [`group_commit`]), and may run twice (again alone when the group is rolled back), so
    /// it must only read its inputs. Jobs with the same `key` run in order, in one lane.
    pub async fn write_grouped<T, F>(&self, key: u64, f: F) -> ApiResult<T>
    where
        F: FnMut(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.group.run(key, f).await
    }

    /// Statements run so far on every connection of this database.
    pub fn statements(&self) -> u64 {
        self.inner.statements.get()
    }

    /// Counters of the group-commit lanes.
    pub fn group_stats(&self) -> &group_commit::GroupStats {
        &self.inner.group.stats
    }

    /// The same as [`Db::write`], for start-up and CLI code that is not async.
    pub fn write_blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T>,
    {
        let mut conn = self.inner.writer.get_timeout(POOL_WAIT)?;
        write_transaction(&mut conn, f)
    }

    /// A connection outside any transaction, for migrations and maintenance. Blocking.
    pub fn raw_writer(&self) -> ApiResult<r2d2::PooledConnection<Manager>> {
        Ok(self.inner.writer.get_timeout(POOL_WAIT)?)
    }

    /// Checks the database answers within `timeout` (for `/readyz`).
    pub async fn ping(&self, timeout: Duration) -> ApiResult<()> {
        let pool = self.inner.reader.clone();
        run_blocking(move || {
            let mut conn = pool.get_timeout(timeout)?;
            conn.batch_execute("SELECT 1").map_err(ApiError::from)
        })
        .await
    }
}

/// Runs blocking database work on tokio's blocking pool.
async fn run_blocking<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("database task failed: {e}")))?
}

/// Begins `IMMEDIATE` on SQLite (the write lock up front) and a normal transaction on
/// PostgreSQL, then commits on `Ok` and rolls back on `Err`, as diesel's own
/// `Connection::transaction` does.
pub(crate) fn write_transaction<T, F>(conn: &mut DbConnection, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut DbConnection) -> ApiResult<T>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}
