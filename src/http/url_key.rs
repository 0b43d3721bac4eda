//! The key that signs URLs which are their own credential (a media file for a `<video>`
//! tag, a chart for a group chat's image): `sig` is an HMAC-SHA256, truncated to 128 bits
//! and base64url-encoded, of a subject and the expiry, under a key derived from the JWT
//! secret with a label per purpose — every instance sharing the secret agrees on it, and a
//! URL signed for one purpose is not valid for another.
//!
//! Expiries are rounded up to a step so that URLs issued within a step are the same string
//! (players, caches and `ETag`s can reuse them). A purpose whose URLs never expire (course
//! cover images) signs the subject alone, under its own key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC kept in the URL.
const SIG_BYTES: usize = 16;

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlFault {
    /// Missing, malformed, or not matching.
    Invalid,
    /// Valid but past its expiry.
    Expired,
}

/// A URL-signing key for one purpose.
#[derive(Clone)]
pub struct UrlKey {
    /// The MAC keyed with the derived key, cloned for each signature.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for UrlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlKey").finish_non_exhaustive()
    }
}

/// `now + ttl`, rounded up to a multiple of `step` (Unix seconds).
pub fn rounded_expiry(now: i64, ttl: i64, step: i64) -> i64 {
    let step = step.max(1);
    now.saturating_add(ttl)
        .saturating_add(step - 1)
        .div_euclid(step)
        .saturating_mul(step)
}

impl UrlKey {
    /// Derives the key for `label` from `secret` (`HMAC(secret, label)`).
    pub fn derive(secret: &[u8], label: &str) -> anyhow::Result<UrlKey> {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(secret)?;
        derive.update(label.as_bytes());
        let key = derive.finalize().into_bytes();
        Ok(UrlKey {
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(&key)?,
        })
    }

    fn mac(&self, subject: &str, exp: i64) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(format!("{subject}\n{exp}").as_bytes());
        mac
    }

    /// The `sig` of `subject` expiring at `exp`.
    pub fn sign(&self, subject: &str, exp: i64) -> String {
        let tag = self.mac(subject, exp).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..SIG_BYTES])
    }

    /// The `sig` of `subject` for a URL that does not expire (a separate purpose key, so it
    /// cannot stand in for an expiring one).
    pub fn sign_lasting(&self, subject: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(subject.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..SIG_BYTES])
    }

    /// Checks the `sig` of a URL that does not expire.
    pub fn verify_lasting(&self, subject: &str, sig: Option<&str>) -> Result<(), UrlFault> {
        let sig = sig
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .filter(|s| s.len() == SIG_BYTES)
            .ok_or(UrlFault::Invalid)?;
        let mut mac = self.keyed.clone();
        mac.update(subject.as_bytes());
        mac.verify_truncated_left(&sig)
            .map_err(|_| UrlFault::Invalid)
    }

    /// Checks a URL's `exp` and `sig` for `subject` at `now`.
    pub fn verify(
        &self,
        subject: &str,
        exp: Option<&str>,
        sig: Option<&str>,
        now: i64,
    ) -> Result<(), UrlFault> {
        let exp: i64 = exp.and_then(|e| e.parse().ok()).ok_or(UrlFault::Invalid)?;
        let sig = sig
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .filter(|s| s.len() == SIG_BYTES)
            .ok_or(UrlFault::Invalid)?;
        self.mac(subject, exp)
            .verify_truncated_left(&sig)
            .map_err(|_| UrlFault::Invalid)?;
        if exp <= now {
            return Err(UrlFault::Expired);
        }
        Ok(())
    }
}
