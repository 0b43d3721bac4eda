//! Media: uploaded video, audio, images (course covers) and PDFs, stored once per content in
//! object storage (a local directory by default, any S3-compatible bucket in production) and
//! played through short-lived signed URLs with `Range`; course covers are shown through
//! lasting signed image URLs ([`image_url`]).
//!
//! What this module owns: the `media` table, the store, uploads (`POST /v1/media`, streamed,
//! typed by content, size-limited per kind, de-duplicated by SHA-256, duration read from the
//! file), metadata (`GET /v1/media/{id}`), playback (`GET /v1/media/{id}/content?exp=&sig=`,
//! no `Authorization` header needed) and images (`GET /v1/media/{id}/image?sig=`). What it does not own: which lesson or course uses a
//! media, and who may study it — the courses feature decides that and hands out URLs.
//!
//! Its settings (`DANGKE_MEDIA_*`, `AWS_*`: where the store is, the size limit of each kind,
//! the signed-URL lifetime) are parsed with the rest of the configuration, in
//! [`crate::config::media`]; [`MediaKind::limit_in`] picks a kind's limit from them.
//!
//! # For other features (courses, lessons, the demo)
//!
//! ```ignore
//! // In a db closure: the rows a lesson list refers to.
//! let rows: Vec<media::Media> = media::find_many(conn, &ids)?;
//! let one: media::Media = media::find(conn, id)?;            // 404 not_found if missing
//! // After the closure: a playable URL for a member (valid at least DANGKE_MEDIA_URL_TTL).
//! let (url, expires_at) = media::signed_url(&state, &one, state.clock.now());
//! // A course cover: a lasting URL, the same string every time (images only).
//! let cover: String = state.media.image_url(one.id);
//! // Or the whole API view (kind, content type, size, duration, url, url_expires_at).
//! let view: media::MediaView = media::view(&state, &one)?;
//! ```
//!
//! `Media::duration_s` is the lesson duration to use for coverage; it is `None` for images
//! and PDFs, and for audio/video whose duration neither the file nor the uploader gave.
//! A signed URL only proves "someone allowed saw this id recently": hand it out only after
//! your own authorization check.

pub mod access;
pub mod duration;
pub mod form;
pub mod image_url;
pub mod model;
pub mod receive;
pub mod records;
pub mod routes;
pub mod serve;
pub mod signed_url;
pub mod sniff;
pub mod storage;
pub mod upload;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

pub use model::{DurationSource, Media, MediaKind, MediaView};
pub use records::find;
pub use routes::routes;

use crate::config::media::MediaConfig;
use crate::db::DbConnection;
use crate::db::schema::media;
use crate::error::ApiResult;
use crate::state::AppState;
use image_url::ImageSigner;
use signed_url::UrlSigner;
use storage::MediaStore;

/// The media handles kept in app state: the store and the URL signer.
#[derive(Debug, Clone)]
pub struct MediaState {
    pub store: MediaStore,
    pub signer: UrlSigner,
    /// Signs the lasting image URLs of course covers.
    pub images: ImageSigner,
    /// Base URL that makes signed URLs absolute, if configured.
    pub public_url: Option<String>,
    /// Where uploads are staged while they stream in (`<data dir>/uploads`).
    pub staging_dir: PathBuf,
}

impl MediaState {
    /// Opens the store, derives the URL key from the JWT `secret`, and clears uploads left
    /// staged by a process that stopped mid-upload. Blocking (file system).
    pub fn open(
        config: &MediaConfig,
        secret: &[u8],
        data_dir: &Path,
    ) -> anyhow::Result<MediaState> {
        let staging_dir = data_dir.join("uploads");
        receive::remove_stale(&staging_dir, STALE_UPLOAD);
        Ok(MediaState {
            store: MediaStore::open(&config.location)?,
            signer: UrlSigner::new(secret, config.url_ttl)?,
            images: ImageSigner::new(secret)?,
            public_url: config.public_url.clone(),
            staging_dir,
        })
    }
}

impl MediaState {
    /// A signed playback URL for media `media_id` issued at `now`, and when it expires.
    /// Absolute when `DANGKE_MEDIA_PUBLIC_URL` is set, else a path
    /// (`/v1/media/{id}/content?exp=…&sig=…`).
    pub fn sign(&self, media_id: i64, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let (query, expires_at) = self.signer.sign(media_id, now);
        let base = self.public_url.as_deref().unwrap_or("");
        (
            format!("{base}/v1/media/{media_id}/content?{query}"),
            expires_at,
        )
    }
}

impl MediaState {
    /// The lasting signed URL of image `media_id` (a course cover): the same string every
    /// time, so lists that show it keep their `ETag` (see [`image_url`]). Absolute when
    /// `DANGKE_MEDIA_PUBLIC_URL` is set, else a path (`/v1/media/{id}/image?sig=…`).
    pub fn image_url(&self, media_id: i64) -> String {
        let query = self.images.sign(media_id);
        let base = self.public_url.as_deref().unwrap_or("");
        format!("{base}/v1/media/{media_id}/image?{query}")
    }
}

/// A staged upload older than this was abandoned (no upload takes a day).
const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The media rows with these ids (missing ids are simply absent), ordered by id.
pub fn find_many(conn: &mut DbConnection, ids: &[i64]) -> ApiResult<Vec<Media>> {
    Ok(media::table
        .filter(media::id.eq_any(ids))
        .order(media::id)
        .select(Media::as_select())
        .load(conn)?)
}

/// A signed playback URL for `media` issued at `now`, and when it expires. Absolute when
/// `DANGKE_MEDIA_PUBLIC_URL` is set, else a path (`/v1/media/{id}/content?exp=…&sig=…`).
pub fn signed_url(state: &AppState, media: &Media, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    state.media.sign(media.id, now)
}

/// The API view of `media` with a URL signed now.
pub fn view(state: &AppState, media: &Media) -> ApiResult<MediaView> {
    let (url, expires_at) = signed_url(state, media, state.clock.now());
    MediaView::new(media, url, expires_at)
}
