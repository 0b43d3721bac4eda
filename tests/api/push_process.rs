//! The push outbox as real `dangke serve` processes (issue 17): a process killed (kill -9)
//! in the middle of sending digests and started again on the same data gets every digest
//! to a deduplicating webhook receiver at least once — exactly once per `webhook-id` — and
//! two processes on one database send each delivery once and write each digest once.
//!
//! An in-process app on the same database sets things up through the API: the world,
//! webhook channels to loopback receivers, daily schedules. Its clock is two hours behind
//! the real one and its push worker is off, so it sends nothing itself; the schedules fire
//! at the real time of an hour ago (Shanghai, the orgs' zone), after they were created (by
//! the setup app's clock), so the processes — on the real clock — find them due at once.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::helpers::process::Instance;
use crate::helpers::push_receivers::{PushReceivers, Reply, Target};
use crate::helpers::world::World;
use crate::helpers::{Options, TestApp, TestDb, spawn_with};
use dangke::clock::{ManualClock, SystemClock};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How long a test waits for the processes to get everything delivered. A delivery whose
/// process died is claimed again when its lease (4 × the send timeout, at least 10 s) ends.
const DELIVERED_WITHIN: Duration = Duration::from_secs(40);

/// One webhook channel and the receiver endpoint it points at.
struct Channel {
    id: i64,
    org: i64,
    name: String,
}

impl Channel {
    fn target(&self) -> Target {
        Target::Webhook(self.name.clone())
    }
}

struct Setup {
    db: TestDb,
    app: TestApp,
    w: World,
    robots: PushReceivers,
    channels: Vec<Channel>,
    /// The orgs the channels belong to.
    orgs: Vec<i64>,
    /// `HH:MM` in Shanghai of the real time an hour ago: when the schedules fire.
    fire_at: String,
    /// The day the digests report (daily: the day before the firing).
    day: NaiveDate,
}

/// The world, through an app on the real time minus two hours with no push worker, and `n`
/// webhook channels spread over the township and its two branches, each to its own
/// loopback receiver endpoint (whose clock is the real one, as the processes sign with it).
async fn setup(n: usize) -> Setup {
    let db = TestDb::fresh().await;
    let clock = Arc::new(ManualClock::new(Utc::now() - chrono::Duration::hours(2)));
    let robots = PushReceivers::start(Arc::new(SystemClock)).await;
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_PUSH_EVERY", "off".to_string()),
            ("DANGKE_PUSH_ALLOW_NETS", "127.0.0.0/8".to_string()),
            ("DANGKE_CHART_FONT", "off".to_string()),
        ],
        share_db: Some(db.clone()),
        clock: Some(clock),
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let orgs = vec![w.township, w.branch_a, w.branch_b];
    let mut channels = Vec::new();
    for i in 0..n {
        let org = orgs[i % orgs.len()];
        let name = format!("hook-{i}");
        robots.add_webhook(&name, WHSEC);
        let r = w
            .admin
            .post(
                &format!("/v1/orgs/{org}/push-channels"),
                json!({"kind": "webhook", "name": format!("平台{i}"), "url": robots.webhook_url(&name), "secret": WHSEC}),
            )
            .await;
        r.expect(201);
        let id = r.json()["channel"]["id"].as_i64().unwrap();
        channels.push(Channel { id, org, name });
    }
    let fired = (Utc::now() - chrono::Duration::hours(1)).with_timezone(&chrono_tz::Asia::Shanghai);
    let day = fired.date_naive().checked_sub_days(Days::new(1)).unwrap();
    Setup {
        db,
        app,
        w,
        robots,
        channels,
        orgs,
        fire_at: fired.format("%H:%M").to_string(),
        day,
    }
}

impl Setup {
    /// A daily schedule for `ch`, firing at [`Setup::fire_at`].
    async fn schedule(&self, ch: &Channel) {
        let r = self
            .w
            .admin
            .post(
                &format!("/v1/push-channels/{}/schedules", ch.id),
                json!({"frequency": "daily", "time": self.fire_at}),
            )
            .await;
        r.expect(201);
    }

    /// A test message to `ch` (due at once: written at the setup app's time).
    async fn test_message(&self, ch: &Channel) {
        let r = self
            .w
            .admin
            .post(&format!("/v1/push-channels/{}/test", ch.id), json!({}))
            .await;
        r.expect(202);
    }

    /// Every delivery of the channels' orgs.
    async fn deliveries(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for org in &self.orgs {
            let r = self
                .w
                .admin
                .get(&format!("/v1/orgs/{org}/deliveries?limit=200"))
                .await;
            r.expect(200);
            assert!(r.json()["next_cursor"].is_null(), "{}", r.text());
            all.extend(r.json()["items"].as_array().unwrap().iter().cloned());
        }
        all
    }

    /// Waits until there are `n` deliveries and every one is `delivered`; panics after
    /// [`DELIVERED_WITHIN`] with the list and the process logs.
    async fn wait_delivered(&self, n: usize, logs: &[&Path]) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + DELIVERED_WITHIN;
        loop {
            let list = self.deliveries().await;
            if list.len() == n && list.iter().all(|d| d["status"] == "delivered") {
                return list;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "waited {DELIVERED_WITHIN:?} for {n} delivered deliveries, got {list:#?}\n{}",
                    show_logs(logs)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the receiver saw of every channel, for failure messages.
    fn receivers(&self) -> String {
        self.channels
            .iter()
            .map(|ch| {
                let t = ch.target();
                format!(
                    "{}: calls {}, accepted {}, duplicates {}, rejected {:?}\n",
                    ch.name,
                    self.robots.calls(&t),
                    self.robots.accepted(&t).len(),
                    self.robots.duplicates(&t),
                    self.robots.rejected(&t),
                )
            })
            .collect()
    }
}

/// The settings of a process: webhooks to loopback allowed, its worker every second, a
/// 2 s send timeout (so a claim's lease is 10 s), no chart.
fn process_vars() -> Vec<(&'static str, String)> {
    vec![
        ("DANGKE_PUSH_ALLOW_NETS", "127.0.0.0/8".to_string()),
        ("DANGKE_PUSH_EVERY", "1s".to_string()),
        ("DANGKE_PUSH_TIMEOUT", "2s".to_string()),
        ("DANGKE_PUSH_RETRY_BASE", "1s".to_string()),
        ("DANGKE_CHART_FONT", "off".to_string()),
    ]
}

/// The logs (each once: a restart on the same port appends to the same file).
fn show_logs(logs: &[&Path]) -> String {
    let mut seen = HashSet::new();
    logs.iter()
        .filter(|p| seen.insert(**p))
        .map(|p| {
            format!(
                "--- {}:\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect()
}

/// The deliveries a process log says were sent (`push sent` lines; a part each).
fn sent_in_log(path: &Path) -> Vec<i64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "push sent")
        .filter_map(|v| v["fields"]["delivery"].as_i64())
        .collect()
}

/// Checks that `got` is `ch`'s digest of `day`, sent as `message_id`.
fn assert_digest(got: &crate::helpers::push_receivers::Received, ch: &Channel, day: NaiveDate) {
    assert_eq!(got.body["type"], "digest", "{}: {}", ch.name, got.body);
    assert_eq!(
        got.body["data"]["org_id"], ch.org,
        "{}: {}",
        ch.name, got.body
    );
    let day = day.to_string();
    assert_eq!(
        got.body["data"]["period"]["from"],
        day.as_str(),
        "{}",
        got.body
    );
    assert_eq!(
        got.body["data"]["period"]["to"],
        day.as_str(),
        "{}",
        got.body
    );
}

#[tokio::test]
async fn a_process_killed_mid_delivery_sends_every_digest_after_its_restart() {
    const CHANNELS: usize = 8;
    let s = setup(CHANNELS).await;
    for ch in &s.channels {
        s.schedule(ch).await;
    }
    // Each endpoint answers its first request after a pause of its own (100 ms, 200 ms, …
    // 800 ms: under the 2 s send timeout), so the process has some digests answered and
    // some still waiting when it is killed.
    for (i, ch) in s.channels.iter().enumerate() {
        let pause = Duration::from_millis(100 * (i as u64 + 1));
        s.robots.script(ch.target(), vec![Reply::Sleep(pause)]);
    }
    let mut inst = Instance::start(&s.db, &process_vars()).await;
    let first_log = inst.log_path().to_path_buf();
    let deadline = tokio::time::Instant::now() + DELIVERED_WITHIN;
    loop {
        let (mut accepted, mut waiting) = (0, 0);
        for ch in &s.channels {
            let t = ch.target();
            let answered =
                s.robots.accepted(&t).len() + s.robots.duplicates(&t) + s.robots.rejected(&t).len();
            accepted += s.robots.accepted(&t).len();
            waiting += s.robots.calls(&t).saturating_sub(answered);
        }
        if accepted >= 2 && waiting >= 2 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "the process never had digests both accepted and in flight:\n{}\n{}",
                s.receivers(),
                show_logs(&[inst.log_path()])
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    inst.kill9();
    // After the kill: the endpoints that had accepted their digest, and those whose request
    // was still pausing, unanswered, when the process died.
    let accepted_before = s
        .channels
        .iter()
        .filter(|ch| !s.robots.accepted(&ch.target()).is_empty())
        .count();
    let in_flight: Vec<&Channel> = s
        .channels
        .iter()
        .filter(|ch| s.robots.calls(&ch.target()) > 0 && s.robots.accepted(&ch.target()).is_empty())
        .collect();
    assert!(
        accepted_before > 0 && !in_flight.is_empty(),
        "the kill must land mid-delivery:\n{}",
        s.receivers()
    );
    eprintln!(
        "killed with {accepted_before} digests accepted, {} in flight",
        in_flight.len()
    );

    inst.restart().await;
    let logs = [first_log.as_path(), inst.log_path()];
    for ch in &s.channels {
        s.robots
            .wait_accepted(&ch.target(), 1, DELIVERED_WITHIN)
            .await;
    }
    let list = s.wait_delivered(CHANNELS, &logs).await;

    // One digest per channel, written once although both processes' schedulers ran; each
    // delivered.
    let mut ids = HashSet::new();
    for ch in &s.channels {
        let mine: Vec<&Value> = list.iter().filter(|d| d["channel_id"] == ch.id).collect();
        assert_eq!(mine.len(), 1, "{}: {mine:#?}", ch.name);
        let d = mine[0];
        assert_eq!(d["purpose"], "digest", "{d}");
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["org_id"], ch.org, "{d}");
        // One attempt recorded: the killed process recorded none for what it had in flight.
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["attempt_log"].as_array().unwrap().len(), 1, "{d}");
        assert_eq!(d["attempt_log"][0]["outcome"], "sent", "{d}");
        // The receiver accepted it once, under the delivery's message id (a repeat of that
        // id is counted as a duplicate, never accepted twice).
        let got = s.robots.accepted(&ch.target());
        assert_eq!(got.len(), 1, "{}:\n{}", ch.name, s.receivers());
        assert_eq!(got[0].header("webhook-id"), d["message_id"].as_str(), "{d}");
        assert_digest(&got[0], ch, s.day);
        ids.insert(d["message_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), CHANNELS);
    // Each sent at most twice: by the killed process, and again by the restarted one when
    // the killed one had not recorded it.
    for ch in &s.channels {
        assert!(s.robots.calls(&ch.target()) <= 2, "{}", s.receivers());
    }
    // Those unanswered when the process died were sent again by the restarted one once
    // their lease ended.
    for ch in &in_flight {
        assert!(
            s.robots.calls(&ch.target()) >= 2,
            "{} was not sent again:\n{}",
            ch.name,
            s.receivers()
        );
    }
    let duplicates: usize = s
        .channels
        .iter()
        .map(|ch| s.robots.duplicates(&ch.target()))
        .sum();
    eprintln!("duplicates after the restart: {duplicates}");
    drop(s.app);
}

#[tokio::test]
async fn two_processes_on_one_database_send_each_delivery_once() {
    const CHANNELS: usize = 8;
    /// Test messages per channel, besides its digest.
    const TESTS: usize = 2;
    const PER_CHANNEL: usize = 1 + TESTS;
    let s = setup(CHANNELS).await;
    // Every request is answered after a pause, so one process is still sending while the
    // other's passes look for work; the first to the first channel waits 3 s (under the
    // 5 s send timeout), holding up the pass of the process that sent it.
    let pause = Duration::from_millis(250);
    for (i, ch) in s.channels.iter().enumerate() {
        let mut script = vec![pause; PER_CHANNEL];
        if i == 0 {
            script[0] = Duration::from_secs(3);
        }
        s.robots
            .script(ch.target(), script.into_iter().map(Reply::Sleep).collect());
    }
    let mut vars = process_vars();
    vars.push(("DANGKE_PUSH_TIMEOUT", "5s".to_string()));
    let (a, b) = tokio::join!(Instance::start(&s.db, &vars), Instance::start(&s.db, &vars));
    let logs = [a.log_path(), b.log_path()];
    // The schedules arrive while both run: both schedulers find the digests due.
    for ch in &s.channels {
        s.schedule(ch).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Once the first channel's digest is in flight, its process is busy for 3 s: the test
    // messages written meanwhile are there for the other one's passes too.
    let first = s.channels[0].target();
    let deadline = tokio::time::Instant::now() + DELIVERED_WITHIN;
    while s.robots.calls(&first) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no digest sent:\n{}\n{}",
            s.receivers(),
            show_logs(&logs)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..TESTS {
        for ch in &s.channels {
            s.test_message(ch).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for ch in &s.channels {
        s.robots
            .wait_accepted(&ch.target(), PER_CHANNEL, DELIVERED_WITHIN)
            .await;
    }
    let list = s.wait_delivered(CHANNELS * PER_CHANNEL, &logs).await;
    // A second send of anything would follow its first within a pass or two: give it the
    // time to show up.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let mut message_ids = HashSet::new();
    for ch in &s.channels {
        let t = ch.target();
        assert_eq!(s.robots.calls(&t), PER_CHANNEL, "{}", s.receivers());
        assert_eq!(s.robots.duplicates(&t), 0, "{}", s.receivers());
        assert!(s.robots.rejected(&t).is_empty(), "{}", s.receivers());
        let got = s.robots.accepted(&t);
        assert_eq!(got.len(), PER_CHANNEL, "{}", s.receivers());
        let mine: Vec<&Value> = list.iter().filter(|d| d["channel_id"] == ch.id).collect();
        assert_eq!(mine.len(), PER_CHANNEL, "{}: {mine:#?}", ch.name);
        // One digest per channel and period, however many schedulers found it due.
        let digests: Vec<&&Value> = mine.iter().filter(|d| d["purpose"] == "digest").collect();
        assert_eq!(digests.len(), 1, "{}: {mine:#?}", ch.name);
        assert_eq!(
            mine.iter().filter(|d| d["purpose"] == "test").count(),
            TESTS,
            "{mine:#?}"
        );
        // Each delivered by one attempt, its one send the receiver accepted.
        for d in &mine {
            assert_eq!(d["status"], "delivered", "{d}");
            assert_eq!(d["attempts"], 1, "{d}");
            assert_eq!(d["attempt_log"].as_array().unwrap().len(), 1, "{d}");
            assert_eq!(d["attempt_log"][0]["outcome"], "sent", "{d}");
            message_ids.insert(d["message_id"].as_str().unwrap().to_string());
        }
        let digest_id = digests[0]["message_id"].as_str();
        let digest = got
            .iter()
            .find(|g| g.header("webhook-id") == digest_id)
            .unwrap_or_else(|| panic!("{}: the digest {digest_id:?} not received", ch.name));
        assert_digest(digest, ch, s.day);
        assert_eq!(
            got.iter().filter(|g| g.body["type"] == "test").count(),
            TESTS
        );
    }
    // The receiver got exactly the deliveries, each under its own id.
    let received: HashSet<String> = s
        .channels
        .iter()
        .flat_map(|ch| s.robots.accepted(&ch.target()))
        .map(|g| g.header("webhook-id").unwrap().to_string())
        .collect();
    assert_eq!(message_ids.len(), CHANNELS * PER_CHANNEL);
    assert_eq!(received, message_ids);
    // Both processes did part of the work, and no delivery was sent by both.
    let mut by_delivery: BTreeMap<i64, usize> = BTreeMap::new();
    let mut counts = Vec::new();
    for log in logs {
        let sent = sent_in_log(log);
        counts.push(sent.len());
        for id in sent {
            *by_delivery.entry(id).or_default() += 1;
        }
    }
    eprintln!("sent by each process: {counts:?}");
    assert_eq!(by_delivery.len(), CHANNELS * PER_CHANNEL, "{by_delivery:?}");
    assert!(by_delivery.values().all(|n| *n == 1), "{by_delivery:?}");
    assert!(
        counts.iter().all(|n| *n > 0),
        "{counts:?}\n{}",
        show_logs(&logs)
    );
    drop((a, b));
    drop(s.app);
}
