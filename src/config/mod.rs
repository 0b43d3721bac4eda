//! Process configuration, parsed once from environment variables into [`Config`] and passed
//! through app state. Every bad value is one clear error naming the variable.
//!
//! The variables are documented in README.md and `.env.example`; [`VARS`] lists them so a
//! test can check the documentation is complete.
//!
//! A low floor: features read their settings from here, and nothing here names a feature.
//!
//! - this file: [`Config`], [`Config::from_map`], [`VARS`] and the process-wide settings
//!   (environment, database, tokens, rate limits, WeChat, check-in, CORS, …);
//! - [`values`]: the leaf under both parsers — [`ConfigError`], [`Secret`],
//!   [`parse_duration`] (re-exported here);
//! - [`media`]: the media settings (`DANGKE_MEDIA_*`, `AWS_*`): where the media store
//!   lives, the size limit of each kind, signed-URL settings;
//! - [`push`]: the push settings (`DANGKE_SECRETS_KEY`, robot base URLs, webhook networks,
//!   the outbox worker's pace);
//! - [`chart`]: the font the statistics digest chart is drawn with (`DANGKE_CHART_FONT`).

pub mod chart;
pub mod database;
pub mod media;
pub mod push;
pub mod values;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use values::{ConfigError, Secret, parse_duration};

use chart::ChartConfig;
pub use database::DatabaseUrl;
use media::MediaConfig;
use push::PushConfig;

/// Every variable the process reads, for documentation checks.
pub const VARS: &[&str] = &[
    "DANGKE_BIND",
    "DATABASE_URL",
    "DANGKE_DATA_DIR",
    "DANGKE_ENV",
    "DANGKE_JWT_SECRET",
    "DANGKE_DB_POOL_SIZE",
    "DANGKE_DB_WRITE_LANES",
    "DANGKE_DB_STATEMENT_CACHE",
    "DANGKE_LOG",
    "DANGKE_WORKERS",
    "DANGKE_MALLOC_ARENAS",
    "REDIS_URL",
    "DANGKE_REDIS_PREFIX",
    "DATABASE_READ_URL",
    "DANGKE_DB_REPLICA_WAIT_MS",
    "DANGKE_LIVE_HEARTBEAT",
    "DANGKE_TRUSTED_PROXIES",
    "DANGKE_ACCESS_TOKEN_TTL",
    "DANGKE_REFRESH_TOKEN_TTL",
    "DANGKE_REFRESH_GRACE",
    "DANGKE_LOGIN_RATE_PER_PHONE",
    "DANGKE_LOGIN_RATE_PER_IP",
    "DANGKE_REFRESH_RATE_PER_IP",
    "DANGKE_SYNC_MAX_AGE",
    "DANGKE_STUDY_MAX_EVENT_SPAN",
    "DANGKE_WECHAT_APPID",
    "DANGKE_WECHAT_SECRET",
    "DANGKE_WECHAT_API_BASE",
    "DANGKE_WECHAT_TIMEOUT",
    "DANGKE_MEDIA_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "DANGKE_MEDIA_MAX_VIDEO",
    "DANGKE_MEDIA_MAX_AUDIO",
    "DANGKE_MEDIA_MAX_IMAGE",
    "DANGKE_MEDIA_MAX_PDF",
    "DANGKE_MEDIA_URL_TTL",
    "DANGKE_MEDIA_PUBLIC_URL",
    "DANGKE_CHECKIN_CODE_STEP",
    "DANGKE_CHECKIN_LATE_GRACE",
    "DANGKE_CHECKIN_RATE",
    "DANGKE_CHECKIN_AUTO_CLOSE",
    "DANGKE_CHANGES_EVERY",
    "DANGKE_MAKEUP_WINDOW",
    "DANGKE_CORS_ORIGINS",
    "DANGKE_CONSOLE_DIR",
    "DANGKE_HOUSEKEEPING_EVERY",
    "DANGKE_MEDIA_UNUSED_GRACE",
    "DANGKE_METRICS_TOKEN",
    "DANGKE_SECRETS_KEY",
    "DANGKE_WECHAT_TEMPLATE_MEETING",
    "DANGKE_WECHAT_TEMPLATE_STUDY",
    "DANGKE_WECHAT_TEMPLATE_CHECKIN",
    "DANGKE_WECHAT_MINIPROGRAM_STATE",
    "DANGKE_WECOM_API_BASE",
    "DANGKE_DINGTALK_API_BASE",
    "DANGKE_PUSH_ALLOW_NETS",
    "DANGKE_PUSH_EVERY",
    "DANGKE_PUSH_TIMEOUT",
    "DANGKE_PUSH_RETRY_BASE",
    "DANGKE_PUSH_GIVE_UP",
    "DANGKE_PUSH_RATE",
    "DANGKE_CHART_FONT",
];

/// `development` (generated secrets allowed, friendly defaults) or `production` (strict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// A rate limit: at most `limit` events per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub limit: u32,
    pub period: Duration,
}

impl RateSpec {
    /// Parses `N/PERIOD`, e.g. `10/5m`, `60/60s`, `1000/1h`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (n, p) = s
            .split_once('/')
            .ok_or_else(|| format!("expected N/PERIOD such as 10/5m, got {s:?}"))?;
        let limit: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("expected a positive count before '/', got {s:?}"))?;
        let period = parse_duration(p.trim())?;
        Ok(RateSpec { limit, period })
    }
}

/// An IP network in CIDR form (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("not an IP address: {a:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length in {s:?}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// WeChat mini-program credentials and API base.
#[derive(Debug, Clone)]
pub struct WechatConfig {
    pub appid: String,
    pub secret: Secret,
    pub api_base: String,
    /// Time allowed for one call to WeChat (connect, send, answer).
    pub timeout: Duration,
}

/// The whole process configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    pub env: Environment,
    /// `None` in development means "generate one and keep it in `app_meta`".
    pub jwt_secret: Option<Secret>,
    pub db_pool_size: u32,
    /// Group-commit writer lanes on PostgreSQL (SQLite has one writer).
    pub db_write_lanes: usize,
    /// Prepared statements kept per PostgreSQL connection (off behind PgBouncer < 1.21 in
    /// transaction mode).
    pub db_statement_cache: bool,
    pub log: String,
    pub workers: usize,
    /// The most malloc arenas the process may use (glibc's own default, 8 per core, when 0).
    pub malloc_arenas: u32,
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key (several deployments may share one Redis).
    pub redis_prefix: String,
    /// A streaming replica of the PostgreSQL primary for statistics reads and exports;
    /// `None`: they read the primary.
    pub database_read_url: Option<DatabaseUrl>,
    /// How long a statistics read waits for the replica to catch up before it reads the
    /// primary.
    pub db_replica_wait: Duration,
    /// How often a live board (SSE) gets a heartbeat comment when nothing happens.
    pub live_heartbeat: Duration,
    pub trusted_proxies: Vec<IpNet>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_grace: Duration,
    pub login_rate_per_phone: RateSpec,
    pub login_rate_per_ip: RateSpec,
    pub refresh_rate_per_ip: RateSpec,
    pub wechat: Option<WechatConfig>,
    /// Study events that ended longer ago than this are refused by sync.
    pub sync_max_age: Duration,
    /// Longest wall-clock span (`started_at` to `ended_at`) one study event may claim;
    /// longer events are refused by sync (`span_too_long`).
    pub study_max_event_span: Duration,
    /// Media storage, size limits and signed URLs (see [`media`]).
    pub media: MediaConfig,
    /// How often the rotating check-in code changes (a code is accepted for two steps).
    pub checkin_code_step: Duration,
    /// A check-in later than this after the start counts as `late`.
    pub checkin_late_grace: Duration,
    /// Check-in attempts per member (wrong codes included).
    pub checkin_rate: RateSpec,
    /// How long after its end an open check-in is closed by the background runner (as an
    /// organizer's close would, audited as closed by the system); `None` (`off`): never.
    pub checkin_auto_close: Option<Duration>,
    /// Default time after an occurrence in which completing its linked course makes an
    /// absence `made_up` (each activity keeps its own copy, in whole days).
    pub makeup_window: Duration,
    /// How often pending changes are applied (statistics) and started occurrences recorded,
    /// in the background (zero: never; statistics reads still apply what they need).
    pub changes_every: Duration,
    /// The bearer token `GET /metrics` requires; `None`: metrics are not served (404).
    pub metrics_token: Option<Secret>,
    /// Exact origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Development only: serve the console's files from this directory (read on every
    /// request) instead of the copy embedded in the binary.
    pub console_dir: Option<PathBuf>,
    /// How often housekeeping (the scheduled clean-up job) runs (zero: never).
    pub housekeeping_every: Duration,
    /// Media no lesson, cover or minutes has used for this long is removed.
    pub media_unused_grace: Duration,
    pub push: PushConfig,
    /// The digest chart's font (see [`chart`]).
    pub chart: ChartConfig,
}

/// Minimum length of a production JWT secret, in bytes.
pub const MIN_JWT_SECRET_LEN: usize = 32;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_map(&std::env::vars().collect())
    }

    /// Parses a configuration from a variable map (the environment, or a test's map).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let err = |var: &'static str, message: String| ConfigError { var, message };

        let env = match get("DANGKE_ENV").unwrap_or("development") {
            "development" | "dev" => Environment::Development,
            "production" | "prod" => Environment::Production,
            other => {
                return Err(err(
                    "DANGKE_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let bind = get("DANGKE_BIND").unwrap_or("127.0.0.1:8080").to_string();
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            return Err(err(
                "DANGKE_BIND",
                format!("expected HOST:PORT such as 0.0.0.0:8080, got {bind:?}"),
            ));
        }
        let data_dir = PathBuf::from(get("DANGKE_DATA_DIR").unwrap_or("./data"));
        let database_url = match get("DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(url).map_err(|m| err("DATABASE_URL", m))?,
            None => DatabaseUrl::Sqlite(data_dir.join("dangke.db")),
        };
        let jwt_secret = get("DANGKE_JWT_SECRET").map(Secret::new);
        if env == Environment::Production {
            match &jwt_secret {
                None => {
                    return Err(err(
                        "DANGKE_JWT_SECRET",
                        "is required in production (at least 32 random bytes)".into(),
                    ));
                }
                Some(s) if s.expose().len() < MIN_JWT_SECRET_LEN => {
                    return Err(err(
                        "DANGKE_JWT_SECRET",
                        format!("must be at least {MIN_JWT_SECRET_LEN} bytes in production"),
                    ));
                }
                Some(_) => {}
            }
        }
        let db_pool_size = parse_int(get("DANGKE_DB_POOL_SIZE"), 16, 1, 256)
            .map_err(|m| err("DANGKE_DB_POOL_SIZE", m))?;
        let db_write_lanes = parse_int(get("DANGKE_DB_WRITE_LANES"), 4, 1, 64)
            .map_err(|m| err("DANGKE_DB_WRITE_LANES", m))? as usize;
        let db_statement_cache = match get("DANGKE_DB_STATEMENT_CACHE").unwrap_or("on") {
            "on" => true,
            "off" => false,
            other => {
                return Err(err(
                    "DANGKE_DB_STATEMENT_CACHE",
                    format!("expected on or off, got {other:?}"),
                ));
            }
        };
        let log = get("DANGKE_LOG").unwrap_or("info").to_string();
        if tracing_subscriber::EnvFilter::try_new(&log).is_err() {
            return Err(err(
                "DANGKE_LOG",
                format!("not a log filter such as info or dangke=debug,info: {log:?}"),
            ));
        }
        let default_workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let workers = parse_int(get("DANGKE_WORKERS"), default_workers as u32, 1, 512)
            .map_err(|m| err("DANGKE_WORKERS", m))? as usize;
        let malloc_arenas = parse_int(get("DANGKE_MALLOC_ARENAS"), 2, 0, 64)
            .map_err(|m| err("DANGKE_MALLOC_ARENAS", m))?;
        let redis_url = match get("REDIS_URL") {
            Some(u) if u.starts_with("redis://") || u.starts_with("rediss://") => {
                Some(Secret::new(u))
            }
            Some(u) => {
                return Err(err(
                    "REDIS_URL",
                    format!(
                        "expected redis://HOST:PORT[/DB], got a value starting {:?}",
                        u.chars().take(8).collect::<String>()
                    ),
                ));
            }
            None => None,
        };
        let trusted_proxies = match get("DANGKE_TRUSTED_PROXIES") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(IpNet::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| err("DANGKE_TRUSTED_PROXIES", m))?,
            None => Vec::new(),
        };
        let dur = |var: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(var) {
                Some(v) => parse_duration(v).map_err(|m| err(var, m)),
                None => Ok(Duration::from_secs(default)),
            }
        };
        let rate = |var: &'static str, default: &str| -> Result<RateSpec, ConfigError> {
            RateSpec::parse(get(var).unwrap_or(default)).map_err(|m| err(var, m))
        };
        let wechat_timeout = dur("DANGKE_WECHAT_TIMEOUT", 5)?;
        let wechat = match (get("DANGKE_WECHAT_APPID"), get("DANGKE_WECHAT_SECRET")) {
            (Some(appid), Some(secret)) => Some(WechatConfig {
                appid: appid.to_string(),
                secret: Secret::new(secret),
                api_base: get("DANGKE_WECHAT_API_BASE")
                    .unwrap_or("https://api.weixin.qq.com")
                    .trim_end_matches('/')
                    .to_string(),
                timeout: wechat_timeout,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err(
                    "DANGKE_WECHAT_SECRET",
                    "is required when DANGKE_WECHAT_APPID is set".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    "DANGKE_WECHAT_APPID",
                    "is required when DANGKE_WECHAT_SECRET is set".into(),
                ));
            }
        };
        if let Some(base) = get("DANGKE_WECHAT_API_BASE")
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(err(
                "DANGKE_WECHAT_API_BASE",
                format!("expected an http(s) URL, got {base:?}"),
            ));
        }
        let media = MediaConfig::parse(&get, &data_dir)?;
        let push = PushConfig::parse(&get, env == Environment::Production)?;
        let chart = ChartConfig::parse(&get)?;
        let redis_prefix = get("DANGKE_REDIS_PREFIX").unwrap_or("dangke:").to_string();
        if redis_prefix.len() > 64 || !redis_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(err(
                "DANGKE_REDIS_PREFIX",
                "expected up to 64 visible ASCII characters, such as dangke:".into(),
            ));
        }
        let database_read_url = match get("DATABASE_READ_URL") {
            None => None,
            Some(url) => {
                let url = DatabaseUrl::parse(url).map_err(|m| err("DATABASE_READ_URL", m))?;
                if !(matches!(url, DatabaseUrl::Postgres(_))
                    && matches!(database_url, DatabaseUrl::Postgres(_)))
                {
                    return Err(err(
                        "DATABASE_READ_URL",
                        "a read replica needs PostgreSQL for both DATABASE_URL and DATABASE_READ_URL"
                            .into(),
                    ));
                }
                Some(url)
            }
        };
        let db_replica_wait = Duration::from_millis(
            parse_int(get("DANGKE_DB_REPLICA_WAIT_MS"), 100, 0, 60_000)
                .map_err(|m| err("DANGKE_DB_REPLICA_WAIT_MS", m))?
                .into(),
        );
        let live_heartbeat = dur("DANGKE_LIVE_HEARTBEAT", 15)?;
        if live_heartbeat < Duration::from_secs(1) || live_heartbeat > Duration::from_secs(300) {
            return Err(err(
                "DANGKE_LIVE_HEARTBEAT",
                "expected between 1s and 5m".into(),
            ));
        }
        let metrics_token = match get("DANGKE_METRICS_TOKEN") {
            Some(t) if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(err(
                    "DANGKE_METRICS_TOKEN",
                    "must be at least 16 visible ASCII characters".into(),
                ));
            }
            t => t.map(Secret::new),
        };
        let cors_origins = match get("DANGKE_CORS_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|o| match url::Url::parse(o) {
                    Ok(u)
                        if matches!(u.scheme(), "http" | "https")
                            && u.host_str().is_some()
                            && u.path() == "/"
                            && u.query().is_none()
                            && !o.ends_with('/') =>
                    {
                        Ok(o.to_string())
                    }
                    _ => Err(err(
                        "DANGKE_CORS_ORIGINS",
                        format!("expected origins such as https://console.example.org, got {o:?}"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let config = Config {
            bind,
            database_url,
            data_dir,
            env,
            jwt_secret,
            db_pool_size,
            db_write_lanes,
            db_statement_cache,
            log,
            workers,
            malloc_arenas,
            redis_url,
            redis_prefix,
            database_read_url,
            db_replica_wait,
            live_heartbeat,
            trusted_proxies,
            access_token_ttl: dur("DANGKE_ACCESS_TOKEN_TTL", 15 * 60)?,
            refresh_token_ttl: dur("DANGKE_REFRESH_TOKEN_TTL", 30 * 86400)?,
            refresh_grace: dur("DANGKE_REFRESH_GRACE", 30)?,
            login_rate_per_phone: rate("DANGKE_LOGIN_RATE_PER_PHONE", "10/15m")?,
            login_rate_per_ip: rate("DANGKE_LOGIN_RATE_PER_IP", "100/15m")?,
            refresh_rate_per_ip: rate("DANGKE_REFRESH_RATE_PER_IP", "300/15m")?,
            wechat,
            sync_max_age: dur("DANGKE_SYNC_MAX_AGE", 30 * 86400)?,
            study_max_event_span: dur("DANGKE_STUDY_MAX_EVENT_SPAN", 4 * 3600)?,
            media,
            checkin_code_step: dur("DANGKE_CHECKIN_CODE_STEP", 30)?,
            checkin_late_grace: dur("DANGKE_CHECKIN_LATE_GRACE", 10 * 60)?,
            checkin_rate: rate("DANGKE_CHECKIN_RATE", "10/5m")?,
            checkin_auto_close: match get("DANGKE_CHECKIN_AUTO_CLOSE") {
                Some("off") => None,
                _ => Some(dur("DANGKE_CHECKIN_AUTO_CLOSE", 2 * 3600)?),
            },
            makeup_window: dur("DANGKE_MAKEUP_WINDOW", 30 * 86400)?,
            changes_every: match get("DANGKE_CHANGES_EVERY") {
                Some("0" | "off") => Duration::ZERO,
                _ => dur("DANGKE_CHANGES_EVERY", 2)?,
            },
            metrics_token,
            cors_origins,
            console_dir: match get("DANGKE_CONSOLE_DIR") {
                None => None,
                Some(_) if env == Environment::Production => {
                    return Err(err(
                        "DANGKE_CONSOLE_DIR",
                        "is for development; production serves the console built into the binary"
                            .into(),
                    ));
                }
                Some(dir) => {
                    let dir = PathBuf::from(dir);
                    if !dir.join("index.html").is_file() {
                        return Err(err(
                            "DANGKE_CONSOLE_DIR",
                            format!("{} has no index.html", dir.display()),
                        ));
                    }
                    Some(dir)
                }
            },
            housekeeping_every: match get("DANGKE_HOUSEKEEPING_EVERY") {
                Some("0" | "off") => Duration::ZERO,
                _ => dur("DANGKE_HOUSEKEEPING_EVERY", 3600)?,
            },
            media_unused_grace: dur("DANGKE_MEDIA_UNUSED_GRACE", 30 * 86400)?,
            push,
            chart,
        };
        if config.checkin_code_step > Duration::from_secs(300) {
            return Err(err(
                "DANGKE_CHECKIN_CODE_STEP",
                "must be at most 5m (a shown code must rotate)".into(),
            ));
        }
        if config.study_max_event_span < Duration::from_secs(60)
            || config.study_max_event_span > Duration::from_secs(86400)
        {
            return Err(err(
                "DANGKE_STUDY_MAX_EVENT_SPAN",
                "must be from 1m to 24h (e.g. 4h)".into(),
            ));
        }
        if !config.makeup_window.as_secs().is_multiple_of(86400)
            || config.makeup_window.as_secs() > 366 * 86400
        {
            return Err(err(
                "DANGKE_MAKEUP_WINDOW",
                "must be whole days, at most 366d (e.g. 30d)".into(),
            ));
        }
        Ok(config)
    }
}

fn parse_int(v: Option<&str>, default: u32, min: u32, max: u32) -> Result<u32, String> {
    match v {
        None => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("expected a whole number from {min} to {max}, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_embedded_sqlite() {
        let c = Config::from_map(&map(&[])).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("./data/dangke.db"))
        );
        assert_eq!(c.env, Environment::Development);
        assert!(c.jwt_secret.is_none());
        assert_eq!(c.study_max_event_span, Duration::from_secs(4 * 3600));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str, &str)] = &[
            ("DANGKE_ENV", "staging", "DANGKE_ENV"),
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("DANGKE_DB_POOL_SIZE", "lots", "DANGKE_DB_POOL_SIZE"),
            ("DANGKE_DB_POOL_SIZE", "0", "DANGKE_DB_POOL_SIZE"),
            ("DANGKE_LOG", "[[[", "DANGKE_LOG"),
            ("REDIS_URL", "http://x", "REDIS_URL"),
            (
                "DANGKE_TRUSTED_PROXIES",
                "10.0.0.0/99",
                "DANGKE_TRUSTED_PROXIES",
            ),
            ("DANGKE_ACCESS_TOKEN_TTL", "soon", "DANGKE_ACCESS_TOKEN_TTL"),
            ("DANGKE_WECHAT_TIMEOUT", "0s", "DANGKE_WECHAT_TIMEOUT"),
            ("DANGKE_CHECKIN_CODE_STEP", "1h", "DANGKE_CHECKIN_CODE_STEP"),
            (
                "DANGKE_CHECKIN_LATE_GRACE",
                "late",
                "DANGKE_CHECKIN_LATE_GRACE",
            ),
            ("DANGKE_CHECKIN_RATE", "often", "DANGKE_CHECKIN_RATE"),
            ("DANGKE_MAKEUP_WINDOW", "36h", "DANGKE_MAKEUP_WINDOW"),
            (
                "DANGKE_STUDY_MAX_EVENT_SPAN",
                "30s",
                "DANGKE_STUDY_MAX_EVENT_SPAN",
            ),
            (
                "DANGKE_STUDY_MAX_EVENT_SPAN",
                "2d",
                "DANGKE_STUDY_MAX_EVENT_SPAN",
            ),
            (
                "DANGKE_LOGIN_RATE_PER_PHONE",
                "ten",
                "DANGKE_LOGIN_RATE_PER_PHONE",
            ),
        ];
        for (var, value, named) in cases {
            let e = Config::from_map(&map(&[(var, value)])).unwrap_err();
            assert_eq!(e.var, *named, "{var}={value}");
        }
        let e = Config::from_map(&map(&[("DANGKE_ENV", "production")])).unwrap_err();
        assert_eq!(e.var, "DANGKE_JWT_SECRET");
        let e = Config::from_map(&map(&[
            ("DANGKE_ENV", "production"),
            ("DANGKE_JWT_SECRET", "short"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "DANGKE_JWT_SECRET");
    }

    #[test]
    fn cidr_matching() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(
            IpNet::parse("127.0.0.1")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(
            IpNet::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }

    #[test]
    fn rates_and_durations() {
        assert_eq!(
            RateSpec::parse("10/5m").unwrap(),
            RateSpec {
                limit: 10,
                period: Duration::from_secs(300)
            }
        );
        assert!(RateSpec::parse("0/5m").is_err());
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("0s").is_err());
    }
}
