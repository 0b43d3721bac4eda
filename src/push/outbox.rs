//! The outbox: every message to send is a `push_deliveries` row, written in the same
//! transaction as what caused it and keyed (`dedup_key`) so it is written once however many
//! instances or restarts try. The worker ([`super::worker`]) claims due rows — on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, on SQLite through the single writer — by moving
//! their `next_at` a lease ahead, so a row whose sender died is claimed again when the lease
//! ends (at least once; receivers deduplicate by `message_id`). Each attempt is recorded;
//! transient failures back off exponentially with jitter until the row expires (`dead`).

use chrono::{Duration as ChronoDuration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;

use super::model::{
    Attempt, AttemptOutcome, AttemptView, Channel, Delivery, DeliveryStatus, DeliveryView, Part,
    Purpose,
};
use super::send::Answer;
use crate::db::DbConnection;
use crate::db::schema::{push_attempts as pa, push_channels as pc, push_deliveries as pd};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::pagination::{Page, PageParams};
use crate::insert_ignore;

/// Where a delivery goes: an org's channel, or a member (a WeChat subscription message,
/// whose part names her).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Channel(i64),
    Member,
}

/// A message to write to the outbox.
pub struct NewDelivery {
    pub target: Target,
    pub org_id: i64,
    pub purpose: Purpose,
    /// Written once per key (a digest: `digest:{channel}:{period}`).
    pub dedup_key: String,
    pub parts: Vec<Part>,
}

/// Writes a delivery unless one with its key exists; returns whether it was written.
pub fn enqueue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up_after: std::time::Duration,
    d: NewDelivery,
) -> ApiResult<bool> {
    let parts = serde_json::to_string(&d.parts).map_err(ApiError::internal)?;
    let expires = now + ChronoDuration::from_std(give_up_after).unwrap_or(ChronoDuration::days(1));
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let channel_id = match d.target {
        Target::Channel(id) => Some(id),
        Target::Member => None,
    };
    let n = insert_ignore!(
        conn,
        pd::table,
        (
            pd::channel_id.eq(channel_id),
            pd::org_id.eq(d.org_id),
            pd::purpose.eq(d.purpose.as_str()),
            pd::dedup_key.eq(&d.dedup_key),
            pd::message_id.eq(&message_id),
            pd::parts.eq(&parts),
            pd::parts_done.eq(0),
            pd::status.eq(DeliveryStatus::Pending.as_str()),
            pd::attempts.eq(0),
            pd::next_at.eq(now),
            pd::expires_at.eq(expires),
            pd::created_at.eq(now),
            pd::updated_at.eq(now),
        )
    )?;
    Ok(n > 0)
}

/// Ends pending deliveries whose time is up: `dead`, with the reason.
pub fn expire(conn: &mut DbConnection, now: NaiveDateTime) -> ApiResult<usize> {
    Ok(diesel::update(
        pd::table
            .filter(pd::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(pd::expires_at.le(now)),
    )
    .set((
        pd::status.eq(DeliveryStatus::Dead.as_str()),
        pd::last_error.eq(pd::last_error.concat(" (given up)").nullable()),
        pd::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Claims up to `limit` due deliveries — of working channels, or to members — for
/// `lease`: their `next_at` moves to `now + lease`, so no other worker takes them meanwhile
/// and they come back if this one dies. Returns them with their channels (none for a
/// member's).
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: ChronoDuration,
    limit: i64,
) -> ApiResult<Vec<(Delivery, Option<Channel>)>> {
    macro_rules! due {
        () => {
            pd::table
                .filter(pd::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(pd::next_at.le(now))
                // To a member, or to a working channel (a subquery, not a join: PostgreSQL
                // locks no row on the nullable side of an outer join).
                .filter(
                    pd::channel_id.is_null().or(pd::channel_id.eq_any(
                        pc::table
                            .filter(pc::broken_at.is_null())
                            .filter(pc::deleted_at.is_null())
                            .select(pc::id.nullable()),
                    )),
                )
                .order(pd::next_at.asc())
                .limit(limit)
                .select(pd::id)
        };
    }
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(c) => due!().for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => due!().load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(pd::table.filter(pd::id.eq_any(&ids)))
        .set(pd::next_at.eq(now + lease))
        .execute(conn)?;
    Ok(pd::table
        .left_join(pc::table)
        .filter(pd::id.eq_any(&ids))
        .order(pd::id.asc())
        .select((Delivery::as_select(), Option::<Channel>::as_select()))
        .load(conn)?)
}

/// Messages sent to a channel within the minute before `now` (for the per-robot limit),
/// and the earliest of them.
pub fn sent_last_minute(
    conn: &mut DbConnection,
    channel_id: i64,
    now: NaiveDateTime,
) -> ApiResult<(i64, Option<NaiveDateTime>)> {
    let since = now - ChronoDuration::seconds(60);
    let rows: Vec<NaiveDateTime> = pa::table
        .filter(pa::channel_id.eq(channel_id))
        .filter(pa::at.gt(since))
        .filter(pa::outcome.ne(AttemptOutcome::Refused.as_str()))
        .order(pa::at.asc())
        .select(pa::at)
        .load(conn)?;
    Ok((rows.len() as i64, rows.first().copied()))
}

/// Puts a claimed delivery back until `at` (the channel's minute is full), no attempt made.
pub fn postpone(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> ApiResult<()> {
    diesel::update(pd::table.find(id))
        .set(pd::next_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// The delay before retry number `attempts` (1 = the first retry): `base · 2^(n-1)`, at
/// most an hour, times a jitter of 0.8–1.2 so that deliveries failed together do not
/// retry together.
pub fn backoff(base: std::time::Duration, attempts: i32) -> ChronoDuration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let secs = (base.as_secs_f64() * f64::from(1u32 << exp)).min(3600.0);
    let jitter = rand::rng().random_range(0.8..1.2);
    ChronoDuration::milliseconds((secs * jitter * 1000.0) as i64)
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Go on with the next part now.
    NextPart,
    Delivered,
    /// Try again at the delivery's new `next_at`.
    Later,
    Dead,
}

/// Records an attempt at part `part` of `d` and moves the delivery on. Returns what next.
#[allow(clippy::too_many_arguments)]
pub fn record_attempt(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    d: &Delivery,
    parts_total: i32,
    part: i32,
    answer: &Answer,
    retry_base: std::time::Duration,
) -> ApiResult<After> {
    diesel::insert_into(pa::table)
        .values((
            pa::delivery_id.eq(d.id),
            pa::channel_id.eq(d.channel_id),
            pa::part.eq(part),
            pa::at.eq(now),
            pa::outcome.eq(answer.outcome.as_str()),
            pa::http_status.eq(answer.http_status),
            pa::errcode.eq(answer.errcode),
            pa::error.eq(answer.error.as_deref()),
            pa::duration_ms.eq(answer.duration_ms),
        ))
        .execute(conn)?;
    let attempts = d.attempts + 1;
    let row = pd::table.find(d.id);
    let after = match answer.outcome {
        AttemptOutcome::Sent if part + 1 >= parts_total => {
            diesel::update(row)
                .set((
                    pd::status.eq(DeliveryStatus::Delivered.as_str()),
                    pd::parts_done.eq(part + 1),
                    pd::attempts.eq(attempts),
                    pd::delivered_at.eq(now),
                    pd::updated_at.eq(now),
                ))
                .execute(conn)?;
            After::Delivered
        }
        AttemptOutcome::Sent => {
            diesel::update(row)
                .set((
                    pd::parts_done.eq(part + 1),
                    pd::attempts.eq(attempts),
                    pd::updated_at.eq(now),
                ))
                .execute(conn)?;
            After::NextPart
        }
        AttemptOutcome::Retry => {
            let failures: i64 = pa::table
                .filter(pa::delivery_id.eq(d.id))
                .filter(pa::outcome.eq(AttemptOutcome::Retry.as_str()))
                .count()
                .get_result(conn)?;
            let next = now + backoff(retry_base, i32::try_from(failures).unwrap_or(i32::MAX));
            let dead = next >= d.expires_at;
            diesel::update(row)
                .set((
                    pd::status.eq(if dead {
                        DeliveryStatus::Dead.as_str()
                    } else {
                        DeliveryStatus::Pending.as_str()
                    }),
                    pd::attempts.eq(attempts),
                    pd::next_at.eq(next),
                    pd::last_error.eq(answer.error.as_deref()),
                    pd::updated_at.eq(now),
                ))
                .execute(conn)?;
            if dead { After::Dead } else { After::Later }
        }
        AttemptOutcome::Failed | AttemptOutcome::Broken | AttemptOutcome::Refused => {
            diesel::update(row)
                .set((
                    pd::status.eq(DeliveryStatus::Dead.as_str()),
                    pd::attempts.eq(attempts),
                    pd::last_error.eq(answer.error.as_deref()),
                    pd::updated_at.eq(now),
                ))
                .execute(conn)?;
            After::Dead
        }
    };
    Ok(after)
}

/// A delivery with its channel (none for a reminder to a member); 404 when there is none.
pub fn find(conn: &mut DbConnection, id: i64) -> ApiResult<(Delivery, Option<Channel>)> {
    pd::table
        .left_join(pc::table)
        .filter(pd::id.eq(id))
        .select((Delivery::as_select(), Option::<Channel>::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// The delivery written with `key`.
pub fn find_by_key(conn: &mut DbConnection, key: &str) -> ApiResult<(Delivery, Option<Channel>)> {
    pd::table
        .left_join(pc::table)
        .filter(pd::dedup_key.eq(key))
        .select((Delivery::as_select(), Option::<Channel>::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(ApiError::not_found)
}

/// Sends a dead delivery again: pending from its first unsent part, due now, with a fresh
/// give-up time. 409 unless it is dead.
pub fn retry(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    give_up_after: std::time::Duration,
    d: &Delivery,
) -> ApiResult<()> {
    if DeliveryStatus::from_db(&d.status)? != DeliveryStatus::Dead {
        return Err(ApiError::new(ErrorCode::Conflict).with_detail(
            "只有失败的推送可以重发",
            "only a dead delivery can be retried",
        ));
    }
    let expires = now + ChronoDuration::from_std(give_up_after).unwrap_or(ChronoDuration::days(1));
    diesel::update(pd::table.find(d.id))
        .set((
            pd::status.eq(DeliveryStatus::Pending.as_str()),
            pd::next_at.eq(now),
            pd::expires_at.eq(expires),
            pd::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Views of deliveries with their attempts (one query for all attempts).
pub fn views(
    conn: &mut DbConnection,
    rows: Vec<(Delivery, Option<Channel>)>,
) -> ApiResult<Vec<DeliveryView>> {
    let ids: Vec<i64> = rows.iter().map(|(d, _)| d.id).collect();
    let attempts: Vec<Attempt> = pa::table
        .filter(pa::delivery_id.eq_any(&ids))
        .order(pa::id.asc())
        .select(Attempt::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|(d, ch)| {
            let status = DeliveryStatus::from_db(&d.status)?;
            let parts: Vec<Part> = serde_json::from_str(&d.parts).map_err(ApiError::internal)?;
            let user_id = parts.iter().find_map(|p| match p {
                Part::WechatSubscribe { user_id, .. } => Some(*user_id),
                _ => None,
            });
            Ok(DeliveryView {
                id: d.id,
                channel_id: d.channel_id,
                channel_name: ch.map(|c| c.name),
                user_id,
                org_id: d.org_id,
                purpose: Purpose::from_db(&d.purpose)?,
                status,
                message_id: d.message_id,
                parts: i32::try_from(parts.len()).unwrap_or(i32::MAX),
                parts_done: d.parts_done,
                attempts: d.attempts,
                next_at: (status == DeliveryStatus::Pending).then(|| d.next_at.and_utc()),
                last_error: d.last_error,
                created_at: d.created_at.and_utc(),
                delivered_at: d.delivered_at.map(|t| t.and_utc()),
                attempt_log: attempts
                    .iter()
                    .filter(|a| a.delivery_id == d.id)
                    .map(|a| {
                        Ok(AttemptView {
                            at: a.at.and_utc(),
                            part: a.part,
                            outcome: AttemptOutcome::from_db(&a.outcome)?,
                            http_status: a.http_status,
                            errcode: a.errcode,
                            error: a.error.clone(),
                            duration_ms: a.duration_ms,
                        })
                    })
                    .collect::<ApiResult<_>>()?,
            })
        })
        .collect()
}

/// The view of one delivery with its attempts.
pub fn view(
    conn: &mut DbConnection,
    delivery: Delivery,
    channel: Option<Channel>,
) -> ApiResult<DeliveryView> {
    views(conn, vec![(delivery, channel)])?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no view of delivery")))
}

/// A page of an org's deliveries, newest first, optionally of one status.
pub fn list(
    conn: &mut DbConnection,
    org_id: i64,
    status: Option<DeliveryStatus>,
    page: &PageParams,
) -> ApiResult<Page<DeliveryView>> {
    let limit = page.limit()?;
    let before: Option<i64> = page.after()?;
    let mut q = pd::table
        .left_join(pc::table)
        .filter(pd::org_id.eq(org_id))
        .order(pd::id.desc())
        .limit(limit + 1)
        .select((Delivery::as_select(), Option::<Channel>::as_select()))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(pd::status.eq(s.as_str()));
    }
    if let Some(b) = before {
        q = q.filter(pd::id.lt(b));
    }
    let rows: Vec<(Delivery, Option<Channel>)> = q.load(conn)?;
    let items = views(conn, rows)?;
    Ok(Page::from_rows(items, limit, |d: &DeliveryView| d.id))
}
