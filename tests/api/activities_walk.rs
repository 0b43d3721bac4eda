//! The theme party day as a village lives it, over HTTP: the secretary schedules it, members
//! check in with the rotating code (expired codes, a phone outside the radius and a replay
//! included), some ask for leave, the elderly are recorded by proxy, check-in closes, an
//! absent member makes it up by studying the linked course. Also the rules around it: no
//! check-in for someone else or across branches, rate-limited attempts, corrections.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::activities::{audit_actions, schedule, sh, spawn};
use crate::helpers::world::World;
use crate::helpers::{Client, Options, TestApp, spawn_with};
use crate::media::{Part, upload_multipart};

const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");
const PDF: &[u8] = include_bytes!("../fixtures/media/handout.pdf");

const LAT: f64 = 28.228_2;
const LON: f64 = 112.938_8;

/// A recorded mini party class of branch A (one article, 60 s of reading, credit 1.00 h),
/// published and assigned to branch A. Returns (course, lesson).
async fn mini_class(w: &World) -> (i64, i64) {
    let c = &w.secretary_a;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "微党课：初心", "credit_centi": 100}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let lesson = c
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "初心", "body": "<p>正文</p>", "min_reading_s": 60}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    c.publish_and_assign(course, json!({"org_ids": [w.branch_a]}))
        .await;
    (course, lesson)
}

/// The code on the organizer's screen now.
async fn code(org: &Client, occ: i64) -> String {
    let r = org
        .get(&format!("/v1/occurrences/{occ}/checkin/code"))
        .await;
    r.expect(200);
    let v = r.json();
    assert_eq!(
        v["qr_payload"],
        format!(
            "dangke://checkin?occurrence={occ}&code={}",
            v["code"].as_str().unwrap()
        )
    );
    v["code"].as_str().unwrap().to_string()
}

async fn check_in(c: &Client, occ: i64, code: &str, lat: f64, lon: f64) -> crate::helpers::Resp {
    c.post(
        &format!("/v1/occurrences/{occ}/checkin"),
        json!({"code": code, "latitude": lat, "longitude": lon}),
    )
    .await
}

fn status_of(list: &Value, user: i64) -> Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user_id"] == user)
        .unwrap()["status"]
        .clone()
}

async fn earned(c: &Client, year: i32) -> i64 {
    c.get(&format!("/v1/me/study?year={year}")).await.json()["earned_centi"]
        .as_i64()
        .unwrap()
}

async fn read_article(c: &Client, lesson: i64, id: &str, end: chrono::DateTime<Utc>) {
    let r = c
        .post("/v1/progress/sync", json!({"events": [{"client_event_id": id, "lesson_id": lesson, "kind": "read", "from_s": 0, "to_s": 60,
            "started_at": (end - Duration::seconds(60)).to_rfc3339(), "ended_at": end.to_rfc3339()}]}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["results"][0]["status"], "accepted", "{}", r.text());
}

/// 26 villagers in branch A with their phones.
async fn villagers(app: &TestApp, w: &World) -> Vec<(i64, Client)> {
    let mut out = Vec::new();
    for i in 1..=26 {
        let phone = format!("1380000{i:04}");
        let id = app
            .add_member(&w.secretary_a, w.branch_a, &phone, &format!("村民{i:02}"))
            .await;
        out.push((id, app.login_as(&phone).await));
    }
    out
}

#[tokio::test]
async fn a_village_lives_its_theme_party_day() {
    let app = spawn().await;
    let w = app.world().await;
    let sec = &w.secretary_a;
    let (course, lesson) = mini_class(&w).await;
    let v = villagers(&app, &w).await;
    let id = |i: usize| v[i - 1].0;
    let c = |i: usize| v[i - 1].1.clone();

    // The secretary schedules the monthly theme party day at the village centre.
    let a = schedule(
        sec,
        w.branch_a,
        json!({"kind": "theme_party_day", "title": "主题党日", "agenda": "重温入党誓词；学习党章",
               "place": "东山村党群服务中心", "location": {"latitude": LAT, "longitude": LON, "radius_m": 200},
               "course_id": course, "start_local": "2026-12-01T09:00:00", "end_local": "2026-12-01T11:00:00",
               "rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "credit_centi": 50}),
    )
    .await;
    let occ = a["upcoming"][0]["id"].as_i64().unwrap();
    assert_eq!(a["upcoming"][0]["starts_at"], "2026-12-01T01:00:00Z");

    // Before the day: three ask for leave, two are approved, one rejected.
    let mut leaves = Vec::new();
    for i in [22, 23, 24] {
        let ci = c(i);
        let r = ci
            .send(
                ci.request(Method::POST, &format!("/v1/occurrences/{occ}/leave"))
                    .header("idempotency-key", format!("leave-{i}"))
                    .json(&json!({"reason": "外出务工"})),
            )
            .await;
        r.expect(201);
        leaves.push(r.json()["id"].as_i64().unwrap());
    }
    // The phone retried the same request: the same answer, one request.
    let c22 = c(22);
    let again = c22
        .send(
            c22.request(Method::POST, &format!("/v1/occurrences/{occ}/leave"))
                .header("idempotency-key", "leave-22")
                .json(&json!({"reason": "外出务工"})),
        )
        .await;
    again.expect(201);
    assert_eq!(again.json()["id"], leaves[0]);
    assert_eq!(
        sec.get(&format!("/v1/occurrences/{occ}/leaves"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    for (leave, approve) in [(leaves[0], true), (leaves[1], true), (leaves[2], false)] {
        sec.post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": approve, "note": "已知悉"}),
        )
        .await
        .expect(200);
    }
    let mine = c(22).get(&format!("/v1/occurrences/{occ}")).await.json();
    assert_eq!(mine["my"]["leave"]["status"], "approved");
    assert_eq!(mine["my"]["status"], "leave");
    let theirs = c(24).get(&format!("/v1/occurrences/{occ}")).await.json();
    assert_eq!(theirs["my"]["leave"]["status"], "rejected");
    assert_eq!(theirs["my"]["leave"]["decision_note"], "已知悉");

    // 08:45: check-in opens. Two copy the code and send it two minutes later: refused.
    app.clock.set(sh(2026, 12, 1, 8, 45));
    w.member_a
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect_problem(403, "forbidden");
    sec.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    let stale = code(sec, occ).await;
    app.clock.advance(Duration::minutes(2));
    for i in [19, 20] {
        check_in(&c(i), occ, &stale, LAT, LON)
            .await
            .expect_problem(422, "checkin_code_invalid");
    }
    // 08:47: the secretary, the committee member and fifteen villagers check in on time.
    let fresh = code(sec, occ).await;
    let near = (LAT + 0.0005, LON + 0.0003);
    let mut on_time: Vec<Client> = vec![sec.clone(), w.committee_a.clone()];
    on_time.extend((1..=15).map(c));
    for client in &on_time {
        let r = check_in(client, occ, &fresh, near.0, near.1).await;
        r.expect(200);
        assert_eq!(r.json()["status"], "present");
        assert_eq!(r.json()["already"], false);
    }
    // One is at home, 5 km away: refused.
    check_in(&c(21), occ, &fresh, LAT + 0.045, LON)
        .await
        .expect_problem(422, "checkin_out_of_range");
    // One taps twice: the same record, counted once.
    let replay = check_in(&c(1), occ, &fresh, near.0, near.1).await;
    replay.expect(200);
    assert_eq!(replay.json()["already"], true);
    assert_eq!(replay.json()["status"], "present");
    // 09:15, past the 10-minute grace: three come late.
    app.clock.set(sh(2026, 12, 1, 9, 15));
    let late = code(sec, occ).await;
    for i in [16, 17, 18] {
        let r = check_in(&c(i), occ, &late, near.0, near.1).await;
        r.expect(200);
        assert_eq!(r.json()["status"], "late");
    }
    // The elderly member of the party group and one without a phone: by proxy, audited.
    for user in [w.member_a_id, id(25)] {
        sec.post(
            &format!("/v1/occurrences/{occ}/proxy"),
            json!({"user_id": user, "reason": "年迈，无智能手机"}),
        )
        .await
        .expect(200);
    }
    sec.post(
        &format!("/v1/occurrences/{occ}/proxy"),
        json!({"user_id": id(3), "reason": "x"}),
    )
    .await
    .expect_problem(409, "conflict");
    // Minutes with two photos taken on the day (uploaded as wx.uploadFile sends them); a
    // PDF is not a photo.
    let mut photos = Vec::new();
    for n in 0..2 {
        let mut png = PNG.to_vec();
        png.extend_from_slice(format!("photo {n} of the theme party day").as_bytes());
        let file_name = format!("IMG_{n}.png");
        let up = upload_multipart(
            sec,
            &[Part::File {
                name: "file",
                file_name: &file_name,
                content_type: "image/png",
                bytes: &png,
            }],
        )
        .await;
        up.expect(201);
        photos.push(up.json()["id"].as_i64().unwrap());
    }
    let pdf = upload_multipart(
        sec,
        &[Part::File {
            name: "file",
            file_name: "a.pdf",
            content_type: "application/pdf",
            bytes: PDF,
        }],
    )
    .await;
    let pdf = pdf.json()["id"].as_i64().unwrap();
    sec.put(
        &format!("/v1/occurrences/{occ}/minutes"),
        json!({"text": "纪要", "photo_media_ids": [photos[0], pdf]}),
    )
    .await
    .expect_problem(422, "validation_failed");
    sec.put(
        &format!("/v1/occurrences/{occ}/minutes"),
        json!({"text": "纪要", "photo_media_ids": [999_999]}),
    )
    .await
    .expect_problem(422, "validation_failed");
    sec.put(
        &format!("/v1/occurrences/{occ}/minutes"),
        json!({"text": "重温入党誓词，学习党章第一章。", "photo_media_ids": photos}),
    )
    .await
    .expect(200);

    // 11:00: check-in closes; attendance is final.
    app.clock.set(sh(2026, 12, 1, 11, 0));
    let closed = sec
        .post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await;
    closed.expect(200);
    assert_eq!(closed.json()["marked_absent"], 5);
    assert_eq!(closed.json()["credited"], 22);
    let list = sec
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    let counts = &list["counts"];
    assert_eq!(counts["invited"], 29);
    assert_eq!(
        (
            &counts["present"],
            &counts["late"],
            &counts["leave"],
            &counts["absent"],
            &counts["proxy"],
            &counts["made_up"],
            &counts["unrecorded"]
        ),
        (
            &json!(17),
            &json!(3),
            &json!(2),
            &json!(5),
            &json!(2),
            &json!(0),
            &json!(0)
        )
    );
    assert_eq!(status_of(&list, w.secretary_a_id), "present");
    assert_eq!(status_of(&list, id(16)), "late");
    assert_eq!(status_of(&list, id(22)), "leave");
    assert_eq!(
        status_of(&list, id(24)),
        "absent",
        "rejected leave and did not come"
    );
    assert_eq!(status_of(&list, id(19)), "absent");
    assert_eq!(status_of(&list, id(21)), "absent");
    assert_eq!(status_of(&list, w.member_a_id), "proxy");
    check_in(&c(26), occ, &code_or_none(sec, occ).await, LAT, LON)
        .await
        .expect_problem(409, "checkin_not_open");
    sec.post(
        &format!("/v1/occurrences/{occ}/proxy"),
        json!({"user_id": id(26), "reason": "补记"}),
    )
    .await
    .expect_problem(409, "attendance_final");
    let detail = w
        .member_a
        .get(&format!("/v1/occurrences/{occ}"))
        .await
        .json();
    assert_eq!(
        (detail["held"].clone(), detail["my"]["status"].clone()),
        (json!(true), json!("proxy"))
    );
    assert_eq!(detail["minutes"]["photo_media_ids"], json!(photos));

    // The attendance credit (0.50 h) is in the ledger of those who came, once.
    assert_eq!(earned(&c(1), 2026).await, 50);
    assert_eq!(earned(&c(16), 2026).await, 50);
    assert_eq!(earned(&w.member_a, 2026).await, 50);
    assert_eq!(earned(&c(19), 2026).await, 0);

    // Four days later an absent member studies the linked course: made up, with the
    // course's credit and not the activity's.
    app.clock.set(sh(2026, 12, 5, 20, 0));
    read_article(&c(19), lesson, "makeup-19", sh(2026, 12, 5, 19, 50)).await;
    let list = sec
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    assert_eq!(status_of(&list, id(19)), "made_up");
    assert_eq!(
        (&list["counts"]["absent"], &list["counts"]["made_up"]),
        (&json!(4), &json!(1))
    );
    assert_eq!(earned(&c(19), 2026).await, 100);
    let mine = c(19)
        .get("/v1/me/activities?from=2026-12-01&to=2026-12-01")
        .await
        .json();
    assert_eq!(mine["items"][0]["my"]["status"], "made_up");
    // Another studies it after the 30-day window: still absent.
    app.clock.set(sh(2027, 1, 2, 20, 0));
    read_article(&c(20), lesson, "late-20", sh(2027, 1, 2, 19, 50)).await;
    let list = sec
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    assert_eq!(status_of(&list, id(20)), "absent");
    assert_eq!(earned(&c(20), 2027).await, 100);

    // A correction after close is the one way to change attendance, and it is audited.
    let r = sec
        .put(
            &format!("/v1/occurrences/{occ}/attendance/{}", id(26)),
            json!({"status": "leave", "reason": "补交请假条"}),
        )
        .await;
    r.expect(200);
    assert_eq!(status_of(&r.json(), id(26)), "leave");
    sec.put(
        &format!("/v1/occurrences/{occ}/attendance/{}", id(1)),
        json!({"status": "absent", "reason": "代签"}),
    )
    .await
    .expect(200);
    assert_eq!(
        earned(&c(1), 2026).await,
        0,
        "credit follows the correction"
    );
    let actions = audit_actions(&app).await;
    for (action, n) in [
        ("activity_scheduled", 1),
        ("leave_approved", 2),
        ("leave_rejected", 1),
        ("checkin_opened", 1),
        ("attendance_proxy", 2),
        ("minutes_saved", 1),
        ("checkin_closed", 1),
        ("attendance_corrected", 2),
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            n,
            "{action} in {actions:?}"
        );
    }
}

/// The current code, or a made-up one once check-in is closed.
async fn code_or_none(org: &Client, occ: i64) -> String {
    let r = org
        .get(&format!("/v1/occurrences/{occ}/checkin/code"))
        .await;
    if r.status == 200 {
        r.json()["code"].as_str().unwrap().to_string()
    } else {
        r.expect_problem(409, "checkin_not_open");
        "000000".into()
    }
}

/// A one-off meeting of branch A now (09:30 Shanghai), check-in open; returns the occurrence.
async fn meeting_now(w: &World) -> i64 {
    let a = schedule(
        &w.secretary_a,
        w.branch_a,
        json!({"kind": "party_lesson", "title": "党课", "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:00:00"}),
    )
    .await;
    let occ = a["upcoming"][0]["id"].as_i64().unwrap();
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    occ
}

#[tokio::test]
async fn nobody_checks_in_for_someone_else_or_across_branches() {
    let app = spawn().await;
    let w = app.world().await;
    let occ = meeting_now(&w).await;
    let now = code(&w.secretary_a, occ).await;
    // There is no field for another member.
    w.member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now, "user_id": w.committee_a_id}),
        )
        .await
        .expect_problem(422, "invalid_body");
    // Branch B's organizer and members see nothing of branch A's meeting.
    w.organizer_b
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now}),
        )
        .await
        .expect_problem(404, "not_found");
    w.organizer_b
        .post(
            &format!("/v1/occurrences/{occ}/proxy"),
            json!({"user_id": w.member_a_id, "reason": "x"}),
        )
        .await
        .expect_problem(404, "not_found");
    w.organizer_b
        .put(
            &format!("/v1/occurrences/{occ}/attendance/{}", w.member_a_id),
            json!({"status": "present", "reason": "x"}),
        )
        .await
        .expect_problem(404, "not_found");
    // Branch B's own meeting cannot take branch A's members.
    let b = schedule(
        &w.organizer_b,
        w.branch_b,
        json!({"kind": "party_lesson", "title": "西河党课", "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:00:00"}),
    )
    .await;
    let occ_b = b["upcoming"][0]["id"].as_i64().unwrap();
    w.organizer_b
        .post(
            &format!("/v1/occurrences/{occ_b}/proxy"),
            json!({"user_id": w.member_a_id, "reason": "x"}),
        )
        .await
        .expect_problem(403, "not_invited");
    // A member checks in for themself; the organizer of another branch cannot read the code.
    w.organizer_b
        .get(&format!("/v1/occurrences/{occ}/checkin/code"))
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .get(&format!("/v1/occurrences/{occ}/checkin/code"))
        .await
        .expect_problem(403, "forbidden");
    let r = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now}),
        )
        .await;
    r.expect(200);
    let list = w
        .secretary_a
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    assert_eq!(status_of(&list, w.member_a_id), "present");
    assert!(status_of(&list, w.committee_a_id).is_null());
}

#[tokio::test]
async fn code_attempts_are_rate_limited_per_member() {
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_CHECKIN_RATE", "3/5m".into()),
            ("DANGKE_ACCESS_TOKEN_TTL", "800d".into()),
        ],
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let occ = meeting_now(&w).await;
    for _ in 0..3 {
        w.member_a
            .post(
                &format!("/v1/occurrences/{occ}/checkin"),
                json!({"code": "000000"}),
            )
            .await
            .expect_problem(422, "checkin_code_invalid");
    }
    let r = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": "000000"}),
        )
        .await;
    r.expect_problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // Another member is not held back.
    let now = code(&w.secretary_a, occ).await;
    w.committee_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now}),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn invitees_are_frozen_when_the_occurrence_starts() {
    let app = spawn().await;
    let w = app.world().await;
    let sec = &w.secretary_a;
    let occ = meeting_now(&w).await;
    // Before the start a new member is invited at once.
    let early = app
        .add_member(sec, w.branch_a, "13800009001", "新党员甲")
        .await;
    let early_c = app.login_as("13800009001").await;
    assert_eq!(
        early_c.get(&format!("/v1/occurrences/{occ}")).await.json()["my"]["invited"],
        true
    );
    // 10:05: a check-in after the start freezes the list.
    app.clock.set(sh(2026, 11, 27, 10, 5));
    let now = code(sec, occ).await;
    w.member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now}),
        )
        .await
        .expect(200);
    let late = app
        .add_member(sec, w.branch_a, "13800009002", "新党员乙")
        .await;
    let late_c = app.login_as("13800009002").await;
    assert_eq!(
        late_c.get(&format!("/v1/occurrences/{occ}")).await.json()["my"]["invited"],
        false
    );
    late_c
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now}),
        )
        .await
        .expect_problem(403, "not_invited");
    // The committee member moves to branch B: still on this meeting's list.
    sec.post(
        &format!("/v1/members/{}/transfer", w.committee_a_id),
        json!({"to_org_id": w.branch_b}),
    )
    .await
    .expect_problem(404, "not_found");
    w.admin
        .post(
            &format!("/v1/members/{}/transfer", w.committee_a_id),
            json!({"to_org_id": w.branch_b}),
        )
        .await
        .expect(200);
    let list = sec
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["user_id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&w.committee_a_id) && ids.contains(&early) && !ids.contains(&late));
    assert_eq!(list["counts"]["invited"], 4);
    let theirs = w
        .committee_a
        .get("/v1/me/activities?from=2026-11-27&to=2026-11-27")
        .await
        .json();
    assert_eq!(
        theirs["items"].as_array().unwrap().len(),
        1,
        "the frozen list keeps them"
    );
}

#[tokio::test]
async fn leave_is_asked_before_the_start_and_decided_before_close() {
    let app = spawn().await;
    let w = app.world().await;
    let sec = &w.secretary_a;
    let occ = meeting_now(&w).await;
    let asked = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "看病"}),
        )
        .await;
    asked.expect(201);
    let leave = asked.json()["id"].as_i64().unwrap();
    // Asking again returns the same pending request.
    let again = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "看病"}),
        )
        .await;
    again.expect(200);
    assert_eq!(again.json()["id"], leave);
    w.member_a
        .post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": true}),
        )
        .await
        .expect_problem(403, "forbidden");
    w.organizer_b
        .post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": true}),
        )
        .await
        .expect_problem(404, "not_found");
    sec.post(
        &format!("/v1/leaves/{leave}/decision"),
        json!({"approve": true}),
    )
    .await
    .expect(200);
    app.clock.set(sh(2026, 11, 27, 10, 1));
    w.committee_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "晚了"}),
        )
        .await
        .expect_problem(409, "leave_too_late");
    // Approved leave, then came after all: present.
    let now = code(sec, occ).await;
    let r = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": now}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        (r.json()["status"].clone(), r.json()["already"].clone()),
        (json!("present"), json!(false))
    );
    app.clock.set(sh(2026, 11, 27, 11, 0));
    sec.post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);
    sec.post(
        &format!("/v1/leaves/{leave}/decision"),
        json!({"approve": false}),
    )
    .await
    .expect_problem(409, "attendance_final");
    // Closing again changes nothing.
    let again = sec
        .post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await;
    assert_eq!(again.json()["already_closed"], true);
}
