//! Short-lived signed playback URLs: `/v1/media/{id}/content?exp=UNIX&sig=MAC`.
//!
//! A mini-program `<video>` or `<audio>` cannot send an `Authorization` header, so the URL
//! itself is the credential: `sig` is an HMAC-SHA256 (truncated to 128 bits, base64url) of
//! the media id and the expiry, under a key derived from the JWT secret for this purpose
//! only. The expiry is checked against the app clock.
//!
//! The expiry is rounded up to a step (a quarter of the lifetime, at most 15 minutes), so
//! every URL handed out for one media within a step is the same string: players and caches
//! can reuse what they fetched, and responses that embed the URL keep their `ETag`. A URL
//! therefore stays valid for at least the configured lifetime and at most one step longer.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ApiError, ErrorCode};

/// Bytes of the MAC kept in the URL.
const SIG_BYTES: usize = 16;
/// The longest rounding step, in seconds.
const MAX_STEP_SECS: i64 = 15 * 60;

/// Signs and verifies playback URLs.
#[derive(Clone)]
pub struct UrlSigner {
    /// The MAC keyed with the URL key, cloned for each signature.
    keyed: Hmac<Sha256>,
    ttl_secs: i64,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// Derives the URL key from the JWT secret (`HMAC(secret, label)`), so it differs from
    /// the token-signing key, yet every instance sharing the secret agrees on it.
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<UrlSigner> {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(secret)?;
        derive.update(b"dangke media url key v1");
        let key = derive.finalize().into_bytes();
        Ok(UrlSigner {
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(&key)?,
            ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 4).max(1),
        })
    }

    fn mac(&self, media_id: i64, exp: i64) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(format!("media\n{media_id}\n{exp}").as_bytes());
        mac
    }

    /// The rounded expiry of a URL issued at `now` (Unix seconds).
    pub fn expiry_for(&self, now: i64) -> i64 {
        let step = (self.ttl_secs / 4).clamp(1, MAX_STEP_SECS);
        let earliest = now.saturating_add(self.ttl_secs);
        earliest
            .saturating_add(step - 1)
            .div_euclid(step)
            .saturating_mul(step)
    }

    /// The query string (`exp=…&sig=…`) and expiry for `media_id` issued at `now`.
    pub fn sign(&self, media_id: i64, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let exp = self.expiry_for(now.timestamp());
        let tag = self.mac(media_id, exp).finalize().into_bytes();
        let sig = URL_SAFE_NO_PAD.encode(&tag[..SIG_BYTES]);
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
        let invalid = || ApiError::new(ErrorCode::MediaUrlInvalid);
        let exp: i64 = exp.and_then(|e| e.parse().ok()).ok_or_else(invalid)?;
        let sig = sig
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .filter(|s| s.len() == SIG_BYTES)
            .ok_or_else(invalid)?;
        self.mac(media_id, exp)
            .verify_truncated_left(&sig)
            .map_err(|_| invalid())?;
        if exp <= now {
            return Err(ApiError::new(ErrorCode::MediaUrlExpired));
        }
        Ok(())
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
