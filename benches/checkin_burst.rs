//! Check-in burst benchmark (issue 7): `BENCH_MEMBERS` (500) members of one branch check
//! in to one occurrence with the rotating code, their arrivals spread evenly over
//! `BENCH_SPREAD` seconds (10), each on its own connection, as at the door of the meeting.
//!
//!     cargo bench --bench checkin_burst                                   # SQLite
//!     BENCH_DATABASE_URL=postgres://…/db cargo bench --bench checkin_burst # PostgreSQL
//!
//! Env also: BENCH_WORKERS (2), BENCH_POOL (16), BENCH_REDIS_URL. Prints latency percentiles,
//! errors and the attendance the server recorded afterwards.

#![expect(clippy::expect_used, reason = "benchmark set-up fails loudly")]

mod support;

use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use dangke::orgs::model::Role;
use serde_json::{Value, json};
use support::{Latencies, env_usize, start};

const LAT: f64 = 28.228_2;
const LON: f64 = 112.938_8;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let members = env_usize("BENCH_MEMBERS", 500);
    let spread = env_usize("BENCH_SPREAD", 10) as u64;
    let bench = start().await;
    let (branch, secretary, tokens) = seed(&bench.state, members).await;
    println!(
        "check-in burst: backend={} members={members} spread={spread}s workers={}",
        bench.state.db.backend().name(),
        bench.state.config.workers
    );
    let http = reqwest::Client::new();
    let base = bench.base.clone();

    // The secretary schedules a meeting starting in ten minutes, opens check-in, shows the code.
    let start_local = (Utc::now().with_timezone(&chrono_tz::Asia::Shanghai)
        + chrono::Duration::minutes(10))
    .naive_local()
    .with_second(0)
    .expect("second");
    let end_local = start_local + chrono::Duration::hours(2);
    let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let created: Value = http
        .post(format!("{base}/v1/orgs/{branch}/activities"))
        .bearer_auth(&secretary)
        .json(
            &json!({"kind": "theme_party_day", "title": "主题党日（压测）",
                      "location": {"latitude": LAT, "longitude": LON, "radius_m": 300},
                      "start_local": fmt(start_local), "end_local": fmt(end_local)}),
        )
        .send()
        .await
        .expect("schedule")
        .json()
        .await
        .expect("schedule body");
    let occ = created["upcoming"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no occurrence in {created}"));
    let opened = http
        .post(format!("{base}/v1/occurrences/{occ}/checkin/open"))
        .bearer_auth(&secretary)
        .json(&json!({}))
        .send()
        .await
        .expect("open");
    assert!(opened.status().is_success(), "open: {}", opened.status());
    let code: Value = http
        .get(format!("{base}/v1/occurrences/{occ}/checkin/code"))
        .bearer_auth(&secretary)
        .send()
        .await
        .expect("code")
        .json()
        .await
        .expect("code body");
    let code = code["code"].as_str().expect("code").to_string();

    // The burst: member i arrives at i * spread / members, on a connection of its own
    // (clients are made beforehand: building one loads TLS roots, not what is measured).
    let clients: Vec<reqwest::Client> = (0..tokens.len())
        .map(|_| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client")
        })
        .collect();
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tokens.len());
    for (i, (token, client)) in tokens.into_iter().zip(clients).enumerate() {
        let at = Duration::from_secs_f64(spread as f64 * i as f64 / members as f64);
        let url = format!("{base}/v1/occurrences/{occ}/checkin");
        let code = code.clone();
        handles.push(tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(started + at)).await;
            let t0 = Instant::now();
            let res = client
                .post(&url)
                .bearer_auth(&token)
                .header("idempotency-key", format!("burst-{i}"))
                .json(&json!({"code": code, "latitude": LAT + 0.0004, "longitude": LON - 0.0002}))
                .send()
                .await;
            let ok = match res {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await.unwrap_or_default();
                    body["status"] == "present" || body["status"] == "late"
                }
                Ok(r) => {
                    eprintln!("check-in {i}: {}", r.status());
                    false
                }
                Err(e) => {
                    eprintln!("check-in {i}: {e}");
                    false
                }
            };
            (t0.elapsed(), ok)
        }));
    }
    let mut lat = Latencies::default();
    for h in handles {
        let (took, ok) = h.await.expect("member");
        if ok {
            lat.micros.push(took.as_micros() as u64);
        } else {
            lat.errors += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let attendance: Value = http
        .get(format!("{base}/v1/occurrences/{occ}/attendance"))
        .bearer_auth(&secretary)
        .send()
        .await
        .expect("attendance")
        .json()
        .await
        .expect("attendance body");
    println!(
        "check-ins {} in {elapsed:.1} s, errors {}; recorded present {} late {}",
        lat.micros.len(),
        lat.errors,
        attendance["counts"]["present"],
        attendance["counts"]["late"]
    );
    println!(
        "latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.percentile(0.50).as_secs_f64() * 1000.0,
        lat.percentile(0.95).as_secs_f64() * 1000.0,
        lat.percentile(0.99).as_secs_f64() * 1000.0,
        lat.percentile(1.0).as_secs_f64() * 1000.0
    );
}

/// A county with one village branch, its secretary and `n` members, all with access
/// tokens. Returns (branch id, secretary token, member tokens).
async fn seed(state: &dangke::state::AppState, n: usize) -> (i64, String, Vec<String>) {
    let now = state.clock.now_naive();
    let (branch, secretary, ids) = state
        .db
        .write(move |c| {
            let (_, branch, mut ids) = support::county_branch_members(c, now, n + 1)?;
            let secretary = ids.remove(0);
            dangke::orgs::roles::grant(c, now, &branch, secretary, Role::Secretary, secretary)?;
            Ok((branch.id, secretary, ids))
        })
        .await
        .expect("seed");
    let secretary = support::token(state, secretary).await;
    let mut tokens = Vec::with_capacity(ids.len());
    for id in ids {
        tokens.push(support::token(state, id).await);
    }
    (branch, secretary, tokens)
}
