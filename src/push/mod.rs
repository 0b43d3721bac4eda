//! Pushes to organizers: channels per org (a WeCom or DingTalk group robot, a signed
//! webhook), digest schedules, and the outbox that delivers every message once it is
//! written, whatever fails in between.
//!
//! - [`channels`]: create, change, delete and show channels; credentials sealed with
//!   [`secrets`] and never shown; digest schedules;
//! - [`address`]: where a webhook may point (public HTTPS only, checked again at send time);
//! - [`schedule`]: when a digest is due and which days it covers;
//! - [`digests`]: what goes into the outbox (scheduled digests, test messages) per kind;
//! - [`outbox`]: the `push_deliveries` rows — written once per key, claimed, retried with
//!   backoff, ended `dead`; every attempt recorded;
//! - [`send`]: one message to one service, and what its answer means;
//! - [`alerts`]: event alerts to channels that opted in (check-in closed, from the change
//!   queue; tomorrow's meeting with many invitees not answered); [`missed_slots`]: required
//!   meetings about to be missed this month, quarter or year;
//! - [`grants`], [`reminders`]: WeChat subscription reminders (meeting tomorrow and behind
//!   on study to members, check-in closing by itself soon to the meeting org's role
//!   holders), one per one-time grant, through the same outbox; [`tomorrow`]: which
//!   meetings are tomorrow, and [`closing`]: which check-ins close by themselves soon, for
//!   both alerts and reminders;
//! - [`worker`]: the background sender.
//!
//! A listener (the floor of `stats`): no feature names it. The digest's figures come from
//! statistics through [`PushState::digest`] (and compliance through
//! [`PushState::slots_at_risk`]), functions `lib.rs` passes in, so this module names no
//! statistics code either.

pub mod address;
pub mod alerts;
pub mod channels;
pub mod closing;
pub mod digests;
pub mod grants;
pub mod metrics;
pub mod missed_slots;
pub mod model;
pub mod outbox;
pub mod reminders;
pub mod routes;
pub mod schedule;
pub mod secrets;
pub mod send;
pub mod subscription_routes;
pub mod tomorrow;
pub mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use chrono::{NaiveDate, NaiveDateTime};

use crate::error::ApiResult;
use crate::state::AppState;

pub use routes::routes;

/// A digest as the channels receive it.
#[derive(Debug, Clone)]
pub struct Digest {
    pub wecom_markdown: String,
    pub dingtalk_title: String,
    pub dingtalk_text: String,
    /// The figures, for webhooks.
    pub json: serde_json::Value,
    /// The chart (PNG), when a chart font is installed.
    pub chart_png: Option<Vec<u8>>,
    /// A signed, expiring URL to the same chart (absolute when `DANGKE_MEDIA_PUBLIC_URL`
    /// is set), when there is a chart.
    pub chart_url: Option<String>,
}

/// The future of a composed digest.
pub type DigestFuture = Pin<Box<dyn Future<Output = ApiResult<Digest>> + Send>>;

/// Composes the digest of an org for the days `from..=to`.
pub type ComposeDigest = fn(web::Data<AppState>, i64, NaiveDate, NaiveDate) -> DigestFuture;

/// A required meeting about to be missed at a branch (see [`missed_slots`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotAtRisk {
    pub org_id: i64,
    pub org_name: String,
    /// The activity kind (`branch_committee_meeting`) and its Chinese name.
    pub kind: String,
    pub kind_name: String,
    /// `2026-03`, `2026-Q1` or `2026`.
    pub slot: String,
    pub slot_end: NaiveDate,
    /// Days left in the slot, today included.
    pub days_left: i64,
}

/// The required meetings of an org's subtree about to be missed, and the org's local time.
#[derive(Debug, Clone)]
pub struct SlotsAtRisk {
    pub local_now: NaiveDateTime,
    pub items: Vec<SlotAtRisk>,
}

/// The future of [`FindSlotsAtRisk`].
pub type SlotsFuture = Pin<Box<dyn Future<Output = ApiResult<SlotsAtRisk>> + Send>>;

/// Finds the required meetings of an org's subtree about to be missed.
pub type FindSlotsAtRisk = fn(web::Data<AppState>, i64) -> SlotsFuture;

/// What pushes need at run time: the sealing key, the sender, the worker's wake-up call,
/// the digest composer and the compliance finder.
pub struct PushState {
    pub secrets: secrets::SecretBox,
    pub sender: send::Sender,
    /// Wakes the worker now (a message was written for now).
    pub wake: Arc<tokio::sync::Notify>,
    pub digest: ComposeDigest,
    pub slots_at_risk: FindSlotsAtRisk,
    /// The outbox gauges of `/metrics`.
    pub instruments: metrics::Instruments,
}
