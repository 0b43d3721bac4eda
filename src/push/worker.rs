//! The outbox worker: every `DANGKE_PUSH_EVERY` (and at once when a message is written for
//! now, e.g. a test), it writes the digests that are due, ends expired deliveries, claims
//! due ones and sends them — channels side by side, each channel's messages in order and at
//! most `DANGKE_PUSH_RATE` a minute — recording every attempt.

use std::collections::BTreeMap;

use actix_web::web;
use std::time::Duration;

use chrono::{Duration as ChronoDuration, NaiveDateTime, Timelike};
use futures_util::StreamExt;

use super::channels;
use super::model::{AttemptOutcome, Channel, Delivery, Part};
use super::outbox::{self, After};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Deliveries claimed at a time.
const CLAIM: i64 = 50;
/// Channels sent to side by side.
const PARALLEL_CHANNELS: usize = 8;

/// Starts the worker (nothing when `DANGKE_PUSH_EVERY` is off).
pub fn in_background(state: web::Data<AppState>) {
    let every = state.config.push.every;
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = state.push.wake.notified() => {}
            }
            if let Err(e) = run_once(&state).await {
                tracing::warn!(error = %e, "push worker pass failed");
            }
        }
    });
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub digests_written: usize,
    pub alerts_written: usize,
    pub reminders_written: usize,
    pub expired: usize,
    pub claimed: usize,
}

/// Whether this pass scans for reminders and tomorrow's meetings: at most once every ten
/// minutes (of the app clock) across instances, through a key in kv — every pass when kv
/// fails, since the scan is idempotent and only costs reads.
async fn scan_due(state: &AppState) -> bool {
    let now = state.clock.now();
    let bucket = format!("push:scan:{}{}", now.format("%Y%m%d%H"), now.minute() / 10);
    match state
        .kv
        .set_nx(&bucket, "1", Duration::from_secs(3600))
        .await
    {
        Ok(first) => first,
        Err(e) => {
            tracing::warn!(error = %e, "kv unavailable; scanning for reminders anyway");
            true
        }
    }
}

/// One pass: due digests, alerts from the change queue, (every ten minutes) reminders and
/// tomorrow's meetings, expiry, then claim-and-send until nothing is due.
pub async fn run_once(state: &web::Data<AppState>) -> ApiResult<Pass> {
    let mut pass = Pass {
        digests_written: super::digests::enqueue_due(state, &state.push).await?,
        alerts_written: super::alerts::apply_changes(state).await?,
        ..Pass::default()
    };
    if scan_due(state).await {
        pass.reminders_written = super::reminders::enqueue_due(state).await?;
        pass.alerts_written += super::alerts::meetings_tomorrow(state).await?;
        pass.alerts_written += super::alerts::checkin_closing_soon(state).await?;
        pass.alerts_written += super::missed_slots::enqueue_due(state).await?;
    }
    let now = state.clock.now_naive();
    pass.expired = state.db.write(move |c| outbox::expire(c, now)).await?;
    loop {
        let now = state.clock.now_naive();
        let lease = lease(state);
        let claimed = state
            .db
            .write(move |c| outbox::claim(c, now, lease, CLAIM))
            .await?;
        if claimed.is_empty() {
            break;
        }
        pass.claimed += claimed.len();
        let mut by_channel: BTreeMap<i64, Vec<(Delivery, Channel)>> = BTreeMap::new();
        let mut reminders = Vec::new();
        for (d, ch) in claimed {
            match ch {
                Some(ch) => by_channel.entry(ch.id).or_default().push((d, ch)),
                None => reminders.push(d),
            }
        }
        futures_util::stream::iter(by_channel.into_values())
            .for_each_concurrent(PARALLEL_CHANNELS, |list| async move {
                for (d, ch) in list {
                    let id = d.id;
                    if let Err(e) = deliver(state, d, &ch).await {
                        tracing::warn!(delivery = id, error = %e, "push delivery failed");
                    }
                }
            })
            .await;
        futures_util::stream::iter(reminders)
            .for_each_concurrent(PARALLEL_CHANNELS, |d| async move {
                let id = d.id;
                if let Err(e) = super::reminders::deliver(state, d).await {
                    tracing::warn!(delivery = id, error = %e, "reminder delivery failed");
                }
            })
            .await;
        if pass.claimed >= 10 * CLAIM as usize {
            break;
        }
    }
    Ok(pass)
}

/// How long a claimed delivery is held: enough for its parts (a digest has two) to time
/// out with room to record them — and no longer, since a delivery claimed by a process that
/// died waits this long for another.
fn lease(state: &AppState) -> ChronoDuration {
    let t = state.config.push.timeout.as_secs().max(1) as i64;
    ChronoDuration::seconds((4 * t).max(10))
}

/// Sends the remaining parts of one claimed delivery, in order.
async fn deliver(state: &web::Data<AppState>, mut d: Delivery, ch: &Channel) -> ApiResult<()> {
    let parts: Vec<Part> = serde_json::from_str(&d.parts).map_err(ApiError::internal)?;
    let total = i32::try_from(parts.len()).unwrap_or(i32::MAX);
    let creds = channels::open(&state.push.secrets, ch)?;
    let per_minute = i64::from(state.config.push.per_minute);
    let mut part = d.parts_done;
    while part < total {
        let now = state.clock.now_naive();
        let channel_id = ch.id;
        let (sent, first) = state
            .db
            .read(move |c| outbox::sent_last_minute(c, channel_id, now))
            .await?;
        if sent >= per_minute {
            let at = first.map_or(now, |f| f + ChronoDuration::seconds(60));
            let id = d.id;
            state.db.write(move |c| outbox::postpone(c, id, at)).await?;
            tracing::info!(delivery = d.id, channel = ch.id, until = %at, "channel's minute is full; later");
            return Ok(());
        }
        let Some(message) = usize::try_from(part).ok().and_then(|i| parts.get(i)) else {
            break;
        };
        let answer = state
            .push
            .sender
            .send(
                &creds,
                ch.url.as_deref(),
                &d.message_id,
                part,
                message,
                state.clock.now(),
            )
            .await;
        let after = record(state, &d, total, part, answer.clone(), ch).await?;
        log(&d, ch, part, &answer, after);
        match after {
            After::NextPart => {
                d.attempts += 1;
                d.parts_done = part + 1;
                part += 1;
            }
            After::Delivered | After::Later | After::Dead => break,
        }
    }
    Ok(())
}

async fn record(
    state: &web::Data<AppState>,
    d: &Delivery,
    total: i32,
    part: i32,
    answer: super::send::Answer,
    ch: &Channel,
) -> ApiResult<After> {
    let now: NaiveDateTime = state.clock.now_naive();
    let base = state.config.push.retry_base;
    let d = d.clone();
    let channel_id = ch.id;
    state
        .db
        .write(move |c| {
            let after = outbox::record_attempt(c, now, &d, total, part, &answer, base)?;
            if matches!(
                answer.outcome,
                AttemptOutcome::Broken | AttemptOutcome::Refused
            ) {
                let reason = answer.error.as_deref().unwrap_or("refused");
                channels::mark_broken(c, now, channel_id, reason)?;
            }
            Ok(after)
        })
        .await
}

fn log(d: &Delivery, ch: &Channel, part: i32, a: &super::send::Answer, after: After) {
    match a.outcome {
        AttemptOutcome::Sent => tracing::info!(
            delivery = d.id,
            channel = ch.id,
            part,
            ms = a.duration_ms,
            ?after,
            "push sent"
        ),
        _ => tracing::warn!(
            delivery = d.id, channel = ch.id, part, outcome = %a.outcome,
            status = ?a.http_status, errcode = ?a.errcode, error = ?a.error, ?after,
            "push attempt failed"
        ),
    }
}
