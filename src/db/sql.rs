//! Backend-specific statements behind small functions. Each is written once with
//! [`crate::with_backend`] and compiled for both backends.

use super::{Backend, DbConnection};

/// Which backend a connection is on.
pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Pg(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// Loads a user's progress rows for `lesson_ids`, locked until the transaction ends:
/// `SELECT … FOR UPDATE` on PostgreSQL; on SQLite the single writer already serializes.
pub fn lock_lesson_progress(
    conn: &mut DbConnection,
    user_id: i64,
    lesson_ids: &[i64],
) -> diesel::QueryResult<Vec<crate::progress::model::ProgressRow>> {
    use crate::db::schema::lesson_progress as lp;
    use crate::progress::model::ProgressRow;
    use diesel::prelude::*;
    macro_rules! query {
        () => {
            lp::table
                .filter(lp::user_id.eq(user_id))
                .filter(lp::lesson_id.eq_any(lesson_ids))
                .order(lp::lesson_id.asc())
                .select(ProgressRow::as_select())
        };
    }
    match conn {
        DbConnection::Pg(c) => query!().for_update().load(c),
        DbConnection::Sqlite(c) => query!().load(c),
    }
}
