//! One-time codes read out over the phone and typed on a cheap phone: digits only, stored
//! as their SHA-256, never in clear; one live code per person (issuing replaces the earlier
//! one), used up by the request it makes succeed. [`code_store!`] writes the issue and
//! consume functions over a table of codes; WeChat bind codes and login codes use it.

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

/// `issue` and `consume` over the code table `$table` (columns `user_id` (key),
/// `code_sha256`, `expires_at`, `issued_by`, `created_at`), codes living `$ttl`.
macro_rules! code_store {
    ($table:ident, $ttl:expr) => {
        /// Issues a new code for `user_id` (replacing any earlier one); returns it and when it
        /// expires. The code itself is never stored.
        pub fn issue(
            conn: &mut $crate::db::DbConnection,
            now: chrono::NaiveDateTime,
            user_id: i64,
            issued_by: i64,
        ) -> $crate::error::ApiResult<(String, chrono::NaiveDateTime)> {
            use diesel::prelude::*;
            let code = $crate::auth::one_time::generate();
            let expires_at = now + $ttl;
            diesel::delete($table::table.find(user_id)).execute(conn)?;
            diesel::insert_into($table::table)
                .values((
                    $table::user_id.eq(user_id),
                    $table::code_sha256.eq($crate::auth::one_time::digest(&code)),
                    $table::expires_at.eq(expires_at),
                    $table::issued_by.eq(issued_by),
                    $table::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok((code, expires_at))
        }

        /// Uses up `user_id`'s code if `code` is it and it has not expired; `false`
        /// otherwise (nothing changes then).
        pub fn consume(
            conn: &mut $crate::db::DbConnection,
            now: chrono::NaiveDateTime,
            user_id: i64,
            code: &str,
        ) -> $crate::error::ApiResult<bool> {
            use diesel::prelude::*;
            let deleted = diesel::delete(
                $table::table
                    .filter($table::user_id.eq(user_id))
                    .filter($table::code_sha256.eq($crate::auth::one_time::digest(code)))
                    .filter($table::expires_at.gt(now)),
            )
            .execute(conn)?;
            Ok(deleted == 1)
        }
    };
}
pub(crate) use code_store;
