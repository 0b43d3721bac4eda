//! Applying pending changes: [`drain`] (a consumer's pending changes, a chunk per
//! transaction), the background runner that drains every listener every few seconds, and
//! the instruments `/metrics` shows (applied, pending, age of the oldest).

use std::time::Duration;

use chrono::NaiveDateTime;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use super::{CHUNK, Consumer};
use crate::db::{Db, DbConnection};
use crate::error::ApiResult;

/// A consumer's apply step: in one transaction, under [`super::lock`], takes at most
/// `limit` pending changes (ids up to `upto` if given), applies them, deletes them, and
/// returns how many it took.
pub type ApplyFn = fn(&mut DbConnection, usize, Option<i64>) -> ApiResult<usize>;

/// A consumer and its apply step.
#[derive(Clone, Copy)]
pub struct Listener {
    pub consumer: Consumer,
    pub apply: ApplyFn,
}

/// The change-queue metrics of this process.
#[derive(Clone)]
pub struct Instruments {
    applied: IntCounterVec,
    pending: IntGaugeVec,
    oldest_age: GaugeVec,
}

impl Instruments {
    pub fn new(registry: &Registry) -> anyhow::Result<Instruments> {
        let applied = IntCounterVec::new(
            Opts::new(
                "changes_applied_total",
                "Changes applied by this process, by consumer",
            ),
            &["consumer"],
        )?;
        let pending = IntGaugeVec::new(
            Opts::new("changes_pending", "Changes not yet applied, by consumer"),
            &["consumer"],
        )?;
        let oldest_age = GaugeVec::new(
            Opts::new(
                "changes_oldest_age_seconds",
                "Age of the oldest change not yet applied, by consumer (0 when none)",
            ),
            &["consumer"],
        )?;
        registry.register(Box::new(applied.clone()))?;
        registry.register(Box::new(pending.clone()))?;
        registry.register(Box::new(oldest_age.clone()))?;
        Ok(Instruments {
            applied,
            pending,
            oldest_age,
        })
    }

    fn applied(&self, consumer: Consumer, n: usize) {
        self.applied
            .with_label_values(&[consumer.as_str()])
            .inc_by(n as u64);
    }

    /// Reads the backlog of every consumer into the gauges (before `/metrics` renders).
    pub async fn observe_backlog(&self, db: &Db, now: NaiveDateTime) -> ApiResult<()> {
        let backlog = db.read(super::backlog).await?;
        for (consumer, count, oldest) in backlog {
            let label = [consumer.as_str()];
            self.pending.with_label_values(&label).set(count);
            let age = oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            self.oldest_age.with_label_values(&label).set(age);
        }
        Ok(())
    }
}

/// Applies `listener`'s pending changes — all of them, or with `upto` those with ids up to
/// it — one chunk per transaction. Returns how many were applied.
pub async fn drain(
    db: &Db,
    listener: Listener,
    upto: Option<i64>,
    instruments: &Instruments,
) -> ApiResult<usize> {
    let mut total = 0;
    loop {
        let apply = listener.apply;
        let n = db.write(move |c| apply(c, CHUNK, upto)).await?;
        instruments.applied(listener.consumer, n);
        total += n;
        if n < CHUNK {
            return Ok(total);
        }
    }
}

/// Drains every listener every `every` (zero: never; reads still apply what they need).
pub fn in_background(
    db: Db,
    every: Duration,
    listeners: &'static [Listener],
    instruments: Instruments,
) {
    crate::clock::run_every(every, move || {
        let (db, instruments) = (db.clone(), instruments.clone());
        async move {
            for listener in listeners {
                match drain(&db, *listener, None, &instruments).await {
                    Ok(0) => {}
                    Ok(applied) => tracing::debug!(
                        consumer = listener.consumer.as_str(),
                        applied,
                        "changes applied"
                    ),
                    Err(e) => tracing::warn!(
                        consumer = listener.consumer.as_str(),
                        error = %e,
                        "applying changes failed"
                    ),
                }
            }
        }
    });
}
