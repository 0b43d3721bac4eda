//! Backend-specific statements behind small functions. Each is written once with
//! [`crate::with_backend`] and compiled for both backends.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{Backend, DbConnection};

/// Which backend a connection is on.
pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// Plans the rest of the current transaction's statements for their actual parameters
/// (PostgreSQL: `SET LOCAL plan_cache_mode = force_custom_plan`; nothing on SQLite).
///
/// For statements that bind an array of a thousand keys (`phone = ANY($1)`), run many
/// times on one connection: PostgreSQL switches a cached statement to a generic plan after
/// five runs, a generic plan cannot hash the array, and one chosen while the table was
/// small keeps scanning the table once per key after a bulk insert (measured: 0.4 s per
/// 1,000 phones against 10,000 users, until autovacuum analyzes the table).
pub fn prefer_custom_plans(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) => c.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// After a bulk load (`dangke gen`), outside any transaction: PostgreSQL gets fresh
/// planner statistics and a visibility map at once (so the statistics reads are index-only
/// scans) instead of whenever autovacuum comes round. SQLite: nothing (we never `ANALYZE`;
/// see `.cargo/config.toml`).
pub fn analyze_after_bulk_load(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) => c.batch_execute("VACUUM ANALYZE"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Holds the lock `name` until the transaction ends, waiting for it if another transaction
/// holds it (PostgreSQL: an advisory lock keyed by name and schema, so tests on separate
/// schemas do not share it; SQLite's single writer already serializes transactions).
pub fn transaction_lock(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT pg_advisory_xact_lock(hashtextextended($1 || '.' || \
             coalesce(current_schema(), ''), 0))",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .execute(c)
        .map(|_| ()),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// The escape character of [`like_contains`] patterns: pass it to diesel's `.escape()` so
/// both backends read the pattern the same way (SQLite has no default escape).
pub const LIKE_ESCAPE: char = '\\';

/// A `LIKE` pattern matching values that contain `text` literally: `%`, `_` and the escape
/// character itself are escaped, so a search for `%` finds a `%`, not everything.
pub fn like_contains(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            p.push(LIKE_ESCAPE);
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod like_tests {
    #[test]
    fn wildcards_and_the_escape_are_escaped() {
        assert_eq!(super::like_contains("张%三_\\"), "%张\\%三\\_\\\\%");
        assert_eq!(super::like_contains("王"), "%王%");
    }
}
