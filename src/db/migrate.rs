//! Embedded migrations, one folder per backend with the same names.
//!
//! On PostgreSQL they run in one transaction under a transaction-level advisory lock keyed
//! by the current schema, so instances starting together on one empty database take turns
//! instead of racing (and nothing depends on the session: PgBouncer in transaction mode).

use diesel::Connection;
use diesel::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The advisory lock key: the same for every instance on one schema.
const LOCK_KEY_SQL: &str =
    "hashtextextended('dangke.migrate.' || coalesce(current_schema(), ''), 0)";

/// Applies pending migrations; returns the names of those applied.
pub fn run(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map_err(|e| anyhow::anyhow!("SQLite migration failed: {e}"))?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        DbConnection::Pg(c) => {
            // One transaction holding a transaction-level advisory lock (released by the
            // commit or rollback): safe behind PgBouncer in transaction mode, where a
            // session-level lock and its unlock could land on different server connections.
            // Each migration runs in a savepoint inside it.
            c.transaction::<_, anyhow::Error, _>(|c| {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({LOCK_KEY_SQL})"))
                    .execute(c)?;
                c.run_pending_migrations(POSTGRES)
                    .map(|v| v.iter().map(|v| v.to_string()).collect::<Vec<_>>())
                    .map_err(|e| anyhow::anyhow!("PostgreSQL migration failed: {e}"))
            })?
        }
    };
    Ok(applied)
}

/// The names of the migrations embedded for a backend, in order.
pub fn names(migrations: &EmbeddedMigrations) -> anyhow::Result<Vec<String>> {
    use diesel::migration::MigrationSource;
    let list: Vec<Box<dyn diesel::migration::Migration<diesel::sqlite::Sqlite>>> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(migrations)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(list.iter().map(|m| m.name().to_string()).collect())
}
