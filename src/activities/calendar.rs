//! The personal calendar feed's token: a random secret in the subscription URL (phone
//! calendars cannot send a bearer token), stored only as a SHA-256 hash, one per user.
//! Creating it again rotates it; revoking it makes the old URL answer 404.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::db::DbConnection;
use crate::db::schema::calendar_tokens as ct;
use crate::error::ApiResult;

/// The feed's path with a token.
pub fn feed_path(token: &str) -> String {
    format!("/v1/me/calendar.ics?token={token}")
}

/// Issues a new token for the user, replacing any earlier one. Returns it in clear (the
/// only time it is seen).
pub fn issue(conn: &mut DbConnection, now: NaiveDateTime, user_id: i64) -> ApiResult<String> {
    let token = new_refresh_token();
    diesel::delete(ct::table.find(user_id)).execute(conn)?;
    diesel::insert_into(ct::table)
        .values((
            ct::user_id.eq(user_id),
            ct::token_hash.eq(hash_refresh_token(&token)),
            ct::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Revokes the user's token; true if there was one.
pub fn revoke(conn: &mut DbConnection, user_id: i64) -> ApiResult<bool> {
    Ok(diesel::delete(ct::table.find(user_id)).execute(conn)? > 0)
}

/// The user a token belongs to.
pub fn user_of(conn: &mut DbConnection, token: &str) -> ApiResult<Option<i64>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(ct::table
        .filter(ct::token_hash.eq(hash_refresh_token(token)))
        .select(ct::user_id)
        .first(conn)
        .optional()?)
}

/// How far back the feed reaches.
const FEED_PAST_DAYS: i64 = 90;

/// The feed of a user: the occurrences they are invited to from 90 days ago to the
/// horizon, cancelled ones included (so calendars remove them).
pub fn feed(
    conn: &mut DbConnection,
    user_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<String> {
    use super::ics::{self, Event};
    let from = (now - chrono::Duration::days(FEED_PAST_DAYS)).naive_utc();
    let to = super::materialize::horizon(now).naive_utc();
    let events: Vec<Event> = super::views::my_occurrences(conn, user_id, from, to)?
        .into_iter()
        .map(|(o, a)| {
            let d = a.details();
            Event {
                uid: format!("occurrence-{}@dangke", o.id),
                sequence: o.sequence,
                cancelled: o.is_cancelled(),
                start: o.starts_at.and_utc(),
                end: o.ends_at.and_utc(),
                tz: a.tz(),
                summary: a.title.clone(),
                location: o.place.clone().or(d.place),
                description: Some(d.agenda),
                url: d.online_url,
                last_modified: o.updated_at.max(a.updated_at).and_utc(),
            }
        })
        .collect();
    Ok(ics::render("党组织生活", &events, now))
}
