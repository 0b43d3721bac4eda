//! Password hashing (argon2id, the crate's recommended parameters) and the password rule.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::{ApiError, Text};

/// Minimum and maximum password length in characters.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// Checks the password rule, failing with a 422 naming `field`.
pub fn check_rule(password: &str, field: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(ApiError::invalid_field(
            field,
            "invalid_length",
            Text::new(
                format!("密码长度应为 {MIN_LEN} 到 {MAX_LEN} 个字符"),
                format!("The password must be {MIN_LEN} to {MAX_LEN} characters long"),
            ),
        ));
    }
    let distinct = password
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if distinct < 3 {
        return Err(ApiError::invalid_field(
            field,
            "too_weak",
            Text::new("密码过于简单", "The password is too simple"),
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string. CPU-heavy: call from a blocking thread.
pub fn hash(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// A fixed hash to verify against when the account does not exist or has no password, so
/// "no such phone" and "wrong password" take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("dangke-timing-equalizer").unwrap_or_default())
}

/// Verifies `password` against `stored` (or the dummy hash when `None`). CPU-heavy.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), stored.unwrap_or(dummy_hash()))
        .is_ok();
    ok && stored.is_some()
}

/// Runs a hash or verify on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password task failed: {e}")))
}
