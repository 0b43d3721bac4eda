//! Courses: online party classes and recorded mini party classes, their ordered lessons
//! (video, audio, article, PDF), quizzes, and their publishing to orgs. Members read what
//! is assigned to their home org and its ancestors; organizers manage courses owned in
//! their scope.

pub mod assignments;
pub mod authoring;
pub mod catalog;
pub mod demo;
pub mod extra_attempts;
pub mod lesson_routes;
pub mod links;
pub mod media_use;
pub mod model;
pub mod quiz;
pub mod routes;

use crate::db::DbConnection;
use crate::error::ApiResult;
use crate::media::access::MediaUses;
use crate::orgs::access::Scope;

/// For a request that puts media into a course (a lesson's content, a cover): 422 on
/// `field` unless the media exists and the caller may see it (uploaded for an org they
/// organize, or used by something they see); returns its duration.
pub fn usable_media(
    conn: &mut DbConnection,
    user_id: i64,
    uses: MediaUses,
    field: &str,
    media_id: Option<i64>,
) -> ApiResult<Option<i32>> {
    let Some(id) = media_id else {
        return Ok(None);
    };
    let scope = Scope::load(conn, user_id)?;
    crate::media::access::require_usable(conn, &scope, uses, field, &[id])?;
    media_duration(conn, Some(id))
}

/// For a request that sets a course's cover: as [`usable_media`], and the media must be an
/// image (422 `not_an_image` on `cover_media_id`), since a cover is shown through a lasting
/// image URL that serves images only.
pub fn usable_cover(
    conn: &mut DbConnection,
    user_id: i64,
    uses: MediaUses,
    media_id: Option<i64>,
) -> ApiResult<()> {
    let Some(id) = media_id else {
        return Ok(());
    };
    usable_media(conn, user_id, uses, "cover_media_id", Some(id))?;
    let media = crate::media::find(conn, id)?;
    if media.kind()? != crate::media::MediaKind::Image {
        return Err(crate::error::ApiError::invalid_field(
            "cover_media_id",
            "not_an_image",
            crate::error::Text::new("封面必须是图片", "A cover must be an image"),
        ));
    }
    Ok(())
}

/// Checks that an uploaded media exists (422 on `media_id` otherwise) and returns the
/// duration the media feature read from the file, if any.
pub fn media_duration(conn: &mut DbConnection, media_id: Option<i64>) -> ApiResult<Option<i32>> {
    let Some(id) = media_id else {
        return Ok(None);
    };
    match crate::media::find_many(conn, &[id])?.into_iter().next() {
        Some(m) => Ok(m.duration_s),
        None => Err(crate::error::ApiError::invalid_field(
            "media_id",
            "not_found",
            crate::error::Text::new("媒体不存在，请先上传", "No such media; upload it first"),
        )),
    }
}
