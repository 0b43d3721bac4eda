//! The database connection over both backends, the URL that picks one, and the r2d2
//! manager that opens connections with the right settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

pub use crate::config::database::{DatabaseUrl, redact_password};

/// One connection type for both backends. Diesel code is written once against it; the few
/// backend-specific statements match on the variant (see [`crate::with_backend`]).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

/// What a pooled connection is for. SQLite readers are `query_only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Writer,
    Reader,
}

/// Opens connections for r2d2, choosing the backend from the URL itself (diesel's derived
/// `establish` would guess and hide the real error).
#[derive(Debug, Clone)]
pub struct Manager {
    pub url: DatabaseUrl,
    pub role: Role,
    /// Statements run on the connections of this manager (see [`StatementCounter`]).
    pub counter: StatementCounter,
    /// Keep prepared statements per connection (PostgreSQL; diesel's named
    /// `__diesel_stmt_N`). Off behind PgBouncer in transaction mode before 1.21, which
    /// cannot route a named statement to the server connection that prepared it.
    pub statement_cache: bool,
}

/// Counts the statements every connection of a database runs (diesel's instrumentation:
/// one per query sent, transaction statements included), for `/metrics` and for the test
/// that fails when a hot route starts issuing more statements (an N+1).
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn instrument(&self) -> impl Instrumentation {
        let count = self.0.clone();
        move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// How long SQLite waits on a lock before failing, in milliseconds.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

impl Manager {
    pub fn connect_now(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                if !self.statement_cache {
                    conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
                }
                // No JIT: our statements are short, and a planner estimate that crosses
                // `jit_above_cost` (a correlated subquery does) spends hundreds of
                // milliseconds compiling a query that runs in tens (measured on the member
                // table: 270 ms of JIT for 47 ms of execution).
                // Random reads priced for SSDs and a cached working set (the default of 4
                // assumes spinning disks): looking up a page of 1,000 members by id then
                // uses their indexes instead of hashing a scan of every user (measured:
                // 8.8 ms instead of 48 ms).
                conn.batch_execute("SET jit = off; SET random_page_cost = 1.1")
                    .map_err(diesel::r2d2::Error::QueryError)?;
                conn.set_instrumentation(self.counter.instrument());
                Ok(DbConnection::Pg(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::r2d2::Error::ConnectionError(ConnectionError::BadConnection(
                        "the SQLite path is not valid UTF-8".into(),
                    ))
                })?;
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout first: switching to WAL takes a lock that a concurrent opener
                // would otherwise report as "database is locked".
                let mut pragmas = format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                );
                if self.role == Role::Reader {
                    pragmas.push_str("PRAGMA query_only = ON;");
                }
                conn.batch_execute(&pragmas)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                conn.set_instrumentation(self.counter.instrument());
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.connect_now()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Runs `$body` with `$c` bound to the concrete connection of either backend. The body is
/// written once and compiled for both, which is how backend-specific query builder features
/// (`ON CONFLICT`, multi-row `VALUES`) are used without duplicating code.
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// A multi-row insert that skips rows violating a unique constraint: `ON CONFLICT DO
/// NOTHING` on PostgreSQL (a caught unique violation would abort its transaction), `INSERT
/// OR IGNORE` on SQLite (diesel's SQLite batch insert has no `ON CONFLICT`). Evaluates to
/// `QueryResult<usize>`, the rows inserted.
#[macro_export]
macro_rules! insert_ignore {
    ($conn:expr, $table:expr, $values:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c),
            $crate::db::DbConnection::Sqlite(c) => diesel::insert_or_ignore_into($table)
                .values($values)
                .execute(c),
        }
    };
}

/// Inserts `$rows` (a slice of `Insertable + Serialize` rows of `$table`, named `$name`
/// in SQL), skipping rows
/// that violate a unique constraint, in the cheapest form for each backend:
/// - PostgreSQL: one statement of fixed shape, the rows as one JSON parameter
///   ([`crate::db::sql::insert_json_rows`] with `$columns`): one round trip, prepared once
///   per connection;
/// - SQLite: one single-row `INSERT OR IGNORE` per row, the same cached statement each time
///   (in-process, there is no round trip to save; diesel's SQLite batch insert also runs one
///   statement per row, but builds its SQL anew for each). The JSON statement was measured
///   here too: SQLite parses each row's object once per column (`value ->> 'c'`), and the
///   sync benchmark's writer thread grew busier for the same throughput.
///
/// Evaluates to `QueryResult<usize>`, the rows inserted.
#[macro_export]
macro_rules! insert_ignore_rows {
    ($conn:expr, $table:expr, $name:expr, $columns:expr, $rows:expr) => {{
        let conn: &mut $crate::db::DbConnection = $conn;
        match conn {
            $crate::db::DbConnection::Sqlite(c) => $rows.iter().try_fold(0usize, |n, row| {
                diesel::insert_or_ignore_into($table)
                    .values(row)
                    .execute(c)
                    .map(|k| n + k)
            }),
            $crate::db::DbConnection::Pg(c) => match serde_json::to_string($rows) {
                Ok(json) => $crate::db::sql::insert_json_rows(c, $name, $columns, &json),
                Err(e) => Err(diesel::result::Error::SerializationError(Box::new(e))),
            },
        }
    }};
}

/// Writes whole rows in one statement, replacing those whose `$target` key exists:
/// `INSERT … ON CONFLICT ($target) DO UPDATE SET $set` on PostgreSQL, `REPLACE INTO` on
/// SQLite (diesel's SQLite batch insert has no `ON CONFLICT`; every column is given, so
/// replacing the row is the same update). Only for tables no foreign key points at (SQLite's
/// `REPLACE` deletes the old row). Evaluates to `QueryResult<usize>`.
#[macro_export]
macro_rules! upsert_rows {
    ($conn:expr, $table:expr, $rows:expr, $target:expr, $set:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg(c) => diesel::insert_into($table)
                .values($rows)
                .on_conflict($target)
                .do_update()
                .set($set)
                .execute(c),
            $crate::db::DbConnection::Sqlite(c) => {
                diesel::replace_into($table).values($rows).execute(c)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:data/x.db").unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/x.db").unwrap(),
            DatabaseUrl::Sqlite("/var/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("data.db").is_err());
        assert!(DatabaseUrl::parse("sqlite:").is_err());
    }

    #[test]
    fn never_prints_a_password() {
        let u = DatabaseUrl::parse("postgres://me:hunter2@db:5432/x").unwrap();
        assert_eq!(format!("{u:?}"), "postgres://me:***@db:5432/x");
    }
}
