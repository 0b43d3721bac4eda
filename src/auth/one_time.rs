//! One-time codes read out over the phone and typed on a cheap phone: digits only, stored
//! as their SHA-256, never in clear. Used by WeChat bind codes and password-reset login
//! codes.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Digits in a code.
pub const CODE_DIGITS: usize = 8;

/// A fresh random code of [`CODE_DIGITS`] digits.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..CODE_DIGITS)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// What is stored of a code (surrounding spaces ignored).
pub fn digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}
