//! Who may upload media and who may see it.
//!
//! - **Upload**: anyone holding a role somewhere (a right to operate in some subtree). The
//!   upload is recorded for the orgs where the uploader operates (`media_owners`); the same
//!   content uploaded again by someone else adds their orgs (they had the bytes anyway).
//! - **See** (`GET /v1/media/{id}`, and putting a media id into a lesson, a course cover or
//!   minutes): the organizers of an org the media was uploaded for, and whoever may see
//!   something that uses it — a course (lesson content or cover) or a meeting's minutes.
//!   The features that use media answer that through the checks in [`MediaUses`], wired in
//!   `lib.rs`, so this module knows no feature above it. Everyone else gets 404, whatever
//!   the id: ids are sequential and must not be enumerable.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{media_owners, orgs};
use crate::error::{ApiError, ApiResult, Text};
use crate::orgs::access::{Right, Scope};

/// A feature's answer to "does the caller see something of mine that uses this media?".
pub type UseCheck = fn(&mut DbConnection, &Scope, i64) -> ApiResult<bool>;

/// The use checks of every feature that refers to media (set once in `lib.rs`).
#[derive(Clone, Copy)]
pub struct MediaUses(pub &'static [UseCheck]);

impl std::fmt::Debug for MediaUses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MediaUses({} checks)", self.0.len())
    }
}

/// 403 unless `user_id` may operate somewhere.
pub fn require_operator(conn: &mut DbConnection, user_id: i64) -> ApiResult<Scope> {
    let scope = Scope::load(conn, user_id)?;
    if scope.roots(Right::Operate).is_empty() {
        return Err(ApiError::forbidden().with_detail(
            "只有组织的书记、委员、组织员或管理员可以上传和管理媒体文件",
            "Only secretaries, committee members, organizers and administrators manage media",
        ));
    }
    Ok(scope)
}

/// Records that `media_id` was uploaded for the orgs where `scope` operates; returns them.
pub fn record_upload(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    scope: &Scope,
    media_id: i64,
) -> ApiResult<Vec<i64>> {
    let roots: Vec<String> = scope
        .roots(Right::Operate)
        .into_iter()
        .map(str::to_string)
        .collect();
    let org_ids: Vec<i64> = orgs::table
        .filter(orgs::path.eq_any(&roots))
        .select(orgs::id)
        .load(conn)?;
    for &org_id in &org_ids {
        crate::with_backend!(conn, |c| diesel::insert_into(media_owners::table)
            .values((
                media_owners::media_id.eq(media_id),
                media_owners::org_id.eq(org_id),
                media_owners::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(org_ids)
}

/// Whether the caller with `scope` may see `media_id`: they operate in an org it was
/// uploaded for, or they see something that uses it.
pub fn visible(
    conn: &mut DbConnection,
    scope: &Scope,
    uses: MediaUses,
    media_id: i64,
) -> ApiResult<bool> {
    Ok(invisible(conn, scope, uses, &[media_id])?.is_empty())
}

/// The ids among `ids` the caller with `scope` may not see: the uploading orgs of all of
/// them in one query, then the use checks only for those not settled by it.
fn invisible(
    conn: &mut DbConnection,
    scope: &Scope,
    uses: MediaUses,
    ids: &[i64],
) -> ApiResult<Vec<i64>> {
    let owners: Vec<(i64, String)> = media_owners::table
        .inner_join(orgs::table)
        .filter(media_owners::media_id.eq_any(ids))
        .select((media_owners::media_id, orgs::path))
        .load(conn)?;
    let mut hidden = Vec::new();
    'ids: for &id in ids {
        if owners
            .iter()
            .any(|(m, p)| *m == id && scope.has(p, Right::Operate))
        {
            continue;
        }
        for check in uses.0 {
            if check(conn, scope, id)? {
                continue 'ids;
            }
        }
        hidden.push(id);
    }
    Ok(hidden)
}

/// 404 unless the caller may see `media_id` (see [`visible`]).
pub fn require_visible(
    conn: &mut DbConnection,
    scope: &Scope,
    uses: MediaUses,
    media_id: i64,
) -> ApiResult<()> {
    if visible(conn, scope, uses, media_id)? {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// For a request that puts media into something (a lesson, a cover, minutes): 422 on
/// `field` unless the caller may see every id — a media object the caller cannot see does
/// not exist for them.
pub fn require_usable(
    conn: &mut DbConnection,
    scope: &Scope,
    uses: MediaUses,
    field: &str,
    ids: &[i64],
) -> ApiResult<()> {
    if ids.is_empty() || invisible(conn, scope, uses, ids)?.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        field,
        "not_found",
        Text::new("媒体不存在，请先上传", "No such media; upload it first"),
    ))
}
