//! Short-lived signed playback URLs: `/v1/media/{id}/content?exp=UNIX&sig=MAC`.
//!
//! A mini-program `<video>` or `<audio>` cannot send an `Authorization` header, so the URL
//! itself is the credential: `sig` signs the media id and the expiry under the media
//! purpose's [`UrlKey`] (see [`crate::http::url_key`]). The expiry is checked against the
//! app clock.
//!
//! The expiry is rounded up to a step (a quarter of the lifetime, at most 15 minutes), so
//! every URL handed out for one media within a step is the same string: players and caches
//! can reuse what they fetched, and responses that embed the URL keep their `ETag`. A URL
//! therefore stays valid for at least the configured lifetime and at most one step longer.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::error::{ApiError, ErrorCode};
use crate::http::url_key::{UrlFault, UrlKey, rounded_expiry};

/// The longest rounding step, in seconds.
const MAX_STEP_SECS: i64 = 15 * 60;

/// Signs and verifies playback URLs.
#[derive(Clone, Debug)]
pub struct UrlSigner {
    key: UrlKey,
    ttl_secs: i64,
}

impl UrlSigner {
    /// Derives the URL key from the JWT secret (`HMAC(secret, label)`), so it differs from
    /// the token-signing key, yet every instance sharing the secret agrees on it.
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<UrlSigner> {
        Ok(UrlSigner {
            key: UrlKey::derive(secret, "dangke media url key v1")?,
            ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 4).max(1),
        })
    }

    fn subject(media_id: i64) -> String {
        format!("media\n{media_id}")
    }

    /// The rounded expiry of a URL issued at `now` (Unix seconds).
    pub fn expiry_for(&self, now: i64) -> i64 {
        let step = (self.ttl_secs / 4).clamp(1, MAX_STEP_SECS);
        rounded_expiry(now, self.ttl_secs, step)
    }

    /// The query string (`exp=…&sig=…`) and expiry for `media_id` issued at `now`.
    pub fn sign(&self, media_id: i64, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let exp = self.expiry_for(now.timestamp());
        let sig = self.key.sign(&Self::subject(media_id), exp);
        let expires_at = Utc.timestamp_opt(exp, 0).single().unwrap_or(now);
        (format!("exp={exp}&sig={sig}"), expires_at)
    }

    /// Checks `exp` and `sig` for `media_id` at `now`: 403 `media_url_invalid` for a missing,
    /// malformed or tampered signature, 403 `media_url_expired` after the expiry.
    pub fn verify(
        &self,
        media_id: i64,
        exp: Option<&str>,
        sig: Option<&str>,
        now: i64,
    ) -> Result<(), ApiError> {
        self.key
            .verify(&Self::subject(media_id), exp, sig, now)
            .map_err(|f| {
                ApiError::new(match f {
                    UrlFault::Invalid => ErrorCode::MediaUrlInvalid,
                    UrlFault::Expired => ErrorCode::MediaUrlExpired,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        UrlSigner::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(7200),
        )
        .unwrap()
    }

    fn parts(q: &str) -> (String, String) {
        let mut exp = String::new();
        let mut sig = String::new();
        for kv in q.split('&') {
            match kv.split_once('=') {
                Some(("exp", v)) => exp = v.into(),
                Some(("sig", v)) => sig = v.into(),
                _ => {}
            }
        }
        (exp, sig)
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires() {
        let s = signer();
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let (q, expires) = s.sign(7, now);
        let (exp, sig) = parts(&q);
        assert!(expires.timestamp() >= now.timestamp() + 7200);
        assert!(expires.timestamp() <= now.timestamp() + 7200 + 900);
        let t = now.timestamp();
        assert!(s.verify(7, Some(&exp), Some(&sig), t).is_ok());
        let e = s.verify(7, Some(&exp), Some(&sig), expires.timestamp());
        assert_eq!(e.unwrap_err().code, ErrorCode::MediaUrlExpired);
    }

    #[test]
    fn tampering_is_refused() {
        let s = signer();
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let (exp, sig) = parts(&s.sign(7, now).0);
        let t = now.timestamp();
        let later = (exp.parse::<i64>().unwrap() + 86400).to_string();
        for (id, e, g) in [
            (8, Some(exp.as_str()), Some(sig.as_str())),
            (7, Some(later.as_str()), Some(sig.as_str())),
            (7, Some(exp.as_str()), Some("AAAAAAAAAAAAAAAAAAAAAA")),
            (7, Some(exp.as_str()), None),
            (7, None, Some(sig.as_str())),
            (7, Some("soon"), Some(sig.as_str())),
        ] {
            let err = s.verify(id, e, g, t).unwrap_err();
            assert_eq!(err.code, ErrorCode::MediaUrlInvalid, "{id} {e:?} {g:?}");
        }
        let other = UrlSigner::new(
            b"another secret, another key.....",
            Duration::from_secs(7200),
        )
        .unwrap();
        assert!(other.verify(7, Some(&exp), Some(&sig), t).is_err());
    }

    #[test]
    fn urls_issued_within_a_step_are_identical() {
        let s = signer();
        // a + 2 h and b + 2 h fall in the same 15-minute step; c + 2 h in the next one.
        let a = Utc.timestamp_opt(1_800_000_030, 0).unwrap();
        let b = a + chrono::Duration::seconds(600);
        let c = a + chrono::Duration::seconds(900);
        assert_eq!(s.sign(7, a), s.sign(7, b));
        assert_ne!(s.sign(7, a).0, s.sign(7, c).0);
        assert_eq!(s.sign(7, a).1.timestamp() % 900, 0);
    }
}
