//! Housekeeping: nothing grows forever. On a schedule (`DANGKE_HOUSEKEEPING_EVERY`, default
//! hourly; `0` turns it off) and in small batches, it removes
//!
//! - expired idempotency keys (a retry after a day is a new request);
//! - refresh tokens past their expiry, and session families with no token left (an access
//!   token never outlives its refresh token, so nothing live is touched);
//! - media that no lesson, course cover or minutes has used for `DANGKE_MEDIA_UNUSED_GRACE`
//!   (default 30 days): each pass marks media found unused (and clears the mark of media
//!   used again); media marked longer than the grace are deleted, the row first, then the
//!   object in the store.
//!
//! Every step is idempotent, so several instances may run it at once.

use std::collections::HashSet;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{idempotency_keys as ik, media, media_owners};
use crate::error::ApiResult;
use crate::state::AppState;

/// Rows one statement touches.
const BATCH: i64 = 500;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub idempotency_keys: usize,
    pub refresh_tokens: usize,
    pub sessions: usize,
    pub media_marked: usize,
    pub media_removed: usize,
}

/// Runs every `every` in the background (not at all when zero).
pub fn in_background(state: actix_web::web::Data<AppState>, every: Duration) {
    crate::clock::run_every(every, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(swept) if swept != Swept::default() => {
                    tracing::info!(?swept, "housekeeping");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
            crate::memory::release_free_memory();
        }
    });
}

/// One pass over everything, in batches.
pub async fn run_once(state: &AppState) -> ApiResult<Swept> {
    let now = state.clock.now_naive();
    let mut swept = Swept::default();
    loop {
        let n = state.db.write(move |c| purge_idempotency(c, now)).await?;
        swept.idempotency_keys += n;
        if n == 0 {
            break;
        }
    }
    loop {
        let (tokens, sessions) = state
            .db
            .write(move |c| crate::auth::sessions::purge_expired(c, now, BATCH))
            .await?;
        swept.refresh_tokens += tokens;
        swept.sessions += sessions;
        if tokens == 0 && sessions == 0 {
            break;
        }
    }
    let grace = chrono::Duration::from_std(state.config.media_unused_grace)
        .unwrap_or(chrono::Duration::days(30));
    let mut after = 0i64;
    loop {
        let (last, marked, expired) = state
            .db
            .write(move |c| mark_unused_media(c, now, now - grace, after))
            .await?;
        swept.media_marked += marked;
        for (id, key) in expired {
            let removed = state
                .db
                .write(move |c| remove_media(c, id, now - grace))
                .await?;
            if removed {
                if let Err(e) = state.media.store.delete(&key).await {
                    tracing::warn!(error = %e, media_id = id, "media object not removed");
                }
                swept.media_removed += 1;
            }
        }
        match last {
            Some(id) => after = id,
            None => break,
        }
    }
    Ok(swept)
}

/// Deletes up to about a batch of expired keys: those expiring no later than the batch's
/// last one (ties may add a few).
fn purge_idempotency(conn: &mut DbConnection, now: NaiveDateTime) -> ApiResult<usize> {
    let cutoff: Option<NaiveDateTime> = ik::table
        .filter(ik::expires_at.le(now))
        .order(ik::expires_at)
        .offset(BATCH - 1)
        .select(ik::expires_at)
        .first(conn)
        .optional()?;
    let upto = cutoff.unwrap_or(now).min(now);
    Ok(diesel::delete(ik::table.filter(ik::expires_at.le(upto))).execute(conn)?)
}

/// One batch of media after `after`: marks the unused, clears the mark of the used, and
/// returns the last id seen, how many were newly marked, and the ones unused since before
/// `expired_before`.
#[expect(clippy::type_complexity, reason = "a batch's three results")]
fn mark_unused_media(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    expired_before: NaiveDateTime,
    after: i64,
) -> ApiResult<(Option<i64>, usize, Vec<(i64, String)>)> {
    let rows: Vec<(i64, String, Option<NaiveDateTime>)> = media::table
        .filter(media::id.gt(after))
        .order(media::id)
        .limit(BATCH)
        .select((media::id, media::storage_key, media::unreferenced_since))
        .load(conn)?;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok((None, 0, Vec::new()));
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut used: HashSet<i64> = crate::courses::media_use::referenced(conn, &ids)?;
    used.extend(crate::activities::media_use::referenced(conn, &ids)?);
    let newly: Vec<i64> = rows
        .iter()
        .filter(|(id, _, since)| since.is_none() && !used.contains(id))
        .map(|r| r.0)
        .collect();
    let back: Vec<i64> = rows
        .iter()
        .filter(|(id, _, since)| since.is_some() && used.contains(id))
        .map(|r| r.0)
        .collect();
    diesel::update(media::table.filter(media::id.eq_any(&newly)))
        .set(media::unreferenced_since.eq(now))
        .execute(conn)?;
    diesel::update(media::table.filter(media::id.eq_any(&back)))
        .set(media::unreferenced_since.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    let expired = rows
        .into_iter()
        .filter(|(id, _, since)| !used.contains(id) && since.is_some_and(|s| s <= expired_before))
        .map(|(id, key, _)| (id, key))
        .collect();
    Ok((Some(last), newly.len(), expired))
}

/// Deletes a media row still unused since before `expired_before` (checked again in this
/// transaction: something may have started using it); `true` when it was deleted.
fn remove_media(
    conn: &mut DbConnection,
    id: i64,
    expired_before: NaiveDateTime,
) -> ApiResult<bool> {
    let ids = [id];
    if !crate::courses::media_use::referenced(conn, &ids)?.is_empty()
        || !crate::activities::media_use::referenced(conn, &ids)?.is_empty()
    {
        diesel::update(media::table.find(id))
            .set(media::unreferenced_since.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        return Ok(false);
    }
    diesel::delete(media_owners::table.filter(media_owners::media_id.eq(id))).execute(conn)?;
    let deleted = diesel::delete(
        media::table
            .filter(media::id.eq(id))
            .filter(media::unreferenced_since.le(expired_before)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}
