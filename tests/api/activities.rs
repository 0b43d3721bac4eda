//! Activities over HTTP: series against known calendars (the 1st of every month of 2027,
//! the last Friday of each month, moved and cancelled occurrences, an edit after three
//! held occurrences, a zone with daylight saving), who is invited, the member's calendar
//! with ETag, the iCalendar feed parsed back, and the horizon a year ahead.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Timelike, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, Options, TestApp, spawn_with};

/// An app whose access tokens outlive the months these tests move the clock through.
pub async fn spawn() -> TestApp {
    spawn_plus(Vec::new()).await
}

/// [`spawn`] with these settings too.
pub async fn spawn_plus(extra: Vec<(&'static str, String)>) -> TestApp {
    let mut vars = vec![("DANGKE_ACCESS_TOKEN_TTL", "800d".to_string())];
    vars.extend(extra);
    spawn_with(Options {
        vars,
        ..Options::default()
    })
    .await
}

/// A wall time in Shanghai as UTC.
pub fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Schedules an activity on `org`; returns the created body.
pub async fn schedule(c: &Client, org: i64, body: Value) -> Value {
    let r = c.post(&format!("/v1/orgs/{org}/activities"), body).await;
    r.expect(201);
    r.json()
}

/// Occurrences of an activity between two dates.
pub async fn occurrences(c: &Client, activity: i64, from: &str, to: &str) -> Vec<Value> {
    let r = c
        .get(&format!(
            "/v1/activities/{activity}/occurrences?from={from}&to={to}"
        ))
        .await;
    r.expect(200);
    r.json().as_array().unwrap().clone()
}

fn local(v: &Value) -> NaiveDateTime {
    v["local_start"].as_str().unwrap().parse().unwrap()
}

fn at(v: &Value, key: &str) -> DateTime<Utc> {
    v[key].as_str().unwrap().parse().unwrap()
}

/// The monthly theme party day of branch A on the 1st at 09:00, from January 2027.
async fn monthly_theme_day(w: &World) -> Value {
    schedule(
        &w.secretary_a,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": "主题党日", "agenda": "学习党章",
               "place": "东山村党群服务中心", "start_local": "2027-01-01T09:00:00",
               "end_local": "2027-01-01T11:00:00", "rrule": "FREQ=MONTHLY;BYMONTHDAY=1"}),
    )
    .await
}

#[tokio::test]
async fn twelve_theme_party_days_of_2027_fall_on_the_first() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 15, 10, 0));
    let w = app.world().await;
    let a = monthly_theme_day(&w).await;
    assert_eq!(a["time_zone"], "Asia/Shanghai");
    assert_eq!(a["rrule"], "FREQ=MONTHLY;BYMONTHDAY=1");
    assert_eq!(a["upcoming"].as_array().unwrap().len(), 5);
    let id = a["id"].as_i64().unwrap();
    let list = occurrences(&w.secretary_a, id, "2027-01-01", "2027-12-31").await;
    assert_eq!(list.len(), 12);
    for (i, o) in list.iter().enumerate() {
        let l = local(o);
        assert_eq!(
            (l.year(), l.month(), l.day(), l.hour()),
            (2027, i as u32 + 1, 1, 9)
        );
        assert_eq!(at(o, "starts_at"), sh(2027, i as u32 + 1, 1, 9, 0));
        assert_eq!(at(o, "ends_at"), sh(2027, i as u32 + 1, 1, 11, 0));
        assert_eq!(o["status"], "scheduled");
        assert_eq!(o["kind"], "theme_party_day");
    }
    // The member of the party group sees them too, with an ETag.
    let r = w
        .member_a
        .get("/v1/me/activities?from=2027-01-01&to=2027-12-31")
        .await;
    r.expect(200);
    let mine = r.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 12);
    assert_eq!(mine["items"][0]["my"]["invited"], true);
    assert!(mine["items"][0]["my"]["status"].is_null());
    let tag = r.header("etag").unwrap();
    let again = w
        .member_a
        .send(
            w.member_a
                .request(
                    Method::GET,
                    "/v1/me/activities?from=2027-01-01&to=2027-12-31",
                )
                .header("if-none-match", &tag),
        )
        .await;
    again.expect(304);
    assert!(again.body.is_empty());
    // The sibling branch's organizer sees none of it.
    w.organizer_b
        .get(&format!("/v1/activities/{id}/occurrences"))
        .await
        .expect_problem(404, "not_found");
    let theirs = w
        .organizer_b
        .get("/v1/me/activities?from=2027-01-01&to=2027-12-31")
        .await
        .json();
    assert!(theirs["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_last_friday_of_each_month_of_2027() {
    let app = spawn().await;
    // Early January: the horizon a year ahead reaches 31 December.
    app.clock.set(sh(2027, 1, 2, 10, 0));
    let w = app.world().await;
    let a = schedule(
        &w.committee_a,
        w.branch_a,
        json!({"kind": "party_lesson", "title": "月末党课", "start_local": "2027-01-01T15:00:00",
               "end_local": "2027-01-01T16:30:00", "rrule": "FREQ=MONTHLY;BYDAY=-1FR"}),
    )
    .await;
    let list = occurrences(
        &w.committee_a,
        a["id"].as_i64().unwrap(),
        "2027-01-01",
        "2027-12-31",
    )
    .await;
    let days: Vec<(u32, u32)> = list
        .iter()
        .map(|o| (local(o).month(), local(o).day()))
        .collect();
    assert_eq!(
        days,
        vec![
            (1, 29),
            (2, 26),
            (3, 26),
            (4, 30),
            (5, 28),
            (6, 25),
            (7, 30),
            (8, 27),
            (9, 24),
            (10, 29),
            (11, 26),
            (12, 31)
        ]
    );
    assert!(
        list.iter()
            .all(|o| local(o).weekday() == chrono::Weekday::Fri && local(o).hour() == 15)
    );
}

#[tokio::test]
async fn a_moved_and_a_cancelled_occurrence_stay_so_when_the_series_changes() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 15, 10, 0));
    let w = app.world().await;
    let sec = &w.secretary_a;
    let id = monthly_theme_day(&w).await["id"].as_i64().unwrap();
    let list = occurrences(sec, id, "2027-01-01", "2027-12-31").await;
    let (march, april) = (
        list[2]["id"].as_i64().unwrap(),
        list[3]["id"].as_i64().unwrap(),
    );

    let moved = sec
        .post(&format!("/v1/occurrences/{march}/move"), json!({"start_local": "2027-03-03T14:00:00", "end_local": "2027-03-03T16:00:00", "place": "村委会议室"}))
        .await;
    moved.expect(200);
    let moved = moved.json();
    assert_eq!(at(&moved, "starts_at"), sh(2027, 3, 3, 14, 0));
    assert_eq!(at(&moved, "original_start"), sh(2027, 3, 1, 9, 0));
    assert_eq!(
        (moved["is_exception"].clone(), moved["sequence"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(moved["place"], "村委会议室");
    let cancelled = sec
        .post(
            &format!("/v1/occurrences/{april}/cancel"),
            json!({"reason": "春耕"}),
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.json()["status"], "cancelled");
    // Members are not organizers.
    w.member_a
        .post(
            &format!("/v1/occurrences/{april}/move"),
            json!({"start_local": "2027-04-02T09:00:00", "end_local": "2027-04-02T10:00:00"}),
        )
        .await
        .expect_problem(403, "forbidden");

    // The series moves to 10:00: every other occurrence follows, the two exceptions do not.
    let r = sec
        .send(
            sec.request(Method::PATCH, &format!("/v1/activities/{id}"))
                .json(&json!({"start_local": "2027-01-01T10:00:00"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["end_local"], "2027-01-01T12:00:00");
    let after = occurrences(sec, id, "2027-01-01", "2027-12-31").await;
    assert_eq!(after.len(), 12);
    let by_id = |oid: i64| after.iter().find(|o| o["id"] == oid).unwrap().clone();
    let m = by_id(march);
    assert_eq!(at(&m, "starts_at"), sh(2027, 3, 3, 14, 0));
    assert_eq!(m["status"], "scheduled");
    let a = by_id(april);
    assert_eq!(
        (a["status"].clone(), at(&a, "starts_at")),
        (json!("cancelled"), sh(2027, 4, 1, 9, 0))
    );
    for o in after
        .iter()
        .filter(|o| o["id"] != march && o["id"] != april)
    {
        assert_eq!(local(o).hour(), 10, "{o}");
        assert_eq!(local(o).day(), 1);
        assert_eq!(o["sequence"], 1);
    }
    // The same ids as before (rows kept, not recreated).
    let ids = |l: &[Value]| {
        l.iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&list));
    // A cancelled occurrence cannot be moved; the audit log has both changes.
    sec.post(
        &format!("/v1/occurrences/{april}/move"),
        json!({"start_local": "2027-04-02T09:00:00", "end_local": "2027-04-02T10:00:00"}),
    )
    .await
    .expect_problem(409, "occurrence_cancelled");
    let actions = audit_actions(&app).await;
    for a in [
        "activity_scheduled",
        "occurrence_moved",
        "occurrence_cancelled",
        "activity_updated",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// Every audit action recorded, oldest first.
pub async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.app_state
        .db
        .read(|c| {
            use dangke::db::schema::audit_log::dsl as l;
            use diesel::prelude::*;
            Ok(l::audit_log
                .order(l::id.asc())
                .select(l::action)
                .load::<String>(c)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_edit_after_three_held_occurrences_leaves_those_three_untouched() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 15, 10, 0));
    let w = app.world().await;
    let sec = &w.secretary_a;
    let id = monthly_theme_day(&w).await["id"].as_i64().unwrap();
    let before = occurrences(sec, id, "2027-01-01", "2027-12-31").await;
    // January, February and March are held: the secretary records the elderly member by
    // proxy each time and closes check-in.
    for (i, o) in before.iter().take(3).enumerate() {
        let oid = o["id"].as_i64().unwrap();
        app.clock.set(sh(2027, i as u32 + 1, 1, 9, 30));
        sec.post(
            &format!("/v1/occurrences/{oid}/proxy"),
            json!({"user_id": w.member_a_id, "reason": "年迈行动不便"}),
        )
        .await
        .expect(200);
        app.clock.set(sh(2027, i as u32 + 1, 1, 11, 0));
        sec.post(&format!("/v1/occurrences/{oid}/checkin/close"), json!({}))
            .await
            .expect(200);
    }
    app.clock.set(sh(2027, 3, 15, 10, 0));
    // From now on: the 5th of each month at 14:30.
    let r = sec
        .send(sec.request(Method::PATCH, &format!("/v1/activities/{id}")).json(&json!({
            "start_local": "2027-01-05T14:30:00", "end_local": "2027-01-05T16:00:00", "rrule": "FREQ=MONTHLY;BYMONTHDAY=5"})))
        .await;
    r.expect(200);
    let after = occurrences(sec, id, "2027-01-01", "2027-12-31").await;
    for (b, a) in before.iter().zip(&after).take(3) {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["starts_at"], b["starts_at"]);
        assert_eq!(a["ends_at"], b["ends_at"]);
        assert_eq!(a["sequence"], b["sequence"]);
        assert_eq!(a["held"], true);
        assert_eq!(a["checkin"], "closed");
    }
    let rest: Vec<(u32, u32, u32, u32)> = after[3..]
        .iter()
        .map(|o| {
            (
                local(o).month(),
                local(o).day(),
                local(o).hour(),
                local(o).minute(),
            )
        })
        .collect();
    assert_eq!(rest, (4..=12).map(|m| (m, 5, 14, 30)).collect::<Vec<_>>());
    // Held occurrences are history: they can be neither moved nor cancelled.
    let jan = before[0]["id"].as_i64().unwrap();
    sec.post(&format!("/v1/occurrences/{jan}/cancel"), json!({}))
        .await
        .expect_problem(409, "occurrence_held");
}

#[tokio::test]
async fn a_zone_with_daylight_saving_keeps_the_wall_time() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 15, 10, 0));
    let w = app.world().await;
    w.secretary_a
        .patch(
            &format!("/v1/orgs/{}/settings", w.branch_a),
            json!({"time_zone": "America/New_York"}),
        )
        .await
        .expect(200);
    let a = schedule(
        &w.secretary_a,
        w.branch_a,
        json!({"kind": "branch_general_meeting", "title": "支部党员大会", "start_local": "2027-01-10T19:00:00",
               "end_local": "2027-01-10T21:00:00", "rrule": "FREQ=MONTHLY"}),
    )
    .await;
    assert_eq!(a["time_zone"], "America/New_York");
    let list = occurrences(
        &w.secretary_a,
        a["id"].as_i64().unwrap(),
        "2027-01-01",
        "2027-12-31",
    )
    .await;
    assert_eq!(list.len(), 12);
    let ny = chrono_tz::America::New_York;
    for o in &list {
        assert_eq!(local(o).hour(), 19);
        assert_eq!(at(o, "starts_at").with_timezone(&ny).hour(), 19);
    }
    // 19:00 EST is 00:00 UTC the next day; 19:00 EDT is 23:00 UTC.
    let utc_hours: Vec<u32> = list.iter().map(|o| at(o, "starts_at").hour()).collect();
    assert_eq!(utc_hours, vec![0, 0, 0, 23, 23, 23, 23, 23, 23, 23, 0, 0]);
    // A local time skipped by the spring change is refused.
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "other", "title": "x",
              "start_local": "2027-03-14T02:30:00", "end_local": "2027-03-14T04:00:00"}),
        )
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn bad_schedules_are_refused_field_by_field() {
    let app = spawn().await;
    let w = app.world().await;
    let c = &w.secretary_a;
    let path = format!("/v1/orgs/{}/activities", w.branch_a);
    let post = |body: Value| c.post(&path, body);
    let base = json!({"kind": "theme_party_day", "title": "主题党日", "start_local": "2026-12-01T09:00:00", "end_local": "2026-12-01T11:00:00"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("rrule", json!("FREQ=SOMETIMES")), "rrule"),
        (with("rrule", json!("FREQ=HOURLY;BYMINUTE=0")), "rrule"),
        (with("end_local", json!("2026-12-01T08:00:00")), "end_local"),
        (with("title", json!("")), "title"),
        (
            with(
                "location",
                json!({"latitude": 95.0, "longitude": 112.0, "radius_m": 100}),
            ),
            "location",
        ),
        (with("course_id", json!(999_999)), "course_id"),
        (with("kind", json!("party_group_meeting")), "kind"),
    ] {
        let e = post(body).await.expect_problem(422, "validation_failed");
        assert_eq!(e["errors"][0]["field"], field, "{e}");
    }
    post(with("speaker", json!("x")))
        .await
        .expect_problem(422, "invalid_body");
    // The organizer of branch B cannot schedule on branch A; a member cannot schedule at all.
    w.organizer_b
        .post(&format!("/v1/orgs/{}/activities", w.branch_a), base.clone())
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .post(&format!("/v1/orgs/{}/activities", w.branch_a), base.clone())
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn committee_meetings_invite_the_committee_and_group_meetings_the_group() {
    let app = spawn().await;
    let w = app.world().await;
    let sec = &w.secretary_a;
    let committee = schedule(
        sec,
        w.branch_a,
        json!({"kind": "branch_committee_meeting", "title": "支委会", "start_local": "2026-12-03T19:00:00", "end_local": "2026-12-03T20:00:00"}),
    )
    .await;
    assert_eq!(committee["audience"], "committee");
    let group = schedule(
        sec,
        w.group_a,
        json!({"kind": "party_group_meeting", "title": "党小组会", "start_local": "2026-12-04T19:00:00", "end_local": "2026-12-04T20:00:00"}),
    )
    .await;
    let occ = |a: &Value| a["upcoming"][0]["id"].as_i64().unwrap();
    let invited = |c: &Client, o: i64| {
        let c = c.clone();
        async move { c.get(&format!("/v1/occurrences/{o}")).await.json()["my"]["invited"].clone() }
    };
    assert_eq!(invited(sec, occ(&committee)).await, true);
    assert_eq!(invited(&w.committee_a, occ(&committee)).await, true);
    assert_eq!(invited(&w.member_a, occ(&committee)).await, false);
    assert_eq!(invited(&w.member_a, occ(&group)).await, true);
    assert_eq!(
        invited(sec, occ(&group)).await,
        false,
        "the secretary is in the branch, not the group"
    );
    let mine: Vec<String> = w.member_a.get("/v1/me/activities").await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine, vec!["党小组会"]);
    // Leave from a meeting one is not invited to is refused.
    w.member_a
        .post(
            &format!("/v1/occurrences/{}/leave", occ(&committee)),
            json!({"reason": "外出"}),
        )
        .await
        .expect_problem(403, "not_invited");
}

#[tokio::test]
async fn the_horizon_stays_a_year_ahead_as_time_passes() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 15, 10, 0));
    let w = app.world().await;
    let id = monthly_theme_day(&w).await["id"].as_i64().unwrap();
    let db = app.app_state.db.clone();
    let count = || {
        db.read(move |c| {
            use dangke::db::schema::activity_occurrences::dsl as o;
            use diesel::prelude::*;
            Ok(o::activity_occurrences
                .filter(o::activity_id.eq(id))
                .count()
                .get_result::<i64>(c)?)
        })
    };
    // January to December 2027 (the horizon is 15 December 2027).
    assert_eq!(count().await.unwrap(), 12);
    app.clock.set(sh(2027, 6, 20, 10, 0));
    assert_eq!(
        count().await.unwrap(),
        12,
        "rows are only added when a calendar is read"
    );
    let list = occurrences(&w.member_a, id, "2028-01-01", "2028-06-30").await;
    assert_eq!(list.len(), 6);
    assert_eq!(count().await.unwrap(), 18);
}

#[tokio::test]
async fn the_ics_feed_parses_back_and_a_revoked_token_gets_404() {
    let app = spawn().await;
    app.clock.set(sh(2026, 12, 15, 10, 0));
    let w = app.world().await;
    let sec = &w.secretary_a;
    let id = monthly_theme_day(&w).await["id"].as_i64().unwrap();
    let list = occurrences(sec, id, "2027-01-01", "2027-12-31").await;
    let (feb, mar) = (
        list[1]["id"].as_i64().unwrap(),
        list[2]["id"].as_i64().unwrap(),
    );
    sec.post(
        &format!("/v1/occurrences/{feb}/cancel"),
        json!({"reason": "春节"}),
    )
    .await
    .expect(200);
    sec.post(
        &format!("/v1/occurrences/{mar}/move"),
        json!({"start_local": "2027-03-02T09:00:00", "end_local": "2027-03-02T11:00:00"}),
    )
    .await
    .expect(200);

    let m = &w.member_a;
    let token = m.post("/v1/me/calendar-token", json!({})).await;
    token.expect(201);
    let path = token.json()["path"].as_str().unwrap().to_string();
    let anonymous = app.client();
    let r = anonymous.get(&path).await;
    r.expect(200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = r.text();
    assert!(text.contains("\r\n"), "CRLF line endings");

    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("it parses");
    assert!(parser.next().is_none());
    assert_eq!(cal.events.len(), 12);
    assert!(cal.timezones.iter().any(|tz| {
        tz.properties
            .iter()
            .any(|p| p.name == "TZID" && p.value.as_deref() == Some("Asia/Shanghai"))
    }));
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
        e.properties
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let find = |oid: i64| {
        cal.events
            .iter()
            .find(|e| prop(e, "UID").value.as_deref() == Some(&format!("occurrence-{oid}@dangke")))
            .unwrap()
    };
    let jan = find(list[0]["id"].as_i64().unwrap());
    let start = prop(jan, "DTSTART");
    assert_eq!(start.value.as_deref(), Some("20270101T090000"));
    let params = start.params.clone().unwrap();
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "TZID" && v == &vec!["Asia/Shanghai".to_string()])
    );
    assert_eq!(prop(jan, "SUMMARY").value.as_deref(), Some("主题党日"));
    assert_eq!(prop(jan, "SEQUENCE").value.as_deref(), Some("0"));
    assert_eq!(prop(jan, "STATUS").value.as_deref(), Some("CONFIRMED"));
    let f = find(feb);
    assert_eq!(prop(f, "STATUS").value.as_deref(), Some("CANCELLED"));
    assert_eq!(prop(f, "SEQUENCE").value.as_deref(), Some("1"));
    let moved = find(mar);
    assert_eq!(
        prop(moved, "DTSTART").value.as_deref(),
        Some("20270302T090000")
    );
    assert_eq!(prop(moved, "SEQUENCE").value.as_deref(), Some("1"));

    // Rotating gives a new URL and kills the old one; revoking kills the new one.
    let rotated = m.post("/v1/me/calendar-token", json!({})).await.json()["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rotated, path);
    anonymous.get(&path).await.expect_problem(404, "not_found");
    anonymous.get(&rotated).await.expect(200);
    m.delete("/v1/me/calendar-token").await.expect(204);
    anonymous
        .get(&rotated)
        .await
        .expect_problem(404, "not_found");
    anonymous
        .get("/v1/me/calendar.ics?token=made-up")
        .await
        .expect_problem(404, "not_found");
}

/// "The first Friday of every month" is stored as written (`BYDAY=1FR`), not as the
/// crate's text `BYDAY=FR` (every Friday): the series keeps its meaning when its time is
/// changed and the occurrences are made again from the stored rule.
#[tokio::test]
async fn an_ordinal_weekday_rule_keeps_its_meaning_once_stored() {
    let app = spawn().await;
    let w = app.world().await;
    let a = schedule(
        &w.committee_a,
        w.branch_a,
        json!({"kind": "party_lesson", "title": "月初党课", "start_local": "2027-01-01T15:00:00",
               "end_local": "2027-01-01T16:30:00", "rrule": "FREQ=MONTHLY;BYDAY=1FR"}),
    )
    .await;
    assert_eq!(a["rrule"], "FREQ=MONTHLY;BYDAY=1FR");
    let id = a["id"].as_i64().unwrap();
    let first_fridays = vec![(1, 1), (2, 5), (3, 5), (4, 2)];
    let days = |list: Vec<Value>| -> Vec<(u32, u32)> {
        list.iter()
            .map(|o| (local(o).month(), local(o).day()))
            .collect()
    };
    assert_eq!(
        days(occurrences(&w.committee_a, id, "2027-01-01", "2027-04-30").await),
        first_fridays
    );
    let r = w
        .committee_a
        .patch(
            &format!("/v1/activities/{id}"),
            json!({"start_local": "2027-01-01T15:30:00", "end_local": "2027-01-01T17:00:00"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["rrule"], "FREQ=MONTHLY;BYDAY=1FR");
    assert_eq!(
        days(occurrences(&w.committee_a, id, "2027-01-01", "2027-04-30").await),
        first_fridays
    );
}
