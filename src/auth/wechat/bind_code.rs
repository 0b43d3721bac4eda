//! One-time codes that let a guarded account bind WeChat without its password.
//!
//! WeChat vouching for a phone number binds only a plain member (see
//! [`crate::orgs::identity`], invariant 5). A person who holds a role — a secretary made
//! from an imported member, who never set a password — gets a code from an administrator
//! whose scope covers them (`POST /v1/members/{user_id}/wechat-bind-code`), told in person
//! or by phone, and sends it with the bind as `one_time_code`. One live code per person
//! (issuing replaces the previous one), stored as its SHA-256, valid for
//! [`CODE_TTL_HOURS`] hours, used up by the bind it makes succeed, in the same transaction.

use crate::db::schema::wechat_bind_codes;

/// How long a code stays valid.
pub const CODE_TTL_HOURS: i64 = 72;

crate::auth::one_time::code_store!(wechat_bind_codes, chrono::Duration::hours(CODE_TTL_HOURS));
