//! The HTTP client of the three WeChat server APIs login needs: `jscode2session`,
//! `stable_token` and `getuserphonenumber` (shapes in `/work/shared/WECHAT.md`).
//!
//! Every call has the configured timeout (`DANGKE_WECHAT_TIMEOUT`) and is retried with a
//! small backoff while WeChat answers `-1` (system busy), up to [`MAX_ATTEMPTS`] attempts.
//! Nothing else is retried: a timeout may mean WeChat already consumed a single-use code.
//! Secrets never reach a log: URLs are stripped from transport errors (the app secret and
//! the access token travel in query strings), and the `session_key` is not even read.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::WechatConfig;

/// Attempts per call while WeChat answers "system busy".
pub const MAX_ATTEMPTS: u32 = 3;
/// Pause before the second attempt; doubled before the third.
const BACKOFF: Duration = Duration::from_millis(100);

/// WeChat's "system busy, try again" code.
pub const ERR_BUSY: i64 = -1;
/// The access token is invalid (for example replaced by a forced refresh elsewhere).
pub const ERR_TOKEN_INVALID: i64 = 40001;
/// The access token has expired.
pub const ERR_TOKEN_EXPIRED: i64 = 42001;

/// Which WeChat API a call went to (for logs and errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    JsCode2Session,
    StableToken,
    GetUserPhoneNumber,
    SubscribeSend,
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::JsCode2Session => "jscode2session",
            Endpoint::StableToken => "stable_token",
            Endpoint::GetUserPhoneNumber => "getuserphonenumber",
            Endpoint::SubscribeSend => "subscribe_send",
        }
    }
}

/// A failed call to WeChat.
#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    /// WeChat answered with a non-zero `errcode`.
    #[error("{} answered errcode {errcode} ({errmsg})", endpoint.name())]
    Api {
        endpoint: Endpoint,
        errcode: i64,
        errmsg: String,
    },
    /// No answer within the timeout.
    #[error("{} did not answer within {timeout:?}", endpoint.name())]
    Timeout {
        endpoint: Endpoint,
        timeout: Duration,
    },
    /// Connection failure, non-2xx status, or a body that is not the expected JSON.
    #[error("{} failed: {message}", endpoint.name())]
    Transport { endpoint: Endpoint, message: String },
}

impl WechatError {
    /// The `errcode`, when WeChat answered with one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// True when WeChat says the access token used is no longer good.
    pub fn is_token_rejected(&self) -> bool {
        matches!(self.errcode(), Some(ERR_TOKEN_INVALID | ERR_TOKEN_EXPIRED))
    }
}

/// Who the mini-program user is, from `jscode2session`. The `session_key` is deliberately
/// not kept: login needs only the ids.
#[derive(Debug, Clone)]
pub struct WechatSession {
    pub openid: String,
    pub unionid: Option<String>,
}

/// An access token from `stable_token`.
#[derive(Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The phone number WeChat vouches for.
#[derive(Debug, Clone)]
pub struct PhoneInfo {
    /// Without country code, e.g. `13800138000`.
    pub pure_phone_number: String,
    pub country_code: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct SessionBody {
    openid: String,
    #[serde(default)]
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct PhoneBody {
    phone_info: PhoneInfoBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfoBody {
    pure_phone_number: String,
    #[serde(default)]
    country_code: String,
}

/// A WeChat client over the app's shared reqwest client.
pub struct WechatClient<'a> {
    http: &'a reqwest::Client,
    cfg: &'a WechatConfig,
}

impl<'a> WechatClient<'a> {
    pub fn new(http: &'a reqwest::Client, cfg: &'a WechatConfig) -> Self {
        WechatClient { http, cfg }
    }

    /// Exchanges a login `js_code` for the user's openid (and unionid).
    pub async fn jscode2session(&self, js_code: &str) -> Result<WechatSession, WechatError> {
        let url = format!("{}/sns/jscode2session", self.cfg.api_base);
        let body: SessionBody = self
            .call(Endpoint::JsCode2Session, || {
                self.http.get(&url).query(&[
                    ("appid", self.cfg.appid.as_str()),
                    ("secret", self.cfg.secret.expose()),
                    ("js_code", js_code),
                    ("grant_type", "authorization_code"),
                ])
            })
            .await?;
        Ok(WechatSession {
            openid: body.openid,
            unionid: body.unionid.filter(|u| !u.is_empty()),
        })
    }

    /// Gets the app's access token; `force_refresh` replaces the current one (WeChat allows
    /// that about 20 times a day).
    pub async fn stable_token(&self, force_refresh: bool) -> Result<AccessToken, WechatError> {
        let url = format!("{}/cgi-bin/stable_token", self.cfg.api_base);
        let payload = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.cfg.appid,
            "secret": self.cfg.secret.expose(),
            "force_refresh": force_refresh,
        });
        let body: TokenBody = self
            .call(Endpoint::StableToken, || {
                self.http.post(&url).json(&payload)
            })
            .await?;
        Ok(AccessToken {
            token: body.access_token,
            expires_in: body.expires_in,
        })
    }

    /// Exchanges the phone-number `code` from the mini-program button for the number.
    pub async fn phone_number(
        &self,
        access_token: &str,
        code: &str,
    ) -> Result<PhoneInfo, WechatError> {
        let url = format!("{}/wxa/business/getuserphonenumber", self.cfg.api_base);
        let payload = serde_json::json!({ "code": code });
        let body: PhoneBody = self
            .call(Endpoint::GetUserPhoneNumber, || {
                self.http
                    .post(&url)
                    .query(&[("access_token", access_token)])
                    .json(&payload)
            })
            .await?;
        Ok(PhoneInfo {
            pure_phone_number: body.phone_info.pure_phone_number,
            country_code: body.phone_info.country_code,
        })
    }

    /// Sends a subscription message (`body`: `touser`, `template_id`, `page`, `data`,
    /// `miniprogram_state`, `lang`).
    pub async fn subscribe_send(
        &self,
        access_token: &str,
        body: &serde_json::Value,
    ) -> Result<(), WechatError> {
        let url = format!("{}/cgi-bin/message/subscribe/send", self.cfg.api_base);
        let _: serde_json::Value = self
            .call(Endpoint::SubscribeSend, || {
                self.http
                    .post(&url)
                    .query(&[("access_token", access_token)])
                    .json(body)
            })
            .await?;
        Ok(())
    }

    /// Sends the request `build` makes, retrying while WeChat is busy, and decodes the
    /// answer as `T` once its `errcode` is 0.
    async fn call<T, B>(&self, endpoint: Endpoint, build: B) -> Result<T, WechatError>
    where
        T: DeserializeOwned,
        B: Fn() -> reqwest::RequestBuilder,
    {
        let mut attempt = 1;
        loop {
            match self.once(endpoint, build()).await {
                Err(WechatError::Api { errcode, .. })
                    if errcode == ERR_BUSY && attempt < MAX_ATTEMPTS =>
                {
                    tracing::warn!(
                        endpoint = endpoint.name(),
                        attempt,
                        "WeChat is busy (errcode -1); retrying"
                    );
                    tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn once<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WechatError> {
        let timeout = self.cfg.timeout;
        let transport = |message: String| WechatError::Transport { endpoint, message };
        let sent = tokio::time::timeout(timeout, async {
            let res = request.timeout(timeout).send().await?;
            let status = res.status();
            let bytes = res.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        })
        .await;
        let (status, bytes) = match sent {
            Err(_) => return Err(WechatError::Timeout { endpoint, timeout }),
            Ok(Err(e)) if e.is_timeout() => return Err(WechatError::Timeout { endpoint, timeout }),
            // The URL carries the app secret or the access token: never show it.
            Ok(Err(e)) => return Err(transport(e.without_url().to_string())),
            Ok(Ok(answer)) => answer,
        };
        if !status.is_success() {
            return Err(transport(format!("HTTP status {status}")));
        }
        // WeChat sends JSON, sometimes labelled text/plain: decode whatever the label says.
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| transport(format!("answer is not JSON ({e}), {} bytes", bytes.len())))?;
        let envelope: Envelope = serde_json::from_value(value.clone())
            .map_err(|e| transport(format!("unexpected errcode/errmsg ({e})")))?;
        if envelope.errcode != 0 {
            return Err(WechatError::Api {
                endpoint,
                errcode: envelope.errcode,
                errmsg: envelope.errmsg,
            });
        }
        serde_json::from_value(value)
            .map_err(|e| transport(format!("answer lacks the expected fields ({e})")))
    }
}
