//! dangke: the backend of a phone-first study platform for rural grass-roots party
//! organizations. This crate builds the HTTP application from a [`Config`]; `main.rs` only
//! parses the command line and calls in here.
//!
//! [`mount`] is the one place routes are mounted; the OpenAPI document is built from the
//! same registration ([`http::openapi::document`]).
//!
//! # Floors
//!
//! Modules stand on lower floors only, never on a higher one or a neighbour's write path
//! (`tests/api/floors.rs` checks the rules marked ✓ from the source):
//!
//! 1. `clock`, `config`, `error` — stand on nothing else of ours (✓).
//! 2. `db`, `kv`, `http`, `changes` — shared machinery; they name no feature (✓).
//! 3. Features — `auth`, `orgs`, `courses`, `media`, `progress`, `activities`. A feature may
//!    call another feature's read functions; a write path records what it changed with
//!    [`changes::record`] in its own transaction and never calls a listener.
//! 4. Listeners — `stats` consumes the change queue; `push` sends what statistics compose
//!    (through a function passed in here, [`compose_digest`]). No feature names them, nor
//!    they each other (✓ nothing outside `stats/`, `lib.rs` and `main.rs` names `stats`).
//! 5. This file and `main.rs` — wire everything together: routes, the change-queue
//!    consumers ([`LISTENERS`]), background tasks.

pub mod activities;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod clock;
pub mod collate;
pub mod config;
pub mod console;
pub mod courses;
pub mod db;
pub mod demo;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod kv;
pub mod media;
pub mod memory;
pub mod ops;
pub mod orgs;
pub mod progress;
pub mod push;
pub mod state;
pub mod stats;
pub mod telemetry;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::http::fallback::RouteTable;
use crate::kv::Kv;
use crate::ops::OpenApiJson;
use crate::state::AppState;

/// Mounts every route. Routes registered here appear in the OpenAPI document.
pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(ops::routes).service(
        utoipa_actix_web::scope::scope("/v1")
            .configure(auth::routes::routes)
            .configure(auth::wechat::routes)
            .configure(orgs::routes::routes)
            .configure(orgs::member_routes::routes)
            .configure(orgs::import::routes)
            .configure(courses::routes::routes)
            .configure(courses::lesson_routes::routes)
            .configure(progress::routes::routes)
            .configure(media::routes)
            .configure(activities::routes::routes)
            .configure(stats::routes::routes)
            .configure(push::routes),
    );
}

/// Schemas no operation names as its body: the data of the live board's events
/// (`text/event-stream`, whose body the document can only call a string).
pub fn extra_schemas() -> Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)> {
    use utoipa::{PartialSchema, ToSchema};
    let mut out = Vec::new();
    out.push((
        activities::live::LiveSnapshot::name().into_owned(),
        activities::live::LiveSnapshot::schema(),
    ));
    out.push((
        activities::live::LiveChange::name().into_owned(),
        activities::live::LiveChange::schema(),
    ));
    // What they refer to (AttendanceList and the rest) is registered through the
    // attendance routes already.
    let mut nested = Vec::new();
    activities::live::LiveSnapshot::schemas(&mut nested);
    activities::live::LiveChange::schemas(&mut nested);
    out.extend(nested);
    out
}

/// Options for building the app that are not process configuration: the clock (tests
/// control it) and the kv key prefix (tests share one Redis).
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    /// Overrides `DANGKE_REDIS_PREFIX` (tests give each app its own keys).
    pub kv_prefix: Option<String>,
}

impl Default for Deps {
    fn default() -> Self {
        Deps {
            clock: Arc::new(clock::SystemClock),
            kv_prefix: None,
        }
    }
}

/// Opens the database and applies pending migrations. Blocking.
pub fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::open(
        &config.database_url,
        config.db_pool_size,
        config.db_write_lanes,
        &db::DbOptions {
            read_url: config.database_read_url.clone(),
            replica_wait: config.db_replica_wait,
            statement_cache: config.db_statement_cache,
        },
    )?;
    let mut conn = db.raw_writer().map_err(|e| anyhow::anyhow!("{e}"))?;
    let applied = db::migrate::run(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), migrations = ?applied, "migrations applied");
    }
    let keyed = auth::users::fill_name_keys(&mut conn)?;
    if keyed > 0 {
        tracing::info!(users = keyed, "name sort keys filled");
    }
    Ok(db)
}

/// Builds the shared state: database (migrated), kv, secrets, metrics.
pub async fn build_state(config: Config, deps: Deps) -> anyhow::Result<AppState> {
    let cfg = config.clone();
    let db = tokio::task::spawn_blocking(move || open_database(&cfg)).await??;
    let now = deps.clock.now_naive();
    let generated = config.jwt_secret.is_none();
    let generated_box = config.push.secrets_key.is_none();
    let (instance_id, secret, box_key) = db
        .write(move |c| {
            let id =
                db::meta::get_or_init(c, "instance_id", now, || uuid::Uuid::new_v4().to_string())?;
            let backend = db::sql::backend_of(c).name().to_string();
            db::meta::get_or_init(c, "created_with_backend", now, || backend)?;
            let secret = if generated {
                Some(db::meta::get_or_init(
                    c,
                    "dev_jwt_secret",
                    now,
                    auth::tokens::generate_secret,
                )?)
            } else {
                None
            };
            let box_key = if generated_box {
                Some(db::meta::get_or_init(
                    c,
                    "dev_secrets_key",
                    now,
                    push::secrets::generate_key,
                )?)
            } else {
                None
            };
            Ok((id, secret, box_key))
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot initialise app_meta: {e}"))?;
    let secret = match (&config.jwt_secret, secret) {
        (Some(s), _) => s.expose().to_string(),
        (None, Some(generated)) => {
            tracing::warn!(
                "DANGKE_JWT_SECRET is not set: using the development secret kept in app_meta"
            );
            generated
        }
        (None, None) => anyhow::bail!("no JWT secret"),
    };
    let kv = match &config.redis_url {
        Some(url) => Kv::redis(
            url.expose(),
            deps.clock.clone(),
            deps.kv_prefix.as_deref().unwrap_or(&config.redis_prefix),
        )
        .map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?,
        None => Kv::memory(deps.clock.clone()),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("dangke/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let media_config = config.media.clone();
    let data_dir = config.data_dir.clone();
    let media_secret = secret.clone();
    let media = tokio::task::spawn_blocking(move || {
        media::MediaState::open(&media_config, media_secret.as_bytes(), &data_dir)
    })
    .await??;
    tracing::info!(store = %media.store.describe, "media store opened");
    let box_key = match (&config.push.secrets_key, box_key) {
        (Some(k), _) => k.expose().to_string(),
        (None, Some(generated)) => {
            tracing::warn!(
                "DANGKE_SECRETS_KEY is not set: push channel secrets are sealed with the development key kept in app_meta"
            );
            generated
        }
        (None, None) => anyhow::bail!("no secrets key"),
    };
    let metrics = http::metrics::Metrics::new()?;
    let push = push::PushState {
        secrets: push::secrets::SecretBox::new(&box_key),
        sender: push::send::Sender::new(config.push.clone())?,
        wake: Arc::new(tokio::sync::Notify::new()),
        digest: compose_digest,
        slots_at_risk: find_slots_at_risk,
        instruments: push::metrics::Instruments::new(metrics.registry())?,
    };
    let (font_path, font) = load_chart_font(&config).await?.unzip();
    let chart = state::ChartParts {
        font,
        font_path,
        url_key: stats::chart_url::url_key(secret.as_bytes())?,
    };
    let changes = changes::runner::Instruments::new(metrics.registry())?;
    Ok(AppState {
        config: Arc::new(config),
        db,
        kv,
        clock: deps.clock,
        metrics,
        changes,
        tokens: auth::tokens::TokenKeys::new(secret.as_bytes()),
        http,
        instance_id,
        media,
        media_uses: media::access::MediaUses(MEDIA_USES),
        push,
        live: activities::live::Hub::default(),
        chart,
    })
}

/// Loads the digest chart's font once (`DANGKE_CHART_FONT`, or the first well-known CJK font
/// found). An explicitly configured font that cannot be used stops start-up; none found is
/// one warning, and digests then go without a chart.
async fn load_chart_font(
    config: &Config,
) -> anyhow::Result<Option<(std::path::PathBuf, ab_glyph::FontArc)>> {
    let candidates = config.chart.candidates();
    if candidates.is_empty() {
        tracing::info!("DANGKE_CHART_FONT=off: charts are skipped, text digests still go");
        return Ok(None);
    }
    let explicit = matches!(config.chart.font, config::chart::ChartFont::File(_));
    let tried = candidates.clone();
    let loaded =
        tokio::task::spawn_blocking(move || stats::chart::load_first(&candidates, explicit))
            .await?
            .map_err(|e| anyhow::anyhow!("DANGKE_CHART_FONT: {e}"))?;
    match loaded {
        Some((path, font)) => {
            tracing::info!(font = %path.display(), "chart font loaded");
            Ok(Some((path, font)))
        }
        None => {
            let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            tracing::warn!(
                tried = %tried.join(", "),
                "chart font not found (install fonts-wqy-microhei or set DANGKE_CHART_FONT): charts are skipped, text digests still go"
            );
            Ok(None)
        }
    }
}

/// The digest pushes send: the org's statistics report for the days `from..=to`, rendered
/// for each kind of channel (statistics compose it; push only sends it).
pub fn compose_digest(
    state: web::Data<AppState>,
    org_id: i64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> push::DigestFuture {
    Box::pin(async move {
        let (preview, chart_png) =
            stats::chart_data::digest_with_chart_between(&state, org_id, from, to).await?;
        let json = serde_json::to_value(&preview.report).map_err(error::ApiError::internal)?;
        let chart_url = chart_png
            .as_ref()
            .map(|_| stats::chart_url::signed_chart_url(&state, org_id, from, to));
        Ok(push::Digest {
            wecom_markdown: preview.wecom_markdown,
            dingtalk_title: preview.dingtalk_markdown.title,
            dingtalk_text: preview.dingtalk_markdown.text,
            json,
            chart_png,
            chart_url,
        })
    })
}

/// The required meetings of an org's subtree about to be missed (statistics' compliance
/// grid, after applying pending changes), for the push alert.
pub fn find_slots_at_risk(state: web::Data<AppState>, org_id: i64) -> push::SlotsFuture {
    Box::pin(async move {
        stats::apply::catch_up(&state.db, &state.changes).await?;
        let now = state.clock.now_naive();
        state
            .db
            .read(move |c| {
                let org = orgs::tree::find(c, org_id)?;
                let tree = stats::context::Subtree::load(c, org, now)?;
                let local_now = now.and_utc().with_timezone(&tree.tz).naive_local();
                let items = stats::compliance::at_risk(c, &tree)?
                    .into_iter()
                    .map(|r| push::SlotAtRisk {
                        org_id: r.org_id,
                        org_name: r.org_name,
                        kind: r.kind.as_str().to_string(),
                        kind_name: stats::export::kind_zh(r.kind.as_str()).to_string(),
                        slot: r.slot,
                        slot_end: r.slot_end,
                        days_left: r.days_left,
                    })
                    .collect();
                Ok(push::SlotsAtRisk { local_now, items })
            })
            .await
    })
}

/// The features that put media into what people see: a media object is visible to whoever
/// sees a course that uses it or minutes that show it (see [`media::access`]).
const MEDIA_USES: &[media::access::UseCheck] = &[
    courses::media_use::visible_through_course,
    activities::media_use::visible_through_minutes,
];

/// The consumers of the change queue (see [`changes`]).
pub const LISTENERS: &[changes::runner::Listener] = &[stats::apply::LISTENER];

/// A bound, running server.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Builds the state and binds `config.bind` (port 0 picks a free port).
    pub async fn build(config: Config, deps: Deps) -> anyhow::Result<Application> {
        let bind = config.bind.clone();
        let workers = config.workers;
        let state = web::Data::new(build_state(config, deps).await?);
        let listener =
            TcpListener::bind(&bind).map_err(|e| anyhow::anyhow!("DANGKE_BIND {bind}: {e}"))?;
        let port = listener.local_addr()?.port();
        let every = state.config.changes_every;
        changes::runner::in_background(state.db.clone(), every, LISTENERS, state.changes.clone());
        activities::start::in_background(state.db.clone(), state.clock.clone(), every);
        activities::auto_close::in_background(state.clone(), every);
        housekeeping::in_background(state.clone(), state.config.housekeeping_every);
        push::worker::in_background(state.clone());
        activities::live::in_background(state.clone());
        let spec = http::openapi::document();
        let table = web::Data::new(RouteTable::from_openapi(&spec));
        let spec_json = web::Data::new(OpenApiJson(http::openapi::json_of(&spec)));
        let console = web::Data::new(match &state.config.console_dir {
            Some(dir) => console::Assets::from_dir(dir.clone()),
            None => console::Assets::embedded(),
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .configure(mount)
                .split_for_parts();
            app.app_data(app_state.clone())
                .app_data(table.clone())
                .app_data(spec_json.clone())
                .app_data(console.clone())
                .configure(console::routes)
                .configure(http::fallback::configure_extractors)
                .default_service(web::to(http::fallback::no_route))
                .wrap(from_fn(http::head::as_get))
                .wrap(from_fn(http::cors::headers))
                .wrap(from_fn(http::observe::observe))
                .wrap(Compress::default())
        })
        .listen(listener)?
        .workers(workers)
        .shutdown_timeout(30)
        .run();
        memory::after_start_up();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM/SIGINT stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
