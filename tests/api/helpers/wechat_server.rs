//! A loopback WeChat server: a real HTTP server on 127.0.0.1 that answers
//! `GET /sns/jscode2session`, `POST /cgi-bin/stable_token` and
//! `POST /wxa/business/getuserphonenumber` and `POST /cgi-bin/message/subscribe/send` in
//! WeChat's documented shapes and error codes.
//!
//! It checks the appid and secret (40013 / 40125), treats login and phone codes as
//! single-use (40029 unknown, 40163 used login code), issues access tokens that expire on
//! the test clock (42001 expired, 40001 unknown or replaced by a forced refresh), counts
//! calls per endpoint, and plays scripted failures: "the next N calls of endpoint E answer
//! errcode X / sleep D first / answer something that is not JSON".
//!
//! Subscription messages: the test grants (openid, template) one-time subscriptions as the
//! phone's `wx.requestSubscribeMessage` would; each accepted message spends one, a message
//! without one answers `43101`, and `thing` values over 20 characters answer `47003`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use dangke::clock::{Clock, ManualClock};
use serde::Deserialize;
use serde_json::{Value, json};

pub const APPID: &str = "wx5eb1e0c4b0test0";
pub const SECRET: &str = "loopback-app-secret-0123456789ab";

/// The three endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    JsCode2Session,
    StableToken,
    PhoneNumber,
    SubscribeSend,
}

/// What a scripted call does.
#[derive(Debug, Clone)]
pub enum Script {
    /// Answers `{"errcode": X, "errmsg": ...}` (the code is not consumed).
    Errcode(i64),
    /// Sleeps this long, then answers normally.
    Sleep(Duration),
    /// Answers an HTML error page with status 200.
    NotJson,
}

struct Token {
    value: String,
    expires_at: i64,
    revoked: bool,
}

#[derive(Default)]
struct State {
    logins: HashMap<String, (String, Option<String>)>,
    phones: HashMap<String, (String, String)>,
    used: HashSet<String>,
    tokens: Vec<Token>,
    token_ttl: i64,
    scripts: HashMap<Endpoint, VecDeque<Script>>,
    calls: HashMap<Endpoint, usize>,
    forced_refreshes: usize,
    session_keys: Vec<String>,
    serial: u64,
    /// One-time subscriptions left per (openid, template).
    grants: HashMap<(String, String), u32>,
    /// Subscription messages accepted, in order.
    sent: Vec<Value>,
    /// Subscription messages refused with 43101 (no grant).
    refused: usize,
}

struct Inner {
    clock: Arc<ManualClock>,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Counts the call and runs its script, if any; `Some` is the answer to send.
    async fn enter(&self, endpoint: Endpoint) -> Option<HttpResponse> {
        let script = {
            let mut s = self.lock();
            *s.calls.entry(endpoint).or_default() += 1;
            s.scripts.get_mut(&endpoint).and_then(VecDeque::pop_front)
        };
        match script {
            None => None,
            Some(Script::Sleep(d)) => {
                tokio::time::sleep(d).await;
                None
            }
            Some(Script::Errcode(code)) => Some(error(code, "scripted failure")),
            Some(Script::NotJson) => Some(
                HttpResponse::Ok()
                    .content_type("text/html")
                    .body("<html><body>502 Bad Gateway</body></html>"),
            ),
        }
    }
}

fn error(errcode: i64, errmsg: &str) -> HttpResponse {
    // WeChat labels its JSON text/plain; the client must not care.
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(json!({"errcode": errcode, "errmsg": errmsg}).to_string())
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(body.to_string())
}

fn check_credentials(appid: Option<&str>, secret: Option<&str>) -> Option<HttpResponse> {
    if appid != Some(APPID) {
        return Some(error(40013, "invalid appid"));
    }
    if secret != Some(SECRET) {
        return Some(error(40125, "invalid appsecret"));
    }
    None
}

async fn jscode2session(
    inner: web::Data<Inner>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    if let Some(r) = inner.enter(Endpoint::JsCode2Session).await {
        return r;
    }
    let get = |k: &str| q.get(k).map(String::as_str);
    if let Some(r) = check_credentials(get("appid"), get("secret")) {
        return r;
    }
    if get("grant_type") != Some("authorization_code") {
        return error(40002, "invalid grant_type");
    }
    let Some(code) = get("js_code") else {
        return error(41008, "missing code");
    };
    let mut s = inner.lock();
    if s.used.contains(code) {
        return error(40163, "code been used");
    }
    let Some((openid, unionid)) = s.logins.get(code).cloned() else {
        return error(40029, "invalid code");
    };
    s.used.insert(code.to_string());
    s.serial += 1;
    let session_key = format!("sk{}{}", s.serial, uuid::Uuid::new_v4().simple());
    s.session_keys.push(session_key.clone());
    let mut body =
        json!({"openid": openid, "session_key": session_key, "errcode": 0, "errmsg": "ok"});
    if let Some(u) = unionid {
        body["unionid"] = json!(u);
    }
    ok(body)
}

#[derive(Deserialize)]
struct StableTokenBody {
    grant_type: String,
    appid: String,
    secret: String,
    #[serde(default)]
    force_refresh: bool,
}

async fn stable_token(inner: web::Data<Inner>, body: web::Bytes) -> HttpResponse {
    if let Some(r) = inner.enter(Endpoint::StableToken).await {
        return r;
    }
    let Ok(b) = serde_json::from_slice::<StableTokenBody>(&body) else {
        return error(47001, "data format error");
    };
    if let Some(r) = check_credentials(Some(&b.appid), Some(&b.secret)) {
        return r;
    }
    if b.grant_type != "client_credential" {
        return error(40002, "invalid grant_type");
    }
    let now = inner.now();
    let mut s = inner.lock();
    // Normal mode returns the current token until its last five minutes.
    if !b.force_refresh
        && let Some(t) = s
            .tokens
            .iter()
            .rev()
            .find(|t| !t.revoked && t.expires_at - now > 300)
    {
        return ok(json!({"access_token": t.value, "expires_in": t.expires_at - now}));
    }
    if b.force_refresh {
        s.forced_refreshes += 1;
        for t in &mut s.tokens {
            t.revoked = true;
        }
    }
    s.serial += 1;
    let value = format!(
        "ACCESS_TOKEN_{}_{}",
        s.serial,
        uuid::Uuid::new_v4().simple()
    );
    let ttl = s.token_ttl;
    s.tokens.push(Token {
        value: value.clone(),
        expires_at: now + ttl,
        revoked: false,
    });
    ok(json!({"access_token": value, "expires_in": ttl}))
}

async fn getuserphonenumber(
    inner: web::Data<Inner>,
    q: web::Query<HashMap<String, String>>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(r) = inner.enter(Endpoint::PhoneNumber).await {
        return r;
    }
    let now = inner.now();
    let mut s = inner.lock();
    let Some(token) = q.get("access_token") else {
        return error(41001, "access_token missing");
    };
    match s.tokens.iter().find(|t| &t.value == token) {
        None => {
            return error(
                40001,
                "invalid credential, access_token is invalid or not latest",
            );
        }
        Some(t) if t.revoked => {
            return error(
                40001,
                "invalid credential, access_token is invalid or not latest",
            );
        }
        Some(t) if t.expires_at <= now => return error(42001, "access_token expired"),
        Some(_) => {}
    }
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned));
    let Some(code) = code else {
        return error(47001, "data format error");
    };
    if s.used.contains(&code) {
        return error(40029, "invalid code");
    }
    let Some((pure, country)) = s.phones.get(&code).cloned() else {
        return error(40029, "invalid code");
    };
    s.used.insert(code);
    let full = if country == "86" {
        pure.clone()
    } else {
        format!("+{country}{pure}")
    };
    ok(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": full,
            "purePhoneNumber": pure,
            "countryCode": country,
            "watermark": {"timestamp": now, "appid": APPID},
        },
    }))
}

/// The token check every token-taking endpoint makes.
fn check_token(s: &State, q: &HashMap<String, String>, now: i64) -> Option<HttpResponse> {
    let Some(token) = q.get("access_token") else {
        return Some(error(41001, "access_token missing"));
    };
    match s.tokens.iter().find(|t| &t.value == token) {
        None => Some(error(
            40001,
            "invalid credential, access_token is invalid or not latest",
        )),
        Some(t) if t.revoked => Some(error(
            40001,
            "invalid credential, access_token is invalid or not latest",
        )),
        Some(t) if t.expires_at <= now => Some(error(42001, "access_token expired")),
        Some(_) => None,
    }
}

async fn subscribe_send(
    inner: web::Data<Inner>,
    q: web::Query<HashMap<String, String>>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(r) = inner.enter(Endpoint::SubscribeSend).await {
        return r;
    }
    let now = inner.now();
    let mut s = inner.lock();
    if let Some(r) = check_token(&s, &q, now) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(47001, "data format error");
    };
    let (Some(touser), Some(template)) = (v["touser"].as_str(), v["template_id"].as_str()) else {
        return error(47001, "data format error");
    };
    if !matches!(
        v["miniprogram_state"].as_str(),
        None | Some("formal" | "trial" | "developer")
    ) {
        return error(47001, "data format error");
    }
    let Some(data) = v["data"].as_object() else {
        return error(47003, "argument invalid! data.thing invalid");
    };
    for (k, field) in data {
        let Some(value) = field["value"].as_str() else {
            return error(47003, "argument invalid! data invalid");
        };
        if k.starts_with("thing") && value.chars().count() > 20 {
            return error(
                47003,
                "argument invalid! data.thing.value exceeds 20 characters",
            );
        }
    }
    let key = (touser.to_string(), template.to_string());
    match s.grants.get_mut(&key) {
        Some(n) if *n > 0 => *n -= 1,
        _ => {
            s.refused += 1;
            return error(43101, "user refuse to accept the msg");
        }
    }
    s.sent.push(v);
    ok(json!({"errcode": 0, "errmsg": "ok"}))
}

/// A running loopback WeChat server.
pub struct WechatServer {
    pub base: String,
    inner: web::Data<Inner>,
    handle: actix_web::dev::ServerHandle,
}

impl WechatServer {
    /// Starts the server on a free loopback port; token expiry follows `clock`.
    pub async fn start(clock: Arc<ManualClock>) -> WechatServer {
        let inner = web::Data::new(Inner {
            clock,
            state: Mutex::new(State {
                token_ttl: 7200,
                ..State::default()
            }),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback WeChat");
        let port = listener.local_addr().expect("local addr").port();
        let data = inner.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/sns/jscode2session", web::get().to(jscode2session))
                .route("/cgi-bin/stable_token", web::post().to(stable_token))
                .route(
                    "/wxa/business/getuserphonenumber",
                    web::post().to(getuserphonenumber),
                )
                .route(
                    "/cgi-bin/message/subscribe/send",
                    web::post().to(subscribe_send),
                )
        })
        .listen(listener)
        .expect("listen")
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        WechatServer {
            base: format!("http://127.0.0.1:{port}"),
            inner,
            handle,
        }
    }

    /// The app settings that point at this server.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DANGKE_WECHAT_APPID", APPID.to_string()),
            ("DANGKE_WECHAT_SECRET", SECRET.to_string()),
            ("DANGKE_WECHAT_API_BASE", self.base.clone()),
        ]
    }

    /// `js_code` logs in as `openid` (and `unionid`), once.
    pub fn add_login(&self, js_code: &str, openid: &str, unionid: Option<&str>) {
        self.inner.lock().logins.insert(
            js_code.to_string(),
            (openid.to_string(), unionid.map(str::to_owned)),
        );
    }

    /// The phone-number `code` stands for this mainland number, once.
    pub fn add_phone(&self, code: &str, phone: &str) {
        self.add_phone_in(code, phone, "86");
    }

    /// The phone-number `code` stands for this number in `country_code`, once.
    pub fn add_phone_in(&self, code: &str, pure: &str, country_code: &str) {
        self.inner.lock().phones.insert(
            code.to_string(),
            (pure.to_string(), country_code.to_string()),
        );
    }

    /// The next `n` calls of `endpoint` do `script`.
    pub fn script(&self, endpoint: Endpoint, n: usize, script: Script) {
        let mut s = self.inner.lock();
        let queue = s.scripts.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(script, n));
    }

    /// The next `n` calls of `endpoint` answer `errcode`.
    pub fn fail_next(&self, endpoint: Endpoint, n: usize, errcode: i64) {
        self.script(endpoint, n, Script::Errcode(errcode));
    }

    /// The next `n` calls of `endpoint` sleep `d` before answering.
    pub fn delay_next(&self, endpoint: Endpoint, n: usize, d: Duration) {
        self.script(endpoint, n, Script::Sleep(d));
    }

    /// Lifetime in seconds of the access tokens issued from now on.
    pub fn set_token_ttl(&self, secs: i64) {
        self.inner.lock().token_ttl = secs;
    }

    /// Invalidates every issued access token (as a forced refresh by someone else would).
    pub fn revoke_tokens(&self) {
        for t in &mut self.inner.lock().tokens {
            t.revoked = true;
        }
    }

    /// Calls received by `endpoint` so far.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.inner.lock().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// `stable_token` calls with `force_refresh: true` that issued a token.
    pub fn forced_refreshes(&self) -> usize {
        self.inner.lock().forced_refreshes
    }

    /// The member `openid` accepted `n` more one-time subscriptions of `template`.
    pub fn grant(&self, openid: &str, template: &str, n: u32) {
        *self
            .inner
            .lock()
            .grants
            .entry((openid.to_string(), template.to_string()))
            .or_default() += n;
    }

    /// One-time subscriptions `openid` has left for `template`.
    pub fn grants_left(&self, openid: &str, template: &str) -> u32 {
        self.inner
            .lock()
            .grants
            .get(&(openid.to_string(), template.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Subscription messages accepted so far (the request bodies).
    pub fn sent(&self) -> Vec<Value> {
        self.inner.lock().sent.clone()
    }

    /// Subscription messages refused for want of a grant (43101).
    pub fn refused(&self) -> usize {
        self.inner.lock().refused
    }

    /// Every `session_key` handed out (they must never reach the phone).
    pub fn session_keys(&self) -> Vec<String> {
        self.inner.lock().session_keys.clone()
    }
}

impl Drop for WechatServer {
    fn drop(&mut self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let handle = self.handle.clone();
            rt.spawn(async move { handle.stop(false).await });
        }
    }
}
