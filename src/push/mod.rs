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
//!   queue; tomorrow's meeting with many invitees not answered);
//! - [`grants`], [`reminders`]: WeChat subscription reminders to members (meeting tomorrow,
//!   behind on study), one per one-time grant, through the same outbox; [`tomorrow`]:
//!   which meetings are tomorrow, for both;
//! - [`worker`]: the background sender.
//!
//! A listener (the floor of `stats`): no feature names it. The digest's figures come from
//! statistics through [`PushState::digest`], a function `lib.rs` passes in, so this module
//! names no statistics code either.

pub mod address;
pub mod alerts;
pub mod channels;
pub mod digests;
pub mod grants;
pub mod metrics;
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
use chrono::NaiveDate;

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

/// What pushes need at run time: the sealing key, the sender, the worker's wake-up call and
/// the digest composer.
pub struct PushState {
    pub secrets: secrets::SecretBox,
    pub sender: send::Sender,
    /// Wakes the worker now (a message was written for now).
    pub wake: Arc<tokio::sync::Notify>,
    pub digest: ComposeDigest,
    /// The outbox gauges of `/metrics`.
    pub instruments: metrics::Instruments,
}
