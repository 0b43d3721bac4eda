//! One-time codes that let a guarded account bind WeChat without its password.
//!
//! WeChat vouching for a phone number binds only a plain member (see
//! [`crate::orgs::identity`], invariant 5). A person who holds a role — a secretary made
//! from an imported member, who never set a password — gets a code from an administrator
//! whose scope covers them (`POST /v1/members/{user_id}/wechat-bind-code`), told in person
//! or by phone, and sends it with the bind as `one_time_code`. One live code per person
//! (issuing replaces the previous one), stored as its SHA-256, valid for
//! [`CODE_TTL_HOURS`] hours, used up by the bind it makes succeed, in the same transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::one_time::{digest, generate};
use crate::db::DbConnection;
use crate::db::schema::wechat_bind_codes as wbc;
use crate::error::ApiResult;

/// How long a code stays valid.
pub const CODE_TTL_HOURS: i64 = 72;

/// Issues a new code for `user_id` (replacing any earlier one); returns it and when it
/// expires. The code itself is never stored.
pub fn issue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    issued_by: i64,
) -> ApiResult<(String, NaiveDateTime)> {
    let code = generate();
    let expires_at = now + Duration::hours(CODE_TTL_HOURS);
    diesel::delete(wbc::table.find(user_id)).execute(conn)?;
    diesel::insert_into(wbc::table)
        .values((
            wbc::user_id.eq(user_id),
            wbc::code_sha256.eq(digest(&code)),
            wbc::expires_at.eq(expires_at),
            wbc::issued_by.eq(issued_by),
            wbc::created_at.eq(now),
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
        wbc::table
            .filter(wbc::user_id.eq(user_id))
            .filter(wbc::code_sha256.eq(digest(code)))
            .filter(wbc::expires_at.gt(now)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}
