//! One-time login codes: a secretary whose scope covers a member issues one
//! (`POST /v1/members/{user_id}/login-code`), reads it to her over the phone, and she sets a
//! password with it (`POST /v1/auth/password-reset`) — for a member added by a secretary,
//! who never had a password, or one who forgot it or lost her WeChat. One live code per
//! person (issuing replaces the earlier one), stored as its SHA-256, valid
//! [`LOGIN_CODE_TTL_MINUTES`] minutes, used up by the reset it makes succeed.

use crate::db::schema::login_codes;

/// How long a login code stays valid.
pub const LOGIN_CODE_TTL_MINUTES: i64 = 120;

super::one_time::code_store!(
    login_codes,
    chrono::Duration::minutes(LOGIN_CODE_TTL_MINUTES)
);
