//! Loopback push receivers: a real HTTP server on 127.0.0.1 that plays the three outside
//! services the app pushes messages to, in their documented shapes and error codes.
//!
//! - WeCom group robot, `POST /cgi-bin/webhook/send?key=KEY`: text (≤ 2,048 bytes),
//!   markdown (≤ 4,096 bytes) and image (base64 + md5, PNG or JPEG, ≤ 2 MB) messages;
//!   93000 unknown key, 40008 bad JSON or message type, 40058 bad content or image,
//!   301019 md5 mismatch, 45009 more than 20 messages a minute.
//! - DingTalk custom robot, `POST /robot/send?access_token=T&timestamp=MS&sign=S` with
//!   "sign" security: 300001 unknown token, 310000 bad sign or timestamp more than an hour
//!   off, 40035 missing parameter, 130101 more than 20 messages a minute.
//! - A Standard Webhooks 1.0 endpoint, `POST /hooks/{name}`: 401 missing headers or bad
//!   signature, 400 timestamp more than five minutes off or body not JSON, 200 for a
//!   `webhook-id` already accepted (counted as a duplicate), 204 accepted.
//!
//! Time ("the last minute", timestamp windows, [`Received::at`]) is the test clock's. Every
//! request is counted per [`Target`]; accepted messages, rejections and duplicates are kept
//! for the test to inspect. Scripted replies ("the next calls of this target answer status
//! S / errcode X / sleep D first") and a down switch (every request answers 503) play the
//! failures a sender must survive.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dangke::clock::Clock;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest WeCom text message content, in UTF-8 bytes.
pub const WECOM_TEXT_MAX: usize = 2048;
/// Longest WeCom markdown message content, in UTF-8 bytes.
pub const WECOM_MARKDOWN_MAX: usize = 4096;
/// Largest WeCom image, in decoded bytes.
pub const WECOM_IMAGE_MAX: usize = 2 * 1024 * 1024;
/// Messages a WeCom key or DingTalk token may have accepted within [`RATE_WINDOW_SECS`].
pub const RATE_LIMIT: usize = 20;
/// The rate-limit window, in seconds of the receiver's clock.
pub const RATE_WINDOW_SECS: i64 = 60;
/// How far a DingTalk `timestamp` may be from the receiver's clock, in milliseconds.
pub const DINGTALK_SKEW_MS: i64 = 3_600_000;
/// How far a `webhook-timestamp` may be from the receiver's clock, in seconds.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// Largest request body read (above every limit, so oversized images get WeCom's answer
/// rather than a framework 413).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

const PNG_SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const JPEG_SOI: &[u8] = &[0xFF, 0xD8];

/// Where a message goes: a WeCom robot key, a DingTalk robot token or a webhook name.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Target {
    Wecom(String),
    DingTalk(String),
    Webhook(String),
}

/// What a scripted call does.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers this HTTP status with a small text body (not accepted).
    Status(u16),
    /// Answers HTTP 200 with `{"errcode": X, "errmsg": "scripted"}` (not accepted).
    Errcode(i64),
    /// Sleeps this long, then handles the request normally.
    Sleep(Duration),
}

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request body, parsed.
    pub body: Value,
    /// The request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// When it arrived, in Unix seconds of the receiver's clock.
    pub at: i64,
}

impl Received {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Record {
    calls: usize,
    accepted: Vec<Received>,
    duplicates: usize,
    rejected: Vec<i64>,
    seen_ids: HashSet<String>,
}

#[derive(Default)]
struct State {
    down: bool,
    wecom_keys: HashSet<String>,
    /// token → secret
    dingtalk: HashMap<String, String>,
    /// name → secret bytes
    webhooks: HashMap<String, Vec<u8>>,
    scripts: HashMap<Target, VecDeque<Reply>>,
    records: HashMap<Target, Record>,
}

impl State {
    fn record(&mut self, target: &Target) -> &mut Record {
        self.records.entry(target.clone()).or_default()
    }
}

struct Inner {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the call, answers 503 while down, and runs its script, if any; `Some` is the
    /// answer to send.
    async fn enter(&self, target: &Target) -> Option<HttpResponse> {
        let reply = {
            let mut s = self.lock();
            let down = s.down;
            let record = s.record(target);
            record.calls += 1;
            if down {
                record.rejected.push(503);
                return Some(status(503, "service unavailable"));
            }
            s.scripts.get_mut(target).and_then(VecDeque::pop_front)
        };
        match reply {
            None => None,
            Some(Reply::Sleep(d)) => {
                tokio::time::sleep(d).await;
                None
            }
            Some(Reply::Status(code)) => {
                Some(self.reject_status(target, code, &format!("scripted status {code}")))
            }
            Some(Reply::Errcode(code)) => Some(self.reject_errcode(target, code, "scripted")),
        }
    }

    fn reject_errcode(&self, target: &Target, errcode: i64, errmsg: &str) -> HttpResponse {
        self.lock().record(target).rejected.push(errcode);
        errcode_reply(errcode, errmsg)
    }

    fn reject_status(&self, target: &Target, code: u16, text: &str) -> HttpResponse {
        self.lock().record(target).rejected.push(i64::from(code));
        status(code, text)
    }

    /// Accepts a robot message unless the target already accepted [`RATE_LIMIT`] within
    /// the window, in which case it answers `limit_errcode`.
    fn accept_limited(
        &self,
        target: &Target,
        received: Received,
        limit_errcode: i64,
        limit_errmsg: &str,
    ) -> HttpResponse {
        let mut s = self.lock();
        let record = s.record(target);
        let now = received.at;
        let recent = record
            .accepted
            .iter()
            .filter(|r| r.at > now - RATE_WINDOW_SECS)
            .count();
        if recent >= RATE_LIMIT {
            record.rejected.push(limit_errcode);
            return errcode_reply(limit_errcode, limit_errmsg);
        }
        record.accepted.push(received);
        errcode_reply(0, "ok")
    }
}

fn errcode_reply(errcode: i64, errmsg: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json!({"errcode": errcode, "errmsg": errmsg}).to_string())
}

fn status(code: u16, text: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("text/plain")
        .body(text.to_string())
}

/// The query string, URL-decoded, last value of a repeated name winning.
fn query(req: &HttpRequest) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn headers(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Checks a WeCom message; `Err` is the errcode and errmsg to answer.
fn check_wecom(v: &Value) -> Result<(), (i64, String)> {
    match v["msgtype"].as_str() {
        Some("text") => check_content(&v["text"]["content"], "text.content", WECOM_TEXT_MAX),
        Some("markdown") => check_content(
            &v["markdown"]["content"],
            "markdown.content",
            WECOM_MARKDOWN_MAX,
        ),
        Some("image") => check_image(&v["image"]),
        _ => Err((40008, "invalid message type".to_string())),
    }
}

fn check_content(content: &Value, field: &str, max: usize) -> Result<(), (i64, String)> {
    match content.as_str() {
        None | Some("") => Err((
            40058,
            format!("invalid parameter: {field} missing or empty"),
        )),
        Some(c) if c.len() > max => Err((
            40058,
            format!("invalid parameter: {field} exceed max length {max}"),
        )),
        Some(_) => Ok(()),
    }
}

fn check_image(image: &Value) -> Result<(), (i64, String)> {
    let bad = |why: &str| Err((40058, format!("invalid parameter: image {why}")));
    let (Some(b64), Some(md5)) = (image["base64"].as_str(), image["md5"].as_str()) else {
        return bad("base64 or md5 missing");
    };
    let Ok(bytes) = STANDARD.decode(b64) else {
        return bad("base64 invalid");
    };
    if bytes.is_empty() {
        return bad("empty");
    }
    if bytes.len() > WECOM_IMAGE_MAX {
        return bad("larger than 2MB");
    }
    if hex::encode(Md5::digest(&bytes)) != md5 {
        return Err((301019, "media md5 not match".to_string()));
    }
    if !bytes.starts_with(PNG_SIGNATURE) && !bytes.starts_with(JPEG_SOI) {
        return bad("not png or jpg");
    }
    Ok(())
}

/// Checks a DingTalk message: text with content, or markdown with title and text.
fn check_dingtalk(v: &Value) -> bool {
    let present = |x: &Value| x.as_str().is_some_and(|s| !s.is_empty());
    match v["msgtype"].as_str() {
        Some("text") => present(&v["text"]["content"]),
        Some("markdown") => present(&v["markdown"]["title"]) && present(&v["markdown"]["text"]),
        _ => false,
    }
}

async fn wecom(inner: web::Data<Inner>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let key = query(&req).remove("key").unwrap_or_default();
    let target = Target::Wecom(key.clone());
    if let Some(r) = inner.enter(&target).await {
        return r;
    }
    if !inner.lock().wecom_keys.contains(&key) {
        return inner.reject_errcode(&target, 93000, "invalid webhook url");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return inner.reject_errcode(&target, 40008, "invalid message type");
    };
    if let Err((code, msg)) = check_wecom(&v) {
        return inner.reject_errcode(&target, code, &msg);
    }
    let received = Received {
        body: v,
        headers: headers(&req),
        at: inner.clock.now().timestamp(),
    };
    inner.accept_limited(&target, received, 45009, "api freq out of limit")
}

async fn dingtalk(inner: web::Data<Inner>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let q = query(&req);
    let token = q.get("access_token").cloned().unwrap_or_default();
    let target = Target::DingTalk(token.clone());
    if let Some(r) = inner.enter(&target).await {
        return r;
    }
    let Some(secret) = inner.lock().dingtalk.get(&token).cloned() else {
        return inner.reject_errcode(&target, 300001, "token is not exist");
    };
    let now_ms = inner.clock.now().timestamp_millis();
    let timestamp = q.get("timestamp").and_then(|t| t.parse::<i64>().ok());
    let signed = match (timestamp, q.get("sign")) {
        (Some(ts), Some(sign)) => {
            (now_ms - ts).abs() <= DINGTALK_SKEW_MS && *sign == dingtalk_sign(&secret, ts)
        }
        _ => false,
    };
    if !signed {
        return inner.reject_errcode(&target, 310000, "sign not match");
    }
    let v = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if !check_dingtalk(&v) {
        return inner.reject_errcode(&target, 40035, "missing parameter");
    }
    let received = Received {
        body: v,
        headers: headers(&req),
        at: now_ms.div_euclid(1000),
    };
    inner.accept_limited(&target, received, 130101, "send too fast")
}

async fn webhook(
    inner: web::Data<Inner>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let name = name.into_inner();
    let target = Target::Webhook(name.clone());
    if let Some(r) = inner.enter(&target).await {
        return r;
    }
    let Some(secret) = inner.lock().webhooks.get(&name).cloned() else {
        return inner.reject_status(&target, 404, "no such webhook");
    };
    let (Some(id), Some(ts), Some(sigs)) = (
        header(&req, "webhook-id"),
        header(&req, "webhook-timestamp"),
        header(&req, "webhook-signature"),
    ) else {
        return inner.reject_status(&target, 401, "missing webhook headers");
    };
    let Ok(timestamp) = ts.trim().parse::<i64>() else {
        return inner.reject_status(&target, 400, "invalid webhook-timestamp");
    };
    if !webhook_signature_matches(&secret, id, ts, &body, sigs) {
        return inner.reject_status(&target, 401, "no matching signature");
    }
    let now = inner.clock.now().timestamp();
    if (now - timestamp).abs() > WEBHOOK_TOLERANCE_SECS {
        return inner.reject_status(&target, 400, "message timestamp too old or too new");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return inner.reject_status(&target, 400, "body is not JSON");
    };
    let mut s = inner.lock();
    let record = s.record(&target);
    if !record.seen_ids.insert(id.to_string()) {
        record.duplicates += 1;
        return status(200, "duplicate");
    }
    record.accepted.push(Received {
        body: v,
        headers: headers(&req),
        at: now,
    });
    HttpResponse::NoContent().finish()
}

fn webhook_mac(secret: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Whether any `v1,<base64>` entry of the space-separated `header` signs the message.
fn webhook_signature_matches(
    secret: &[u8],
    id: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
) -> bool {
    let mac = webhook_mac(secret, id, timestamp, body);
    header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok())
}

/// The secret bytes of a `whsec_<base64>` secret (the prefix is optional).
fn whsec_bytes(whsec: &str) -> Vec<u8> {
    let b64 = whsec.strip_prefix("whsec_").unwrap_or(whsec);
    STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("webhook secret {whsec:?} is not whsec_<base64>: {e}"))
}

/// DingTalk's signature of `timestamp_ms` for `secret`: base64 of
/// HMAC-SHA256(key = secret, message = timestamp + "\n" + secret), before URL-encoding.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The `webhook-signature` header value (`v1,<base64>`) for a Standard Webhooks message.
pub fn webhook_signature(whsec: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = webhook_mac(&whsec_bytes(whsec), id, &timestamp.to_string(), body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// A well-formed WeCom image message for these bytes (base64 and lowercase-hex md5).
pub fn wecom_image_message(bytes: &[u8]) -> Value {
    json!({
        "msgtype": "image",
        "image": {"base64": STANDARD.encode(bytes), "md5": hex::encode(Md5::digest(bytes))},
    })
}

/// The running receivers.
pub struct PushReceivers {
    base: String,
    inner: Arc<Inner>,
    handle: actix_web::dev::ServerHandle,
}

impl PushReceivers {
    /// Starts the receivers on a free loopback port; they judge time by `clock`.
    pub async fn start(clock: Arc<dyn Clock>) -> PushReceivers {
        let inner = Arc::new(Inner {
            clock,
            state: Mutex::new(State::default()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback push receivers");
        let port = listener.local_addr().expect("local addr").port();
        let data = web::Data::from(inner.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .route("/cgi-bin/webhook/send", web::post().to(wecom))
                .route("/robot/send", web::post().to(dingtalk))
                .route("/hooks/{name}", web::post().to(webhook))
        })
        .listen(listener)
        .expect("listen")
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        PushReceivers {
            base: format!("http://127.0.0.1:{port}"),
            inner,
            handle,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        self.base.clone()
    }

    /// The WeCom robot URL for `key` (as copied from the WeCom group settings).
    pub fn wecom_url(&self, key: &str) -> String {
        format!("{}/cgi-bin/webhook/send?key={key}", self.base)
    }

    /// The DingTalk robot URL for `token`, without `timestamp` and `sign`.
    pub fn dingtalk_url(&self, token: &str) -> String {
        format!("{}/robot/send?access_token={token}", self.base)
    }

    /// The Standard Webhooks endpoint `name`.
    pub fn webhook_url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base)
    }

    /// Registers a WeCom robot key.
    pub fn add_wecom_key(&self, key: &str) {
        self.inner.lock().wecom_keys.insert(key.to_string());
    }

    /// Registers a DingTalk robot token with its `SEC...` signing secret.
    pub fn add_dingtalk(&self, token: &str, secret: &str) {
        self.inner
            .lock()
            .dingtalk
            .insert(token.to_string(), secret.to_string());
    }

    /// Registers webhook endpoint `name` with its `whsec_<base64>` secret.
    pub fn add_webhook(&self, name: &str, whsec: &str) {
        let bytes = whsec_bytes(whsec);
        self.inner.lock().webhooks.insert(name.to_string(), bytes);
    }

    /// The next calls of `target` do `replies`, one each, after any already scripted.
    pub fn script(&self, target: Target, replies: Vec<Reply>) {
        self.inner
            .lock()
            .scripts
            .entry(target)
            .or_default()
            .extend(replies);
    }

    /// While down, every request answers 503 (and is still counted).
    pub fn set_down(&self, down: bool) {
        self.inner.lock().down = down;
    }

    /// Requests that reached `target`'s route, failed ones included.
    pub fn calls(&self, target: &Target) -> usize {
        self.inner.lock().records.get(target).map_or(0, |r| r.calls)
    }

    /// Messages `target` accepted, in order of arrival.
    pub fn accepted(&self, target: &Target) -> Vec<Received> {
        self.inner
            .lock()
            .records
            .get(target)
            .map(|r| r.accepted.clone())
            .unwrap_or_default()
    }

    /// Valid webhook messages whose `webhook-id` had already been accepted.
    pub fn duplicates(&self, target: &Target) -> usize {
        self.inner
            .lock()
            .records
            .get(target)
            .map_or(0, |r| r.duplicates)
    }

    /// Errcodes (robots) or HTTP statuses (webhooks, 503 while down, scripted statuses)
    /// answered to `target`'s failed requests, in order.
    pub fn rejected(&self, target: &Target) -> Vec<i64> {
        self.inner
            .lock()
            .records
            .get(target)
            .map(|r| r.rejected.clone())
            .unwrap_or_default()
    }

    /// Waits (polling every 20 ms) until `target` accepted at least `n` messages; panics
    /// after `timeout` with what it did receive.
    pub async fn wait_accepted(
        &self,
        target: &Target,
        n: usize,
        timeout: Duration,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.accepted(target);
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "{target:?}: waited {timeout:?} for {n} accepted messages, got {}; \
                     calls {}, rejected {:?}, duplicates {}",
                    got.len(),
                    self.calls(target),
                    self.rejected(target),
                    self.duplicates(target),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PushReceivers {
    fn drop(&mut self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let handle = self.handle.clone();
            rt.spawn(async move { handle.stop(false).await });
        }
    }
}
