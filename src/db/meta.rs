//! `app_meta`: a small key/value table for facts about this database (instance id,
//! backend, the generated development JWT secret).

use diesel::prelude::*;

use super::DbConnection;
use super::schema::app_meta;
use crate::error::ApiResult;

pub fn get(conn: &mut DbConnection, key: &str) -> ApiResult<Option<String>> {
    Ok(app_meta::table
        .filter(app_meta::key.eq(key))
        .select(app_meta::value)
        .first::<String>(conn)
        .optional()?)
}

/// Returns the stored value of `key`, storing `make()` first if there is none. Safe when
/// several instances start at once: the first insert wins and everyone reads it back.
pub fn get_or_init(
    conn: &mut DbConnection,
    key: &str,
    now: chrono::NaiveDateTime,
    make: impl FnOnce() -> String,
) -> ApiResult<String> {
    if let Some(v) = get(conn, key)? {
        return Ok(v);
    }
    let value = make();
    crate::with_backend!(conn, |c| diesel::insert_into(app_meta::table)
        .values((
            app_meta::key.eq(key),
            app_meta::value.eq(&value),
            app_meta::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(get(conn, key)?.unwrap_or(value))
}

pub fn set(
    conn: &mut DbConnection,
    key: &str,
    value: &str,
    now: chrono::NaiveDateTime,
) -> ApiResult<()> {
    crate::with_backend!(conn, |c| diesel::insert_into(app_meta::table)
        .values((
            app_meta::key.eq(key),
            app_meta::value.eq(value),
            app_meta::updated_at.eq(now),
        ))
        .on_conflict(app_meta::key)
        .do_update()
        .set((app_meta::value.eq(value), app_meta::updated_at.eq(now)))
        .execute(c))?;
    Ok(())
}
