//! The rotating check-in code: six digits derived like a TOTP (RFC 6238 with HMAC-SHA256)
//! from a per-occurrence secret and the current time step. Every instance derives the same
//! code from the database row and the app key, so no shared state is needed to verify it.
//! A code is accepted during its own step and the next one (a code read just before it
//! rotates still works). Pure: values in, values out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Digits in a code.
pub const DIGITS: usize = 6;

/// The key of one occurrence's codes: HMAC(app key, occurrence secret), so neither the
/// database row nor the app key alone gives the codes.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().into()
        }
        // HMAC takes keys of any length; this branch cannot be taken.
        Err(_) => [0; 32],
    }
}

impl CodeKey {
    pub fn derive(app_key: &[u8], occurrence_secret: &str) -> CodeKey {
        CodeKey(hmac(app_key, occurrence_secret.as_bytes()))
    }
}

/// A new random per-occurrence secret (256 bits, base64url).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The time step of a Unix time.
pub fn step_of(unix_secs: i64, step_secs: u64) -> i64 {
    unix_secs.div_euclid(step_secs.max(1) as i64)
}

/// The code of one step: dynamic truncation of HMAC-SHA256(key, step), six digits.
pub fn code_at(key: &CodeKey, step: i64) -> String {
    let mac = hmac(&key.0, &step.to_be_bytes());
    let offset = usize::from(mac[31] & 0x0f);
    let word = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// The code shown now.
pub fn current(key: &CodeKey, unix_secs: i64, step_secs: u64) -> String {
    code_at(key, step_of(unix_secs, step_secs))
}

/// When the code shown now stops being accepted: the end of the next step.
pub fn valid_until(unix_secs: i64, step_secs: u64) -> i64 {
    (step_of(unix_secs, step_secs) + 2) * step_secs as i64
}

/// Whether `code` is the code of the current or the previous step. Compared in constant
/// time; anything but six ASCII digits is refused.
pub fn verify(key: &CodeKey, code: &str, unix_secs: i64, step_secs: u64) -> bool {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let step = step_of(unix_secs, step_secs);
    [step, step - 1]
        .iter()
        .map(|s| constant_time_eq(code_at(key, *s).as_bytes(), code.as_bytes()))
        .fold(false, |acc, ok| acc | ok)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The text of the QR code: the app opens the check-in for this occurrence with this code.
pub fn qr_payload(occurrence_id: i64, code: &str) -> String {
    format!("dangke://checkin?occurrence={occurrence_id}&code={code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CodeKey {
        CodeKey::derive(b"app key", "occurrence secret")
    }

    #[test]
    fn six_digits_stable_within_a_step() {
        let k = key();
        let a = current(&k, 1_000_020, 30);
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, current(&k, 1_000_029, 30));
    }

    #[test]
    fn accepted_for_its_step_and_the_next_then_refused() {
        let k = key();
        let t = 1_000_020; // step 33334 covers 1_000_020..1_000_050
        let code = current(&k, t, 30);
        assert!(verify(&k, &code, t, 30));
        assert!(verify(&k, &code, t + 30, 30));
        assert!(!verify(&k, &code, t + 60, 30));
        assert!(!verify(&k, &code, t - 30, 30));
        assert_eq!(valid_until(t, 30), 1_000_080);
    }

    #[test]
    fn other_occurrences_and_app_keys_give_other_codes() {
        let t = 1_700_000_000;
        let a = current(&key(), t, 30);
        let mut differ = 0;
        for secret in ["s1", "s2", "s3", "s4"] {
            if current(&CodeKey::derive(b"app key", secret), t, 30) != a {
                differ += 1;
            }
        }
        // Six digits may collide by chance (1 in a million each); four in a row cannot.
        assert!(differ >= 3);
        assert_ne!(
            code_at(&CodeKey::derive(b"other key", "occurrence secret"), 5),
            code_at(&key(), 5)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let k = key();
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert!(!verify(&k, bad, 1_000_000, 30), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_random() {
        assert_ne!(new_secret(), new_secret());
        assert_eq!(new_secret().len(), 43);
    }
}
