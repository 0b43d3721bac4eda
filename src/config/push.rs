//! The push part of the process configuration: the key that seals channel secrets, the
//! robot services' base URLs, which private networks a webhook may reach, and how the
//! outbox worker paces itself. Parsed once by [`Config::from_map`](super::Config::from_map)
//! into its `push` field; every bad value names its variable.

use std::time::Duration;

use super::IpNet;
use super::values::{ConfigError, Secret, parse_duration};

/// The least length of `DANGKE_SECRETS_KEY` (the key is its SHA-256).
pub const MIN_SECRETS_KEY_LEN: usize = 32;

#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Seals channel credentials at rest (`DANGKE_SECRETS_KEY`); `None` in development
    /// means a generated key kept in the database.
    pub secrets_key: Option<Secret>,
    /// `DANGKE_WECOM_API_BASE` (default `https://qyapi.weixin.qq.com`).
    pub wecom_base: String,
    /// `DANGKE_DINGTALK_API_BASE` (default `https://oapi.dingtalk.com`).
    pub dingtalk_base: String,
    /// Networks a webhook URL may resolve into although they are loopback or private
    /// (`DANGKE_PUSH_ALLOW_NETS`, e.g. `10.8.0.0/16`); plain `http://` is accepted only
    /// there. Empty by default: webhooks go to public HTTPS addresses only.
    pub allow_nets: Vec<IpNet>,
    /// How often the outbox worker and the digest scheduler look for work
    /// (`DANGKE_PUSH_EVERY`, default 2 s; `0`/`off` disables both on this instance).
    pub every: Duration,
    /// Time allowed for one send (`DANGKE_PUSH_TIMEOUT`, default 10 s).
    pub timeout: Duration,
    /// The first retry's delay; each further one doubles it, with jitter, up to an hour
    /// (`DANGKE_PUSH_RETRY_BASE`, default 30 s).
    pub retry_base: Duration,
    /// A message not delivered this long after it was written ends `dead`
    /// (`DANGKE_PUSH_GIVE_UP`, default 24 h).
    pub give_up_after: Duration,
    /// Messages a minute to one robot or webhook (`DANGKE_PUSH_RATE`, default 20: the
    /// WeCom and DingTalk limit).
    pub per_minute: u32,
    /// Subscription-message template of the "meeting tomorrow" reminder
    /// (`DANGKE_WECHAT_TEMPLATE_MEETING`; unset: no such reminders).
    pub meeting_template: Option<String>,
    /// Subscription-message template of the "behind on study hours this month" reminder
    /// (`DANGKE_WECHAT_TEMPLATE_STUDY`; unset: no such reminders).
    pub study_template: Option<String>,
    /// Subscription-message template of the "check-in closes by itself soon" reminder to
    /// the meeting org's role holders (`DANGKE_WECHAT_TEMPLATE_CHECKIN`; unset: none).
    pub checkin_template: Option<String>,
    /// Which version of the mini-program a reminder opens
    /// (`DANGKE_WECHAT_MINIPROGRAM_STATE`: `formal` (default), `trial` or `developer`).
    pub miniprogram_state: String,
}

impl PushConfig {
    pub fn parse<'a>(
        get: &dyn Fn(&str) -> Option<&'a str>,
        production: bool,
    ) -> Result<PushConfig, ConfigError> {
        let err = |var: &'static str, message: String| ConfigError { var, message };
        let dur = |var: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(var) {
                Some(v) => parse_duration(v).map_err(|m| err(var, m)),
                None => Ok(Duration::from_secs(default)),
            }
        };
        let base = |var: &'static str, default: &str| -> Result<String, ConfigError> {
            let v = get(var).unwrap_or(default);
            match url::Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    Ok(v.trim_end_matches('/').to_string())
                }
                _ => Err(err(var, format!("expected an http(s) URL, got {v:?}"))),
            }
        };
        let template = |var: &'static str| -> Result<Option<String>, ConfigError> {
            match get(var).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v)
                    if v.len() <= 128
                        && v.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
                {
                    Ok(Some(v.to_string()))
                }
                Some(v) => Err(err(var, format!("expected a template id, got {v:?}"))),
            }
        };
        let secrets_key = match get("DANGKE_SECRETS_KEY") {
            Some(k) if k.len() < MIN_SECRETS_KEY_LEN => {
                return Err(err(
                    "DANGKE_SECRETS_KEY",
                    format!("must be at least {MIN_SECRETS_KEY_LEN} bytes"),
                ));
            }
            Some(k) => Some(Secret::new(k)),
            None if production => {
                return Err(err(
                    "DANGKE_SECRETS_KEY",
                    format!(
                        "is required in production (at least {MIN_SECRETS_KEY_LEN} random bytes; it seals push channel secrets)"
                    ),
                ));
            }
            None => None,
        };
        let allow_nets = match get("DANGKE_PUSH_ALLOW_NETS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| IpNet::parse(s).map_err(|m| err("DANGKE_PUSH_ALLOW_NETS", m)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let per_minute = match get("DANGKE_PUSH_RATE") {
            None => 20,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=600).contains(n))
                .ok_or_else(|| {
                    err(
                        "DANGKE_PUSH_RATE",
                        format!("expected messages a minute from 1 to 600, got {v:?}"),
                    )
                })?,
        };
        Ok(PushConfig {
            secrets_key,
            wecom_base: base("DANGKE_WECOM_API_BASE", "https://qyapi.weixin.qq.com")?,
            dingtalk_base: base("DANGKE_DINGTALK_API_BASE", "https://oapi.dingtalk.com")?,
            allow_nets,
            every: match get("DANGKE_PUSH_EVERY") {
                Some("0" | "off") => Duration::ZERO,
                _ => dur("DANGKE_PUSH_EVERY", 2)?,
            },
            timeout: dur("DANGKE_PUSH_TIMEOUT", 10)?,
            retry_base: dur("DANGKE_PUSH_RETRY_BASE", 30)?,
            give_up_after: dur("DANGKE_PUSH_GIVE_UP", 86400)?,
            per_minute,
            meeting_template: template("DANGKE_WECHAT_TEMPLATE_MEETING")?,
            study_template: template("DANGKE_WECHAT_TEMPLATE_STUDY")?,
            checkin_template: template("DANGKE_WECHAT_TEMPLATE_CHECKIN")?,
            miniprogram_state: match get("DANGKE_WECHAT_MINIPROGRAM_STATE") {
                None => "formal".to_string(),
                Some(v @ ("formal" | "trial" | "developer")) => v.to_string(),
                Some(v) => {
                    return Err(err(
                        "DANGKE_WECHAT_MINIPROGRAM_STATE",
                        format!("expected formal, trial or developer, got {v:?}"),
                    ));
                }
            },
        })
    }
}
