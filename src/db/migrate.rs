//! Embedded migrations, one folder per backend with the same names.
//!
//! On PostgreSQL they run under an advisory lock keyed by the current schema, so instances
//! starting together on one empty database take turns instead of racing.

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
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
            diesel::sql_query(format!("SELECT pg_advisory_lock({LOCK_KEY_SQL})")).execute(c)?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(|v| v.to_string()).collect::<Vec<_>>())
                .map_err(|e| anyhow::anyhow!("PostgreSQL migration failed: {e}"));
            let unlock = c.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY_SQL})"));
            let applied = result?;
            unlock?;
            applied
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
