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
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::schema::wechat_bind_codes as wbc;
use crate::error::ApiResult;

/// How long a code stays valid.
pub const CODE_TTL_HOURS: i64 = 72;
/// Digits in a code: read out over the phone, typed on a cheap phone.
const CODE_DIGITS: usize = 8;

fn digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

/// Issues a new code for `user_id` (replacing any earlier one); returns it and when it
/// expires. The code itself is never stored.
pub fn issue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    issued_by: i64,
) -> ApiResult<(String, NaiveDateTime)> {
    let mut rng = rand::rng();
    let code: String = (0..CODE_DIGITS)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
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
