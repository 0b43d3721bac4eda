//! Sync ingest benchmark (issue 6): batches of 20 study events with fresh client event ids,
//! many members in parallel, against the real HTTP API.
//!
//!     cargo bench --bench sync_ingest                                   # SQLite
//!     BENCH_DATABASE_URL=postgres://…/db cargo bench --bench sync_ingest # PostgreSQL
//!
//! Env: BENCH_SECONDS (10), BENCH_CONCURRENCY (64), BENCH_USERS (500), BENCH_BATCH (20),
//! BENCH_WORKERS (2), BENCH_POOL (16). Prints requests/s, events/s and latency percentiles.

#![expect(clippy::expect_used, reason = "benchmark set-up fails loudly")]

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use support::{Latencies, env_usize, start};

const LESSON_SECONDS: i32 = 36_000;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds = env_usize("BENCH_SECONDS", 10) as u64;
    let concurrency = env_usize("BENCH_CONCURRENCY", 64);
    let users = env_usize("BENCH_USERS", 500);
    let batch = env_usize("BENCH_BATCH", 20);
    let bench = start().await;
    let tokens = seed(&bench.state, users).await;
    let lesson = tokens.1;
    let tokens = tokens.0;
    println!(
        "sync ingest: backend={} users={users} concurrency={concurrency} batch={batch} seconds={seconds} workers={}",
        bench.state.db.backend().name(),
        bench.state.config.workers
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let t0 = Utc::now() - chrono::Duration::days(1);
    let statements_before = bench.state.db.statements();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let tokens = tokens.clone();
        let url = format!("{}/v1/progress/sync", bench.base);
        handles.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            let mut accepted = 0u64;
            let mut round = 0usize;
            while Instant::now() < deadline {
                // Each worker owns a slice of users and plays their lesson forward.
                let u = (worker + round * concurrency) % tokens.len();
                let k = round / (tokens.len() / concurrency).max(1);
                let pos = (k as i32 * batch as i32 * 20) % (LESSON_SECONDS - 20 * batch as i32);
                round += 1;
                // A member's batches follow each other in wall-clock time, as a phone's do
                // (each claims the minutes it was played, starting yesterday).
                let end = t0 + chrono::Duration::seconds((k as i64 + 1) * (batch as i64 * 20 + 30));
                let events: Vec<_> = (0..batch)
                    .map(|j| {
                        let from = pos + j as i32 * 20;
                        let ended = end - chrono::Duration::seconds((batch - j) as i64 * 20);
                        json!({"client_event_id": uuid::Uuid::new_v4().to_string(), "lesson_id": lesson, "kind": "play",
                               "from_s": from, "to_s": from + 20,
                               "started_at": (ended - chrono::Duration::seconds(20)).to_rfc3339(), "ended_at": ended.to_rfc3339()})
                    })
                    .collect();
                let t0 = Instant::now();
                let res = client.post(&url).bearer_auth(&tokens[u]).json(&json!({"events": events})).send().await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        accepted += body["results"]
                            .as_array()
                            .map(|a| a.iter().filter(|x| x["status"] == "accepted").count() as u64)
                            .unwrap_or(0);
                        lat.micros.push(t0.elapsed().as_micros() as u64);
                    }
                    _ => lat.errors += 1,
                }
            }
            (lat, accepted)
        }));
    }
    let mut all = Latencies::default();
    let mut accepted = 0;
    for h in handles {
        let (lat, acc) = h.await.expect("worker");
        all.merge(lat);
        accepted += acc;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests = all.micros.len();
    println!(
        "requests {requests} ({:.0}/s), events accepted {accepted} ({:.0}/s), errors {}",
        requests as f64 / elapsed,
        accepted as f64 / elapsed,
        all.errors
    );
    let stats = bench.state.db.group_stats();
    let (groups, grouped) = (
        stats.groups.load(std::sync::atomic::Ordering::Relaxed),
        stats
            .grouped_jobs
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    println!(
        "statements per batch {:.1}, batches committed in groups {grouped} (mean group {:.1}), groups split {}",
        (bench.state.db.statements() - statements_before) as f64 / requests.max(1) as f64,
        grouped as f64 / groups.max(1) as f64,
        stats.split.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.percentile(0.50).as_secs_f64() * 1000.0,
        all.percentile(0.95).as_secs_f64() * 1000.0,
        all.percentile(0.99).as_secs_f64() * 1000.0,
        all.percentile(1.0).as_secs_f64() * 1000.0
    );
}

/// A county with one branch, a published course with a 10-hour audio lesson assigned to
/// it, and `n` members with access tokens. Returns (tokens, lesson id).
async fn seed(state: &dangke::state::AppState, n: usize) -> (Vec<String>, i64) {
    let now = state.clock.now_naive();
    let (ids, lesson) = state
        .db
        .write(move |c| {
            use dangke::db::schema::{course_assignments as ca, courses, lessons};
            use diesel::prelude::*;
            let (county, branch, ids) = support::county_branch_members(c, now, n)?;
            let course: i64 = diesel::insert_into(courses::table)
                .values((
                    courses::owner_org_id.eq(county.id),
                    courses::kind.eq("online_class"),
                    courses::title.eq("压测课程"),
                    courses::summary.eq(""),
                    courses::credit_centi.eq(100),
                    courses::tags.eq("[]"),
                    courses::status.eq("published"),
                    courses::created_by.eq(0i64),
                    courses::created_at.eq(now),
                    courses::updated_at.eq(now),
                ))
                .returning(courses::id)
                .get_result(c)?;
            let lesson: i64 = diesel::insert_into(lessons::table)
                .values((
                    lessons::course_id.eq(course),
                    lessons::position.eq(1),
                    lessons::kind.eq("audio"),
                    lessons::title.eq("十小时"),
                    lessons::external_url.eq("https://cdn.example.com/long.mp3"),
                    lessons::duration_s.eq(LESSON_SECONDS),
                    lessons::min_coverage_permille.eq(900),
                    lessons::credit_centi.eq(100),
                    lessons::created_at.eq(now),
                    lessons::updated_at.eq(now),
                ))
                .returning(lessons::id)
                .get_result(c)?;
            diesel::insert_into(ca::table)
                .values((
                    ca::course_id.eq(course),
                    ca::org_id.eq(branch.id),
                    ca::required.eq(true),
                    ca::assigned_by.eq(0i64),
                    ca::created_at.eq(now),
                    ca::updated_at.eq(now),
                ))
                .execute(c)?;
            Ok((ids, lesson))
        })
        .await
        .expect("seed");
    let mut tokens = Vec::with_capacity(ids.len());
    for id in ids {
        tokens.push(support::token(state, id).await);
    }
    (tokens, lesson)
}
