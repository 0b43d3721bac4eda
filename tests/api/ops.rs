//! Operations endpoints: health, readiness, metrics, request ids, compression, OpenAPI.

use crate::helpers::{Options, spawn, spawn_with};

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn().await;
    let c = app.client();
    let r = c.get("/healthz").await;
    r.expect(200);
    assert_eq!(r.json()["status"], "ok");
    let r = c.get("/readyz").await;
    r.expect(200);
    let body = r.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    let expected_backend = match app.db.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Postgres => "postgres",
    };
    assert_eq!(body["backend"], expected_backend);
    let expected_kv = if crate::helpers::backend::redis_url().is_some() {
        "ok"
    } else {
        "memory"
    };
    assert_eq!(body["redis"], expected_kv);
}

#[tokio::test]
async fn readyz_degrades_but_stays_up_when_redis_is_down() {
    // A Redis URL nobody listens on: the instance must stay in the load balancer.
    let app = spawn_with(Options {
        vars: vec![("REDIS_URL", crate::helpers::unreachable_redis_url())],
        ..Default::default()
    })
    .await;
    let r = app.client().get("/readyz").await;
    r.expect(200);
    assert_eq!(r.json()["redis"], "degraded");
    assert_eq!(r.json()["status"], "degraded");
}

#[tokio::test]
async fn request_id_is_echoed_or_made() {
    let app = spawn().await;
    let c = app.client();
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("abc-123"));
    let r = c.get("/healthz").await;
    let made = r.header("x-request-id").unwrap();
    assert!(made.len() >= 16, "{made}");
    // A hostile id is replaced, not echoed.
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", "a b\"c"),
        )
        .await;
    assert_ne!(r.header("x-request-id").as_deref(), Some("a b\"c"));
}

#[tokio::test]
async fn metrics_are_labelled_by_route_pattern_not_path() {
    let app = crate::helpers::spawn_with(crate::helpers::Options {
        vars: vec![("DANGKE_METRICS_TOKEN", "metrics-token-0123456789".into())],
        ..Default::default()
    })
    .await;
    let c = app.client();
    c.get("/healthz").await.expect(200);
    c.get("/no/such/route/12345").await.expect(404);
    let r = c
        .with_token("metrics-token-0123456789")
        .get("/metrics")
        .await;
    r.expect(200);
    let text = r.text();
    assert!(
        text.contains(
            r#"dangke_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(!text.contains("12345"), "raw paths must not become labels");
    assert!(text.contains("dangke_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = spawn().await;
    let c = app.client();
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/openapi.json")
                .header("accept-encoding", "gzip"),
        )
        .await;
    r.expect(200);
    assert_eq!(r.header("content-encoding").as_deref(), Some("gzip"));
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/openapi.json")
                .header("accept-encoding", "br"),
        )
        .await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("br"));
}

#[tokio::test]
async fn openapi_is_served_and_lists_every_route() {
    let app = spawn().await;
    let r = app.client().get("/openapi.json").await;
    r.expect(200);
    let spec = r.json();
    assert_eq!(spec["openapi"], "3.1.0");
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v1/auth/login",
        "/v1/me",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from the spec"
        );
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_cors_is_closed_by_default() {
    let app = spawn().await;
    let c = app.client();
    for path in ["/healthz", "/v1/me", "/no/such/route", "/openapi.json"] {
        let r = c.get(path).await;
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            r.header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(
            r.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
    }
    // No origin is allowed unless configured: no CORS headers, and a preflight is refused.
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/healthz")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert!(r.header("access-control-allow-origin").is_none());
    let r = c
        .send(
            c.request(reqwest::Method::OPTIONS, "/v1/me")
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "GET"),
        )
        .await;
    assert_ne!(r.status.as_u16(), 204);
    assert!(r.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_configured_origin_gets_cors_and_its_preflight_answered() {
    let app = crate::helpers::spawn_with(crate::helpers::Options {
        vars: vec![(
            "DANGKE_CORS_ORIGINS",
            "https://console.example.org, https://other.example.org".into(),
        )],
        ..Default::default()
    })
    .await;
    let c = app.client();
    let r = c
        .send(
            c.request(reqwest::Method::OPTIONS, "/v1/orgs/1/members")
                .header("origin", "https://console.example.org")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
        )
        .await;
    r.expect(204);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("https://console.example.org")
    );
    let methods = r.header("access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let allowed = r.header("access-control-allow-headers").unwrap();
    assert!(allowed.contains("authorization") && allowed.contains("idempotency-key"));
    // A real request: the origin is echoed, the headers a client reads are exposed.
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/v1/me")
                .header("origin", "https://console.example.org"),
        )
        .await;
    r.expect(401);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("https://console.example.org")
    );
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("x-request-id")
    );
    // Another origin still gets nothing.
    let r = c
        .send(
            c.request(reqwest::Method::GET, "/healthz")
                .header("origin", "https://console.example.org.evil.example"),
        )
        .await;
    assert!(r.header("access-control-allow-origin").is_none());
}
