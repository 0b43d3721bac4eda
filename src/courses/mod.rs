//! Courses: online party classes and recorded mini party classes, their ordered lessons
//! (video, audio, article, PDF), quizzes, and their publishing to orgs. Members read what
//! is assigned to their home org and its ancestors; organizers manage courses owned in
//! their scope.

pub mod assignments;
pub mod authoring;
pub mod catalog;
pub mod lesson_routes;
pub mod links;
pub mod model;
pub mod quiz;
pub mod routes;

use crate::db::DbConnection;
use crate::error::ApiResult;

/// The duration the media feature read from an uploaded file, if any.
pub fn media_duration(_conn: &mut DbConnection, media_id: Option<i64>) -> ApiResult<Option<i32>> {
    let _ = media_id;
    Ok(None)
}
