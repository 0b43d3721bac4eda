//! Accounts and sessions: login, rotation with grace, reuse detection, logout, password
//! change, every 401 code with crafted tokens, rate limits on memory and Redis.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use dangke::auth::tokens::{AUDIENCE, AccessClaims, ISSUER};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ClockExt, Options, TestApp, spawn, spawn_with};

const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";
const PW: &str = "correct-horse-1";

async fn refresh(app: &TestApp, token: &str) -> crate::helpers::Resp {
    app.client()
        .post("/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn login_then_me() {
    let app = spawn().await;
    let id = app.create_user("13800000001", "王建国", PW).await;
    let mut c = app.client();
    let body = c.login("138 0000 0001", PW).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user_id"], id);
    let me = c.get("/v1/me").await;
    me.expect(200);
    let me = me.json();
    assert_eq!(me["id"], id);
    assert_eq!(me["name"], "王建国");
    assert_eq!(me["phone"], "13800000001");
    assert_eq!(me["has_password"], true);
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn wrong_phone_and_wrong_password_look_the_same() {
    let app = spawn().await;
    app.create_user("13800000001", "王建国", PW).await;
    let c = app.client();
    let a = c
        .post(
            "/v1/auth/login",
            json!({"phone": "13800000001", "password": "wrong-password"}),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    let b = c
        .post(
            "/v1/auth/login",
            json!({"phone": "13800000009", "password": "wrong-password"}),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    assert_eq!(a, b);
    // Both failures are audited.
    let n = app
        .app_state
        .db
        .read(|c| {
            use dangke::db::schema::audit_log::dsl::*;
            use diesel::prelude::*;
            Ok(audit_log
                .filter(action.eq("login_failed"))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn refresh_rotates_and_grace_replay_returns_the_same_pair() {
    let app = spawn().await;
    app.create_user("13800000001", "王建国", PW).await;
    let mut c = app.client();
    let first = c.login("13800000001", PW).await;
    let r1 = first["refresh_token"].as_str().unwrap();

    app.clock.advance(Duration::seconds(60));
    let second = refresh(&app, r1).await;
    second.expect(200);
    let second = second.json();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);

    // The phone lost that response and retries 20 s later: the same pair again.
    app.clock.advance(Duration::seconds(20));
    let replay = refresh(&app, r1).await;
    replay.expect(200);
    let replay = replay.json();
    assert_eq!(replay["refresh_token"], second["refresh_token"]);
    assert_eq!(replay["access_token"], second["access_token"]);

    // The new pair works; refreshing it rotates again.
    let c2 = c.with_token(second["access_token"].as_str().unwrap());
    c2.get("/v1/me").await.expect(200);
    let third = refresh(&app, second["refresh_token"].as_str().unwrap()).await;
    third.expect(200);
}

#[tokio::test]
async fn replay_after_grace_revokes_the_family() {
    let app = spawn().await;
    app.create_user("13800000001", "王建国", PW).await;
    let mut c = app.client();
    let first = c.login("13800000001", PW).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    let second = refresh(&app, &r1).await.json();
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    let third = refresh(&app, &r2).await.json();
    let a3 = third["access_token"].as_str().unwrap().to_string();
    let r3 = third["refresh_token"].as_str().unwrap().to_string();
    c.with_token(&a3).get("/v1/me").await.expect(200);

    // An attacker replays the first token long after it was used.
    app.clock.advance(Duration::seconds(31));
    refresh(&app, &r1)
        .await
        .expect_problem(401, "refresh_token_reused");

    // The whole family is dead: the newest refresh token and its access token too.
    refresh(&app, &r3)
        .await
        .expect_problem(401, "refresh_token_invalid");
    c.with_token(&a3)
        .get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
    // A new login still works.
    let mut fresh = app.client();
    fresh.login("13800000001", PW).await;
    fresh.get("/v1/me").await.expect(200);
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = spawn().await;
    app.create_user("13800000001", "王建国", PW).await;
    let mut phone = app.client();
    phone.login("13800000001", PW).await;
    let mut pc = app.client();
    pc.login("13800000001", PW).await;

    let r = phone.post("/v1/auth/logout", json!({})).await;
    r.expect(204);
    phone
        .get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
    refresh(&app, phone.refresh_token.as_deref().unwrap())
        .await
        .expect_problem(401, "refresh_token_invalid");
    // The other session is untouched.
    pc.get("/v1/me").await.expect(200);
}

#[tokio::test]
async fn password_change_revokes_every_session() {
    let app = spawn().await;
    app.create_user("13800000001", "王建国", PW).await;
    let mut phone = app.client();
    phone.login("13800000001", PW).await;
    let mut pc = app.client();
    pc.login("13800000001", PW).await;

    phone
        .put(
            "/v1/me/password",
            json!({"current_password": "nope-nope-1", "new_password": "new-secret-22"}),
        )
        .await
        .expect_problem(403, "wrong_password");
    phone
        .put(
            "/v1/me/password",
            json!({"current_password": PW, "new_password": "aaaaaaaa"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let r = phone
        .put(
            "/v1/me/password",
            json!({"current_password": PW, "new_password": "new-secret-22"}),
        )
        .await;
    r.expect(200);
    let pair = r.json();

    phone
        .get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
    pc.get("/v1/me").await.expect_problem(401, "token_revoked");
    refresh(&app, pc.refresh_token.as_deref().unwrap())
        .await
        .expect_problem(401, "refresh_token_invalid");
    phone
        .with_token(pair["access_token"].as_str().unwrap())
        .get("/v1/me")
        .await
        .expect(200);
    app.client()
        .post(
            "/v1/auth/login",
            json!({"phone": "13800000001", "password": PW}),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    app.client().login("13800000001", "new-secret-22").await;
}

fn claims(user_id: i64, now: i64) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: user_id.to_string(),
        exp: now + 900,
        iat: now,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        sid: "none".into(),
    }
}

fn sign(claims: &AccessClaims, secret: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn each_bad_token_gets_its_own_401_code() {
    let app = spawn().await;
    app.create_user("13800000001", "王建国", PW).await;
    let mut c = app.client();
    let body = c.login("13800000001", PW).await;
    let good = body["access_token"].as_str().unwrap().to_string();
    let anon = app.client();
    let now = app.clock.now_ts();

    // Missing, and not a bearer token at all.
    anon.get("/v1/me")
        .await
        .expect_problem(401, "token_missing");
    anon.send(
        anon.request(Method::GET, "/v1/me")
            .header("authorization", "Basic Zm9vOmJhcg=="),
    )
    .await
    .expect_problem(401, "token_invalid");
    anon.with_token("garbage")
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");

    // Tampered signature: flip the payload but keep the signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("999");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    anon.with_token(&parts.join("."))
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");

    // alg:none.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(1, now)).unwrap());
    anon.with_token(&format!("{header}.{body}."))
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");

    // Another key.
    let other = sign(&claims(1, now), "another-secret-another-secret-another-1");
    anon.with_token(&other)
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");

    // Our key, other audience / issuer / type.
    let mut aud = claims(1, now);
    aud.aud = "someone-else".into();
    anon.with_token(&sign(&aud, TEST_SECRET))
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");
    let mut iss = claims(1, now);
    iss.iss = "evil".into();
    anon.with_token(&sign(&iss, TEST_SECRET))
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");
    let untyped = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(1, now),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    anon.with_token(&untyped)
        .get("/v1/me")
        .await
        .expect_problem(401, "token_invalid");

    // Expired: the real token, 16 minutes later.
    app.clock.advance(Duration::minutes(16));
    anon.with_token(&good)
        .get("/v1/me")
        .await
        .expect_problem(401, "token_expired");

    // Revoked: a fresh login, then logout.
    let mut c2 = app.client();
    c2.login("13800000001", PW).await;
    c2.post("/v1/auth/logout", json!({})).await.expect(204);
    c2.get("/v1/me").await.expect_problem(401, "token_revoked");
}

#[tokio::test]
async fn login_is_rate_limited_per_phone_with_headers() {
    let app = spawn_with(Options {
        vars: vec![("DANGKE_LOGIN_RATE_PER_PHONE", "3/1m".into())],
        ..Default::default()
    })
    .await;
    app.create_user("13800000001", "王建国", PW).await;
    let c = app.client();
    let attempt = || {
        c.post(
            "/v1/auth/login",
            json!({"phone": "13800000001", "password": "wrong-one-1"}),
        )
    };
    for _ in 0..3 {
        attempt().await.expect_problem(401, "invalid_credentials");
    }
    let r = attempt().await;
    r.expect_problem(429, "rate_limited");
    assert_eq!(r.header("retry-after").as_deref(), Some("20"));
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"login-phone\";q=3;w=60")
    );
    assert!(r.header("ratelimit").unwrap().contains("r=0"));
    // Even the right password waits.
    c.post(
        "/v1/auth/login",
        json!({"phone": "13800000001", "password": PW}),
    )
    .await
    .expect_problem(429, "rate_limited");
    // Another phone is not affected.
    c.post(
        "/v1/auth/login",
        json!({"phone": "13800000002", "password": PW}),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    app.clock.advance(Duration::seconds(21));
    app.client().login("13800000001", PW).await;
}

#[tokio::test]
async fn client_ip_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
    let limited = |trusted: &str| Options {
        vars: vec![
            ("DANGKE_LOGIN_RATE_PER_IP", "2/1m".into()),
            ("DANGKE_TRUSTED_PROXIES", trusted.into()),
        ],
        ..Default::default()
    };
    let attempt = |c: &crate::helpers::Client, ip: &'static str| {
        let c = c.clone();
        async move {
            c.send(
                c.request(Method::POST, "/v1/auth/login")
                    .header("x-forwarded-for", ip)
                    .json(&json!({"phone": "13800000001", "password": "wrong-one-1"})),
            )
            .await
            .status
            .as_u16()
        }
    };
    // Behind a trusted proxy each forwarded client has its own budget.
    let app = spawn_with(limited("127.0.0.1")).await;
    let c = app.client();
    for ip in ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"] {
        assert_eq!(attempt(&c, ip).await, 401);
    }
    assert_eq!(attempt(&c, "10.0.0.1").await, 429);
    // Untrusted peer: the header is ignored, all share the peer's budget.
    let app = spawn_with(limited("192.0.2.0/24")).await;
    let c = app.client();
    assert_eq!(attempt(&c, "10.0.0.1").await, 401);
    assert_eq!(attempt(&c, "10.0.0.2").await, 401);
    assert_eq!(attempt(&c, "10.0.0.3").await, 429);
}

#[tokio::test]
async fn rate_limit_is_shared_by_instances_on_one_redis() {
    if crate::helpers::backend::skip_unless(
        crate::helpers::backend::redis_url().is_some(),
        "Redis (the PostgreSQL run has it)",
    ) {
        return;
    }
    let vars = || vec![("DANGKE_LOGIN_RATE_PER_PHONE", "4/1m".to_string())];
    let a = spawn_with(Options {
        vars: vars(),
        ..Default::default()
    })
    .await;
    let b = spawn_with(Options {
        vars: vars(),
        share_db: Some(a.db.clone()),
        kv_prefix: Some(a.kv_prefix.clone()),
        clock: Some(a.clock.clone()),
    })
    .await;
    a.create_user("13800000001", "王建国", PW).await;
    let body = json!({"phone": "13800000001", "password": "wrong-one-1"});
    for app in [&a, &b, &a, &b] {
        app.client()
            .post("/v1/auth/login", body.clone())
            .await
            .expect_problem(401, "invalid_credentials");
    }
    a.client()
        .post("/v1/auth/login", body.clone())
        .await
        .expect_problem(429, "rate_limited");
    b.client()
        .post("/v1/auth/login", body.clone())
        .await
        .expect_problem(429, "rate_limited");
    // A logout on one instance is seen by the other (shared denylist).
    let mut c = a.client();
    a.clock.advance(Duration::minutes(2));
    c.login("13800000001", PW).await;
    let on_b = b.client().with_token(c.access_token.as_deref().unwrap());
    on_b.get("/v1/me").await.expect(200);
    c.post("/v1/auth/logout", json!({})).await.expect(204);
    on_b.get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
}

#[tokio::test]
async fn revocation_holds_while_redis_is_down() {
    let app = spawn_with(Options {
        vars: vec![("REDIS_URL", crate::helpers::unreachable_redis_url())],
        ..Default::default()
    })
    .await;
    app.create_user("13800000001", "王建国", PW).await;
    let mut c = app.client();
    // Login still works (rate limits counted on this instance) and tokens are checked
    // against the database.
    c.login("13800000001", PW).await;
    c.get("/v1/me").await.expect(200);
    c.post("/v1/auth/logout", json!({})).await.expect(204);
    c.get("/v1/me").await.expect_problem(401, "token_revoked");
}

#[tokio::test]
async fn login_stays_rate_limited_on_the_instance_while_redis_is_down() {
    let app = spawn_with(Options {
        vars: vec![
            ("REDIS_URL", crate::helpers::unreachable_redis_url()),
            ("DANGKE_LOGIN_RATE_PER_PHONE", "4/1m".to_string()),
        ],
        ..Default::default()
    })
    .await;
    app.create_user("13800000001", "王建国", PW).await;
    let body = json!({"phone": "13800000001", "password": "wrong-one-1"});
    for _ in 0..4 {
        app.client()
            .post("/v1/auth/login", body.clone())
            .await
            .expect_problem(401, "invalid_credentials");
    }
    let limited = app.client().post("/v1/auth/login", body.clone()).await;
    limited.expect_problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // The right password after the window: the member is not locked out by the outage.
    app.clock.advance(Duration::minutes(2));
    app.client().login("13800000001", PW).await;
}

#[tokio::test]
async fn me_answers_304_while_unchanged() {
    let app = spawn().await;
    let id = app.create_user("13800000001", "王建国", PW).await;
    let mut c = app.client();
    c.login("13800000001", PW).await;
    let first = c.get("/v1/me").await;
    first.expect(200);
    let tag = first.header("etag").unwrap();
    let again = c
        .send(
            c.request(Method::GET, "/v1/me")
                .header("if-none-match", &tag),
        )
        .await;
    again.expect(304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag").as_deref(), Some(tag.as_str()));
    // A change to the account changes the tag.
    app.app_state
        .db
        .write(move |c| {
            use dangke::db::schema::users::dsl as u;
            use diesel::prelude::*;
            diesel::update(u::users.find(id))
                .set(u::name.eq("王建军"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    // Written behind the API's back: do what every write path does after its commit.
    dangke::auth::identity_cache::forget(&app.app_state.kv, &[id]).await;
    let changed = c
        .send(
            c.request(Method::GET, "/v1/me")
                .header("if-none-match", &tag),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.json()["name"], "王建军");
    assert_ne!(changed.header("etag").unwrap(), tag);
}
