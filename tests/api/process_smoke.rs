//! The real binary as a process: it serves over a test database, dies by kill -9 and comes
//! back on the same data (SQLite file or PostgreSQL schema).

use serde_json::json;

use crate::helpers::process::{Instance, metric_value};
use crate::helpers::{Backend, Client, Options, TestDb, spawn_with};

const PHONE: &str = "13800000001";
const PW: &str = "correct-horse-1";
const LOGINS_OK: &str = r#"route="/v1/auth/login",method="POST",status="200""#;

#[tokio::test]
async fn an_instance_survives_kill_9_and_restarts_on_its_data() {
    let db = TestDb::fresh().await;
    // The user is created through the library (as the CLI does), on the same database.
    let app = spawn_with(Options {
        share_db: Some(db.clone()),
        ..Default::default()
    })
    .await;
    let user_id = app.create_user(PHONE, "王建国", PW).await;

    let mut inst = Instance::start(&db, &[]).await;
    assert_eq!(inst.base, format!("http://127.0.0.1:{}", inst.port));
    // It runs on the test's backend (the database given, not a default).
    let ready = Client::new(&inst.base).get("/readyz").await;
    ready.expect(200);
    let expected = match db.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready.json()["backend"], expected);
    let mut c = Client::new(&inst.base);
    let first = c.login(PHONE, PW).await;
    assert_eq!(first["user_id"], user_id);
    Client::new(&inst.base).login(PHONE, PW).await;
    let me = c.get("/v1/me").await;
    me.expect(200);
    assert_eq!(me.json()["id"], user_id);
    let before = inst.metrics().await;
    assert_eq!(
        metric_value(&before, "dangke_http_requests_total", LOGINS_OK),
        2.0,
        "metrics:\n{before}"
    );
    let old_refresh = c.refresh_token.clone().expect("a refresh token");
    let old_port = inst.port;

    inst.kill9();
    // Gone: nothing answers on its port any more.
    let dead = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
        .get(format!("{}/healthz", inst.base))
        .send()
        .await;
    assert!(dead.is_err(), "still answering after kill -9: {dead:?}");

    inst.restart().await;
    let log = std::fs::read_to_string(inst.log_path()).unwrap_or_default();
    assert!(
        log.contains("dangke listening"),
        "log {}:\n{log}",
        inst.log_path().display()
    );
    if inst.port != old_port {
        eprintln!("restarted on port {} ({old_port} was taken)", inst.port);
    }

    // The user and the session written before the kill are still there.
    let mut again = Client::new(&inst.base);
    let body = again.login(PHONE, PW).await;
    assert_eq!(body["user_id"], user_id);
    let me = again.get("/v1/me").await;
    me.expect(200);
    assert_eq!(me.json()["phone"], PHONE);
    let refreshed = Client::new(&inst.base)
        .post("/v1/auth/refresh", json!({"refresh_token": old_refresh}))
        .await;
    refreshed.expect(200);
    assert!(refreshed.json()["access_token"].is_string());

    // A new process: its counters started again from zero.
    let after = inst.metrics().await;
    assert_eq!(
        metric_value(&after, "dangke_http_requests_total", LOGINS_OK),
        1.0,
        "metrics:\n{after}"
    );
    drop(app);
}
