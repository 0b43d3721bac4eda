//! Sessions: refresh-token families, rotation with a grace window, reuse detection and
//! revocation (RFC 9700 §4.14).
//!
//! A login starts a family. Every refresh marks the presented token used and issues its
//! successor (derived from it by HMAC, see [`TokenKeys::successor_of`]) with a new access
//! token. A used token presented again within the grace window gets the same successor
//! pair back — a phone that lost the response on a bad network is not punished. Presented
//! later, it is treated as stolen: the whole family is revoked, and the access tokens issued
//! in it are put on the kv denylist until they expire.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{RefreshFamily, RefreshTokenRow, TokenPair, USER_ACTIVE};
use super::tokens::{
    AUDIENCE, AccessClaims, ISSUER, TokenKeys, hash_refresh_token, new_refresh_token,
};
use crate::db::DbConnection;
use crate::db::schema::{refresh_families, refresh_tokens, users};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::kv::Kv;

/// Token lifetimes and the grace window, from configuration.
#[derive(Clone, Copy)]
pub struct SessionSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub grace: Duration,
}

impl SessionSettings {
    pub fn from_config(c: &crate::config::Config) -> Self {
        SessionSettings {
            access_ttl: c.access_token_ttl,
            refresh_ttl: c.refresh_token_ttl,
            grace: c.refresh_grace,
        }
    }
}

/// Everything session functions need besides the connection.
pub struct SessionCtx<'a> {
    pub keys: &'a TokenKeys,
    pub settings: SessionSettings,
    pub now: DateTime<Utc>,
}

impl SessionCtx<'_> {
    fn now_naive(&self) -> NaiveDateTime {
        self.now.naive_utc()
    }
}

/// An access token that was revoked and must be denied until it expires.
#[derive(Debug, Clone)]
pub struct RevokedAccess {
    pub jti: String,
    pub exp: i64,
}

/// What a refresh did.
pub enum RefreshOutcome {
    Issued(TokenPair),
    /// The token was replayed after the grace window: its family is now revoked.
    Reused {
        user_id: i64,
        family_id: String,
        revoked: Vec<RevokedAccess>,
    },
}

fn to_naive(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Starts a new family for `user_id` (`method`: `password`, `wechat`) and issues its first pair.
pub fn start(
    conn: &mut DbConnection,
    ctx: &SessionCtx,
    user_id: i64,
    method: &str,
) -> ApiResult<TokenPair> {
    let family_id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(refresh_families::table)
        .values((
            refresh_families::id.eq(&family_id),
            refresh_families::user_id.eq(user_id),
            refresh_families::method.eq(method),
            refresh_families::created_at.eq(ctx.now_naive()),
        ))
        .execute(conn)?;
    issue(conn, ctx, user_id, &family_id, &new_refresh_token())
}

/// Stores `raw_refresh` in the family with a fresh access token and returns the pair.
fn issue(
    conn: &mut DbConnection,
    ctx: &SessionCtx,
    user_id: i64,
    family_id: &str,
    raw_refresh: &str,
) -> ApiResult<TokenPair> {
    let iat = ctx.now.timestamp();
    let exp = iat + ctx.settings.access_ttl.as_secs() as i64;
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let expires_at = ctx.now_naive() + to_naive(ctx.settings.refresh_ttl);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(hash_refresh_token(raw_refresh)),
            refresh_tokens::access_jti.eq(&jti),
            refresh_tokens::access_iat.eq(iat),
            refresh_tokens::access_exp.eq(exp),
            refresh_tokens::created_at.eq(ctx.now_naive()),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    pair(
        ctx,
        user_id,
        family_id,
        raw_refresh,
        &jti,
        iat,
        exp,
        expires_at,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one pair, named for clarity"
)]
fn pair(
    ctx: &SessionCtx,
    user_id: i64,
    family_id: &str,
    raw_refresh: &str,
    jti: &str,
    iat: i64,
    exp: i64,
    refresh_expires_at: NaiveDateTime,
) -> ApiResult<TokenPair> {
    let claims = AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: user_id.to_string(),
        exp,
        iat,
        jti: jti.into(),
        sid: family_id.into(),
    };
    Ok(TokenPair {
        access_token: ctx.keys.encode_access(&claims)?,
        token_type: "Bearer",
        expires_in: (exp - ctx.now.timestamp()).max(0),
        refresh_token: raw_refresh.to_string(),
        refresh_token_expires_at: refresh_expires_at.and_utc(),
        user_id,
    })
}

/// Rotates a refresh token (see the module docs). Runs inside a write transaction; a
/// `Reused` outcome must be committed (the revocation) before it is reported as an error.
pub fn refresh(conn: &mut DbConnection, ctx: &SessionCtx, raw: &str) -> ApiResult<RefreshOutcome> {
    let invalid = || ApiError::new(ErrorCode::RefreshTokenInvalid);
    let found: Option<(RefreshTokenRow, RefreshFamily)> = refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(hash_refresh_token(raw)))
        .select((RefreshTokenRow::as_select(), RefreshFamily::as_select()))
        .first(conn)
        .optional()?;
    let Some((row, family)) = found else {
        return Err(invalid());
    };
    let now = ctx.now_naive();
    if family.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    let status: String = users::table
        .find(family.user_id)
        .select(users::status)
        .first(conn)?;
    if status != USER_ACTIVE {
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    let successor = ctx.keys.successor_of(raw);
    if row.used_at.is_none() {
        // Only one concurrent refresh can flip `used_at`; the loser falls through to the
        // replay path and returns the winner's successor.
        let won = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::id.eq(row.id))
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)?
            == 1;
        if won {
            return issue(conn, ctx, family.user_id, &family.id, &successor)
                .map(RefreshOutcome::Issued);
        }
    }
    let used_at = row.used_at.unwrap_or(now);
    if now - used_at <= to_naive(ctx.settings.grace) {
        let next: Option<RefreshTokenRow> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash_refresh_token(&successor)))
            .select(RefreshTokenRow::as_select())
            .first(conn)
            .optional()?;
        let next = next.ok_or_else(invalid)?;
        return pair(
            ctx,
            family.user_id,
            &family.id,
            &successor,
            &next.access_jti,
            next.access_iat,
            next.access_exp,
            next.expires_at,
        )
        .map(RefreshOutcome::Issued);
    }
    let revoked = revoke_family(conn, ctx.now, &family.id, "refresh_token_reused")?;
    Ok(RefreshOutcome::Reused {
        user_id: family.user_id,
        family_id: family.id,
        revoked,
    })
}

/// The access tokens of `families` that are still unexpired at `now`.
fn live_access(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    families: &[String],
) -> ApiResult<Vec<RevokedAccess>> {
    let rows: Vec<(String, i64)> = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq_any(families))
        .filter(refresh_tokens::access_exp.gt(now.timestamp()))
        .select((refresh_tokens::access_jti, refresh_tokens::access_exp))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(jti, exp)| RevokedAccess { jti, exp })
        .collect())
}

/// Revokes one family; returns its live access tokens for the denylist.
pub fn revoke_family(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    family_id: &str,
    reason: &str,
) -> ApiResult<Vec<RevokedAccess>> {
    diesel::update(
        refresh_families::table
            .filter(refresh_families::id.eq(family_id))
            .filter(refresh_families::revoked_at.is_null()),
    )
    .set((
        refresh_families::revoked_at.eq(now.naive_utc()),
        refresh_families::revoke_reason.eq(reason),
    ))
    .execute(conn)?;
    live_access(conn, now, &[family_id.to_string()])
}

/// Revokes every open family of a user (password change, account disabled).
pub fn revoke_all_for_user(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    user_id: i64,
    reason: &str,
) -> ApiResult<Vec<RevokedAccess>> {
    revoke_for_user(conn, now, user_id, None, reason)
}

/// Revokes every open family of a user but `keep` (the caller's own session).
pub fn revoke_others(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    user_id: i64,
    keep: &str,
    reason: &str,
) -> ApiResult<Vec<RevokedAccess>> {
    revoke_for_user(conn, now, user_id, Some(keep), reason)
}

fn revoke_for_user(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    user_id: i64,
    keep: Option<&str>,
    reason: &str,
) -> ApiResult<Vec<RevokedAccess>> {
    let mut q = refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::id)
        .into_boxed();
    if let Some(keep) = keep {
        q = q.filter(refresh_families::id.ne(keep));
    }
    let families: Vec<String> = q.load(conn)?;
    if families.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(refresh_families::table.filter(refresh_families::id.eq_any(&families)))
        .set((
            refresh_families::revoked_at.eq(now.naive_utc()),
            refresh_families::revoke_reason.eq(reason),
        ))
        .execute(conn)?;
    live_access(conn, now, &families)
}

/// The kv key that marks an access token as revoked.
pub fn denylist_key(jti: &str) -> String {
    format!("rv:jti:{jti}")
}

/// Puts revoked access tokens on the denylist until they expire. Called after commit. A kv
/// failure is logged; the `Caller` extractor falls back to the database while kv is down.
pub async fn denylist(kv: &Kv, now: DateTime<Utc>, revoked: &[RevokedAccess]) {
    let entries: Vec<(String, String, Duration)> = revoked
        .iter()
        .filter(|r| r.exp > now.timestamp())
        .map(|r| {
            let ttl = Duration::from_secs((r.exp - now.timestamp()) as u64 + 5);
            (denylist_key(&r.jti), "1".to_string(), ttl)
        })
        .collect();
    if let Err(e) = kv.set_many(&entries).await {
        tracing::error!(error = %e, count = entries.len(), "could not denylist revoked access tokens");
    }
}

/// Whether an access token's family has been revoked, from the database (the fallback when
/// kv is unreachable).
pub fn is_revoked_in_db(conn: &mut DbConnection, jti: &str) -> ApiResult<bool> {
    let revoked: Option<Option<NaiveDateTime>> = refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::access_jti.eq(jti))
        .select(refresh_families::revoked_at)
        .first(conn)
        .optional()?;
    Ok(match revoked {
        Some(at) => at.is_some(),
        // Not issued by us at all: treat as revoked.
        None => true,
    })
}

/// Housekeeping: deletes up to `batch` refresh tokens past their expiry, then up to
/// `batch` session families left without a token. Returns both counts. An access token
/// never outlives the refresh token it came with, so no live session is touched.
pub fn purge_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    batch: i64,
) -> ApiResult<(usize, usize)> {
    let expired = refresh_tokens::table
        .filter(refresh_tokens::expires_at.lt(now))
        .select(refresh_tokens::id)
        .limit(batch);
    let ids: Vec<i64> = expired.load(conn)?;
    let tokens = diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(&ids)))
        .execute(conn)?;
    let with_tokens = refresh_tokens::table.select(refresh_tokens::family_id);
    let empty: Vec<String> = refresh_families::table
        .filter(diesel::dsl::not(refresh_families::id.eq_any(with_tokens)))
        .select(refresh_families::id)
        .limit(batch)
        .load(conn)?;
    let families =
        diesel::delete(refresh_families::table.filter(refresh_families::id.eq_any(&empty)))
            .execute(conn)?;
    Ok((tokens, families))
}
