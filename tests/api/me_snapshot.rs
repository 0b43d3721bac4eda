//! `GET /v1/me` is answered from a cached identity snapshot (`auth::identity_cache`): every
//! write to the person, her memberships, her roles or an org's name shows on the very next
//! `GET /v1/me` — each test reads it first, so a stale snapshot would be cached — and on
//! another instance sharing the Redis.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::PASSWORD;
use crate::helpers::{Client, Options, spawn, spawn_with};
use crate::wechat::{bind, bind_token_for, first_login, setup};

async fn me(c: &Client) -> Value {
    let r = c.get("/v1/me").await;
    r.expect(200);
    r.json()
}

fn role_names(me: &Value) -> Vec<(String, String)> {
    me["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_string(),
                r["org_name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn granted_then_revoked_role_shows_on_the_next_me() {
    let app = spawn().await;
    let w = app.world().await;
    assert!(role_names(&me(&w.member_a).await).is_empty());
    me(&w.member_a).await;

    app.grant(&w.secretary_a, w.branch_a, w.member_a_id, "organizer")
        .await;
    assert_eq!(
        role_names(&me(&w.member_a).await),
        vec![("organizer".to_string(), "东山村党支部".to_string())]
    );

    w.secretary_a
        .delete(&format!(
            "/v1/orgs/{}/roles/{}/organizer",
            w.branch_a, w.member_a_id
        ))
        .await
        .expect(204);
    assert!(role_names(&me(&w.member_a).await).is_empty());
}

#[tokio::test]
async fn transfer_and_status_changes_show_on_the_next_me() {
    let app = spawn().await;
    let w = app.world().await;
    assert_eq!(me(&w.member_a).await["membership"]["org_id"], w.group_a);

    w.secretary_a
        .post(
            &format!("/v1/members/{}/transfer", w.member_a_id),
            json!({"to_org_id": w.branch_a}),
        )
        .await
        .expect(200);
    let after = me(&w.member_a).await;
    assert_eq!(after["membership"]["org_id"], w.branch_a);
    assert_eq!(after["membership"]["org_name"], "东山村党支部");

    w.secretary_a
        .put(
            &format!("/v1/members/{}/status", w.member_a_id),
            json!({"status": "migrant"}),
        )
        .await
        .expect(200);
    assert_eq!(me(&w.member_a).await["membership"]["status"], "migrant");

    w.secretary_a
        .put(
            &format!("/v1/members/{}/status", w.member_a_id),
            json!({"status": "left"}),
        )
        .await
        .expect(204);
    assert!(me(&w.member_a).await["membership"].is_null());
}

#[tokio::test]
async fn name_and_phone_edited_by_the_secretary_show_on_the_next_me() {
    let app = spawn().await;
    let w = app.world().await;
    assert_eq!(me(&w.member_a).await["name"], "王党员");

    let path = format!("/v1/members/{}", w.member_a_id);
    w.secretary_a
        .patch(&path, json!({"name": "王新名"}))
        .await
        .expect(200);
    let after = me(&w.member_a).await;
    assert_eq!(after["name"], "王新名");
    assert_eq!(after["membership"]["name"], "王新名");

    // A new phone number ends her sessions; her next login sees it.
    w.secretary_a
        .patch(&path, json!({"phone": "13700000003"}))
        .await
        .expect(200);
    w.member_a
        .get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
    let again = app.login_as("13700000003").await;
    assert_eq!(me(&again).await["phone"], "13700000003");
}

#[tokio::test]
async fn import_that_renames_and_moves_a_member_shows_on_the_next_me() {
    let app = spawn().await;
    let w = app.world().await;
    assert_eq!(me(&w.member_a).await["membership"]["org_id"], w.group_a);

    let csv = "姓名,手机号,所在支部\n王导入,13900000003,东山村党支部\n";
    let r = w
        .secretary_a
        .send(
            w.secretary_a
                .request(
                    Method::POST,
                    &format!("/v1/orgs/{}/members/import", w.branch_a),
                )
                .header("content-type", "text/csv")
                .body(csv.as_bytes().to_vec()),
        )
        .await;
    r.expect(200);
    let after = me(&w.member_a).await;
    assert_eq!(after["name"], "王导入", "{}", r.json());
    assert_eq!(after["membership"]["org_id"], w.branch_a);
}

#[tokio::test]
async fn renamed_org_shows_on_the_next_me() {
    let app = spawn().await;
    let w = app.world().await;
    assert_eq!(
        me(&w.member_a).await["membership"]["org_name"],
        "东山村第一党小组"
    );
    assert_eq!(
        role_names(&me(&w.secretary_a).await),
        vec![("secretary".to_string(), "东山村党支部".to_string())]
    );

    w.admin
        .patch(
            &format!("/v1/orgs/{}", w.group_a),
            json!({"name": "东山村一组"}),
        )
        .await
        .expect(200);
    w.admin
        .patch(
            &format!("/v1/orgs/{}", w.branch_a),
            json!({"name": "东山村支部"}),
        )
        .await
        .expect(200);
    assert_eq!(
        me(&w.member_a).await["membership"]["org_name"],
        "东山村一组"
    );
    assert_eq!(
        role_names(&me(&w.secretary_a).await),
        vec![("secretary".to_string(), "东山村支部".to_string())]
    );
}

#[tokio::test]
async fn wechat_bound_then_unbound_shows_on_the_next_me() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    assert_eq!(me(&w.member_a).await["wechat_bound"], false);

    let token = bind_token_for(&app, &wx, "js-me", "openid-me").await;
    wx.add_phone("ph-me", "13900000003");
    bind(&app.client(), &token, "ph-me").await.expect(200);
    // The password session she had is still hers, and it sees the binding.
    assert_eq!(me(&w.member_a).await["wechat_bound"], true);

    w.member_a
        .post("/v1/me/wechat/unbind", json!({"password": PASSWORD}))
        .await
        .expect(204);
    assert_eq!(me(&w.member_a).await["wechat_bound"], false);
}

#[tokio::test]
async fn password_set_by_a_wechat_only_member_shows_on_the_next_me() {
    let (app, wx) = setup().await;
    let w = app.world().await;
    // A member the secretary added (no password, no role): WeChat binds her by phone alone.
    let r = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "13900000009", "name": "孙大娘", "category": "full"}),
        )
        .await;
    r.expect(201);
    let r = first_login(&app, &wx, "sun", "13900000009").await;
    r.expect(200);
    let pair = r.json();
    let sun = app
        .client()
        .with_token(pair["access_token"].as_str().unwrap());
    let before = me(&sun).await;
    assert_eq!(
        (&before["has_password"], &before["wechat_bound"]),
        (&json!(false), &json!(true))
    );

    let r = sun
        .put("/v1/me/password", json!({"new_password": "sun-da-niang-1"}))
        .await;
    r.expect(200);
    let fresh = app
        .client()
        .with_token(r.json()["access_token"].as_str().unwrap());
    assert_eq!(me(&fresh).await["has_password"], true);
}

#[tokio::test]
async fn an_unchanged_me_is_304_and_a_change_gives_a_new_etag() {
    let app = spawn().await;
    let w = app.world().await;
    let first = w.member_a.get("/v1/me").await;
    first.expect(200);
    let tag = first.header("etag").unwrap();
    let with_tag = |tag: String| {
        let c = &w.member_a;
        async move {
            c.send(
                c.request(Method::GET, "/v1/me")
                    .header("if-none-match", tag.as_str()),
            )
            .await
        }
    };
    // Served from the snapshot now, with the same tag.
    with_tag(tag.clone()).await.expect(304);
    w.secretary_a
        .patch(
            &format!("/v1/members/{}", w.member_a_id),
            json!({"name": "王改名"}),
        )
        .await
        .expect(200);
    let changed = with_tag(tag.clone()).await;
    changed.expect(200);
    assert_ne!(changed.header("etag").unwrap(), tag);
    assert_eq!(changed.json()["name"], "王改名");
}

#[tokio::test]
async fn a_write_on_one_instance_shows_on_the_other_at_once() {
    if crate::helpers::backend::skip_unless(
        crate::helpers::backend::redis_url().is_some(),
        "Redis shared by two instances (the PostgreSQL run has it)",
    ) {
        return;
    }
    let a = spawn().await;
    let b = spawn_with(Options {
        share_db: Some(a.db.clone()),
        kv_prefix: Some(a.kv_prefix.clone()),
        clock: Some(a.clock.clone()),
        ..Default::default()
    })
    .await;
    let w = a.world().await;
    let token = w.member_a.access_token.clone().unwrap();
    let on_b = b.client().with_token(&token);
    assert!(role_names(&me(&on_b).await).is_empty());
    assert_eq!(
        me(&on_b).await["membership"]["org_name"],
        "东山村第一党小组"
    );

    a.grant(&w.secretary_a, w.branch_a, w.member_a_id, "organizer")
        .await;
    assert_eq!(
        role_names(&me(&on_b).await),
        vec![("organizer".to_string(), "东山村党支部".to_string())]
    );

    w.admin
        .patch(
            &format!("/v1/orgs/{}", w.group_a),
            json!({"name": "东山村一组"}),
        )
        .await
        .expect(200);
    assert_eq!(me(&on_b).await["membership"]["org_name"], "东山村一组");

    // And a logout on A is refused on B in the same kv round trip.
    w.member_a
        .post("/v1/auth/logout", json!({}))
        .await
        .expect(204);
    on_b.get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
}
