//! Channel credentials at rest: sealed with XChaCha20-Poly1305 under a key derived from
//! `DANGKE_SECRETS_KEY` (SHA-256 of it), bound to the channel's org so a sealed value
//! copied to another org's row does not open. Stored as `v1:` + base64(nonce ‖ ciphertext).
//! The API never returns a secret: [`hint`] is what it shows instead.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// Seals and opens channel credentials.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

fn aad(org_id: i64) -> String {
    format!("dangke push channel of org {org_id}")
}

impl SecretBox {
    /// A box keyed by the SHA-256 of `key` (a configured or generated secret).
    pub fn new(key: &str) -> SecretBox {
        let digest = Sha256::digest(key.as_bytes());
        SecretBox {
            cipher: XChaCha20Poly1305::new(&digest),
        }
    }

    /// Seals `plain` for a channel of `org_id`.
    pub fn seal(&self, org_id: i64, plain: &str) -> ApiResult<String> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad(org_id);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| ApiError::internal(anyhow::anyhow!("sealing a channel secret failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    /// Opens what [`SecretBox::seal`] sealed for `org_id`. A value that does not open (another
    /// key, another org, damaged) is an internal error: the cause goes to the log.
    pub fn open(&self, org_id: i64, sealed: &str) -> ApiResult<String> {
        let fail = |why: &str| {
            ApiError::internal(anyhow::anyhow!(
                "a push channel secret of org {org_id} does not open: {why} (was DANGKE_SECRETS_KEY changed?)"
            ))
        };
        let bytes = sealed
            .strip_prefix("v1:")
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 24)
            .ok_or_else(|| fail("not a sealed value"))?;
        let (nonce, body) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| fail("short"))?;
        let aad = aad(org_id);
        let plain = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| fail("authentication failed"))?;
        String::from_utf8(plain).map_err(|_| fail("not UTF-8"))
    }
}

/// What the API shows for a secret: its last four characters after an ellipsis.
pub fn hint(secret: &str) -> String {
    let tail: Vec<char> = secret.chars().rev().take(4).collect();
    let tail: String = tail.into_iter().rev().collect();
    format!("…{tail}")
}

/// A fresh Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_webhook_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// A generated development key (kept in `app_meta` like the development JWT secret).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_for_the_same_org_and_key() {
        let b = SecretBox::new("0123456789abcdef0123456789abcdef");
        let sealed = b.seal(7, "my-robot-key").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("my-robot-key"));
        assert_eq!(b.open(7, &sealed).unwrap(), "my-robot-key");
        assert!(b.open(8, &sealed).is_err(), "bound to the org");
        let other = SecretBox::new("another key another key another key");
        assert!(other.open(7, &sealed).is_err(), "bound to the key");
        assert_ne!(
            b.seal(7, "x").unwrap(),
            b.seal(7, "x").unwrap(),
            "fresh nonce"
        );
        assert!(b.open(7, "v1:AAAA").is_err());
    }

    #[test]
    fn hints_show_the_tail_only() {
        assert_eq!(hint("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"), "…5aaa");
        assert_eq!(hint("ab"), "…ab");
        assert_eq!(hint("SEC党课党课党课"), "…党课党课", "whole characters");
    }
}
