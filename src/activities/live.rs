//! The live check-in board: what organizers watch during a meeting, as it happens.
//!
//! - **The log.** Every attendance change of an occurrence (check-in, leave decision, proxy,
//!   correction, close) is numbered in [`append`], inside the transaction that made it:
//!   numbers are gap-free and commit in order (on PostgreSQL the occurrence's head row in
//!   `occurrence_live_heads` is bumped and stays locked until commit; SQLite has one
//!   writer), and `occurrence_live_events` keeps one row per number. A board that lost its connection resumes after the last number it saw
//!   (`Last-Event-ID`) from the database — nothing depends on a message having arrived.
//! - **The wake-up.** After the write commits, the handler calls [`announce`]: this
//!   instance's waiting boards wake at once, and the occurrence id is published on kv's
//!   `live` channel, which every instance's [`Hub`] subscribes to (Redis pub/sub across
//!   instances; in-process without Redis). While the subscription is down (Redis
//!   unreachable), the hub polls the heads of the watched occurrences every
//!   [`POLL_DEGRADED`], and every [`POLL_SAFETY`] otherwise, so a lost message costs
//!   latency, never an event.
//! - **The stream** ([`stream`]): a snapshot (or the changes after `Last-Event-ID`), then a
//!   `change` event per logged change with the member's current record and the running
//!   counts, and a heartbeat comment when nothing happens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use utoipa::ToSchema;

use super::access;
use super::attendance;
use super::model::{AttendanceCounts, AttendanceItem, AttendanceList, CheckinState};
use crate::db::DbConnection;
use crate::db::schema::occurrence_live_events as ole;
use crate::error::ApiResult;
use crate::orgs::access::Right;
use crate::state::AppState;

/// The kv channel occurrence ids are announced on.
const CHANNEL: &str = "live";
/// How often watched heads are read while the subscription is down.
pub const POLL_DEGRADED: Duration = Duration::from_millis(500);
/// How often they are read anyway (a message lost in transit costs at most this).
pub const POLL_SAFETY: Duration = Duration::from_secs(5);
/// Logged changes sent per read; a board further behind gets a snapshot instead.
const MAX_CATCH_UP: i64 = 500;
/// Boards one instance serves at once (each holds a connection and a task).
pub const MAX_OPEN: usize = 2_000;

const LOG: crate::db::sql::NumberedLog = crate::db::sql::NumberedLog {
    log: "occurrence_live_events",
    heads: "occurrence_live_heads",
    key: "occurrence_id",
};

/// Numbers the attendance changes of `users` at `occurrence_id` (one entry with no user
/// when the occurrence itself changed), in the caller's transaction: one statement per
/// entry ([`crate::db::sql::append_numbered`]), numbered in commit order.
pub fn append(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    occurrence_id: i64,
    users: &[i64],
) -> ApiResult<()> {
    if users.is_empty() {
        crate::db::sql::append_numbered(conn, &LOG, occurrence_id, None, at)?;
    }
    for user_id in users {
        crate::db::sql::append_numbered(conn, &LOG, occurrence_id, Some(*user_id), at)?;
    }
    Ok(())
}

/// The last number logged for `occurrence_id` (0 before any).
fn head(conn: &mut DbConnection, occurrence_id: i64) -> ApiResult<i64> {
    Ok(ole::table
        .filter(ole::occurrence_id.eq(occurrence_id))
        .select(diesel::dsl::max(ole::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Wakes this instance's boards on `occurrence_id` and tells the other instances. Call it
/// after the write that logged changes committed. A kv failure only costs the other
/// instances latency (their hubs poll).
pub async fn announce(state: &AppState, occurrence_id: i64) {
    state.live.wake(occurrence_id);
    if let Err(e) = state.kv.publish(CHANNEL, &occurrence_id.to_string()).await {
        tracing::debug!(error = %e, occurrence_id, "live board announcement not published");
    }
}

/// This instance's boards, by occurrence, and the subscription that wakes them.
#[derive(Default)]
pub struct Hub {
    watchers: Mutex<HashMap<i64, watch::Sender<u64>>>,
    polling: AtomicBool,
    open: AtomicUsize,
}

/// One open board, counted against [`MAX_OPEN`] until dropped.
pub struct Seat(actix_web::web::Data<AppState>);

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.live.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// A seat for one more board, or `None` when [`MAX_OPEN`] are open.
    pub fn seat(state: &actix_web::web::Data<AppState>) -> Option<Seat> {
        let hub = &state.live;
        if hub.open.fetch_add(1, Ordering::Relaxed) >= MAX_OPEN {
            hub.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Seat(state.clone()))
    }

    /// A receiver that changes whenever `occurrence_id` may have new logged changes.
    pub fn watch(&self, occurrence_id: i64) -> watch::Receiver<u64> {
        let mut map = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(occurrence_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Wakes the boards on `occurrence_id` (if any).
    pub fn wake(&self, occurrence_id: i64) {
        let map = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&occurrence_id) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Whether boards are woken by polling the database (the subscription is down).
    pub fn is_polling(&self) -> bool {
        self.polling.load(Ordering::Relaxed)
    }

    /// The occurrences someone watches; forgets those nobody watches any more.
    fn watched(&self) -> Vec<i64> {
        let mut map = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.keys().copied().collect()
    }

    /// Wakes every watched board whose head moved since the last look.
    async fn poll(&self, state: &AppState, seen: &mut HashMap<i64, i64>) {
        let ids = self.watched();
        seen.retain(|id, _| ids.contains(id));
        if ids.is_empty() {
            return;
        }
        let heads = state
            .db
            .read(move |c| {
                Ok(ole::table
                    .filter(ole::occurrence_id.eq_any(&ids))
                    .group_by(ole::occurrence_id)
                    .select((ole::occurrence_id, diesel::dsl::max(ole::seq)))
                    .load::<(i64, Option<i64>)>(c)?)
            })
            .await;
        match heads {
            Ok(heads) => {
                for (id, seq) in heads {
                    let seq = seq.unwrap_or(0);
                    if seen.insert(id, seq) != Some(seq) {
                        self.wake(id);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live boards: cannot read the heads"),
        }
    }
}

/// Keeps the hub subscribed to the `live` channel for the life of the process, polling the
/// database while it cannot be.
pub fn in_background(state: actix_web::web::Data<AppState>) {
    tokio::spawn(async move {
        let mut seen = HashMap::new();
        loop {
            match state.kv.subscribe(CHANNEL).await {
                Ok(mut rx) => {
                    if state.live.polling.swap(false, Ordering::Relaxed) {
                        tracing::info!("live boards: subscribed again; polling stops");
                    }
                    // What was announced while we were not subscribed.
                    state.live.poll(&state, &mut seen).await;
                    let mut safety = tokio::time::interval(POLL_SAFETY);
                    loop {
                        tokio::select! {
                            msg = rx.recv() => match msg {
                                Some(id) => {
                                    if let Ok(id) = id.parse::<i64>() {
                                        state.live.wake(id);
                                    }
                                }
                                None => break,
                            },
                            _ = safety.tick() => state.live.poll(&state, &mut seen).await,
                        }
                    }
                    tracing::warn!("live boards: subscription lost; polling the database");
                }
                Err(e) => {
                    if !state.live.polling.load(Ordering::Relaxed) {
                        tracing::warn!(error = %e, "live boards: cannot subscribe; polling the database");
                    }
                }
            }
            state.live.polling.store(true, Ordering::Relaxed);
            // Poll for a while, then try to subscribe again.
            for _ in 0..4 {
                state.live.poll(&state, &mut seen).await;
                tokio::time::sleep(POLL_DEGRADED).await;
            }
        }
    });
}

/// `event: snapshot` — the whole board: every invitee with their record, and the counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveSnapshot {
    /// The number of the last change included (resume after it with `Last-Event-ID`).
    pub seq: i64,
    pub board: AttendanceList,
}

/// `event: change` — one logged change: a member's record as it is now (`user_id` set), or
/// the occurrence itself (held, check-in closed; `user_id` null), with the running counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveChange {
    pub seq: i64,
    pub occurrence_id: i64,
    pub user_id: Option<i64>,
    /// The member's record now (null for an occurrence change).
    pub attendance: Option<AttendanceItem>,
    pub checkin: CheckinState,
    pub counts: AttendanceCounts,
}

/// What one read of the board sends.
enum Batch {
    Snapshot(LiveSnapshot),
    Changes(Vec<LiveChange>),
}

/// Reads what a board that has seen up to `after` (None: nothing) must be sent, checking
/// the caller may still operate the occurrence.
fn read_batch(
    conn: &mut DbConnection,
    user_id: i64,
    occurrence_id: i64,
    after: Option<i64>,
) -> ApiResult<Batch> {
    let ctx = access::occurrence(conn, user_id, occurrence_id, Right::Operate)?;
    let head = head(conn, occurrence_id)?;
    let resume = after.filter(|a| *a <= head && head - *a <= MAX_CATCH_UP);
    let Some(after) = resume else {
        let board = attendance::list(conn, &ctx)?;
        return Ok(Batch::Snapshot(LiveSnapshot { seq: head, board }));
    };
    if after == head {
        return Ok(Batch::Changes(Vec::new()));
    }
    let logged: Vec<(i64, Option<i64>)> = ole::table
        .filter(ole::occurrence_id.eq(occurrence_id))
        .filter(ole::seq.gt(after))
        .order(ole::seq.asc())
        .select((ole::seq, ole::user_id))
        .load(conn)?;
    let board = attendance::list(conn, &ctx)?;
    let items: HashMap<i64, &AttendanceItem> = board.items.iter().map(|i| (i.user_id, i)).collect();
    Ok(Batch::Changes(
        logged
            .into_iter()
            .map(|(seq, user_id)| LiveChange {
                seq,
                occurrence_id,
                user_id,
                attendance: user_id.and_then(|u| items.get(&u).map(|i| (*i).clone())),
                checkin: board.checkin,
                counts: board.counts.clone(),
            })
            .collect(),
    ))
}

/// One server-sent event.
fn event(name: &str, id: i64, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {name}\nid: {id}\ndata: {json}\n\n"))
}

/// Feeds a board into `tx` until the client goes away (the receiver is dropped) or loses
/// the right to operate the occurrence.
pub async fn stream(
    seat: Seat,
    user_id: i64,
    occurrence_id: i64,
    mut after: Option<i64>,
    tx: mpsc::Sender<Bytes>,
) {
    let state = seat.0.clone();
    let _seat = seat;
    let mut wake = state.live.watch(occurrence_id);
    let heartbeat = state.config.live_heartbeat;
    if tx
        .send(Bytes::from_static(b"retry: 3000\n\n"))
        .await
        .is_err()
    {
        return;
    }
    loop {
        wake.mark_unchanged();
        let batch = state
            .db
            .read(move |c| read_batch(c, user_id, occurrence_id, after))
            .await;
        let sent = match batch {
            Ok(Batch::Snapshot(s)) => {
                after = Some(s.seq);
                tx.send(event("snapshot", s.seq, &s)).await
            }
            Ok(Batch::Changes(list)) => {
                let mut r = Ok(());
                for c in list {
                    after = Some(c.seq);
                    r = tx.send(event("change", c.seq, &c)).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Err(e) => {
                // Access lost, the occurrence removed, or the database failing: the client
                // reconnects (`retry`) and learns which from the status.
                tracing::debug!(error = %e, occurrence_id, "live board ends");
                return;
            }
        };
        if sent.is_err() {
            return;
        }
        // Wait for a wake-up, sending heartbeats meanwhile.
        loop {
            tokio::select! {
                changed = wake.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                _ = tokio::time::sleep(heartbeat) => {
                    if tx.send(Bytes::from_static(b": heartbeat\n\n")).await.is_err() {
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    }
}
