//! The application state shared by every handler: configuration, database, kv, clock,
//! metrics, the outbound HTTP client and the media store. Built once at start-up and passed in.

use std::sync::Arc;

use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::http::metrics::Metrics;
use crate::kv::Kv;
use crate::media::MediaState;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub kv: Kv,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// The change queue's instruments (applied, pending, oldest).
    pub changes: crate::changes::runner::Instruments,
    pub tokens: TokenKeys,
    /// For calls to WeChat and other outside services (timeouts set per call site).
    pub http: reqwest::Client,
    /// A random id for this database, kept in `app_meta`.
    pub instance_id: String,
    /// The media store and the signer of playback URLs.
    pub media: MediaState,
    /// How the features that use media say who sees it through them.
    pub media_uses: crate::media::access::MediaUses,
    /// Push channels' sealing key, sender, worker wake-up and digest composer.
    pub push: crate::push::PushState,
}
