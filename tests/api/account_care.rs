//! Nobody gets locked out: a member who changes WeChat accounts unbinds the old one (with her
//! password, or from that WeChat) or has her secretary reset it; a secretary issues a
//! one-time login code with which a member sets a password; a member who came in by WeChat
//! sets one herself. Every step is audited on her account, where she sees it.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::world::PASSWORD;
use crate::helpers::{Client, TestApp};
use crate::wechat::{bind, bind_token_for, first_login, login, setup, setup_with, wechat_ids};

const MEMBER_A: &str = "13900000003";

/// The actions on the caller's account, newest first.
async fn account_actions(c: &Client) -> Vec<(String, Option<i64>)> {
    let r = c.get("/v1/me/account-events?limit=100").await;
    r.expect(200);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor_user_id"].as_i64(),
            )
        })
        .collect()
}

/// A client holding the tokens of a successful login or bind.
fn session(app: &TestApp, body: &Value) -> Client {
    app.client().with_token(
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {body}")),
    )
}

#[tokio::test]
async fn a_member_who_changes_wechat_is_reset_by_her_secretary_and_binds_the_new_one() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    let on_a = first_login(&app, &wx, "a", MEMBER_A).await;
    on_a.expect(200);
    let phone_a = session(&app, &on_a.json());
    // WeChat B is bound to nothing: her account is bound to another WeChat.
    let p = first_login(&app, &wx, "b", MEMBER_A)
        .await
        .expect_problem(409, "account_bound_to_other_wechat");
    assert!(p.to_string().contains("支部书记"), "{p}");
    // Only someone whose scope covers her may reset it.
    w.organizer_b
        .delete(&format!("/v1/members/{}/wechat", w.member_a_id))
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .delete(&format!("/v1/members/{}/wechat", w.member_a_id))
        .await
        .expect(404);
    assert_eq!(
        wechat_ids(&app, w.member_a_id).await.0.as_deref(),
        Some("openid-a")
    );
    w.secretary_a
        .delete(&format!("/v1/members/{}/wechat", w.member_a_id))
        .await
        .expect(204);
    assert_eq!(wechat_ids(&app, w.member_a_id).await, (None, None));
    // Her sessions ended (the lost phone's too).
    phone_a.get("/v1/me").await.expect(401);
    w.member_a.get("/v1/me").await.expect(401);
    // WeChat B binds by phone now.
    let token = bind_token_for(&app, &wx, "js-b2", "openid-b").await;
    wx.add_phone("ph-b2", MEMBER_A);
    let on_b = bind(&app.client(), &token, "ph-b2").await;
    on_b.expect(200);
    assert_eq!(
        wechat_ids(&app, w.member_a_id).await.0.as_deref(),
        Some("openid-b")
    );
    // And WeChat A is now the one refused.
    let token = bind_token_for(&app, &wx, "js-a2", "openid-a").await;
    wx.add_phone("ph-a2", MEMBER_A);
    bind(&app.client(), &token, "ph-a2")
        .await
        .expect_problem(409, "account_bound_to_other_wechat");
    // She sees who reset it.
    let events = account_actions(&session(&app, &on_b.json())).await;
    assert!(
        events.contains(&("wechat_reset".to_string(), Some(w.secretary_a_id))),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_member_unbinds_her_wechat_with_her_password_or_from_that_wechat() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    let on_a = first_login(&app, &wx, "a", MEMBER_A).await;
    on_a.expect(200);
    let phone_a = session(&app, &on_a.json());
    let me = &w.member_a;
    let unbind = "/v1/me/wechat/unbind";
    me.post(unbind, json!({}))
        .await
        .expect_problem(422, "unbind_proof_required");
    me.post(unbind, json!({"password": "not-her-password"}))
        .await
        .expect_problem(403, "wrong_password");
    // A code from some other WeChat proves nothing.
    wx.add_login("js-x", "openid-x", None);
    me.post(unbind, json!({"wechat_code": "js-x"}))
        .await
        .expect_problem(403, "wechat_not_this_account");
    assert_eq!(
        wechat_ids(&app, w.member_a_id).await.0.as_deref(),
        Some("openid-a")
    );
    me.post(unbind, json!({"password": PASSWORD}))
        .await
        .expect(204);
    assert_eq!(wechat_ids(&app, w.member_a_id).await, (None, None));
    // Her other sessions ended; this one goes on.
    phone_a.get("/v1/me").await.expect(401);
    me.get("/v1/me").await.expect(200);
    me.post(unbind, json!({"password": PASSWORD}))
        .await
        .expect_problem(409, "wechat_not_bound");

    // Bound again, she unbinds from the bound WeChat itself.
    let token = bind_token_for(&app, &wx, "js-a2", "openid-a").await;
    wx.add_phone("ph-a2", MEMBER_A);
    let again = bind(&app.client(), &token, "ph-a2").await;
    again.expect(200);
    let on_wechat = session(&app, &again.json());
    wx.add_login("js-a3", "openid-a", None);
    on_wechat
        .post(unbind, json!({"wechat_code": "js-a3"}))
        .await
        .expect(204);
    assert_eq!(wechat_ids(&app, w.member_a_id).await, (None, None));
    // The next WeChat login asks to bind again.
    wx.add_login("js-a4", "openid-a", None);
    let r = login(&app.client(), "js-a4").await;
    r.expect(200);
    assert_eq!(r.json()["status"], "bind_required");
    // (The unbind from WeChat ended the password session: she reads on the WeChat one.)
    me.get("/v1/me").await.expect(401);
    let events = account_actions(&on_wechat).await;
    let unbound = events.iter().filter(|(a, _)| a == "wechat_unbound").count();
    assert_eq!(unbound, 2, "{events:?}");
}

#[tokio::test]
async fn a_secretary_issues_a_one_time_login_code_and_the_member_sets_her_password() {
    // The clock moves past the code's two hours; the people stay logged in.
    let (app, _wx) = setup_with(vec![("DANGKE_ACCESS_TOKEN_TTL", "1d".into())]).await;
    let w = app.world().await;
    // A villager the secretary added: no password, no WeChat.
    let r = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "13900000031", "name": "周大娘", "category": "full"}),
        )
        .await;
    r.expect(201);
    let zhou = r.json()["user_id"].as_i64().unwrap();
    let reset = |code: &str, pw: &str| {
        let c = app.client();
        let body = json!({"phone": "13900000031", "code": code, "new_password": pw});
        async move { c.post("/v1/auth/password-reset", body).await }
    };
    // Outside the secretary's scope: 404, as if she did not exist.
    w.organizer_b
        .post(&format!("/v1/members/{zhou}/login-code"), json!({}))
        .await
        .expect_problem(404, "not_found");
    let r = w
        .secretary_a
        .post(&format!("/v1/members/{zhou}/login-code"), json!({}))
        .await;
    r.expect(201);
    let code = r.json()["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    let expires: chrono::DateTime<chrono::Utc> =
        r.json()["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        expires,
        dangke::clock::Clock::now(app.clock.as_ref()) + Duration::hours(2)
    );

    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    reset(wrong, "zhou-new-pass-1")
        .await
        .expect_problem(401, "login_code_invalid");
    // A weak password is refused before the code is spent.
    reset(&code, "123")
        .await
        .expect_problem(422, "validation_failed");
    let r = reset(&code, "zhou-new-pass-1").await;
    r.expect(200);
    let zhou_c = session(&app, &r.json());
    zhou_c.get("/v1/me").await.expect(200);
    app.client().login("13900000031", "zhou-new-pass-1").await;
    // Used once.
    reset(&code, "zhou-other-pass-2")
        .await
        .expect_problem(401, "login_code_invalid");
    // Expired after two hours.
    let r = w
        .secretary_a
        .post(&format!("/v1/members/{zhou}/login-code"), json!({}))
        .await;
    r.expect(201);
    let late = r.json()["code"].as_str().unwrap().to_string();
    app.clock.advance(Duration::minutes(121));
    reset(&late, "zhou-other-pass-2")
        .await
        .expect_problem(401, "login_code_invalid");
    // She sees both: the code issued by her secretary, and the reset.
    let events = account_actions(&zhou_c).await;
    assert!(
        events.contains(&("login_code_issued".to_string(), Some(w.secretary_a_id))),
        "{events:?}"
    );
    assert!(
        events.contains(&("password_reset".to_string(), Some(zhou))),
        "{events:?}"
    );

    // A reset ends her other sessions.
    let r = w
        .secretary_a
        .post(
            &format!("/v1/members/{}/login-code", w.member_a_id),
            json!({}),
        )
        .await;
    let code = r.json()["code"].as_str().unwrap().to_string();
    w.member_a.get("/v1/me").await.expect(200);
    let c = app.client();
    c.post(
        "/v1/auth/password-reset",
        json!({"phone": MEMBER_A, "code": code, "new_password": "member-a-new-9"}),
    )
    .await
    .expect(200);
    w.member_a.get("/v1/me").await.expect(401);
}

#[tokio::test]
async fn password_resets_are_rate_limited_like_logins() {
    let (app, _wx) = setup_with(vec![("DANGKE_LOGIN_RATE_PER_PHONE", "2/15m".into())]).await;
    app.world().await;
    for _ in 0..2 {
        app.client()
            .post(
                "/v1/auth/password-reset",
                json!({"phone": "13900000031", "code": "12345678", "new_password": "some-pass-99"}),
            )
            .await
            .expect_problem(401, "login_code_invalid");
    }
    let r = app
        .client()
        .post(
            "/v1/auth/password-reset",
            json!({"phone": "13900000031", "code": "12345678", "new_password": "some-pass-99"}),
        )
        .await;
    r.expect_problem(429, "rate_limited");
}

#[tokio::test]
async fn a_member_who_came_in_by_wechat_sets_a_password() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    let r = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "13900000032", "name": "吴大爷", "category": "full"}),
        )
        .await;
    r.expect(201);
    // No password: WeChat vouching for the phone binds her.
    let token = bind_token_for(&app, &wx, "js-wu", "openid-wu").await;
    wx.add_phone("ph-wu", "13900000032");
    let r = app
        .client()
        .post(
            "/v1/auth/wechat/bind",
            json!({"bind_token": token, "phone_code": "ph-wu"}),
        )
        .await;
    r.expect(200);
    let wu = session(&app, &r.json());
    let r = wu
        .put(
            "/v1/me/password",
            json!({"new_password": "wu-first-pass-1"}),
        )
        .await;
    r.expect(200);
    app.client().login("13900000032", "wu-first-pass-1").await;
}
