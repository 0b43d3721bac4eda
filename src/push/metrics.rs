//! The outbox in `/metrics`, read from the database at scrape time: deliveries by status
//! (`dangke_push_deliveries`) and the age of the oldest one still pending
//! (`dangke_push_oldest_pending_age_seconds`) — what to alert on when robots stop taking
//! messages.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use prometheus::{Gauge, IntGaugeVec, Opts, Registry};

use super::model::DeliveryStatus;
use crate::db::Db;
use crate::db::schema::push_deliveries as pd;
use crate::error::ApiResult;

#[derive(Clone)]
pub struct Instruments {
    deliveries: IntGaugeVec,
    oldest_pending: Gauge,
}

impl Instruments {
    pub fn new(registry: &Registry) -> anyhow::Result<Instruments> {
        let deliveries = IntGaugeVec::new(
            Opts::new(
                "push_deliveries",
                "Push deliveries in the outbox, by status",
            ),
            &["status"],
        )?;
        let oldest_pending = Gauge::new(
            "push_oldest_pending_age_seconds",
            "Age of the oldest push delivery not yet delivered (0 when none)",
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(oldest_pending.clone()))?;
        Ok(Instruments {
            deliveries,
            oldest_pending,
        })
    }

    /// Reads the outbox into the gauges (before `/metrics` renders).
    pub async fn observe(&self, db: &Db, now: NaiveDateTime) -> ApiResult<()> {
        let (by_status, oldest) = db
            .read(|c| {
                let by_status: Vec<(String, i64)> = pd::table
                    .group_by(pd::status)
                    .select((pd::status, count_star()))
                    .load(c)?;
                let oldest: Option<NaiveDateTime> = pd::table
                    .filter(pd::status.eq(DeliveryStatus::Pending.as_str()))
                    .select(min(pd::created_at))
                    .first(c)?;
                Ok((by_status, oldest))
            })
            .await?;
        for status in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Dead,
            DeliveryStatus::Cancelled,
        ] {
            let n = by_status
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            self.deliveries.with_label_values(&[status.as_str()]).set(n);
        }
        let age = oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        self.oldest_pending.set(age);
        Ok(())
    }
}
