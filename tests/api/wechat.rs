//! WeChat mini-program login with phone binding, against a loopback WeChat server: binding
//! by phone, direct login afterwards, every WeChat error the phone can see, retries on
//! "busy", timeouts, and the shared access token (cached, refreshed before expiry, fetched
//! once across instances).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use dangke::clock::ManualClock;
use serde_json::{Value, json};

use crate::helpers::wechat_server::{Endpoint, Script, WechatServer};
use crate::helpers::world::PASSWORD;
use crate::helpers::{Client, Options, Resp, TestApp, spawn, spawn_with, start_time};

const MEMBER_A: &str = "13900000003";
const SECRETARY_A: &str = "13900000001";
const COMMITTEE_A: &str = "13900000002";
const ORGANIZER_B: &str = "13900000004";
const COUNTY_ADMIN: &str = "13900000000";

/// An app configured for the loopback WeChat server, both on one clock.
pub(crate) async fn setup_with(vars: Vec<(&'static str, String)>) -> (TestApp, WechatServer) {
    let clock = Arc::new(ManualClock::new(start_time()));
    let wx = WechatServer::start(clock.clone()).await;
    let mut all = wx.vars();
    all.extend(vars);
    let app = spawn_with(Options {
        vars: all,
        clock: Some(clock),
        ..Options::default()
    })
    .await;
    (app, wx)
}

pub(crate) async fn setup() -> (TestApp, WechatServer) {
    setup_with(Vec::new()).await
}

pub(crate) async fn login(c: &Client, code: &str) -> Resp {
    c.post("/v1/auth/wechat", json!({ "code": code })).await
}

/// A bind as the mini-program sends it once the person typed their password: the world's
/// people all have one (and most hold roles), and WeChat vouching for a phone number alone
/// never binds such an account (see `security.rs`). Accounts that need no password ignore it.
pub(crate) async fn bind(c: &Client, bind_token: &str, phone_code: &str) -> Resp {
    c.post(
        "/v1/auth/wechat/bind",
        json!({ "bind_token": bind_token, "phone_code": phone_code, "password": PASSWORD }),
    )
    .await
}

/// Logs in as a new WeChat account and returns its bind token.
pub(crate) async fn bind_token_for(
    app: &TestApp,
    wx: &WechatServer,
    js_code: &str,
    openid: &str,
) -> String {
    wx.add_login(js_code, openid, None);
    let r = login(&app.client(), js_code).await;
    r.expect(200);
    let body = r.json();
    assert_eq!(body["status"], "bind_required", "{body}");
    body["bind_token"].as_str().unwrap().to_string()
}

/// A whole first login of a new WeChat account for `phone`; returns the bind answer.
pub(crate) async fn first_login(app: &TestApp, wx: &WechatServer, tag: &str, phone: &str) -> Resp {
    let token = bind_token_for(app, wx, &format!("js-{tag}"), &format!("openid-{tag}")).await;
    wx.add_phone(&format!("ph-{tag}"), phone);
    bind(&app.client(), &token, &format!("ph-{tag}")).await
}

async fn audit_count(app: &TestApp, wanted: &'static str) -> i64 {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::audit_log::dsl::*;
            use diesel::prelude::*;
            Ok(audit_log
                .filter(action.eq(wanted))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap()
}

pub(crate) async fn wechat_ids(app: &TestApp, user_id: i64) -> (Option<String>, Option<String>) {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::users::dsl::*;
            use diesel::prelude::*;
            Ok(users
                .find(user_id)
                .select((wechat_openid, wechat_unionid))
                .first(c)?)
        })
        .await
        .unwrap()
}

/// 5xx bodies say nothing about the cause.
fn assert_opaque(body: &Value) {
    assert_eq!(body["detail"], body["title"], "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("errcode") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[tokio::test]
async fn members_first_wechat_login_binds_by_phone_and_the_second_logs_in_directly() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    let phone = app.client();

    wx.add_login("js-1", "openid-wang", Some("unionid-wang"));
    let r = login(&phone, "js-1").await;
    r.expect(200);
    let first = r.json();
    assert_eq!(first["status"], "bind_required");
    assert_eq!(first["expires_in"], 600);
    let bind_token = first["bind_token"].as_str().unwrap();
    assert!(bind_token.len() >= 32);

    wx.add_phone("ph-1", MEMBER_A);
    let r = bind(&phone, bind_token, "ph-1").await;
    r.expect(200);
    let pair = r.json();
    assert_eq!(pair["user_id"], w.member_a_id);
    let me = phone
        .with_token(pair["access_token"].as_str().unwrap())
        .get("/v1/me")
        .await;
    me.expect(200);
    assert_eq!(me.json()["id"], w.member_a_id);
    assert_eq!(me.json()["wechat_bound"], true);
    assert_eq!(
        wechat_ids(&app, w.member_a_id).await,
        (Some("openid-wang".into()), Some("unionid-wang".into()))
    );

    // The second login: no binding, straight to a session.
    wx.add_login("js-2", "openid-wang", Some("unionid-wang"));
    let r = login(&phone, "js-2").await;
    r.expect(200);
    let second = r.json();
    assert_eq!(second["status"], "logged_in", "{second}");
    assert_eq!(second["tokens"]["user_id"], w.member_a_id);
    assert!(second.get("bind_token").is_none());
    phone
        .with_token(second["tokens"]["access_token"].as_str().unwrap())
        .get("/v1/me")
        .await
        .expect(200);
    assert_eq!(wx.calls(Endpoint::PhoneNumber), 1);

    // WeChat's session_key never reaches the phone.
    let keys = wx.session_keys();
    assert_eq!(keys.len(), 2);
    for body in [first.to_string(), pair.to_string(), second.to_string()] {
        assert!(keys.iter().all(|k| !body.contains(k.as_str())), "{body}");
    }
    assert_eq!(audit_count(&app, "wechat_bound").await, 1);
    let wechat_logins = app
        .app_state
        .db
        .read(|c| {
            use dangke::db::schema::audit_log::dsl::*;
            use diesel::prelude::*;
            Ok(audit_log
                .filter(action.eq("login"))
                .filter(details.like("%wechat%"))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(wechat_logins, 2);
}

#[tokio::test]
async fn unknown_phone_gets_member_not_found_and_uses_up_the_bind_token() {
    let (app, wx) = setup().await;
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-1", "openid-stranger").await;
    wx.add_phone("ph-1", "13912345678");
    bind(&app.client(), &token, "ph-1")
        .await
        .expect_problem(404, "member_not_found");
    assert_eq!(audit_count(&app, "wechat_bind_refused").await, 1);
    // The refusal is final: the same token cannot be tried with another number.
    wx.add_phone("ph-2", MEMBER_A);
    bind(&app.client(), &token, "ph-2")
        .await
        .expect_problem(401, "bind_token_invalid");
    assert_eq!(wx.calls(Endpoint::PhoneNumber), 1);
}

#[tokio::test]
async fn account_without_membership_or_role_gets_member_not_found() {
    let (app, wx) = setup().await;
    let user_id = app
        .create_user("13800000009", "无组织", "whatever-pw-1")
        .await;
    first_login(&app, &wx, "a", "13800000009")
        .await
        .expect_problem(404, "member_not_found");
    assert_eq!(wechat_ids(&app, user_id).await, (None, None));
}

#[tokio::test]
async fn role_holder_without_membership_can_bind() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    let r = first_login(&app, &wx, "admin", COUNTY_ADMIN).await;
    r.expect(200);
    assert_eq!(r.json()["user_id"], w.admin_id);
}

#[tokio::test]
async fn foreign_phone_number_gets_member_not_found() {
    let (app, wx) = setup().await;
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-1", "openid-abroad").await;
    // The same digits as a member's phone, but not a mainland number.
    wx.add_phone_in("ph-1", MEMBER_A, "852");
    bind(&app.client(), &token, "ph-1")
        .await
        .expect_problem(404, "member_not_found");
}

#[tokio::test]
async fn invalid_or_reused_login_code_gets_400() {
    let (app, wx) = setup().await;
    let c = app.client();
    login(&c, "never-issued")
        .await
        .expect_problem(400, "wechat_code_invalid");
    wx.add_login("js-1", "openid-1", None);
    login(&c, "js-1").await.expect(200);
    login(&c, "js-1")
        .await
        .expect_problem(400, "wechat_code_invalid");
    c.post("/v1/auth/wechat", json!({"code": ""}))
        .await
        .expect_problem(422, "validation_failed");
    c.post("/v1/auth/wechat", json!({"code": "x", "session_key": "y"}))
        .await
        .expect_problem(422, "invalid_body");
    assert_eq!(wx.calls(Endpoint::JsCode2Session), 3);
}

#[tokio::test]
async fn busy_wechat_is_retried_and_the_login_succeeds() {
    let (app, wx) = setup().await;
    wx.add_login("js-1", "openid-1", None);
    wx.fail_next(Endpoint::JsCode2Session, 2, -1);
    let r = login(&app.client(), "js-1").await;
    r.expect(200);
    assert_eq!(r.json()["status"], "bind_required");
    assert_eq!(wx.calls(Endpoint::JsCode2Session), 3);
}

#[tokio::test]
async fn wechat_busy_on_every_attempt_gives_502_after_three_tries() {
    let (app, wx) = setup().await;
    wx.add_login("js-1", "openid-1", None);
    wx.fail_next(Endpoint::JsCode2Session, 10, -1);
    let body = login(&app.client(), "js-1")
        .await
        .expect_problem(502, "upstream_failed");
    assert_opaque(&body);
    assert_eq!(wx.calls(Endpoint::JsCode2Session), 3);
}

#[tokio::test]
async fn wechat_rate_limit_gives_429_with_retry_after() {
    let (app, wx) = setup().await;
    wx.add_login("js-1", "openid-1", None);
    wx.fail_next(Endpoint::JsCode2Session, 1, 45011);
    let r = login(&app.client(), "js-1").await;
    r.expect_problem(429, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0);
    assert_eq!(
        wx.calls(Endpoint::JsCode2Session),
        1,
        "45011 is not retried"
    );
    // The code was not consumed by the refusal: it works once WeChat lets us through.
    login(&app.client(), "js-1").await.expect(200);
}

#[tokio::test]
async fn high_risk_user_gets_403() {
    let (app, wx) = setup().await;
    wx.add_login("js-1", "openid-1", None);
    wx.fail_next(Endpoint::JsCode2Session, 1, 40226);
    login(&app.client(), "js-1")
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn answer_that_is_not_json_gives_502() {
    let (app, wx) = setup().await;
    wx.add_login("js-1", "openid-1", None);
    wx.script(Endpoint::JsCode2Session, 1, Script::NotJson);
    let body = login(&app.client(), "js-1")
        .await
        .expect_problem(502, "upstream_failed");
    assert_opaque(&body);
}

#[tokio::test]
async fn wrong_app_secret_gives_502_without_retrying() {
    let (app, wx) = setup_with(vec![("DANGKE_WECHAT_SECRET", "not-the-secret".into())]).await;
    wx.add_login("js-1", "openid-1", None);
    let body = login(&app.client(), "js-1")
        .await
        .expect_problem(502, "upstream_failed");
    assert_opaque(&body);
    assert_eq!(wx.calls(Endpoint::JsCode2Session), 1);
}

#[tokio::test]
async fn hanging_wechat_gives_502_within_the_timeout() {
    let (app, wx) = setup_with(vec![("DANGKE_WECHAT_TIMEOUT", "1s".into())]).await;
    wx.add_login("js-1", "openid-1", None);
    wx.delay_next(Endpoint::JsCode2Session, 1, Duration::from_secs(20));
    let started = Instant::now();
    login(&app.client(), "js-1")
        .await
        .expect_problem(502, "upstream_failed");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "gave up early: {took:?}"
    );
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(
        wx.calls(Endpoint::JsCode2Session),
        1,
        "a timeout is not retried"
    );

    // The same for a hanging stable_token during a bind; the bind token survives.
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-2", "openid-2").await;
    wx.add_phone("ph-1", MEMBER_A);
    wx.delay_next(Endpoint::StableToken, 1, Duration::from_secs(20));
    let started = Instant::now();
    bind(&app.client(), &token, "ph-1")
        .await
        .expect_problem(502, "upstream_failed");
    assert!(started.elapsed() < Duration::from_secs(4));
    bind(&app.client(), &token, "ph-1").await.expect(200);
}

#[tokio::test]
async fn rejected_access_token_is_refreshed_once_and_the_bind_succeeds() {
    let (app, wx) = setup().await;
    app.world().await;
    first_login(&app, &wx, "a", MEMBER_A).await.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 1);

    // Someone forces a refresh elsewhere: our cached token is now invalid (40001).
    wx.revoke_tokens();
    first_login(&app, &wx, "b", SECRETARY_A).await.expect(200);
    assert_eq!(wx.forced_refreshes(), 1);
    assert_eq!(wx.calls(Endpoint::StableToken), 2);
    assert_eq!(wx.calls(Endpoint::PhoneNumber), 3);

    // The new token is cached: the next bind fetches nothing.
    first_login(&app, &wx, "c", COMMITTEE_A).await.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 2);
}

#[tokio::test]
async fn token_rejected_twice_is_refreshed_only_once_and_the_bind_token_survives() {
    let (app, wx) = setup().await;
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-1", "openid-1").await;
    wx.add_phone("ph-1", MEMBER_A);
    wx.fail_next(Endpoint::PhoneNumber, 2, 40001);
    bind(&app.client(), &token, "ph-1")
        .await
        .expect_problem(502, "upstream_failed");
    assert_eq!(wx.forced_refreshes(), 1);
    assert_eq!(wx.calls(Endpoint::PhoneNumber), 2);
    // A failure that may pass leaves the bind token usable.
    bind(&app.client(), &token, "ph-1").await.expect(200);
}

#[tokio::test]
async fn used_phone_code_gets_400_and_keeps_the_bind_token() {
    let (app, wx) = setup().await;
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-1", "openid-1").await;
    bind(&app.client(), &token, "ph-unknown")
        .await
        .expect_problem(400, "wechat_code_invalid");
    wx.add_phone("ph-1", MEMBER_A);
    bind(&app.client(), &token, "ph-1").await.expect(200);
}

#[tokio::test]
async fn access_token_is_fetched_once_for_several_binds_and_refreshed_before_expiry() {
    let (app, wx) = setup().await;
    app.world().await;
    wx.set_token_ttl(7200);
    // Three phones bind at the same moment while the token is being fetched slowly.
    wx.delay_next(Endpoint::StableToken, 1, Duration::from_millis(300));
    let (a, b, c) = tokio::join!(
        first_login(&app, &wx, "a", MEMBER_A),
        first_login(&app, &wx, "b", SECRETARY_A),
        first_login(&app, &wx, "c", COMMITTEE_A),
    );
    a.expect(200);
    b.expect(200);
    c.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 1);

    // 400 s before expiry the token is still used as is.
    app.clock.advance(ChronoDuration::seconds(7200 - 400));
    first_login(&app, &wx, "d", ORGANIZER_B).await.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 1);

    // In its last five minutes it is replaced before WeChat would reject it.
    app.clock.advance(ChronoDuration::seconds(200));
    first_login(&app, &wx, "e", COUNTY_ADMIN).await.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 2);
    assert_eq!(wx.forced_refreshes(), 0);
    assert_eq!(
        wx.calls(Endpoint::PhoneNumber),
        5,
        "no call was rejected and retried"
    );
}

#[tokio::test]
async fn two_instances_share_one_access_token() {
    if crate::helpers::backend::skip_unless(
        crate::helpers::backend::redis_url().is_some(),
        "Redis: two instances share a token only through it",
    ) {
        return;
    }
    let (a, wx) = setup().await;
    a.world().await;
    let b = spawn_with(Options {
        vars: wx.vars(),
        kv_prefix: Some(a.kv_prefix.clone()),
        share_db: Some(a.db.clone()),
        clock: Some(a.clock.clone()),
    })
    .await;
    wx.delay_next(Endpoint::StableToken, 1, Duration::from_millis(300));
    let (ra, rb) = tokio::join!(
        first_login(&a, &wx, "a", MEMBER_A),
        first_login(&b, &wx, "b", SECRETARY_A),
    );
    ra.expect(200);
    rb.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 1);
    first_login(&b, &wx, "c", COMMITTEE_A).await.expect(200);
    first_login(&a, &wx, "d", ORGANIZER_B).await.expect(200);
    assert_eq!(wx.calls(Endpoint::StableToken), 1);

    // A bind token from one instance works on the other.
    let token = bind_token_for(&a, &wx, "js-e", "openid-e").await;
    wx.add_phone("ph-e", COUNTY_ADMIN);
    bind(&b.client(), &token, "ph-e").await.expect(200);
}

#[tokio::test]
async fn bind_token_works_once() {
    let (app, wx) = setup().await;
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-1", "openid-1").await;
    wx.add_phone("ph-1", MEMBER_A);
    wx.add_phone("ph-2", MEMBER_A);
    bind(&app.client(), &token, "ph-1").await.expect(200);
    bind(&app.client(), &token, "ph-2")
        .await
        .expect_problem(401, "bind_token_invalid");
    bind(&app.client(), "made-up-token", "ph-2")
        .await
        .expect_problem(401, "bind_token_invalid");
    assert_eq!(wx.calls(Endpoint::PhoneNumber), 1);
}

#[tokio::test]
async fn bind_token_expires_after_ten_minutes() {
    let (app, wx) = setup().await;
    app.world().await;
    let token = bind_token_for(&app, &wx, "js-1", "openid-1").await;
    wx.add_phone("ph-1", MEMBER_A);
    app.clock.advance(ChronoDuration::seconds(601));
    bind(&app.client(), &token, "ph-1")
        .await
        .expect_problem(401, "bind_token_invalid");
    assert_eq!(wx.calls(Endpoint::PhoneNumber), 0);
}

#[tokio::test]
async fn member_bound_to_another_wechat_account_gets_409() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    first_login(&app, &wx, "a", MEMBER_A).await.expect(200);
    // Not "this WeChat is bound to another account" (WeChat B is bound to nothing): her
    // account is bound to another WeChat, and her secretary can reset it.
    let p = first_login(&app, &wx, "b", MEMBER_A)
        .await
        .expect_problem(409, "account_bound_to_other_wechat");
    assert!(p.to_string().contains("支部书记"), "{p}");
    assert_eq!(
        wechat_ids(&app, w.member_a_id).await.0.as_deref(),
        Some("openid-a")
    );
}

#[tokio::test]
async fn wechat_account_bound_to_someone_else_gets_409() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    // Two logins of the same new WeChat account before either binds.
    let first = bind_token_for(&app, &wx, "js-1", "openid-shared").await;
    let second = bind_token_for(&app, &wx, "js-2", "openid-shared").await;
    wx.add_phone("ph-1", MEMBER_A);
    wx.add_phone("ph-2", SECRETARY_A);
    bind(&app.client(), &first, "ph-1").await.expect(200);
    bind(&app.client(), &second, "ph-2")
        .await
        .expect_problem(409, "wechat_already_bound");
    assert_eq!(wechat_ids(&app, w.secretary_a_id).await.0, None);
}

#[tokio::test]
async fn wechat_login_is_rate_limited_per_ip() {
    let (app, wx) = setup_with(vec![("DANGKE_LOGIN_RATE_PER_IP", "2/15m".into())]).await;
    for code in ["js-1", "js-2", "js-3"] {
        wx.add_login(code, code, None);
    }
    login(&app.client(), "js-1").await.expect(200);
    login(&app.client(), "js-2").await.expect(200);
    let r = login(&app.client(), "js-3").await;
    r.expect_problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    assert_eq!(wx.calls(Endpoint::JsCode2Session), 2);
}

#[tokio::test]
async fn wechat_not_configured_gives_503() {
    let app = spawn().await;
    let c = app.client();
    login(&c, "js-1")
        .await
        .expect_problem(503, "wechat_not_configured");
    bind(&c, "some-token", "ph-1")
        .await
        .expect_problem(503, "wechat_not_configured");
}
