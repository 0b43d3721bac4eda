//! The one error envelope: unknown routes, wrong methods, bad bodies, languages, opaque 5xx.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn unknown_route_is_route_not_found() {
    let app = spawn().await;
    let c = app.client();
    c.get("/v1/nothing-here")
        .await
        .expect_problem(404, "route_not_found");
    c.get("/").await.expect_problem(404, "route_not_found");
    c.post("/v2/auth/login", json!({}))
        .await
        .expect_problem(404, "route_not_found");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = spawn().await;
    let c = app.client();
    let r = c.get("/v1/auth/login").await;
    r.expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    let r = c.delete("/healthz").await;
    r.expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
}

#[tokio::test]
async fn bad_login_bodies_get_the_envelope() {
    let app = spawn().await;
    let c = app.client();
    let raw = |body: &'static str, ct: &'static str| {
        c.request(Method::POST, "/v1/auth/login")
            .header("content-type", ct)
            .body(body)
    };

    // Malformed JSON.
    c.send(raw("{\"phone\": ", "application/json"))
        .await
        .expect_problem(400, "malformed_json");
    // Empty body.
    c.send(raw("", "application/json"))
        .await
        .expect_problem(400, "malformed_json");
    // Unknown field: named in `errors`.
    let body = c
        .post(
            "/v1/auth/login",
            json!({"phone": "13800000000", "password": "x", "admin": true}),
        )
        .await
        .expect_problem(422, "invalid_body");
    assert_eq!(body["errors"][0]["field"], "admin");
    assert_eq!(body["errors"][0]["code"], "unknown_field");
    // Wrong type.
    let body = c
        .post(
            "/v1/auth/login",
            json!({"phone": 13800000000u64, "password": "x"}),
        )
        .await
        .expect_problem(422, "invalid_body");
    assert_eq!(body["errors"][0]["field"], "phone");
    assert_eq!(body["errors"][0]["code"], "invalid_type");
    // Missing field.
    let body = c
        .post("/v1/auth/login", json!({"phone": "13800000000"}))
        .await
        .expect_problem(422, "invalid_body");
    assert_eq!(body["errors"][0]["field"], "password");
    assert_eq!(body["errors"][0]["code"], "required");
    // Wrong content type.
    c.send(raw(
        "phone=1&password=2",
        "application/x-www-form-urlencoded",
    ))
    .await
    .expect_problem(415, "unsupported_media_type");
    c.send(c.request(Method::POST, "/v1/auth/login").body("{}"))
        .await
        .expect_problem(415, "unsupported_media_type");
    // A 10 MB body is refused.
    let big = format!(
        "{{\"phone\": \"{}\", \"password\": \"x\"}}",
        "1".repeat(10 * 1024 * 1024)
    );
    let r = c
        .send(
            c.request(Method::POST, "/v1/auth/login")
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    r.expect_problem(413, "payload_too_large");
    // Invalid phone format is a field error.
    let body = c
        .post(
            "/v1/auth/login",
            json!({"phone": "12345", "password": "whatever"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn messages_follow_accept_language() {
    let app = spawn().await;
    let c = app.client();
    let zh = c.get("/v1/nothing").await;
    let zh_body = zh.expect_problem(404, "route_not_found");
    assert_eq!(zh.header("content-language").as_deref(), Some("zh-CN"));
    assert_eq!(zh_body["title"], "接口不存在");
    let en = c
        .send(
            c.request(Method::GET, "/v1/nothing")
                .header("accept-language", "en-US,en;q=0.9"),
        )
        .await;
    let en_body = en.expect_problem(404, "route_not_found");
    assert_eq!(en_body["title"], "No such route");
    assert_eq!(en.header("content-language").as_deref(), Some("en"));
}

#[tokio::test]
async fn server_errors_are_opaque() {
    let app = spawn().await;
    // Break the database under the running server: the cause must stay in the log.
    let state = app.app_state.clone();
    state
        .db
        .write(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("DROP TABLE refresh_tokens; DROP TABLE refresh_families; ALTER TABLE users RENAME TO users_gone;")
                .map_err(dangke::error::ApiError::from)
        })
        .await
        .unwrap();
    let r = app
        .client()
        .post(
            "/v1/auth/login",
            json!({"phone": "13800000000", "password": "whatever1"}),
        )
        .await;
    let body = r.expect_problem(500, "internal");
    let text = r.text().to_lowercase();
    for leak in ["users", "table", "sql", "diesel", "relation"] {
        assert!(!text.contains(leak), "500 body leaks {leak:?}: {body}");
    }
}
