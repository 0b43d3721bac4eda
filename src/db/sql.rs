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
        DbConnection::Pg(c) => TextParam {
            before: "SELECT pg_advisory_xact_lock(hashtextextended(",
            param: name,
            after: " || '.' || coalesce(current_schema(), ''), 0))",
        }
        .execute(c)
        .map(|_| ()),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// A column of [`insert_json_rows`]: its name (also its key in the JSON objects) and its
/// PostgreSQL type.
#[derive(Debug, Clone, Copy)]
pub struct JsonColumn {
    pub name: &'static str,
    pub pg_type: &'static str,
}

/// A timestamp as diesel writes it to SQLite (`%F %T%.f`), for rows passed as JSON to
/// [`insert_json_rows`]: SQLite compares timestamps as text, so a row inserted from JSON
/// must carry exactly the text diesel would have bound. PostgreSQL parses it as well.
pub fn timestamp_text(t: chrono::NaiveDateTime) -> String {
    t.format("%F %T%.f").to_string()
}

/// `#[serde(serialize_with = …)]` for timestamp fields of rows passed to
/// [`insert_json_rows`] (see [`timestamp_text`]).
pub fn serialize_timestamp<S: serde::Serializer>(
    t: &chrono::NaiveDateTime,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.format("%F %T%.f"))
}

/// Inserts the rows of a JSON array of objects (keys are the column names) on PostgreSQL in
/// one statement whose text does not depend on the number of rows, so it stays prepared per
/// connection (`TextParam`): `INSERT INTO t (c, …) SELECT c, … FROM
/// jsonb_to_recordset($1::jsonb) AS r(c type, …) ON CONFLICT DO NOTHING` (a multi-row
/// `VALUES` would have a new shape for every row count). Rows violating a unique constraint
/// are skipped. Returns the rows inserted. (SQLite inserts row by row instead, see
/// [`crate::insert_ignore_rows`].)
///
/// `table` and the column names come from our code, never from input.
pub fn insert_json_rows(
    conn: &mut diesel::PgConnection,
    table: &str,
    columns: &[JsonColumn],
    rows_json: &str,
) -> QueryResult<usize> {
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let names = names.join(", ");
    let typed: Vec<String> = columns
        .iter()
        .map(|col| format!("{} {}", col.name, col.pg_type))
        .collect();
    TextParam {
        before: &format!("INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_to_recordset("),
        param: rows_json,
        after: &format!("::jsonb) AS r({}) ON CONFLICT DO NOTHING", typed.join(", ")),
    }
    .execute(conn)
}

/// A statement of fixed text around one text parameter (`before`, the placeholder,
/// `after`), which diesel keeps prepared per connection, keyed by its text. (`sql_query`
/// statements are prepared anew on every run.) The text comes from our code, never from
/// input.
struct TextParam<'a> {
    before: &'a str,
    param: &'a str,
    after: &'a str,
}

impl<DB> diesel::query_builder::QueryFragment<DB> for TextParam<'_>
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql(self.before);
        out.push_bind_param::<diesel::sql_types::Text, str>(self.param)?;
        out.push_sql(self.after);
        Ok(())
    }
}

impl diesel::query_builder::QueryId for TextParam<'_> {
    type QueryId = ();
    // Not one statement for every value of the type: the cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for TextParam<'_> {}

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

/// A log numbered per key in commit order: `log` has columns (`key`, `seq`, `user_id`,
/// `created_at`), `heads` has (`key`, `seq`) with the last number per key.
pub struct NumberedLog {
    pub log: &'static str,
    pub heads: &'static str,
    pub key: &'static str,
}

/// Appends `(key, n, user_id, at)` to the log, `n` being the key's last number plus one, in
/// one statement. PostgreSQL bumps the key's head row in the same statement (a
/// data-modifying `WITH`), whose lock is held until commit, so numbers commit in order and
/// never collide; SQLite's single writer numbers from the log's own maximum.
pub fn append_numbered(
    conn: &mut DbConnection,
    t: &NumberedLog,
    key: i64,
    user_id: Option<i64>,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Nullable, Timestamp};
    let (log, heads, k) = (t.log, t.heads, t.key);
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "WITH h AS (INSERT INTO {heads} ({k}, seq) VALUES ($1, 1) \
             ON CONFLICT ({k}) DO UPDATE SET seq = {heads}.seq + 1 RETURNING seq) \
             INSERT INTO {log} ({k}, seq, user_id, created_at) SELECT $1, seq, $2, $3 FROM h"
        ))
        .bind::<BigInt, _>(key)
        .bind::<Nullable<BigInt>, _>(user_id)
        .bind::<Timestamp, _>(at)
        .execute(c)
        .map(|_| ()),
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "INSERT INTO {log} ({k}, seq, user_id, created_at) \
             SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ? FROM {log} WHERE {k} = ?"
        ))
        .bind::<BigInt, _>(key)
        .bind::<Nullable<BigInt>, _>(user_id)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(key)
        .execute(c)
        .map(|_| ()),
    }
}

diesel::define_sql_function! {
    /// `COALESCE(a, b)` of a nullable timestamp and a timestamp (the same on both backends).
    #[sql_name = "COALESCE"]
    fn coalesce_timestamp(a: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, b: diesel::sql_types::Timestamp) -> diesel::sql_types::Timestamp;
}

/// A WAL position on the primary (PostgreSQL) at or after every commit made before this
/// call, that a replica will reach without further activity, for [`replayed`]; `None` on
/// SQLite.
///
/// A marker transaction writes one WAL record (a transactional logical-decoding message,
/// prefix `dangke.replica_marker`, which any role may emit at `wal_level = replica`) and
/// commits with `synchronous_commit = on`, which flushes the WAL up to its commit: so every
/// earlier commit is flushed too, also one made with `synchronous_commit = off` whose record
/// was still in the WAL buffers. (A transaction that writes no record commits
/// asynchronously whatever the setting: `txid_current()` alone does not flush.) The position is then the flush position: flushed WAL is what the
/// primary streams. Neither the write position (it can be short of an async commit) nor
/// the insert position (it can hold records after the last commit — page pruning by a
/// read writes some — that the WAL writer leaves unflushed on a quiet server until more
/// comes, so a replica never reaches it) would do; both were seen failing in the
/// read-replica test.
pub fn wal_position(conn: &mut DbConnection) -> QueryResult<Option<String>> {
    match conn {
        DbConnection::Pg(c) => {
            c.transaction(|c| {
                c.batch_execute(
                    "SET LOCAL synchronous_commit = on; \
                     SELECT pg_logical_emit_message(true, 'dangke.replica_marker', '')",
                )
            })?;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                "pg_current_wal_flush_lsn()::text",
            ))
            .get_result::<String>(c)
            .map(Some)
        }
        DbConnection::Sqlite(_) => Ok(None),
    }
}

/// Whether this server has replayed the WAL up to `position` (a standby), or is not a
/// standby at all (then it is current by definition).
pub fn replayed(conn: &mut DbConnection, position: &str) -> QueryResult<bool> {
    match conn {
        DbConnection::Pg(c) => diesel::select(
            diesel::dsl::sql::<diesel::sql_types::Bool>("COALESCE(pg_last_wal_replay_lsn() >= ")
                .bind::<diesel::sql_types::Text, _>(position)
                .sql("::pg_lsn, true)"),
        )
        .get_result::<bool>(c),
        DbConnection::Sqlite(_) => Ok(true),
    }
}
