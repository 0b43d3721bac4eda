//! Queries on the `media` table.

use diesel::prelude::*;

use super::model::{Media, NewMedia};
use crate::db::DbConnection;
use crate::db::schema::media;
use crate::error::ApiResult;

/// The media row `id` (404 `not_found` when there is none).
pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<Media> {
    Ok(media::table
        .find(id)
        .select(Media::as_select())
        .first(conn)?)
}

/// The media row with this content, if any.
pub fn find_by_sha(conn: &mut DbConnection, sha256: &str) -> ApiResult<Option<Media>> {
    Ok(media::table
        .filter(media::sha256.eq(sha256))
        .select(Media::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts `row` unless its content is already recorded (`ON CONFLICT DO NOTHING`, so a
/// lost race does not abort a PostgreSQL transaction); returns the row and whether it is new.
pub fn insert_or_existing(conn: &mut DbConnection, row: &NewMedia) -> ApiResult<(Media, bool)> {
    let inserted = crate::with_backend!(conn, |c| diesel::insert_into(media::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    let media = find_by_sha(conn, &row.sha256)?
        .ok_or_else(|| crate::error::ApiError::internal(anyhow::anyhow!("media row vanished")))?;
    Ok((media, inserted == 1))
}
