//! Pushes to organizers, over HTTP against loopback robots: channels and their sealed
//! secrets, test messages to WeCom, DingTalk and a signed webhook, the outbox's retries,
//! backoff, dead letters and manual retry, broken credentials, the per-robot rate, and
//! scheduled digests written once per channel and period.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::activities::sh;
use crate::helpers::push_receivers::{PushReceivers, Reply, Target};
use crate::helpers::{Options, TestApp, spawn_with, start_time};
use crate::stats::the_day_with;
use dangke::clock::{Clock, ManualClock};

const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
const DING_TOKEN: &str = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const DING_SECRET: &str = "SEC7d8b5f3e6a4c2b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Loopback robots (a WeCom key, a DingTalk token, the webhook "county") and an app that
/// sends to them, on one clock; loopback webhooks allowed; the worker off (the tests run its
/// passes) unless `worker` is set.
async fn setup(worker: bool, extra: Vec<(&'static str, String)>) -> (TestApp, PushReceivers) {
    let clock = Arc::new(ManualClock::new(start_time()));
    let robots = PushReceivers::start(clock.clone()).await;
    robots.add_wecom_key(WECOM_KEY);
    robots.add_dingtalk(DING_TOKEN, DING_SECRET);
    robots.add_webhook("county", WHSEC);
    let mut vars = vec![
        ("DANGKE_WECOM_API_BASE", robots.base()),
        ("DANGKE_DINGTALK_API_BASE", robots.base()),
        ("DANGKE_PUSH_ALLOW_NETS", "127.0.0.0/8".to_string()),
        (
            "DANGKE_PUSH_EVERY",
            if worker { "1s" } else { "off" }.to_string(),
        ),
        ("DANGKE_PUSH_TIMEOUT", "3s".to_string()),
    ];
    vars.extend(extra);
    let app = spawn_with(Options {
        vars,
        clock: Some(clock),
        ..Options::default()
    })
    .await;
    (app, robots)
}

/// One pass of the outbox worker, as the background task runs it.
async fn pass(app: &TestApp) -> dangke::push::worker::Pass {
    dangke::push::worker::run_once(&app.app_state)
        .await
        .expect("worker pass")
}

fn wecom() -> Target {
    Target::Wecom(WECOM_KEY.into())
}

fn hook() -> Target {
    Target::Webhook("county".into())
}

async fn deliveries(_app: &TestApp, c: &crate::helpers::Client, org: i64) -> Vec<Value> {
    let r = c.get(&format!("/v1/orgs/{org}/deliveries")).await;
    r.expect(200);
    r.json()["items"].as_array().unwrap().clone()
}

fn ts(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn channels_belong_to_organizers_and_never_show_their_secrets() {
    let app = spawn_with(Options::default()).await;
    let w = app.world().await;
    let created = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "镇党委工作群", "key": WECOM_KEY}),
        )
        .await;
    created.expect(201);
    let ch = created.json()["channel"].clone();
    assert_eq!(ch["kind"], "wecom_robot");
    assert_eq!(ch["secret_hint"], "…5aaa");
    assert!(created.json()["signing_secret"].is_null());
    assert!(!created.text().contains(WECOM_KEY), "{}", created.text());
    let id = ch["id"].as_i64().unwrap();
    // Read back: still only the hint. At rest: sealed, not the key.
    let got = w.admin.get(&format!("/v1/push-channels/{id}")).await;
    got.expect(200);
    assert!(!got.text().contains(WECOM_KEY));
    let sealed: String = app
        .app_state
        .db
        .read(move |c| {
            use dangke::db::schema::push_channels as pc;
            use diesel::prelude::*;
            Ok(pc::table
                .find(id)
                .select(pc::secret_sealed)
                .first::<String>(c)?)
        })
        .await
        .unwrap();
    assert!(
        sealed.starts_with("v1:") && !sealed.contains(WECOM_KEY),
        "{sealed}"
    );

    // A DingTalk robot needs its SEC secret; a webhook without a secret gets one, shown once.
    w.admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "dingtalk_robot", "name": "钉钉群", "access_token": DING_TOKEN, "secret": "not-a-sec-secret-at-all"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    w.admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "缺少密钥"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    w.admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "多余字段", "key": WECOM_KEY, "url": "https://example.org/x"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    // Webhooks go to public HTTPS only: loopback, private, metadata and plain http refused.
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://8.8.8.8/hook",
    ] {
        let p = w
            .admin
            .post(
                &format!("/v1/orgs/{}/push-channels", w.township),
                json!({"kind": "webhook", "name": "内网", "url": url}),
            )
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], "url", "{url}: {p}");
    }
    let hook = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "webhook", "name": "县里的系统", "url": "https://8.8.8.8/hooks/dangke"}),
        )
        .await;
    hook.expect(201);
    let secret = hook.json()["signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let hook_id = hook.json()["channel"]["id"].as_i64().unwrap();
    let again = w.admin.get(&format!("/v1/push-channels/{hook_id}")).await;
    assert!(!again.text().contains(&secret[6..]));

    // Only the org's organizers: a sibling branch's organizer and a member see nothing.
    w.organizer_b
        .get(&format!("/v1/push-channels/{id}"))
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .get(&format!("/v1/orgs/{}/push-channels", w.township))
        .await
        .expect_problem(404, "not_found");
    let list = w
        .admin
        .get(&format!("/v1/orgs/{}/push-channels", w.township))
        .await;
    list.expect(200);
    assert_eq!(list.json().as_array().unwrap().len(), 2);

    // Renamed, then deleted; every change is in the org's audit log.
    w.admin
        .patch(
            &format!("/v1/push-channels/{id}"),
            json!({"name": "镇党委群"}),
        )
        .await
        .expect(200);
    w.admin
        .delete(&format!("/v1/push-channels/{id}"))
        .await
        .expect(204);
    w.admin
        .get(&format!("/v1/push-channels/{id}"))
        .await
        .expect_problem(404, "not_found");
    let audit = w.admin.get(&format!("/v1/orgs/{}/audit", w.township)).await;
    let text = audit.text();
    for action in [
        "push_channel_created",
        "push_channel_updated",
        "push_channel_deleted",
    ] {
        assert!(text.contains(action), "{action}: {text}");
    }
    assert!(!text.contains(WECOM_KEY) && !text.contains(&secret[6..]));
}

#[tokio::test]
async fn a_test_message_reaches_each_kind_of_robot_signed() {
    let (app, robots) = setup(true, vec![]).await;
    let w = app.world().await;
    let mut ids = Vec::new();
    for body in [
        json!({"kind": "wecom_robot", "name": "企业微信群", "key": WECOM_KEY}),
        json!({"kind": "dingtalk_robot", "name": "钉钉群", "access_token": DING_TOKEN, "secret": DING_SECRET}),
        json!({"kind": "webhook", "name": "县平台", "url": robots.webhook_url("county"), "secret": WHSEC}),
    ] {
        let r = w
            .admin
            .post(&format!("/v1/orgs/{}/push-channels", w.township), body)
            .await;
        r.expect(201);
        ids.push(r.json()["channel"]["id"].as_i64().unwrap());
    }
    for id in &ids {
        let r = w
            .admin
            .post(&format!("/v1/push-channels/{id}/test"), json!({}))
            .await;
        r.expect(202);
        assert_eq!(r.json()["status"], "pending");
        assert_eq!(r.json()["purpose"], "test");
    }
    // The background worker is woken at once: no pass is run by hand here.
    let got = robots
        .wait_accepted(&wecom(), 1, Duration::from_secs(10))
        .await;
    assert_eq!(got[0].body["msgtype"], "markdown");
    let content = got[0].body["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("测试消息") && content.contains("城关镇党委"),
        "{content}"
    );
    // The DingTalk receiver checked timestamp and signature before accepting.
    let ding = robots
        .wait_accepted(
            &Target::DingTalk(DING_TOKEN.into()),
            1,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(ding[0].body["msgtype"], "markdown");
    assert!(
        ding[0].body["markdown"]["title"]
            .as_str()
            .unwrap()
            .contains("测试消息")
    );
    // The webhook receiver checked the Standard Webhooks signature.
    let hooks = robots
        .wait_accepted(&hook(), 1, Duration::from_secs(10))
        .await;
    assert_eq!(hooks[0].body["type"], "test");
    assert_eq!(hooks[0].body["data"]["org_name"], "城关镇党委");
    assert!(hooks[0].header("webhook-id").unwrap().starts_with("msg_"));
    // Each delivered once, one attempt each, as the organizer sees it.
    let mut seen = 0;
    for _ in 0..100 {
        let list = deliveries(&app, &w.admin, w.township).await;
        seen = list.iter().filter(|d| d["status"] == "delivered").count();
        if seen == 3 {
            for d in &list {
                assert_eq!(d["attempts"], 1, "{d}");
                assert_eq!(d["attempt_log"][0]["outcome"], "sent", "{d}");
                assert!(d["next_at"].is_null());
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 3);
    assert_eq!(robots.calls(&wecom()), 1);
    assert_eq!(robots.duplicates(&hook()), 0);
}

/// A webhook channel of the township; returns its id.
async fn webhook_channel(w: &crate::helpers::world::World, robots: &PushReceivers) -> i64 {
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "webhook", "name": "县平台", "url": robots.webhook_url("county"), "secret": WHSEC}),
        )
        .await;
    r.expect(201);
    r.json()["channel"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_message_once_on_the_fourth_attempt() {
    let (app, robots) = setup(false, vec![]).await;
    let w = app.world().await;
    let ch = webhook_channel(&w, &robots).await;
    robots.script(
        hook(),
        vec![Reply::Status(500), Reply::Status(500), Reply::Status(500)],
    );
    w.admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await
        .expect(202);
    for _ in 0..4 {
        pass(&app).await;
        let d = &deliveries(&app, &w.admin, w.township).await[0];
        if d["status"] == "delivered" {
            break;
        }
        assert_eq!(d["status"], "pending", "{d}");
        // Not due before its time: a pass now sends nothing.
        let before = robots.calls(&hook());
        pass(&app).await;
        assert_eq!(robots.calls(&hook()), before, "retried before next_at");
        app.clock
            .set(ts(&d["next_at"]) + chrono::Duration::seconds(1));
    }
    let d = &deliveries(&app, &w.admin, w.township).await[0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 4);
    let outcomes: Vec<&str> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "retry", "sent"]);
    assert_eq!(d["attempt_log"][0]["http_status"], 500);
    assert_eq!(robots.accepted(&hook()).len(), 1);
    assert_eq!(robots.calls(&hook()), 4);
    // The one delivery, as a client following it reads it, is the list's row; an organizer
    // of a branch does not see the township's delivery.
    let id = d["id"].as_i64().unwrap();
    let one = w.admin.get(&format!("/v1/deliveries/{id}")).await;
    one.expect(200);
    assert_eq!(&one.json(), d);
    w.secretary_a
        .get(&format!("/v1/deliveries/{id}"))
        .await
        .expect_problem(404, "not_found");
    w.admin
        .get(&format!("/v1/deliveries/{}", id + 1000))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_receiver_down_for_a_day_ends_dead_with_growing_backoff_and_a_retry_delivers() {
    // The organizer's token outlives the test's day.
    let (app, robots) = setup(
        false,
        vec![
            ("DANGKE_PUSH_RETRY_BASE", "60s".to_string()),
            ("DANGKE_ACCESS_TOKEN_TTL", "3d".to_string()),
        ],
    )
    .await;
    let w = app.world().await;
    let ch = webhook_channel(&w, &robots).await;
    robots.set_down(true);
    let queued = w
        .admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await;
    queued.expect(202);
    let id = queued.json()["id"].as_i64().unwrap();
    let mut gaps = Vec::new();
    let mut last = app.clock.now();
    for _ in 0..200 {
        pass(&app).await;
        let d = deliveries(&app, &w.admin, w.township).await[0].clone();
        if d["status"] == "dead" {
            break;
        }
        let next = ts(&d["next_at"]);
        gaps.push((next - last).num_seconds());
        last = next;
        app.clock.set(next + chrono::Duration::seconds(1));
    }
    let d = deliveries(&app, &w.admin, w.township).await[0].clone();
    assert_eq!(d["status"], "dead", "{d}");
    assert!(d["last_error"].as_str().unwrap().contains("503"), "{d}");
    // Backoff grows (doubling with ±20 % jitter) until it reaches the hour cap.
    assert!(gaps.len() >= 20, "{gaps:?}");
    for pair in gaps[..6].windows(2) {
        assert!(pair[1] > pair[0], "backoff must grow: {gaps:?}");
    }
    assert!(gaps.iter().all(|g| *g <= 3600 * 12 / 10 + 1), "{gaps:?}");
    // Given up about a day after it was written; every attempt recorded.
    let attempts = d["attempts"].as_i64().unwrap();
    assert_eq!(d["attempt_log"].as_array().unwrap().len() as i64, attempts);
    assert_eq!(robots.calls(&hook()) as i64, attempts);
    assert!(robots.accepted(&hook()).is_empty());
    // Nothing lost: once the receiver is back, a retry delivers it.
    robots.set_down(false);
    let r = w
        .admin
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "pending");
    pass(&app).await;
    assert_eq!(robots.accepted(&hook()).len(), 1);
    let d = deliveries(&app, &w.admin, w.township).await[0].clone();
    assert_eq!(d["status"], "delivered");
    // Retrying a delivered one is a conflict.
    w.admin
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await
        .expect_problem(409, "conflict");
    let audit = w.admin.get(&format!("/v1/orgs/{}/audit", w.township)).await;
    assert!(audit.text().contains("push_delivery_retried"));
}

#[tokio::test]
async fn a_refused_robot_key_marks_the_channel_broken_until_it_is_replaced() {
    let (app, robots) = setup(false, vec![]).await;
    let w = app.world().await;
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "旧群", "key": "a-key-wecom-does-not-know"}),
        )
        .await;
    r.expect(201);
    let ch = r.json()["channel"]["id"].as_i64().unwrap();
    let queued = w
        .admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await;
    let id = queued.json()["id"].as_i64().unwrap();
    pass(&app).await;
    // 93000 (invalid webhook key): no retry, the channel is broken and says why.
    let d = deliveries(&app, &w.admin, w.township).await[0].clone();
    assert_eq!(d["status"], "dead", "{d}");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["attempt_log"][0]["outcome"], "broken");
    assert_eq!(d["attempt_log"][0]["errcode"], 93000);
    let c = w.admin.get(&format!("/v1/push-channels/{ch}")).await.json();
    assert!(
        c["broken"]["reason"].as_str().unwrap().contains("93000"),
        "{c}"
    );
    // While broken, nothing is sent through it.
    w.admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await
        .expect(202);
    pass(&app).await;
    assert_eq!(
        robots.calls(&Target::Wecom("a-key-wecom-does-not-know".into())),
        1
    );
    // A new key repairs it: the waiting test goes, and the dead one can be sent again.
    let fixed = w
        .admin
        .patch(
            &format!("/v1/push-channels/{ch}"),
            json!({"key": WECOM_KEY}),
        )
        .await;
    fixed.expect(200);
    assert!(fixed.json()["broken"].is_null());
    assert_eq!(fixed.json()["secret_hint"], "…5aaa");
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 1);
    w.admin
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await
        .expect(200);
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 2);
    // A message WeCom refuses for itself (not the key) is dead without marking the channel.
    robots.script(wecom(), vec![Reply::Errcode(40058)]);
    w.admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await
        .expect(202);
    pass(&app).await;
    let d = deliveries(&app, &w.admin, w.township).await[0].clone();
    assert_eq!(d["status"], "dead");
    assert_eq!(d["attempt_log"][0]["outcome"], "failed");
    let c = w.admin.get(&format!("/v1/push-channels/{ch}")).await.json();
    assert!(c["broken"].is_null(), "{c}");
}

#[tokio::test]
async fn a_robot_gets_at_most_twenty_messages_a_minute() {
    let (app, robots) = setup(false, vec![]).await;
    let w = app.world().await;
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "镇党委群", "key": WECOM_KEY}),
        )
        .await;
    let ch = r.json()["channel"]["id"].as_i64().unwrap();
    for _ in 0..25 {
        w.admin
            .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
            .await
            .expect(202);
    }
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 20);
    assert!(
        robots.rejected(&wecom()).is_empty(),
        "never over the robot's limit"
    );
    let waiting: Vec<Value> = deliveries(&app, &w.admin, w.township)
        .await
        .into_iter()
        .filter(|d| d["status"] == "pending")
        .collect();
    assert_eq!(waiting.len(), 5);
    assert!(
        waiting.iter().all(|d| d["attempts"] == 0),
        "postponed, not failed"
    );
    app.clock.advance(chrono::Duration::seconds(61));
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 25);
    // A 45009 that happens anyway (another sender on the robot) is retried, not dropped.
    robots.script(wecom(), vec![Reply::Errcode(45009)]);
    app.clock.advance(chrono::Duration::seconds(61));
    w.admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await
        .expect(202);
    pass(&app).await;
    let d = deliveries(&app, &w.admin, w.township).await[0].clone();
    assert_eq!(d["status"], "pending");
    assert_eq!(d["attempt_log"][0]["outcome"], "retry");
    app.clock
        .set(ts(&d["next_at"]) + chrono::Duration::seconds(1));
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 26);
}

#[tokio::test]
async fn a_monthly_digest_goes_once_per_channel_across_the_month_end() {
    // The day's own app runs no push worker: its robots are nobody (port 9), and a pass of
    // its own at 9:05 would write and claim the digests before the two instances below.
    let d = the_day_with(vec![("DANGKE_PUSH_EVERY", "off".to_string())]).await;
    let w = &d.w;
    // The same database and clock, served by an app whose robots are loopback ones.
    let robots = PushReceivers::start(d.app.clock.clone()).await;
    robots.add_wecom_key(WECOM_KEY);
    robots.add_webhook("county", WHSEC);
    let vars = || {
        vec![
            ("DANGKE_WECOM_API_BASE", robots.base()),
            ("DANGKE_DINGTALK_API_BASE", robots.base()),
            ("DANGKE_PUSH_ALLOW_NETS", "127.0.0.0/8".to_string()),
            ("DANGKE_PUSH_EVERY", "off".to_string()),
        ]
    };
    let app = spawn_with(Options {
        vars: vars(),
        share_db: Some(d.app.db.clone()),
        kv_prefix: Some(d.app.kv_prefix.clone()),
        clock: Some(d.app.clock.clone()),
    })
    .await;
    let second = spawn_with(Options {
        vars: vars(),
        share_db: Some(d.app.db.clone()),
        kv_prefix: Some(d.app.kv_prefix.clone()),
        clock: Some(d.app.clock.clone()),
    })
    .await;
    let mut admin = w.admin.clone();
    admin.base = app.base.clone();
    app.clock.set(sh(2026, 11, 30, 20, 0));
    let mut channels = Vec::new();
    for body in [
        json!({"kind": "wecom_robot", "name": "镇党委群", "key": WECOM_KEY}),
        json!({"kind": "webhook", "name": "县平台", "url": robots.webhook_url("county"), "secret": WHSEC}),
    ] {
        let r = admin
            .post(&format!("/v1/orgs/{}/push-channels", w.township), body)
            .await;
        r.expect(201);
        let ch = r.json()["channel"]["id"].as_i64().unwrap();
        let s = admin
            .post(
                &format!("/v1/push-channels/{ch}/schedules"),
                json!({"frequency": "monthly", "month_day": 1, "time": "09:00"}),
            )
            .await;
        s.expect(201);
        assert_eq!(s.json()["time"], "09:00");
        channels.push(ch);
    }
    // A bad schedule is refused with the field named.
    let p = admin
        .post(
            &format!("/v1/push-channels/{}/schedules", channels[0]),
            json!({"frequency": "weekly", "time": "9点"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        p.to_string().contains("time") || p.to_string().contains("weekday"),
        "{p}"
    );
    // Before the firing time: nothing (and nothing for months before the schedule existed).
    pass(&app).await;
    app.clock.set(sh(2026, 12, 1, 8, 59));
    pass(&app).await;
    assert!(robots.accepted(&wecom()).is_empty());
    assert!(deliveries(&app, &admin, w.township).await.is_empty());
    // Across the month end, two instances, several passes: one digest per channel.
    app.clock.set(sh(2026, 12, 1, 9, 5));
    let (a, b) = tokio::join!(pass(&app), pass(&second));
    assert_eq!(a.digests_written + b.digests_written, 2, "{a:?} {b:?}");
    pass(&second).await;
    app.clock.advance(chrono::Duration::hours(5));
    pass(&app).await;
    let list = deliveries(&app, &admin, w.township).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        list.iter()
            .all(|d| d["purpose"] == "digest" && d["status"] == "delivered"),
        "{list:#?}"
    );
    // WeCom: the markdown, then the chart as an image message (the robot checked its md5).
    let got = robots.accepted(&wecom());
    assert_eq!(
        got.len(),
        2,
        "{:?}",
        got.iter().map(|g| &g.body["msgtype"]).collect::<Vec<_>>()
    );
    assert_eq!(got[1].body["msgtype"], "image");
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        got[1].body["image"]["base64"].as_str().unwrap(),
    )
    .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() < 2 * 1024 * 1024);
    let content = got[0].body["markdown"]["content"].as_str().unwrap();
    assert_eq!(
        content.lines().next().unwrap(),
        "### 城关镇党委 · 2026-11 党建学习简报"
    );
    assert!(content.len() <= 4096);
    let hooks = robots.accepted(&hook());
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].body["type"], "digest");
    assert_eq!(hooks[0].body["data"]["period"]["label"], "2026-11");
    assert_eq!(hooks[0].body["data"]["org_name"], "城关镇党委");
    // The webhook gets the chart by a signed URL that needs no token: the same PNG.
    let url = hooks[0].body["data"]["chart_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("/v1/orgs/{}/digest/chart.png?", w.township)),
        "{url}"
    );
    let r = reqwest::get(format!("{}{url}", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    // The next month's digest comes a month later, not before.
    app.clock.set(sh(2026, 12, 31, 23, 0));
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 2);
    app.clock.set(sh(2027, 1, 1, 9, 0));
    pass(&app).await;
    let got = robots.accepted(&wecom());
    assert_eq!(got.len(), 4);
    assert!(
        got[2].body["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("2026-12")
    );
}

/// `/metrics` shows the outbox: deliveries by status and the age of the oldest pending one.
#[tokio::test]
async fn metrics_show_the_outbox_by_status_and_its_oldest_pending_age() {
    const TOKEN: &str = "metrics-token-0123456789";
    let (app, robots) = setup(false, vec![("DANGKE_METRICS_TOKEN", TOKEN.into())]).await;
    let w = app.world().await;
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "企业微信群", "key": WECOM_KEY}),
        )
        .await;
    r.expect(201);
    let ch = r.json()["channel"]["id"].as_i64().unwrap();
    w.admin
        .post(&format!("/v1/push-channels/{ch}/test"), json!({}))
        .await
        .expect(202);
    let scrape = || async {
        let r = app.client().with_token(TOKEN).get("/metrics").await;
        r.expect(200);
        r.text()
    };
    app.clock.advance(chrono::Duration::seconds(90));
    let text = scrape().await;
    assert!(
        text.contains(r#"dangke_push_deliveries{status="pending"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"dangke_push_deliveries{status="delivered"} 0"#),
        "{text}"
    );
    assert!(
        text.contains("dangke_push_oldest_pending_age_seconds 90"),
        "{text}"
    );
    pass(&app).await;
    assert_eq!(robots.accepted(&wecom()).len(), 1);
    let text = scrape().await;
    assert!(
        text.contains(r#"dangke_push_deliveries{status="pending"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"dangke_push_deliveries{status="delivered"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("dangke_push_oldest_pending_age_seconds 0"),
        "{text}"
    );
}

/// A robot that cannot be reached: the delivery says why ("cannot connect"), but neither
/// its error nor its attempts quote the robot's address, which carries the key.
#[tokio::test]
async fn a_delivery_error_never_shows_the_robot_key() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (app, _robots) = setup(
        false,
        vec![(
            "DANGKE_WECOM_API_BASE",
            format!("http://127.0.0.1:{closed}"),
        )],
    )
    .await;
    let w = app.world().await;
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/push-channels", w.township),
            json!({"kind": "wecom_robot", "name": "企业微信群", "key": WECOM_KEY}),
        )
        .await;
    r.expect(201);
    let id = r.json()["channel"]["id"].as_i64().unwrap();
    w.admin
        .post(&format!("/v1/push-channels/{id}/test"), json!({}))
        .await
        .expect(202);
    pass(&app).await;
    let all = deliveries(&app, &w.admin, w.township).await;
    let text = serde_json::to_string(&all).unwrap();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains(WECOM_KEY), "the robot key is shown: {text}");
    assert!(!text.contains("key="), "{text}");
}
