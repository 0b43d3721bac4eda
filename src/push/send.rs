//! Sending one message to one channel, and reading what came back: the WeCom robot
//! (`/cgi-bin/webhook/send?key=`), the DingTalk robot (`/robot/send` signed with timestamp +
//! HMAC-SHA256 of the `SEC…` secret) and Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`). Every call has a timeout and follows no
//! redirect; the answer is sorted into an [`AttemptOutcome`] (retry, refused for good,
//! credentials refused) from the services' documented error codes.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::address::{self, Refusal};
use super::model::{AttemptOutcome, Credentials, Part};
use crate::config::push::PushConfig;

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: AttemptOutcome,
    pub http_status: Option<i32>,
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Answer {
    fn new(outcome: AttemptOutcome) -> Answer {
        Answer {
            outcome,
            http_status: None,
            errcode: None,
            error: None,
            duration_ms: 0,
        }
    }

    fn error(mut self, e: impl Into<String>) -> Answer {
        let mut e: String = e.into();
        if e.len() > 300 {
            let mut cut = 300;
            while !e.is_char_boundary(cut) {
                cut -= 1;
            }
            e.truncate(cut);
        }
        self.error = Some(e);
        self
    }
}

/// The outbound HTTP client of pushes (no redirects, the push timeout) and the settings.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    config: PushConfig,
}

fn client(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("dangke/", env!("CARGO_PKG_VERSION")))
}

impl Sender {
    pub fn new(config: PushConfig) -> anyhow::Result<Sender> {
        Ok(Sender {
            client: client(config.timeout).build()?,
            config,
        })
    }

    pub fn config(&self) -> &PushConfig {
        &self.config
    }

    /// Sends `part` (number `index` of the message `message_id`) through a channel.
    pub async fn send(
        &self,
        creds: &Credentials,
        url: Option<&str>,
        message_id: &str,
        index: i32,
        part: &Part,
        now: DateTime<Utc>,
    ) -> Answer {
        let started = Instant::now();
        let mut answer = match (creds, part) {
            (Credentials::WecomRobot { key }, Part::WecomMarkdown { content }) => {
                self.wecom(
                    key,
                    json!({"msgtype": "markdown", "markdown": {"content": content}}),
                )
                .await
            }
            (Credentials::WecomRobot { key }, Part::WecomImage { base64, md5 }) => {
                self.wecom(
                    key,
                    json!({"msgtype": "image", "image": {"base64": base64, "md5": md5}}),
                )
                .await
            }
            (
                Credentials::DingtalkRobot {
                    access_token,
                    secret,
                },
                Part::DingtalkMarkdown { title, text },
            ) => {
                let body =
                    json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}});
                self.dingtalk(access_token, secret, body, now).await
            }
            (Credentials::Webhook { secret }, Part::Webhook { event_type, data }) => {
                let id = if index == 0 {
                    message_id.to_string()
                } else {
                    format!("{message_id}_{index}")
                };
                let body = json!({"type": event_type, "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "data": data});
                self.webhook(url.unwrap_or_default(), secret, &id, &body, now)
                    .await
            }
            _ => Answer::new(AttemptOutcome::Failed)
                .error("this kind of message cannot go through this kind of channel"),
        };
        answer.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        answer
    }

    async fn wecom(&self, key: &str, body: Value) -> Answer {
        let url = format!("{}/cgi-bin/webhook/send", self.config.wecom_base);
        let req = self.client.post(url).query(&[("key", key)]).json(&body);
        robot_answer(req.send().await, |code| match code {
            -1 | 45009 => AttemptOutcome::Retry,
            93000 => AttemptOutcome::Broken,
            _ => AttemptOutcome::Failed,
        })
        .await
    }

    async fn dingtalk(&self, token: &str, secret: &str, body: Value, now: DateTime<Utc>) -> Answer {
        let ms = now.timestamp_millis().to_string();
        let sign = dingtalk_sign(secret, &ms);
        let url = format!("{}/robot/send", self.config.dingtalk_base);
        let req = self
            .client
            .post(url)
            .query(&[("access_token", token), ("timestamp", &ms), ("sign", &sign)])
            .json(&body);
        robot_answer(req.send().await, |code| match code {
            -1 | 130101 => AttemptOutcome::Retry,
            // 310000: signature, keyword or IP refused; 300001: no such token; 400102: the
            // robot was stopped.
            310000 | 300001 | 400102 => AttemptOutcome::Broken,
            _ => AttemptOutcome::Failed,
        })
        .await
    }

    async fn webhook(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Answer {
        let (parsed, host, addrs) = match address::check(url, &self.config.allow_nets).await {
            Ok(v) => v,
            Err(r @ Refusal::Unresolved(_)) => {
                return Answer::new(AttemptOutcome::Retry).error(r.message().1);
            }
            Err(r) => return Answer::new(AttemptOutcome::Refused).error(r.message().1),
        };
        // Connect to the addresses just checked, whatever a second lookup would say.
        let pinned = match client(self.config.timeout)
            .resolve_to_addrs(&host, &addrs)
            .build()
        {
            Ok(c) => c,
            Err(e) => return Answer::new(AttemptOutcome::Retry).error(e.to_string()),
        };
        let payload = body.to_string();
        let ts = now.timestamp().to_string();
        let Some(signature) = webhook_signature(secret, id, &ts, &payload) else {
            return Answer::new(AttemptOutcome::Broken)
                .error("the signing secret is not whsec_ base64");
        };
        let resp = pinned
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", &ts)
            .header("webhook-signature", signature)
            .body(payload)
            .send()
            .await;
        match resp {
            Err(e) => Answer::new(AttemptOutcome::Retry).error(transport_error(e)),
            Ok(r) => {
                let status = r.status();
                let mut a = Answer::new(match status.as_u16() {
                    200..=299 => AttemptOutcome::Sent,
                    408 | 425 | 429 | 500..=599 => AttemptOutcome::Retry,
                    _ => AttemptOutcome::Failed,
                });
                a.http_status = Some(i32::from(status.as_u16()));
                if a.outcome != AttemptOutcome::Sent {
                    let text = r.text().await.unwrap_or_default();
                    let why = if status.is_redirection() {
                        "redirects are not followed".to_string()
                    } else {
                        text.chars().take(200).collect()
                    };
                    a = a.error(format!("HTTP {}: {why}", status.as_u16()));
                }
                a
            }
        }
    }
}

/// What a `subscribeMessage.send` came to: sent; `43101` (the member refused, or has no
/// grant left on WeChat's side) refused for good; a bad openid, template, data or page
/// (`40003`, `40037`, `47003`, `41030`) failed for good; anything else (busy, a rejected
/// token, a timeout) tried again later.
pub fn wechat_answer(
    result: Result<(), crate::auth::wechat::client::WechatError>,
    duration_ms: i64,
) -> Answer {
    use crate::auth::wechat::client::WechatError;
    let mut answer = match result {
        Ok(()) => Answer::new(AttemptOutcome::Sent),
        Err(e) => {
            let outcome = match &e {
                WechatError::Api { errcode, .. } => match *errcode {
                    43101 => AttemptOutcome::Refused,
                    40003 | 40037 | 47003 | 41030 => AttemptOutcome::Failed,
                    _ => AttemptOutcome::Retry,
                },
                WechatError::Timeout { .. } | WechatError::Transport { .. } => {
                    AttemptOutcome::Retry
                }
            };
            let errcode = e.errcode();
            let mut a = Answer::new(outcome).error(e.to_string());
            a.errcode = errcode;
            a
        }
    };
    answer.duration_ms = duration_ms;
    answer
}

/// A failure before anything was sent (nothing to send it with), for good.
pub fn not_sent(reason: &str) -> Answer {
    Answer::new(AttemptOutcome::Failed).error(reason)
}

/// Why a request failed, without its URL: a robot's address carries its key
/// (`…/send?key=…`, `…?access_token=…`), and delivery errors are shown to organizers.
fn transport_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut why = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        why.push_str(": ");
        why.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {why}")
    } else {
        why
    }
}

/// Reads a WeCom/DingTalk answer: HTTP 200 with `{"errcode", "errmsg"}`.
async fn robot_answer(
    resp: Result<reqwest::Response, reqwest::Error>,
    classify: impl Fn(i64) -> AttemptOutcome,
) -> Answer {
    let r = match resp {
        Err(e) => return Answer::new(AttemptOutcome::Retry).error(transport_error(e)),
        Ok(r) => r,
    };
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    if !status.is_success() {
        let outcome = match status.as_u16() {
            408 | 425 | 429 | 500..=599 => AttemptOutcome::Retry,
            _ => AttemptOutcome::Failed,
        };
        let mut a = Answer::new(outcome).error(format!(
            "HTTP {}: {}",
            status.as_u16(),
            text.chars().take(200).collect::<String>()
        ));
        a.http_status = Some(i32::from(status.as_u16()));
        return a;
    }
    let parsed: Option<(i64, String)> = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        Some((
            v.get("errcode")?.as_i64()?,
            v.get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ))
    });
    let mut a = match parsed {
        None => Answer::new(AttemptOutcome::Retry).error(format!(
            "an answer that is not the service's JSON: {}",
            text.chars().take(200).collect::<String>()
        )),
        Some((0, _)) => {
            let mut a = Answer::new(AttemptOutcome::Sent);
            a.errcode = Some(0);
            a
        }
        Some((code, msg)) => {
            let mut a = Answer::new(classify(code)).error(format!("errcode {code}: {msg}"));
            a.errcode = Some(code);
            a
        }
    };
    a.http_status = Some(i32::from(status.as_u16()));
    a
}

/// DingTalk's `sign`: base64(HMAC-SHA256(key = secret, message = ms + "\n" + secret)) (the
/// query encoder URL-encodes it).
pub fn dingtalk_sign(secret: &str, ms: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{ms}\n{secret}").as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The Standard Webhooks signature header: `v1,` + base64(HMAC-SHA256(secret bytes,
/// id.timestamp.body)); `None` when the secret is not `whsec_` + base64.
pub fn webhook_signature(secret: &str, id: &str, ts: &str, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_reference_signature() {
        // The example of the Standard Webhooks specification's reference libraries.
        let sig = webhook_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(webhook_signature("nope", "a", "1", "{}"), None);
    }

    #[test]
    fn dingtalk_sign_is_hmac_of_timestamp_and_secret() {
        let s = dingtalk_sign("SECtest", "1700000000000");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"SECtest").unwrap();
        mac.update(b"1700000000000\nSECtest");
        assert_eq!(s, STANDARD.encode(mac.finalize().into_bytes()));
    }
}
