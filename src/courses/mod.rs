//! Courses: online party classes and recorded mini party classes, their ordered lessons
//! (video, audio, article, PDF), quizzes, and their publishing to orgs. Members read what
//! is assigned to their home org and its ancestors; organizers manage courses owned in
//! their scope.

pub mod assignments;
pub mod authoring;
pub mod catalog;
pub mod demo;
pub mod lesson_routes;
pub mod links;
pub mod model;
pub mod quiz;
pub mod routes;

use crate::db::DbConnection;
use crate::error::ApiResult;

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
