//! Meeting records a township can sign off (issue 22), on both backends: a meeting is held
//! when at least one attendee was recorded present, late or by proxy — not because its
//! check-in was opened or closed.

use serde_json::json;

use crate::helpers::{Options, TestApp, spawn_with};
use crate::live_board::meeting_soon;

/// The meetings move the clock past the access token's lifetime: tokens for a day.
async fn app() -> TestApp {
    spawn_with(Options {
        vars: vec![("DANGKE_ACCESS_TOKEN_TTL", "1d".into())],
        ..Options::default()
    })
    .await
}

async fn held(c: &crate::helpers::Client, occ: i64) -> bool {
    let r = c.get(&format!("/v1/occurrences/{occ}")).await;
    r.expect(200);
    r.json()["held"].as_bool().unwrap()
}

/// The compliance slot of branch A's theme party day for November 2026.
async fn november_slot(w: &crate::helpers::world::World) -> String {
    let grid = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/compliance?year=2026", w.branch_a))
        .await
        .json();
    let row = grid["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "theme_party_day")
        .unwrap()
        .clone();
    row["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot"] == "2026-11")
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_meeting_closed_with_nobody_present_is_not_held() {
    let app = app().await;
    let w = app.world().await;
    let occ = meeting_soon(&app, &w).await;
    let sec = &w.secretary_a;
    sec.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    app.clock.advance(chrono::Duration::minutes(45));
    let r = sec
        .post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await;
    r.expect(200);
    assert!(
        !held(sec, occ).await,
        "closed with nobody present, yet held"
    );
    assert_ne!(november_slot(&w).await, "held");
}

#[tokio::test]
async fn a_meeting_is_held_while_someone_is_recorded_present_late_or_by_proxy() {
    let app = app().await;
    let w = app.world().await;
    let occ = meeting_soon(&app, &w).await;
    let sec = &w.secretary_a;
    sec.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    assert!(!held(sec, occ).await, "opening check-in holds nothing");
    let code = sec.checkin_code(occ).await;
    w.member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": code}),
        )
        .await
        .expect(200);
    assert!(held(sec, occ).await);
    // The one present member was recorded by mistake: corrected to absent, the meeting
    // is no longer held, not even once closed; a proxy record (corrected in after the
    // close) holds it again.
    sec.put(
        &format!("/v1/occurrences/{occ}/attendance/{}", w.member_a_id),
        json!({"status": "absent", "reason": "误签"}),
    )
    .await
    .expect(200);
    assert!(!held(sec, occ).await, "nobody present, yet held");
    app.clock.advance(chrono::Duration::minutes(45));
    sec.post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);
    assert!(!held(sec, occ).await);
    sec.put(
        &format!("/v1/occurrences/{occ}/attendance/{}", w.committee_a_id),
        json!({"status": "proxy", "reason": "在外务工，会前委托代签，补录"}),
    )
    .await
    .expect(200);
    assert!(held(sec, occ).await);
    assert_eq!(november_slot(&w).await, "held");
}
