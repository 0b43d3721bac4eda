//! The minutes and the people of a meeting (issue 22), on both backends: invitees open the
//! minutes' photos through signed URLs, a leave request still pending at close is decided
//! afterwards (audited), and guests are recorded by name and org without being counted.

use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, Options, TestApp, spawn_with};
use crate::live_board::meeting_soon;
use crate::media::{Part, upload_multipart};

const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");

/// The meetings move the clock past the access token's lifetime: tokens for a day.
async fn app() -> TestApp {
    spawn_with(Options {
        vars: vec![("DANGKE_ACCESS_TOKEN_TTL", "1d".into())],
        ..Options::default()
    })
    .await
}

/// Branch A's theme party day (10:00), started (10:15), check-in open.
async fn started_meeting(app: &TestApp, w: &World) -> i64 {
    let occ = meeting_soon(app, w).await;
    app.clock.advance(chrono::Duration::minutes(45));
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    occ
}

/// The committee member attends by proxy (so the meeting is held), then check-in closes.
async fn close(w: &World, occ: i64) {
    w.secretary_a
        .post(
            &format!("/v1/occurrences/{occ}/proxy"),
            json!({"user_id": w.committee_a_id, "reason": "代签"}),
        )
        .await
        .expect(200);
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);
}

async fn attendance(c: &Client, occ: i64) -> Value {
    let r = c.get(&format!("/v1/occurrences/{occ}/attendance")).await;
    r.expect(200);
    r.json()
}

fn status_of(list: &Value, user_id: i64) -> Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user_id"] == user_id)
        .map(|i| i["status"].clone())
        .unwrap_or(Value::Null)
}

/// Branch A's November theme party day figures in its statistics.
async fn november_attendance(w: &World) -> Value {
    let r = w
        .secretary_a
        .get(&format!(
            "/v1/orgs/{}/stats?from=2026-11-01&to=2026-11-30",
            w.branch_a
        ))
        .await;
    r.expect(200);
    r.json()["attendance"].clone()
}

/// The audit details of `action`, oldest first.
async fn audited(app: &TestApp, action: &'static str) -> Vec<(Option<i64>, Value)> {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::audit_log::dsl as l;
            use diesel::prelude::*;
            Ok(l::audit_log
                .filter(l::action.eq(action))
                .order(l::id.asc())
                .select((l::actor_user_id, l::details))
                .load::<(Option<i64>, String)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(by, d)| (by, serde_json::from_str(&d).unwrap()))
        .collect()
}

#[tokio::test]
async fn an_invited_member_opens_the_minutes_photo_a_member_of_another_branch_cannot() {
    let app = app().await;
    let w = app.world().await;
    let occ = started_meeting(&app, &w).await;
    let sec = &w.secretary_a;
    let mut png = PNG.to_vec();
    png.extend_from_slice(b"the minutes photo");
    let up = upload_multipart(
        sec,
        &[Part::File {
            name: "file",
            file_name: "IMG_1.png",
            content_type: "image/png",
            bytes: &png,
        }],
    )
    .await;
    up.expect(201);
    let photo = up.json()["id"].as_i64().unwrap();
    sec.put(
        &format!("/v1/occurrences/{occ}/minutes"),
        json!({"text": "重温入党誓词。", "photo_media_ids": [photo]}),
    )
    .await
    .expect(200);

    // The invited member reads the minutes with a signed URL per photo and opens it
    // without any header.
    let detail = w.member_a.get(&format!("/v1/occurrences/{occ}")).await;
    detail.expect(200);
    let detail = detail.json();
    assert_eq!(detail["my"]["invited"], true);
    let photos = detail["minutes"]["photos"]
        .as_array()
        .unwrap_or_else(|| panic!("no signed photos in the minutes: {}", detail["minutes"]));
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["media_id"], photo);
    let url = photos[0]["url"].as_str().unwrap();
    let image = app.client().get(url).await;
    image.expect(200);
    assert_eq!(image.body, png, "the image bytes");
    // The id alone still opens nothing.
    w.member_a
        .get(&format!("/v1/media/{photo}/content"))
        .await
        .expect_problem(403, "media_url_invalid");

    // A member of another branch sees neither the meeting nor the photo.
    app.add_member(&w.admin, w.branch_b, "13900000031", "外支部党员")
        .await;
    let other = app.login_as("13900000031").await;
    other
        .get(&format!("/v1/occurrences/{occ}"))
        .await
        .expect(404);
    let meta = other.get(&format!("/v1/media/{photo}")).await;
    assert!(
        [403, 404].contains(&meta.status.as_u16()),
        "{}",
        meta.status
    );
    let forged = url.replace(&format!("/v1/media/{photo}/"), "/v1/media/1/");
    if photo != 1 {
        other.get(&forged).await.expect(403);
    }
}

/// Member A asks for leave before the start; nobody decides it before check-in closes,
/// which records her absent.
async fn pending_at_close(app: &TestApp, w: &World) -> (i64, i64) {
    let occ = meeting_soon(app, w).await;
    let asked = w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "外出务工"}),
        )
        .await;
    asked.expect(201);
    let leave = asked.json()["id"].as_i64().unwrap();
    app.clock.advance(chrono::Duration::minutes(45));
    w.secretary_a
        .post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    close(w, occ).await;
    let list = attendance(&w.secretary_a, occ).await;
    assert_eq!(status_of(&list, w.member_a_id), "absent");
    (occ, leave)
}

#[tokio::test]
async fn a_leave_pending_at_close_approved_afterwards_turns_absent_into_leave_audited() {
    let app = app().await;
    let w = app.world().await;
    let (occ, leave) = pending_at_close(&app, &w).await;
    let before = november_attendance(&w).await;
    app.clock.advance(chrono::Duration::hours(3));

    let r = w
        .secretary_a
        .post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": true, "note": "事后补批"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "approved");

    let list = attendance(&w.secretary_a, occ).await;
    assert_eq!(status_of(&list, w.member_a_id), "leave");
    let mine = w
        .member_a
        .get(&format!("/v1/occurrences/{occ}"))
        .await
        .json();
    assert_eq!(mine["my"]["status"], "leave");
    let after = november_attendance(&w).await;
    assert_eq!(
        (
            after[0]["absent"].as_i64().unwrap(),
            after[0]["leave"].as_i64().unwrap()
        ),
        (
            before[0]["absent"].as_i64().unwrap() - 1,
            before[0]["leave"].as_i64().unwrap() + 1
        ),
        "statistics follow: {before} → {after}"
    );

    let audit = audited(&app, "leave_approved").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, Some(w.secretary_a_id));
    assert_eq!(audit[0].1["after_close"], true);
    assert_eq!(audit[0].1["user_id"], w.member_a_id);

    // Decided once after close: final.
    w.secretary_a
        .post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": false}),
        )
        .await
        .expect_problem(409, "attendance_final");
    // Members decide nothing.
    w.member_a
        .post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": true}),
        )
        .await
        .expect(403);
}

#[tokio::test]
async fn a_leave_pending_at_close_rejected_afterwards_keeps_absent_audited() {
    let app = app().await;
    let w = app.world().await;
    let (occ, leave) = pending_at_close(&app, &w).await;
    let before = november_attendance(&w).await;

    let r = w
        .secretary_a
        .post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": false, "note": "无正当理由"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "rejected");
    let list = attendance(&w.secretary_a, occ).await;
    assert_eq!(status_of(&list, w.member_a_id), "absent");
    assert_eq!(november_attendance(&w).await, before);
    let audit = audited(&app, "leave_rejected").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, Some(w.secretary_a_id));
    assert_eq!(audit[0].1["after_close"], true);
}

#[tokio::test]
async fn a_guest_is_listed_with_the_attendance_and_never_counted() {
    let app = app().await;
    let w = app.world().await;
    let occ = started_meeting(&app, &w).await;
    close(&w, occ).await;
    let sec = &w.secretary_a;
    let stats_before = november_attendance(&w).await;
    let counts_before = attendance(sec, occ).await["counts"].clone();
    let path = format!("/v1/occurrences/{occ}/guests");

    let cadre = sec
        .post(&path, json!({"name": "张镇长", "org_id": w.township}))
        .await;
    cadre.expect(201);
    let cadre = cadre.json();
    // Sent again (a retry): the same guest, nobody added.
    let again = sec
        .post(&path, json!({"name": "张镇长", "org_id": w.township}))
        .await;
    again.expect(200);
    assert_eq!(again.json()["id"], cadre["id"]);
    sec.post(&path, json!({"name": "李干事", "org_name": "县农业农村局"}))
        .await
        .expect(201);

    // Shown in the attendance list and in the occurrence, apart from the members.
    let list = attendance(sec, occ).await;
    let names: Vec<(Value, Value)> = list["guests"]
        .as_array()
        .unwrap_or_else(|| panic!("no guests in the attendance list: {list}"))
        .iter()
        .map(|g| (g["name"].clone(), g["org_name"].clone()))
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names[1], (json!("李干事"), json!("县农业农村局")));
    assert_eq!(names[0].0, json!("张镇长"));
    assert!(
        names[0].1.is_string(),
        "the township's name: {:?}",
        names[0]
    );
    assert_eq!(list["counts"], counts_before, "guests are not members");
    let detail = w
        .member_a
        .get(&format!("/v1/occurrences/{occ}"))
        .await
        .json();
    assert_eq!(detail["guests"].as_array().map(Vec::len), Some(2));
    assert_eq!(november_attendance(&w).await, stats_before);

    // Members add or remove no guests; the text is checked.
    w.member_a
        .post(&path, json!({"name": "冒名"}))
        .await
        .expect(403);
    w.organizer_b
        .post(&path, json!({"name": "外支部"}))
        .await
        .expect(404);
    let gid = cadre["id"].as_i64().unwrap();
    w.member_a
        .delete(&format!("{path}/{gid}"))
        .await
        .expect(403);
    sec.post(&path, json!({"name": "长".repeat(101)}))
        .await
        .expect_problem(422, "validation_failed");
    sec.post(&path, json!({"name": "王", "org_id": 999_999}))
        .await
        .expect_problem(422, "validation_failed");

    // Removing is idempotent.
    sec.delete(&format!("{path}/{gid}")).await.expect(204);
    sec.delete(&format!("{path}/{gid}")).await.expect(204);
    let list = attendance(sec, occ).await;
    assert_eq!(list["guests"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        audited(&app, "guest_added").await.len(),
        2,
        "each guest audited once"
    );
    assert_eq!(audited(&app, "guest_removed").await.len(), 1);
}
