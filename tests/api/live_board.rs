//! The live check-in board (issue 20), in-process on both backends: an organizer's
//! `GET /v1/occurrences/{id}/live` streams a snapshot, then each check-in, proxy record,
//! leave decision and the close as they happen with the running counts; a board that reconnects with
//! `Last-Event-ID` gets exactly the changes after it (read from the database), an unknown
//! id gets a snapshot; heartbeats keep an idle stream open; nobody but the occurrence's
//! organizers may watch.

use std::time::Duration;

use serde_json::{Value, json};

use crate::activities::{schedule, sh};
use crate::helpers::sse::{self, Item};
use crate::helpers::{ClockExt, Options, TestApp, spawn_with};

const WAIT: Duration = Duration::from_secs(5);

/// A meeting of branch A at 10:00 Shanghai on the harness's start day (09:30), and its
/// occurrence id.
pub async fn meeting_soon(app: &TestApp, w: &crate::helpers::world::World) -> i64 {
    let _ = app;
    let a = schedule(
        &w.secretary_a,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": "主题党日",
               "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:30:00"}),
    )
    .await;
    let occ = w
        .secretary_a
        .get(&format!(
            "/v1/activities/{}/occurrences?from=2026-11-27&to=2026-11-27",
            a["id"]
        ))
        .await
        .json();
    occ[0]["id"].as_i64().expect("one occurrence")
}

async fn code(app: &TestApp, w: &crate::helpers::world::World, occ: i64) -> String {
    let _ = app;
    w.secretary_a.checkin_code(occ).await
}

fn token(c: &crate::helpers::Client) -> String {
    c.access_token.clone().expect("logged in")
}

#[tokio::test]
async fn an_organizers_board_shows_each_change_as_it_happens_and_resumes_after_last_event_id() {
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_LIVE_HEARTBEAT", "1s".into()),
            ("DANGKE_ACCESS_TOKEN_TTL", "1d".into()),
        ],
        ..Options::default()
    })
    .await;
    assert_eq!(app.clock.now_ts(), sh(2026, 11, 27, 9, 30).timestamp());
    let w = app.world().await;
    let occ = meeting_soon(&app, &w).await;
    let sec = token(&w.secretary_a);

    // Nobody but the organizers: a member of the branch is forbidden, the other branch's
    // organizer does not learn it exists, no token is 401.
    let (s, body) = sse::open(&app.base, &token(&w.member_a), occ, None)
        .await
        .refused();
    assert_eq!((s, body["code"].as_str()), (403, Some("forbidden")));
    let (s, body) = sse::open(&app.base, &token(&w.organizer_b), occ, None)
        .await
        .refused();
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")));
    let (s, _) = sse::open(&app.base, "not-a-token", occ, None)
        .await
        .refused();
    assert_eq!(s, 401);
    let (s, _) = sse::open(&app.base, &sec, 999_999, None).await.refused();
    assert_eq!(s, 404);

    // The snapshot: everyone invited, nothing recorded.
    let mut board = sse::open(&app.base, &sec, occ, None).await.board();
    let (name, id, snap) = board.event(WAIT).await;
    assert_eq!(name, "snapshot");
    assert_eq!(id, "0");
    let invited = snap["board"]["counts"]["invited"].as_i64().unwrap();
    assert!(invited >= 3, "{snap}");
    assert_eq!(snap["board"]["counts"]["present"], 0);
    assert_eq!(snap["board"]["checkin"], "not_open");

    // Idle: heartbeats.
    match board.next_within(Duration::from_secs(3)).await {
        Some(Item::Comment(c)) => assert_eq!(c, "heartbeat"),
        other => panic!("expected a heartbeat, got {other:?}"),
    }

    // Check-in opens at 09:45; the member checks in: the board shows it with the counts.
    app.clock.advance(chrono::Duration::minutes(15));
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    let c = code(&app, &w, occ).await;
    w.member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": c}),
        )
        .await
        .expect(200);
    let seen = board.until_user(w.member_a_id, WAIT).await;
    let first = seen.last().unwrap().clone();
    assert_eq!(first["attendance"]["status"], "present", "{first}");
    assert_eq!(first["attendance"]["source"], "checkin");
    assert_eq!(first["counts"]["present"], 1);
    assert_eq!(first["checkin"], "open");
    let first_seq = first["seq"].as_i64().unwrap();
    assert!(first_seq >= 1);

    // A proxy record for the committee member.
    w.secretary_a
        .post(
            &format!("/v1/occurrences/{occ}/proxy"),
            json!({"user_id": w.committee_a_id, "reason": "腿脚不便，由支书代签"}),
        )
        .await
        .expect(200);
    let proxy = board.until_user(w.committee_a_id, WAIT).await;
    let proxy = proxy.last().unwrap().clone();
    assert_eq!(proxy["attendance"]["status"], "proxy");
    assert_eq!(proxy["counts"]["present"], 1);
    assert_eq!(proxy["counts"]["proxy"], 1);
    assert_eq!(proxy["seq"].as_i64().unwrap(), first_seq + 1);

    // A member asks for leave; the secretary approves it: the board shows the decision.
    let away = app
        .add_member(&w.secretary_a, w.branch_a, "13744440001", "外出务工")
        .await;
    let away_c = app.login_as("13744440001").await;
    let leave = away_c
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "在外地务工"}),
        )
        .await;
    leave.expect(201);
    w.secretary_a
        .post(
            &format!("/v1/leaves/{}/decision", leave.json()["id"]),
            json!({"approve": true}),
        )
        .await
        .expect(200);
    let decided = board.until_user(away, WAIT).await;
    let decided = decided.last().unwrap().clone();
    assert_eq!(decided["attendance"]["leave"], "approved", "{decided}");
    assert_eq!(decided["attendance"]["status"], "leave", "{decided}");
    assert_eq!(decided["counts"]["leave"], 1);
    assert_eq!(decided["seq"].as_i64().unwrap(), first_seq + 2);
    drop(board);

    // A board that saw up to the check-in reconnects: exactly the proxy record and the
    // leave decision, no snapshot.
    let mut again = sse::open(&app.base, &sec, occ, Some(&first_seq.to_string()))
        .await
        .board();
    let (name, id, data) = again.event(WAIT).await;
    assert_eq!(name, "change", "{data}");
    assert_eq!(id, (first_seq + 1).to_string());
    assert_eq!(data["user_id"], w.committee_a_id);
    let (name, id, data) = again.event(WAIT).await;
    assert_eq!(name, "change", "{data}");
    assert_eq!(id, (first_seq + 2).to_string());
    assert_eq!(data["user_id"], away);
    drop(again);
    // Up to date: nothing but heartbeats.
    let mut current = sse::open(&app.base, &sec, occ, Some(&(first_seq + 2).to_string()))
        .await
        .board();
    match current.next_within(Duration::from_secs(1)).await {
        Some(Item::Comment(_)) | None => {}
        Some(other) => panic!("an up-to-date board got {other:?}"),
    }
    // An id it never issued: a snapshot.
    let mut fresh = sse::open(&app.base, &sec, occ, Some("987654"))
        .await
        .board();
    let (name, id, snap) = fresh.event(WAIT).await;
    assert_eq!(name, "snapshot");
    assert_eq!(id, (first_seq + 2).to_string());
    assert_eq!(snap["board"]["counts"]["proxy"], 1);

    // Close: the absent members and the occurrence itself.
    app.clock.advance(chrono::Duration::minutes(20));
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);
    let last: Value = loop {
        let (name, _, data) = current.event(WAIT).await;
        assert_eq!(name, "change");
        if data["user_id"].is_null() {
            break data;
        }
        assert_eq!(data["checkin"], "closed");
    };
    assert_eq!(last["checkin"], "closed");
    assert_eq!(last["counts"]["unrecorded"], 0, "{last}");
    assert!(last["counts"]["absent"].as_i64().unwrap() >= 1, "{last}");
}
