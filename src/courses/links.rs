//! Where a lesson's media and a course's cover are fetched from: an external (CDN) URL as
//! given; for uploaded media, a short-lived signed URL to play a lesson, and a lasting
//! signed image URL for a cover (see [`crate::media::image_url`]).

use chrono::{DateTime, Utc};

use super::model::{Course, Lesson};
use crate::media::MediaState;
use crate::state::AppState;

/// Builds playable URLs at one moment (signed URLs expire relative to it).
pub struct Links {
    pub now: DateTime<Utc>,
    media: MediaState,
}

impl Links {
    pub fn new(state: &AppState, now: DateTime<Utc>) -> Links {
        Links {
            now,
            media: state.media.clone(),
        }
    }

    /// The URL to play or open a lesson, with its expiry when signed.
    pub fn play_url(&self, lesson: &Lesson) -> (Option<String>, Option<DateTime<Utc>>) {
        match lesson.media_id {
            Some(id) => {
                let (url, exp) = self.media.sign(id, self.now);
                (Some(url), Some(exp))
            }
            None => (lesson.external_url.clone(), None),
        }
    }

    /// The course cover URL: for an uploaded image, its lasting signed URL, the same at any
    /// moment, so the lists that show covers keep their `ETag`.
    pub fn cover_url(&self, course: &Course) -> Option<String> {
        match course.cover_media_id {
            Some(id) => Some(self.media.image_url(id)),
            None => course.cover_url.clone(),
        }
    }
}
