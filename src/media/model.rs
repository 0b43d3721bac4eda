//! Rows and API types of media.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::media::MediaLimits;
use crate::db::schema::media;
use crate::error::ApiResult;
use crate::http::text::FileName;
use crate::text_enum;

text_enum! {
    /// What a media file is, decided from its content (magic bytes), never from its name.
    pub enum MediaKind {
        Video = "video",
        Audio = "audio",
        Image = "image",
        Pdf = "pdf",
    }
}

impl MediaKind {
    /// Whether the kind plays for a duration.
    pub fn is_timed(self) -> bool {
        matches!(self, MediaKind::Video | MediaKind::Audio)
    }

    /// The largest upload of this kind `limits` accept, in bytes.
    pub fn limit_in(self, limits: &MediaLimits) -> u64 {
        match self {
            MediaKind::Video => limits.video,
            MediaKind::Audio => limits.audio,
            MediaKind::Image => limits.image,
            MediaKind::Pdf => limits.pdf,
        }
    }
}

text_enum! {
    /// Where a stored duration came from.
    pub enum DurationSource {
        /// Read from the file's own headers.
        File = "file",
        /// Given by the uploader (`duration_s`), because the file did not tell.
        Uploader = "uploader",
    }
}

/// A stored media row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = media)]
pub struct Media {
    pub id: i64,
    pub sha256: String,
    pub kind: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
    pub duration_s: Option<i32>,
    pub duration_source: Option<String>,
    pub file_name: Option<String>,
    pub uploaded_by: i64,
    pub created_at: NaiveDateTime,
}

impl Media {
    pub fn kind(&self) -> ApiResult<MediaKind> {
        MediaKind::from_db(&self.kind)
    }

    /// The strong entity tag of the content: its SHA-256.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// A new media row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = media)]
pub struct NewMedia {
    pub sha256: String,
    pub kind: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
    pub duration_s: Option<i32>,
    pub duration_source: Option<String>,
    pub file_name: Option<String>,
    pub uploaded_by: i64,
    pub created_at: NaiveDateTime,
}

/// A media file as the API shows it, with a fresh signed URL to play or download it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MediaView {
    pub id: i64,
    pub kind: MediaKind,
    /// The content type, decided from the content.
    pub content_type: String,
    pub size_bytes: i64,
    /// Lower-case hex SHA-256 of the content (also its `ETag`).
    pub sha256: String,
    /// Whole seconds of playback for audio and video; `null` when unknown.
    pub duration_s: Option<i32>,
    pub duration_source: Option<DurationSource>,
    /// The file name sent with the first upload of this content, if any.
    pub file_name: Option<String>,
    pub uploaded_by: i64,
    pub created_at: DateTime<Utc>,
    /// Signed URL that plays the content without an `Authorization` header (absolute when
    /// `DANGKE_MEDIA_PUBLIC_URL` is set, else a path on this API). Supports `Range`.
    pub url: String,
    /// When `url` stops working; ask for the media (or lesson) again for a new one.
    pub url_expires_at: DateTime<Utc>,
}

impl MediaView {
    pub fn new(m: &Media, url: String, url_expires_at: DateTime<Utc>) -> ApiResult<MediaView> {
        Ok(MediaView {
            id: m.id,
            kind: m.kind()?,
            content_type: m.content_type.clone(),
            size_bytes: m.size_bytes,
            sha256: m.sha256.clone(),
            duration_s: m.duration_s,
            duration_source: m
                .duration_source
                .as_deref()
                .map(DurationSource::from_db)
                .transpose()?,
            file_name: m.file_name.clone(),
            uploaded_by: m.uploaded_by,
            created_at: m.created_at.and_utc(),
            url,
            url_expires_at,
        })
    }
}

/// Optional values of a raw-body upload (a multipart upload sends them as text fields).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Duration in whole seconds, used when it cannot be read from the file.
    pub duration_s: Option<i32>,
    /// The original file name, for display.
    pub file_name: Option<FileName>,
}

/// The multipart form of `POST /v1/media` (what `wx.uploadFile` sends).
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file (any field name works for the one part that has a file name; `file` is usual).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Duration in whole seconds, used when it cannot be read from the file.
    pub duration_s: Option<i32>,
}

/// The query of a signed playback URL. Both values come from `url` of a [`MediaView`].
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// Expiry, Unix seconds.
    pub exp: Option<String>,
    /// Signature over the media id and `exp`.
    pub sig: Option<String>,
}

/// The query of a lasting image URL: `sig` comes from a course's `cover_url`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Signature over the media id.
    pub sig: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_limit() {
        let limits = MediaLimits {
            video: 4,
            audio: 3,
            image: 2,
            pdf: 1,
        };
        assert_eq!(MediaKind::Video.limit_in(&limits), 4);
        assert_eq!(MediaKind::Audio.limit_in(&limits), 3);
        assert_eq!(MediaKind::Image.limit_in(&limits), 2);
        assert_eq!(MediaKind::Pdf.limit_in(&limits), 1);
        assert_eq!(limits.largest(), 4);
    }
}
