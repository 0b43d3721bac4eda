//! The application state shared by every handler: configuration, database, kv, clock,
//! metrics, the outbound HTTP client, the media store and the digest chart's font. Built once
//! at start-up and passed in.

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
    /// This instance's live check-in boards and the subscription that wakes them.
    pub live: crate::activities::live::Hub,
    /// The statistics digest chart's font and URL key.
    pub chart: ChartParts,
}

/// What the statistics digest chart needs from start-up: statistics load the font
/// (refusing one without Chinese glyphs), draw with it and sign chart URLs with the key.
/// Held here rather than in a global, like every other shared handle.
pub struct ChartParts {
    /// The font charts are drawn with, loaded once; `None`: no font was found or
    /// `DANGKE_CHART_FONT=off`, so no chart is drawn and digests go as text only.
    pub font: Option<ab_glyph::FontArc>,
    /// The file that font came from: the per-meeting record's PDF embeds it (a subset).
    pub font_path: Option<std::path::PathBuf>,
    /// The key of chart URLs only (derived from the JWT secret under its own label).
    pub url_key: crate::http::url_key::UrlKey,
}
