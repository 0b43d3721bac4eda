//! Lasting signed image URLs: `/v1/media/{id}/image?sig=MAC`, for course covers.
//!
//! A cover sits in the lists a phone reopens every day (`GET /v1/me/courses`). With a
//! playback URL, whose expiry rolls every 15 minutes, the list — and its `ETag` — would
//! change with the clock, and the phone would download it again and again and fetch the
//! same picture under a new URL. A cover URL instead signs only the media id, under a key
//! of its own: it is the same string for as long as the course shows that cover, and the
//! picture is cached as `immutable` (the content of a media id never changes).
//!
//! The URL stays a credential: without the key no one can make the URL of another id, so
//! media cannot be enumerated. It only serves images; lessons (video, audio, PDF) keep their
//! short-lived playback URLs ([`super::signed_url`]). What it gives up is expiry: whoever
//! once saw a course's cover can keep looking at that picture.

use crate::error::{ApiError, ErrorCode};
use crate::http::url_key::UrlKey;

/// Signs and verifies image URLs.
#[derive(Clone, Debug)]
pub struct ImageSigner {
    key: UrlKey,
}

impl ImageSigner {
    /// Derives the key from the JWT secret under its own label: neither a playback URL nor
    /// a chart URL is valid here, nor the reverse.
    pub fn new(secret: &[u8]) -> anyhow::Result<ImageSigner> {
        Ok(ImageSigner {
            key: UrlKey::derive(secret, "dangke media image url key v1")?,
        })
    }

    fn subject(media_id: i64) -> String {
        format!("image\n{media_id}")
    }

    /// The query string (`sig=…`) for `media_id`.
    pub fn sign(&self, media_id: i64) -> String {
        format!("sig={}", self.key.sign_lasting(&Self::subject(media_id)))
    }

    /// 403 `media_url_invalid` unless `sig` is the signature of `media_id`.
    pub fn verify(&self, media_id: i64, sig: Option<&str>) -> Result<(), ApiError> {
        self.key
            .verify_lasting(&Self::subject(media_id), sig)
            .map_err(|_| ApiError::new(ErrorCode::MediaUrlInvalid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn sig(query: &str) -> &str {
        query.strip_prefix("sig=").unwrap()
    }

    #[test]
    fn the_same_id_always_gets_the_same_url_and_only_it_verifies() {
        let s = ImageSigner::new(SECRET).unwrap();
        let q = s.sign(7);
        assert_eq!(q, s.sign(7));
        assert!(s.verify(7, Some(sig(&q))).is_ok());
        for (id, g) in [
            (8, Some(sig(&q))),
            (7, None),
            (7, Some("AAAAAAAAAAAAAAAAAAAAAA")),
        ] {
            assert_eq!(
                s.verify(id, g).unwrap_err().code,
                ErrorCode::MediaUrlInvalid
            );
        }
    }

    #[test]
    fn a_playback_signature_is_not_an_image_signature() {
        let images = ImageSigner::new(SECRET).unwrap();
        let playback =
            super::super::signed_url::UrlSigner::new(SECRET, std::time::Duration::from_secs(7200))
                .unwrap();
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let (q, _) = playback.sign(7, now);
        let played = q.split("sig=").nth(1).unwrap();
        assert!(images.verify(7, Some(played)).is_err());
        let other = ImageSigner::new(b"another secret, another key.....").unwrap();
        assert!(other.verify(7, Some(sig(&images.sign(7)))).is_err());
    }
}
