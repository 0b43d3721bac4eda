//! Issue 22: a meeting whose check-in nobody closes still counts. Members check in before
//! the start and nobody closes check-in: from the start the org's statistics show the
//! attendance and the compliance slot is held; a while after the end
//! (`DANGKE_CHECKIN_AUTO_CLOSE`, default 2 h) the background runner closes check-in as an
//! organizer's close would (absentees, credit, audited as closed by the system), once
//! however many passes or instances run it.

use chrono::Duration;
use serde_json::{Value, json};

use crate::activities::{occurrences, schedule, sh};
use crate::helpers::world::World;
use crate::helpers::{Options, TestApp, spawn_with};
use dangke::clock::Clock;

fn vars(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("DANGKE_ACCESS_TOKEN_TTL", "800d".to_string()),
        // Passes are run by hand: nothing in the background.
        ("DANGKE_CHANGES_EVERY", "off".to_string()),
    ];
    v.extend(extra.iter().map(|(k, val)| (*k, val.to_string())));
    v
}

/// A theme party day of branch A, 10:00–11:30 Shanghai on 2026-11-27, with 0.5 credit
/// hours; check-in opened at 09:45 and the members checked in before the start. Returns
/// the occurrence and who checked in.
async fn checked_in_before_the_start(app: &TestApp, w: &World) -> (i64, Vec<i64>) {
    // The world is made at 09:30.
    let a = schedule(
        &w.secretary_a,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": "主题党日",
               "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:30:00",
               "credit_centi": 50}),
    )
    .await;
    let occ = occurrences(
        &w.secretary_a,
        a["id"].as_i64().unwrap(),
        "2026-11-27",
        "2026-11-27",
    )
    .await[0]["id"]
        .as_i64()
        .unwrap();
    app.clock.set(sh(2026, 11, 27, 9, 45));
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    let mut came = Vec::new();
    for (c, id) in [
        (&w.member_a, w.member_a_id),
        (&w.committee_a, w.committee_a_id),
    ] {
        let code = w.secretary_a.checkin_code(occ).await;
        c.post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": code}),
        )
        .await
        .expect(200);
        came.push(id);
    }
    (occ, came)
}

/// One pass of the occurrence starter, as the background runner does it.
async fn start_pass(app: &TestApp) {
    let now = app.clock.now_naive();
    app.app_state
        .db
        .write(move |c| dangke::activities::start::start_due(c, now))
        .await
        .unwrap();
}

/// One pass of the automatic close. Returns how many it closed.
async fn close_pass(app: &TestApp) -> usize {
    dangke::activities::auto_close::run_once(&app.app_state)
        .await
        .unwrap()
}

async fn attendance(w: &World, occ: i64) -> Value {
    let r = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await;
    r.expect(200);
    r.json()
}

/// Audit rows `checkin_closed` of the occurrence: (actor, details).
async fn closed_audits(app: &TestApp, occ: i64) -> Vec<(Option<i64>, String)> {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::audit_log::dsl as l;
            use diesel::prelude::*;
            Ok(l::audit_log
                .filter(l::action.eq("checkin_closed"))
                .filter(l::target_id.eq(occ.to_string()))
                .select((l::actor_user_id, l::details))
                .load(c)?)
        })
        .await
        .unwrap()
}

/// Credit rows booked for the occurrence: (user, credit).
async fn credits(app: &TestApp, occ: i64) -> Vec<(i64, i32)> {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::credit_ledger::dsl as l;
            use diesel::prelude::*;
            Ok(l::credit_ledger
                .filter(l::source_id.eq(occ))
                .order(l::user_id.asc())
                .select((l::user_id, l::credit_centi))
                .load(c)?)
        })
        .await
        .unwrap()
}

/// The repro: members check in before the start, nobody closes check-in. Ten
/// minutes after the start the branch's and the township's statistics show the meeting
/// with its attendance, and the compliance slot is held. Before close, invitees without a
/// record are not counted absent (they may still come: late, or by proxy).
#[tokio::test]
async fn a_meeting_nobody_closes_counts_from_its_start() {
    // The background runner as in production (every second here): nobody touches the
    // occurrence after the check-ins.
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "800d".to_string()),
            ("DANGKE_CHANGES_EVERY", "1s".to_string()),
        ],
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let (occ, came) = checked_in_before_the_start(&app, &w).await;
    app.clock.set(sh(2026, 11, 27, 10, 10));
    let mut s = json!(null);
    for _ in 0..100 {
        s = w
            .admin
            .get(&format!("/v1/orgs/{}/stats", w.branch_a))
            .await
            .json();
        if s["attendance"] != json!([]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(s["attendance"][0]["present"], json!(came.len()), "{s}");
    let o = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}"))
        .await
        .json();
    assert_eq!(
        (&o["held"], &o["checkin"]),
        (&json!(true), &json!("open")),
        "{o}"
    );
    for org in [w.branch_a, w.township] {
        let s = w
            .admin
            .get(&format!("/v1/orgs/{org}/stats?period=2026-11"))
            .await
            .json();
        let k = &s["attendance"][0];
        assert_eq!(
            (&k["kind"], &k["occurrences"], &k["present"], &k["absent"]),
            (
                &json!("theme_party_day"),
                &json!(1),
                &json!(came.len()),
                &json!(0)
            ),
            "{s}"
        );
        assert!(k["invited"].as_i64().unwrap() > came.len() as i64, "{s}");
    }
    let grid = w
        .admin
        .get(&format!("/v1/orgs/{}/compliance?year=2026", w.township))
        .await
        .json();
    let row = grid["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["org_id"] == w.branch_a && r["kind"] == "theme_party_day")
        .unwrap()
        .clone();
    assert_eq!(
        row["slots"][10],
        json!({"slot": "2026-11", "status": "held"}),
        "{row}"
    );
    crate::stats::assert_rebuild_changes_nothing(&app).await;
}

/// Two hours after the end the background pass closes check-in as the organizer's close
/// does: the invitees without a record are absent, those who came get the credit, the
/// audit log says closed by the system. Two instances running the pass at once, and later
/// passes, close it once.
#[tokio::test]
async fn check_in_closes_by_itself_two_hours_after_the_end_exactly_once() {
    let app = spawn_with(Options {
        vars: vars(&[]),
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let (occ, came) = checked_in_before_the_start(&app, &w).await;
    app.clock.set(sh(2026, 11, 27, 10, 10));
    start_pass(&app).await;
    // Just before end + 2 h: still open.
    app.clock.set(sh(2026, 11, 27, 13, 29));
    assert_eq!(close_pass(&app).await, 0);
    assert_eq!(attendance(&w, occ).await["checkin"], "open");

    let second = spawn_with(Options {
        vars: vars(&[]),
        share_db: Some(app.db.clone()),
        clock: Some(app.clock.clone()),
        kv_prefix: Some(app.kv_prefix.clone()),
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 13, 30));
    let (a, b) = tokio::join!(close_pass(&app), close_pass(&second));
    assert_eq!(a + b, 1, "one instance closed it");
    assert_eq!(close_pass(&app).await, 0);
    assert_eq!(close_pass(&second).await, 0);

    let list = attendance(&w, occ).await;
    assert_eq!(list["checkin"], "closed", "{list}");
    let counts = &list["counts"];
    let invited = counts["invited"].as_i64().unwrap();
    assert_eq!(counts["present"], json!(came.len()), "{list}");
    assert_eq!(counts["unrecorded"], 0, "{list}");
    assert_eq!(
        counts["absent"].as_i64().unwrap() + counts["made_up"].as_i64().unwrap(),
        invited - came.len() as i64,
        "{list}"
    );
    let mut expected: Vec<(i64, i32)> = came.iter().map(|u| (*u, 50)).collect();
    expected.sort();
    assert_eq!(credits(&app, occ).await, expected);
    let audits = closed_audits(&app, occ).await;
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0].0, None, "closed by the system");
    let details: Value = serde_json::from_str(&audits[0].1).unwrap();
    assert_eq!(
        details["marked_absent"].as_i64().unwrap(),
        invited - came.len() as i64
    );
    // The organizer's close afterwards changes nothing.
    let r = w
        .secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["already_closed"], true);
    // The statistics now count the absentees.
    let s = w
        .admin
        .get(&format!("/v1/orgs/{}/stats?period=2026-11", w.branch_a))
        .await
        .json();
    assert_eq!(
        s["attendance"][0]["absent"].as_i64().unwrap()
            + s["attendance"][0]["made_up"].as_i64().unwrap(),
        invited - came.len() as i64,
        "{s}"
    );
    crate::stats::assert_rebuild_changes_nothing(&app).await;
}

/// A shorter delay is honoured; `off` leaves check-in open however late it gets.
#[tokio::test]
async fn the_delay_is_configurable_and_off_leaves_check_in_open() {
    let app = spawn_with(Options {
        vars: vars(&[("DANGKE_CHECKIN_AUTO_CLOSE", "30m")]),
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let (occ, _) = checked_in_before_the_start(&app, &w).await;
    app.clock.set(sh(2026, 11, 27, 11, 59));
    assert_eq!(close_pass(&app).await, 0);
    app.clock.set(sh(2026, 11, 27, 12, 0));
    assert_eq!(close_pass(&app).await, 1);
    assert_eq!(attendance(&w, occ).await["checkin"], "closed");

    let off = spawn_with(Options {
        vars: vars(&[("DANGKE_CHECKIN_AUTO_CLOSE", "off")]),
        ..Options::default()
    })
    .await;
    let w = off.world().await;
    let (occ, _) = checked_in_before_the_start(&off, &w).await;
    off.clock.advance(Duration::days(30));
    assert_eq!(close_pass(&off).await, 0);
    assert_eq!(attendance(&w, occ).await["checkin"], "open");
    assert!(closed_audits(&off, occ).await.is_empty());
}

/// `DANGKE_CHECKIN_AUTO_CLOSE` takes a duration or `off`; anything else is refused at
/// start-up, naming the variable.
#[test]
fn the_auto_close_setting_parses() {
    use std::collections::HashMap;
    let config = |v: Option<&str>| {
        let mut m: HashMap<String, String> = HashMap::new();
        if let Some(v) = v {
            m.insert("DANGKE_CHECKIN_AUTO_CLOSE".into(), v.into());
        }
        dangke::config::Config::from_map(&m)
    };
    let secs = |v| config(v).unwrap().checkin_auto_close.map(|d| d.as_secs());
    assert_eq!(secs(None), Some(7200));
    assert_eq!(secs(Some("30m")), Some(1800));
    assert_eq!(secs(Some("1d")), Some(86400));
    assert_eq!(secs(Some("off")), None);
    for bad in ["0", "soon", "2x", "-1h", "30 minutes"] {
        let e = config(Some(bad)).err().map(|e| e.var);
        assert_eq!(e, Some("DANGKE_CHECKIN_AUTO_CLOSE"), "{bad:?}");
    }
}

/// The alert rows written for the occurrence's coming close: their parts.
async fn closing_alerts(app: &TestApp, occ: i64) -> Vec<String> {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::push_deliveries::dsl as d;
            use diesel::prelude::*;
            Ok(d::push_deliveries
                .filter(d::dedup_key.like(format!("alert:closing:{occ}:%")))
                .select(d::parts)
                .load(c)?)
        })
        .await
        .unwrap()
}

/// Half an hour before the automatic close, an org's channels that take alerts learn that
/// check-in will close and who has no record yet — once; nothing once it is closed.
#[tokio::test]
async fn organizers_are_reminded_half_an_hour_before_the_automatic_close() {
    let app = spawn_with(Options {
        vars: vars(&[("DANGKE_PUSH_EVERY", "off")]),
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/push-channels", w.branch_a),
            json!({"kind": "wecom_robot", "name": "东山村支部群",
                   "key": "5b2f3c1e-aaaa-4bc4-97a0-0ec2autoclose", "alerts": true}),
        )
        .await
        .expect(201);
    let (occ, _) = checked_in_before_the_start(&app, &w).await;
    let remind = || dangke::push::alerts::checkin_closing_soon(&app.app_state);
    // Closes at 13:30 (end 11:30 + 2 h).
    app.clock.set(sh(2026, 11, 27, 12, 59));
    assert_eq!(remind().await.unwrap(), 0);
    app.clock.set(sh(2026, 11, 27, 13, 0));
    assert_eq!(remind().await.unwrap(), 1);
    app.clock.set(sh(2026, 11, 27, 13, 10));
    assert_eq!(remind().await.unwrap(), 0, "once");
    let alerts = closing_alerts(&app, occ).await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].contains("签到将于 13:30 自动结束"),
        "{}",
        alerts[0]
    );
    assert!(
        alerts[0].contains("李书记"),
        "the secretary did not check in: {}",
        alerts[0]
    );
    assert!(!alerts[0].contains("王党员"), "{}", alerts[0]);
    app.clock.set(sh(2026, 11, 27, 13, 30));
    assert_eq!(close_pass(&app).await, 1);
    assert_eq!(remind().await.unwrap(), 0, "closed: nothing to remind of");
}
