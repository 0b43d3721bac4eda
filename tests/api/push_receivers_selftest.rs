//! The loopback push receivers themselves, driven directly over HTTP: what they accept,
//! what they reject with which code, rate limits on the test clock, webhook duplicates,
//! scripted replies and the down switch.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use dangke::clock::{Clock, ManualClock};
use serde_json::{Value, json};

use crate::helpers::push_receivers::{
    PushReceivers, Reply, Target, dingtalk_sign, webhook_signature, wecom_image_message,
};
use crate::helpers::start_time;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn setup() -> (Arc<ManualClock>, PushReceivers, reqwest::Client) {
    let clock = Arc::new(ManualClock::new(start_time()));
    let rx = PushReceivers::start(clock.clone()).await;
    (clock, rx, reqwest::Client::new())
}

/// Posts `body` as JSON and returns the HTTP status and the parsed answer (Null if none).
async fn post(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let resp = http.post(url).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn png(len: usize) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.resize(len, 7);
    bytes
}

#[tokio::test]
async fn wecom_accepts_markdown_and_images_and_rejects_bad_messages() {
    let (_clock, rx, http) = setup().await;
    rx.add_wecom_key("k1");
    let url = rx.wecom_url("k1");
    let target = Target::Wecom("k1".into());

    let md = json!({"msgtype": "markdown", "markdown": {"content": "# 本周\n> 出勤 **9** 人"}});
    let (status, body) = post(&http, &url, &md).await;
    assert_eq!((status, body), (200, json!({"errcode": 0, "errmsg": "ok"})));

    let image = wecom_image_message(&png(100));
    assert_eq!(post(&http, &url, &image).await.1["errcode"], 0);

    let mut wrong_md5 = image.clone();
    wrong_md5["image"]["md5"] = json!("0123456789abcdef0123456789abcdef");
    assert_eq!(post(&http, &url, &wrong_md5).await.1["errcode"], 301019);

    let not_png = wecom_image_message(b"GIF89a not a png");
    assert_eq!(post(&http, &url, &not_png).await.1["errcode"], 40058);

    let too_long = json!({"msgtype": "markdown", "markdown": {"content": "党".repeat(1366)}});
    assert_eq!(post(&http, &url, &too_long).await.1["errcode"], 40058);

    let unknown = json!({"msgtype": "voice", "voice": {}});
    assert_eq!(post(&http, &url, &unknown).await.1["errcode"], 40008);

    let (_, body) = post(&http, &rx.wecom_url("nope"), &md).await;
    assert_eq!(body["errcode"], 93000);

    let got = rx.accepted(&target);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, md);
    assert_eq!(got[0].at, start_time().timestamp());
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert_eq!(rx.rejected(&target), vec![301019, 40058, 40058, 40008]);
    assert_eq!(rx.calls(&target), 6);
    assert_eq!(rx.rejected(&Target::Wecom("nope".into())), vec![93000]);
}

#[tokio::test]
async fn wecom_limits_twenty_messages_a_minute_on_the_test_clock() {
    let (clock, rx, http) = setup().await;
    rx.add_wecom_key("k1");
    let url = rx.wecom_url("k1");
    let target = Target::Wecom("k1".into());
    let text = |i: usize| json!({"msgtype": "text", "text": {"content": format!("#{i}")}});

    for i in 0..20 {
        assert_eq!(
            post(&http, &url, &text(i)).await.1["errcode"],
            0,
            "message {i}"
        );
    }
    let (_, body) = post(&http, &url, &text(20)).await;
    assert_eq!(
        body,
        json!({"errcode": 45009, "errmsg": "api freq out of limit"})
    );
    assert_eq!(rx.accepted(&target).len(), 20);

    clock.advance(ChronoDuration::seconds(60));
    assert_eq!(post(&http, &url, &text(21)).await.1["errcode"], 0);
    assert_eq!(rx.accepted(&target).len(), 21);
    assert_eq!(rx.rejected(&target), vec![45009]);
}

#[tokio::test]
async fn dingtalk_checks_the_sign_and_the_message() {
    let (clock, rx, http) = setup().await;
    let secret = "SEC0123456789abcdef0123456789abcdef";
    rx.add_dingtalk("t1", secret);
    let target = Target::DingTalk("t1".into());
    let now_ms = clock.now().timestamp_millis();
    let send = |token: &str, ts: i64, sign: String, body: Value| {
        let req = http
            .post(rx.dingtalk_url(token))
            .query(&[("timestamp", ts.to_string()), ("sign", sign)])
            .json(&body);
        async move {
            let resp = req.send().await.unwrap();
            resp.json::<Value>().await.unwrap()["errcode"].clone()
        }
    };
    let md =
        json!({"msgtype": "markdown", "markdown": {"title": "周报", "text": "## 周报\n- 出勤"}});

    let ok = send("t1", now_ms, dingtalk_sign(secret, now_ms), md.clone()).await;
    assert_eq!(ok, 0);
    let wrong = send("t1", now_ms, dingtalk_sign("SECother", now_ms), md.clone()).await;
    assert_eq!(wrong, 310000);
    let stale_ts = now_ms - 2 * 3_600_000;
    let stale = send("t1", stale_ts, dingtalk_sign(secret, stale_ts), md.clone()).await;
    assert_eq!(stale, 310000);
    let untitled = json!({"msgtype": "markdown", "markdown": {"text": "x"}});
    let missing = send("t1", now_ms, dingtalk_sign(secret, now_ms), untitled).await;
    assert_eq!(missing, 40035);
    let unknown = send("t2", now_ms, dingtalk_sign(secret, now_ms), md.clone()).await;
    assert_eq!(unknown, 300001);

    let got = rx.accepted(&target);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, md);
    assert_eq!(rx.rejected(&target), vec![310000, 310000, 40035]);
}

#[tokio::test]
async fn webhooks_check_signatures_and_count_duplicates() {
    let (clock, rx, http) = setup().await;
    rx.add_webhook("ops", WHSEC);
    let url = rx.webhook_url("ops");
    let target = Target::Webhook("ops".into());
    let body = br#"{"type":"digest.ready","data":{"org":1}}"#.to_vec();
    let send = |id: &str, ts: i64, sig: String, body: Vec<u8>| {
        let req = http
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let now = clock.now().timestamp();
    let sig = |id: &str, ts: i64, body: &[u8]| webhook_signature(WHSEC, id, ts, body);

    assert_eq!(
        send("msg_1", now, sig("msg_1", now, &body), body.clone()).await,
        204
    );
    // A second entry that matches is enough.
    let both = format!("v1,AAAA {}", sig("msg_1", now, &body));
    assert_eq!(send("msg_1", now, both, body.clone()).await, 200);
    let forged = sig("msg_2", now, b"{}");
    assert_eq!(send("msg_2", now, forged, body.clone()).await, 401);
    let old = now - 301;
    assert_eq!(
        send("msg_3", old, sig("msg_3", old, &body), body.clone()).await,
        400
    );
    let text = b"not json".to_vec();
    assert_eq!(
        send("msg_4", now, sig("msg_4", now, &text), text).await,
        400
    );
    let bare = http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 401);

    rx.script(
        target.clone(),
        vec![
            Reply::Status(500),
            Reply::Errcode(7),
            Reply::Sleep(Duration::ZERO),
        ],
    );
    assert_eq!(
        send("msg_5", now, sig("msg_5", now, &body), body.clone()).await,
        500
    );
    assert_eq!(
        send("msg_5", now, sig("msg_5", now, &body), body.clone()).await,
        200
    );
    rx.set_down(true);
    assert_eq!(
        send("msg_5", now, sig("msg_5", now, &body), body.clone()).await,
        503
    );
    rx.set_down(false);
    assert_eq!(
        send("msg_5", now, sig("msg_5", now, &body), body.clone()).await,
        204
    );

    let got = rx.wait_accepted(&target, 2, Duration::from_secs(1)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), Some("msg_1"));
    assert_eq!(got[1].body["type"], "digest.ready");
    assert_eq!(rx.duplicates(&target), 1);
    assert_eq!(rx.rejected(&target), vec![401, 400, 400, 401, 500, 7, 503]);
    assert_eq!(rx.calls(&target), 10);
}
