//! One-time login codes: a secretary whose scope covers a member issues one
//! (`POST /v1/members/{user_id}/login-code`), reads it to her over the phone, and she sets a
//! password with it (`POST /v1/auth/password-reset`) — for a member added by a secretary,
//! who never had a password, or one who forgot it or lost her WeChat. One live code per
//! person (issuing replaces the earlier one), stored as its SHA-256, valid
//! [`LOGIN_CODE_TTL_MINUTES`] minutes, used up by the reset it makes succeed.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::one_time::{digest, generate};
use crate::db::DbConnection;
use crate::db::schema::login_codes as lc;
use crate::error::ApiResult;

/// How long a login code stays valid.
pub const LOGIN_CODE_TTL_MINUTES: i64 = 120;

/// Issues a new code for `user_id` (replacing any earlier one); returns it and when it
/// expires. The code itself is never stored.
pub fn issue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    issued_by: i64,
) -> ApiResult<(String, NaiveDateTime)> {
    let code = generate();
    let expires_at = now + Duration::minutes(LOGIN_CODE_TTL_MINUTES);
    diesel::delete(lc::table.find(user_id)).execute(conn)?;
    diesel::insert_into(lc::table)
        .values((
            lc::user_id.eq(user_id),
            lc::code_sha256.eq(digest(&code)),
            lc::expires_at.eq(expires_at),
            lc::issued_by.eq(issued_by),
            lc::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok((code, expires_at))
}

/// Uses up `user_id`'s code if `code` is it and it has not expired; `false` otherwise
/// (nothing changes then).
pub fn consume(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    code: &str,
) -> ApiResult<bool> {
    let deleted = diesel::delete(
        lc::table
            .filter(lc::user_id.eq(user_id))
            .filter(lc::code_sha256.eq(digest(code)))
            .filter(lc::expires_at.gt(now)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}
