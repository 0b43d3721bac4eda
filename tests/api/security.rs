//! Regression tests for the hostile walk of issue 14, each written as the attack was made:
//! a village secretary (branch A's) and a sibling branch's organizer trying to take over
//! accounts, read another branch's media and course, and smuggle text that breaks
//! PostgreSQL, spreadsheets and calendars. Run on both backends.

use std::sync::Arc;

use dangke::clock::ManualClock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::wechat_server::WechatServer;
use crate::helpers::world::{PASSWORD, World};
use crate::helpers::{Client, Options, Resp, TestApp, spawn, spawn_with, start_time};
use crate::media::{Part, upload_multipart};

const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");
const ADMIN_PHONE: &str = "13900000000";

/// Everything that makes up a user's identity, as stored: the user row, every membership
/// and every role. Compared before and after an attack.
pub async fn identity(app: &TestApp, user_id: i64) -> String {
    app.app_state
        .db
        .read(move |c| {
            use dangke::db::schema::{memberships as m, org_roles as r, users as u};
            use diesel::prelude::*;
            type UserRow = (
                String,
                String,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<chrono::NaiveDate>,
                chrono::NaiveDateTime,
            );
            let user: UserRow = u::table
                .find(user_id)
                .select((
                    u::phone,
                    u::name,
                    u::status,
                    u::password_hash,
                    u::wechat_openid,
                    u::gender,
                    u::birth_date,
                    u::updated_at,
                ))
                .first(c)?;
            type MembershipRow = (
                i64,
                i64,
                String,
                bool,
                String,
                chrono::NaiveDate,
                Option<chrono::NaiveDate>,
            );
            let memberships: Vec<MembershipRow> = m::table
                .filter(m::user_id.eq(user_id))
                .order(m::id)
                .select((
                    m::id,
                    m::org_id,
                    m::category,
                    m::is_cadre,
                    m::status,
                    m::from_date,
                    m::to_date,
                ))
                .load(c)?;
            let roles: Vec<(i64, String)> = r::table
                .filter(r::user_id.eq(user_id))
                .order(r::id)
                .select((r::org_id, r::role))
                .load(c)?;
            Ok(format!("{user:?}\n{memberships:?}\n{roles:?}"))
        })
        .await
        .unwrap()
}

/// An app configured for a loopback WeChat server, both on one clock.
pub async fn app_with_wechat() -> (TestApp, WechatServer) {
    let clock = Arc::new(ManualClock::new(start_time()));
    let wx = WechatServer::start(clock.clone()).await;
    let app = spawn_with(Options {
        vars: wx.vars(),
        clock: Some(clock),
        ..Options::default()
    })
    .await;
    (app, wx)
}

/// Creates a course through the API; returns its id (or the refusal's response).
pub async fn create_course(by: &Client, body: Value) -> Result<i64, Resp> {
    let r = by.post("/v1/courses", body).await;
    if r.status.as_u16() == 201 {
        Ok(r.json()["id"].as_i64().unwrap())
    } else {
        Err(r)
    }
}

/// Sends a CSV member list as the import route's `text/csv` body.
pub async fn import_csv(by: &Client, org: i64, csv: &str, dry_run: bool) -> Resp {
    by.send(
        by.request(
            Method::POST,
            &format!("/v1/orgs/{org}/members/import?dry_run={dry_run}"),
        )
        .header("content-type", "text/csv")
        .body(csv.as_bytes().to_vec()),
    )
    .await
}

/// The report rows of an import by line number.
pub fn report_row(report: &Value, line: u64) -> Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == line)
        .cloned()
        .unwrap_or_else(|| panic!("no row for line {line}: {report}"))
}

/// A township secretary who lives in village A: a member of branch A who holds the
/// secretary role of the township above it.
pub async fn township_secretary_in_branch_a(app: &TestApp, w: &World) -> i64 {
    let id = app
        .add_member(&w.admin, w.branch_a, "13900000010", "镇党委书记")
        .await;
    app.grant(&w.admin, w.township, id, "secretary").await;
    id
}

// --- 1. account takeover through enrollment -----------------------------------------------

#[tokio::test]
async fn a_village_secretary_cannot_adopt_the_county_admin_or_change_his_phone() {
    let app = spawn().await;
    let w = app.world().await;
    let before = identity(&app, w.admin_id).await;

    // Enrollment of the county admin (a user with a password and a role, no membership).
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": ADMIN_PHONE, "name": "x", "category": "full"}),
        )
        .await
        .expect_problem(409, "member_not_addable");
    // So there is no member to edit: his phone cannot be changed through the member route.
    w.secretary_a
        .patch(
            &format!("/v1/members/{}", w.admin_id),
            json!({"phone": "13900001111"}),
        )
        .await
        .expect_problem(404, "not_found");
    // A CSV row with his phone is refused the same way, and his name is not overwritten.
    let r = import_csv(
        &w.secretary_a,
        w.branch_a,
        &format!("姓名,手机号\n冒名顶替,{ADMIN_PHONE}\n"),
        false,
    )
    .await;
    r.expect(200);
    let row = report_row(&r.json(), 2);
    assert_eq!(row["outcome"], "rejected", "{row}");
    assert_eq!(row["reason"], "member_not_addable", "{row}");
    assert_eq!(identity(&app, w.admin_id).await, before);
    // And he still logs in with his own number.
    let mut admin = app.client();
    admin.login(ADMIN_PHONE, PASSWORD).await;

    // A township secretary who is a member of branch A: her details are visible to the
    // village secretary, but not hers to change.
    let t = township_secretary_in_branch_a(&app, &w).await;
    let before = identity(&app, t).await;
    w.secretary_a
        .get(&format!("/v1/members/{t}"))
        .await
        .expect(200);
    for body in [json!({"phone": "13900001111"}), json!({"name": "改名"})] {
        w.secretary_a
            .patch(&format!("/v1/members/{t}"), body)
            .await
            .expect_problem(403, "forbidden");
    }
    w.secretary_a
        .put(
            &format!("/v1/members/{t}/status"),
            json!({"status": "left"}),
        )
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(identity(&app, t).await, before);
    // The county admin can.
    w.admin
        .patch(&format!("/v1/members/{t}"), json!({"name": "镇党委书记甲"}))
        .await
        .expect(200);
}

#[tokio::test]
async fn changing_a_phone_revokes_sessions_and_the_wechat_binding_and_the_member_sees_it() {
    let (app, wx) = app_with_wechat().await;
    let w = app.world().await;
    // The member binds her WeChat (she has a password, so she gives it).
    wx.add_login("js-1", "openid-member", None);
    let token = app
        .client()
        .post("/v1/auth/wechat", json!({"code": "js-1"}))
        .await
        .json()["bind_token"]
        .as_str()
        .unwrap()
        .to_string();
    wx.add_phone("ph-1", "13900000003");
    app.client()
        .post(
            "/v1/auth/wechat/bind",
            json!({"bind_token": token, "phone_code": "ph-1", "password": PASSWORD}),
        )
        .await
        .expect(200);
    w.member_a.get("/v1/me").await.expect(200);

    // Her secretary corrects her phone number.
    w.secretary_a
        .patch(
            &format!("/v1/members/{}", w.member_a_id),
            json!({"phone": "13911110003"}),
        )
        .await
        .expect(200);
    // Every session she had is over, her refresh token too.
    w.member_a
        .get("/v1/me")
        .await
        .expect_problem(401, "token_revoked");
    app.client()
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": w.member_a.refresh_token.clone().unwrap()}),
        )
        .await
        .expect(401);
    // The WeChat account is no longer bound: its next login must bind again.
    wx.add_login("js-2", "openid-member", None);
    let again = app
        .client()
        .post("/v1/auth/wechat", json!({"code": "js-2"}))
        .await;
    again.expect(200);
    assert_eq!(again.json()["status"], "bind_required", "{}", again.text());
    // She logs in with the new number and sees what happened to her account.
    let mut member = app.client();
    member.login("13911110003", PASSWORD).await;
    let events = member.get("/v1/me/account-events").await;
    events.expect(200);
    let items = events.json()["items"].as_array().unwrap().clone();
    let change = items
        .iter()
        .find(|e| e["action"] == "phone_changed")
        .unwrap_or_else(|| panic!("no phone_changed event: {items:?}"));
    assert_eq!(change["actor_user_id"], w.secretary_a_id);
    assert_eq!(change["details"]["wechat_unbound"], true);
    assert_eq!(change["details"]["sessions_revoked"], true);
}

#[tokio::test]
async fn wechat_never_binds_a_role_holder_or_password_account_by_phone_alone() {
    let (app, wx) = app_with_wechat().await;
    let w = app.world().await;
    let bind_token = |n: u32| {
        let (app, wx) = (&app, &wx);
        async move {
            wx.add_login(&format!("js-{n}"), "openid-attacker", None);
            let r = app
                .client()
                .post("/v1/auth/wechat", json!({"code": format!("js-{n}")}))
                .await;
            r.expect(200);
            r.json()["bind_token"].as_str().unwrap().to_string()
        }
    };
    // The attacker's WeChat proves the county admin's number (the end of the chain the
    // walk built: adopt, re-number, bind).
    wx.add_phone("ph-admin", ADMIN_PHONE);
    let token = bind_token(1).await;
    app.client()
        .post(
            "/v1/auth/wechat/bind",
            json!({"bind_token": token, "phone_code": "ph-admin"}),
        )
        .await
        .expect_problem(403, "wechat_password_required");
    let token = bind_token(2).await;
    wx.add_phone("ph-admin-2", ADMIN_PHONE);
    app.client()
        .post(
            "/v1/auth/wechat/bind",
            json!({"bind_token": token, "phone_code": "ph-admin-2", "password": "guess-guess-1"}),
        )
        .await
        .expect_problem(403, "wrong_password");
    let ids = app
        .app_state
        .db
        .read(move |c| {
            use dangke::db::schema::users::dsl as u;
            use diesel::prelude::*;
            Ok(u::users
                .filter(u::wechat_openid.is_not_null())
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(ids, 0, "nothing was bound");

    // The admin himself, with his password, binds his WeChat.
    let token = bind_token(3).await;
    wx.add_phone("ph-admin-3", ADMIN_PHONE);
    let r = app
        .client()
        .post(
            "/v1/auth/wechat/bind",
            json!({"bind_token": token, "phone_code": "ph-admin-3", "password": PASSWORD}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["user_id"], w.admin_id);
}

// --- 2. media of another branch ----------------------------------------------------------

#[tokio::test]
async fn media_are_visible_only_through_what_uses_them_or_the_uploading_org() {
    let app = spawn().await;
    let w = app.world().await;
    let up = upload_multipart(
        &w.secretary_a,
        &[Part::File {
            name: "file",
            file_name: "minutes.png",
            content_type: "image/png",
            bytes: PNG,
        }],
    )
    .await;
    up.expect(201);
    let id = up.json()["id"].as_i64().unwrap();
    // The uploader's org (and the county above it) see it.
    w.secretary_a
        .get(&format!("/v1/media/{id}"))
        .await
        .expect(200);
    w.admin.get(&format!("/v1/media/{id}")).await.expect(200);
    // The sibling branch's organizer does not, by id or by next id.
    w.organizer_b
        .get(&format!("/v1/media/{id}"))
        .await
        .expect_problem(404, "not_found");
    w.organizer_b
        .get(&format!("/v1/media/{}", id + 1))
        .await
        .expect_problem(404, "not_found");
    // Nor can she put it in her own course to get a signed URL for it.
    let borrowed = json!({"owner_org_id": w.branch_b, "kind": "online_class", "title": "借图", "credit_centi": 100});
    let mut with_cover = borrowed.clone();
    with_cover["cover_media_id"] = json!(id);
    create_course(&w.organizer_b, with_cover)
        .await
        .unwrap_err()
        .expect_problem(422, "validation_failed");
    let course = create_course(&w.organizer_b, borrowed).await.unwrap();
    w.organizer_b
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "pdf", "title": "借来的", "media_id": id, "min_reading_s": 60}),
        )
        .await
        .expect_problem(422, "validation_failed");
    w.organizer_b
        .patch(
            &format!("/v1/courses/{course}"),
            json!({"cover_media_id": id}),
        )
        .await
        .expect_problem(422, "validation_failed");
    // A member sees it once it is the cover of a course published to her branch.
    w.member_a
        .get(&format!("/v1/media/{id}"))
        .await
        .expect_problem(404, "not_found");
    let own = w
        .secretary_a
        .post(
            "/v1/courses",
            json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": "本支部课程", "credit_centi": 100, "cover_media_id": id}),
        )
        .await;
    own.expect(201);
    let own = own.json()["id"].as_i64().unwrap();
    w.secretary_a
        .post(
            &format!("/v1/courses/{own}/lessons"),
            json!({"kind": "article", "title": "一", "body": "<p>学习</p>", "min_reading_s": 30}),
        )
        .await
        .expect(201);
    w.secretary_a
        .publish_and_assign(own, json!({"org_ids": [w.branch_a]}))
        .await;
    w.member_a.get(&format!("/v1/media/{id}")).await.expect(200);
    w.organizer_b
        .get(&format!("/v1/media/{id}"))
        .await
        .expect_problem(404, "not_found");
}

// --- 3. control characters ---------------------------------------------------------------

#[tokio::test]
async fn nul_and_control_characters_are_refused_alike_on_both_backends() {
    let app = spawn().await;
    let w = app.world().await;
    for name in [
        "东\u{0}山",
        "东\r\n山",
        "东\n山",
        "东\u{7}山",
        "东\u{202e}山",
    ] {
        let r = w
            .admin
            .post(
                "/v1/orgs",
                json!({"parent_id": w.township, "name": name, "kind": "branch"}),
            )
            .await;
        let body = r.expect_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], "name", "{body}");
        assert_eq!(body["errors"][0]["code"], "control_character", "{body}");
        w.secretary_a
            .post(
                &format!("/v1/orgs/{}/members", w.branch_a),
                json!({"phone": "13755550001", "name": name, "category": "full"}),
            )
            .await
            .expect_problem(422, "validation_failed");
        w.secretary_a
            .patch(
                &format!("/v1/members/{}", w.member_a_id),
                json!({"name": name}),
            )
            .await
            .expect_problem(422, "validation_failed");
        w.secretary_a
            .post(
                &format!("/v1/orgs/{}/activities", w.branch_a),
                json!({"kind": "theme_party_day", "title": name, "start_local": "2027-01-01T09:00:00",
                       "end_local": "2027-01-01T11:00:00"}),
            )
            .await
            .expect_problem(422, "validation_failed");
    }
    // A CSV import row with a NUL or a tab in the name is rejected, not stored.
    let r = import_csv(
        &w.secretary_a,
        w.branch_a,
        "姓名,手机号\n\"王\u{0}五\",13755550011\n\"王\t六\",13755550012\n赵七,13755550013\n",
        false,
    )
    .await;
    r.expect(200);
    let report = r.json();
    for line in [2, 3] {
        let row = report_row(&report, line);
        assert_eq!(row["outcome"], "rejected", "{row}");
        assert_eq!(row["reason"], "invalid_name", "{row}");
    }
    assert_eq!(report_row(&report, 4)["outcome"], "created");
    // A NUL in a query parameter is a 400, not a database error.
    w.secretary_a
        .get(&format!("/v1/orgs/{}/members?q=%00", w.branch_a))
        .await
        .expect_problem(400, "invalid_query");
    // Multi-line fields take newlines (and nothing else below U+0020 but tab).
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "theme_party_day", "title": "主题党日", "agenda": "一、学习党章\n二、交流",
                   "start_local": "2027-01-01T09:00:00", "end_local": "2027-01-01T11:00:00"}),
        )
        .await
        .expect(201);
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "theme_party_day", "title": "主题党日", "agenda": "一\u{0}二",
                   "start_local": "2027-01-01T09:00:00", "end_local": "2027-01-01T11:00:00"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    // Names are trimmed.
    let r = w
        .admin
        .post(
            "/v1/orgs",
            json!({"parent_id": w.township, "name": "  南山村党支部 ", "kind": "branch"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json()["name"], "南山村党支部");
}

// --- 4. spreadsheet formulas -------------------------------------------------------------

const FORMULAS: [&str; 5] = [
    "=HYPERLINK(\"http://evil.example/x\",\"点我\")",
    "@SUM(1)",
    "+1+1",
    "-2+3",
    "=cmd|' /C calc'!A0",
];

fn csv_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).unwrap();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn csv_exports_neutralize_formulas() {
    let app = spawn().await;
    let w = app.world().await;
    for (i, name) in FORMULAS.iter().enumerate() {
        w.secretary_a
            .post(
                &format!("/v1/orgs/{}/members", w.branch_a),
                json!({"phone": format!("1375555010{i}"), "name": name, "category": "full"}),
            )
            .await
            .expect(201);
    }
    let r = w
        .secretary_a
        .get(&format!(
            "/v1/orgs/{}/stats/members/export?period=2026&format=csv",
            w.branch_a
        ))
        .await;
    r.expect(200);
    let cells = csv_cells(&r.body);
    for name in FORMULAS {
        assert!(
            cells.iter().flatten().any(|c| *c == format!("'{name}")),
            "{name} is exported as text: {cells:?}"
        );
    }
    for cell in cells.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a cell a spreadsheet would evaluate: {cell:?}"
        );
    }

    // A branch renamed to a formula, in the township's compliance export.
    w.admin
        .patch(
            &format!("/v1/orgs/{}", w.branch_b),
            json!({"name": FORMULAS[0]}),
        )
        .await
        .expect(200);
    let r = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/compliance/export?year=2026&format=csv",
            w.township
        ))
        .await;
    r.expect(200);
    let cells = csv_cells(&r.body);
    assert!(
        cells
            .iter()
            .flatten()
            .any(|c| *c == format!("'{}", FORMULAS[0])),
        "{cells:?}"
    );
    for cell in cells.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?}"
        );
    }
}

// --- 5. calendar injection ---------------------------------------------------------------

#[tokio::test]
async fn urls_with_line_breaks_or_spaces_are_refused_and_the_feed_stays_clean() {
    let app = spawn().await;
    let w = app.world().await;
    let act = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "theme_party_day", "title": "主题党日; 学习, 讨论", "start_local": "2027-01-01T09:00:00",
                   "end_local": "2027-01-01T11:00:00", "online_url": "https://meet.example/a"}),
        )
        .await;
    act.expect(201);
    let act = act.json()["id"].as_i64().unwrap();
    for url in [
        "https://meet.example/a\r\nATTACH:http://evil/x\r\nX-INJ:1",
        "https://meet.example/a\nX-INJ:1",
        "https://meet.example/a X-INJ:1",
        "javascript:alert(1)",
    ] {
        let r = w
            .secretary_a
            .patch(&format!("/v1/activities/{act}"), json!({"online_url": url}))
            .await;
        assert_eq!(r.status.as_u16(), 422, "{url:?}: {}", r.text());
        w.secretary_a
            .post(
                "/v1/courses",
                json!({"owner_org_id": w.branch_a, "kind": "online_class", "title": "课", "credit_centi": 100, "cover_url": url}),
            )
            .await
            .expect(422);
    }
    let token = w
        .member_a
        .post("/v1/me/calendar-token", json!({}))
        .await
        .json()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let feed = app.client().get(&token).await;
    feed.expect(200);
    let text = feed.text();
    assert!(!text.contains("X-INJ"), "{text}");
    assert!(!text.contains("ATTACH"), "{text}");
    assert!(text.contains("URL:https://meet.example/a\r\n"), "{text}");
    assert!(text.contains("SUMMARY:主题党日\\; 学习\\, 讨论"), "{text}");
}

// --- 6. the funnel of another branch's course --------------------------------------------

#[tokio::test]
async fn the_funnel_of_a_course_the_caller_cannot_see_is_404() {
    let app = spawn().await;
    let w = app.world().await;
    let course = create_course(
        &w.organizer_b,
        json!({"owner_org_id": w.branch_b, "kind": "online_class", "title": "西河村草稿", "credit_centi": 100}),
    )
    .await
    .unwrap();
    w.organizer_b
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "未公开的课时", "body": "<p>x</p>", "min_reading_s": 30}),
        )
        .await
        .expect(201);
    let r = w
        .secretary_a
        .get(&format!("/v1/courses/{course}/stats?org_id={}", w.branch_a))
        .await;
    r.expect_problem(404, "not_found");
    assert!(!r.text().contains("未公开的课时"));
    // Its own organizer and the county see it.
    w.organizer_b
        .get(&format!("/v1/courses/{course}/stats"))
        .await
        .expect(200);
    w.admin
        .get(&format!("/v1/courses/{course}/stats?org_id={}", w.branch_a))
        .await
        .expect(200);
}

// --- 7. arrays where the spec says object ------------------------------------------------

#[tokio::test]
async fn json_arrays_are_not_accepted_for_objects() {
    let app = spawn().await;
    let w = app.world().await;
    let r = w
        .secretary_a
        .patch(&format!("/v1/orgs/{}", w.group_a), json!(["改名小组"]))
        .await;
    r.expect_problem(422, "invalid_body");
    assert_eq!(
        w.secretary_a
            .get(&format!("/v1/orgs/{}", w.group_a))
            .await
            .json()["name"],
        "东山村第一党小组"
    );
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!(["13755556666", "数组", "full"]),
        )
        .await
        .expect_problem(422, "invalid_body");
    // Nested objects too: a sync event given by position.
    let r = w
        .member_a
        .post(
            "/v1/progress/sync",
            json!({"events": [["00000000-0000-4000-8000-000000000001", 1, "play", 0, 10,
                               "2026-11-27T01:00:00Z", "2026-11-27T01:00:10Z"]]}),
        )
        .await;
    let body = r.expect_problem(422, "invalid_body");
    assert_eq!(body["errors"][0]["field"], "events[0]", "{body}");
    let members = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/members?q=13755556666", w.branch_a))
        .await
        .json();
    assert_eq!(members["items"].as_array().unwrap().len(), 0);
}

// --- 8. search wildcards -----------------------------------------------------------------

#[tokio::test]
async fn search_treats_percent_and_underscore_as_text() {
    let app = spawn().await;
    let w = app.world().await;
    for (phone, name) in [("13755550201", "张%三"), ("13755550202", "李_四")] {
        w.secretary_a
            .post(
                &format!("/v1/orgs/{}/members", w.branch_a),
                json!({"phone": phone, "name": name, "category": "full"}),
            )
            .await
            .expect(201);
    }
    let names = |q: &'static str| {
        let c = w.secretary_a.clone();
        let org = w.branch_a;
        async move {
            let r = c.get(&format!("/v1/orgs/{org}/members?q={q}")).await;
            r.expect(200);
            let mut names: Vec<String> = r.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(names("%25").await, vec!["张%三"]);
    assert_eq!(names("_").await, vec!["李_四"]);
    assert!(names("%25_%25").await.is_empty());
    assert!(names("%5C").await.is_empty());
    assert_eq!(names("王").await, vec!["王党员"]);
}

// --- 9. the membership oracle ------------------------------------------------------------

#[tokio::test]
async fn adding_a_phone_does_not_reveal_whether_it_belongs_to_a_member_elsewhere() {
    let app = spawn().await;
    let w = app.world().await;
    let with_password = app
        .create_user("13800000009", "有密码无组织", "whatever-pw-1")
        .await;
    let add = |phone: &'static str| {
        let c = w.secretary_a.clone();
        let org = w.branch_a;
        async move {
            c.post(
                &format!("/v1/orgs/{org}/members"),
                json!({"phone": phone, "name": "某人", "category": "full"}),
            )
            .await
        }
    };
    // A member of the sibling branch, the county admin, an account with a password.
    let answers: Vec<Value> = vec![
        add("13900000004")
            .await
            .expect_problem(409, "member_not_addable"),
        add(ADMIN_PHONE)
            .await
            .expect_problem(409, "member_not_addable"),
        add("13800000009")
            .await
            .expect_problem(409, "member_not_addable"),
    ];
    for a in &answers {
        assert_eq!(a["detail"], answers[0]["detail"], "{answers:?}");
        assert!(!a.to_string().contains("西河村"), "{a}");
    }
    assert_eq!(
        identity(&app, with_password).await.lines().nth(1),
        Some("[]")
    );
    // A phone nobody has is added.
    add("13755550301").await.expect(201);
}

// --- 10. metrics -------------------------------------------------------------------------

#[tokio::test]
async fn metrics_need_the_configured_token() {
    let app = spawn().await;
    let w = app.world().await;
    app.client()
        .get("/metrics")
        .await
        .expect_problem(404, "not_found");
    w.admin
        .get("/metrics")
        .await
        .expect_problem(404, "not_found");

    let app = spawn_with(Options {
        vars: vec![("DANGKE_METRICS_TOKEN", "metrics-token-0123456789".into())],
        ..Options::default()
    })
    .await;
    app.client()
        .get("/metrics")
        .await
        .expect_problem(401, "token_missing");
    app.client()
        .with_token("wrong-token")
        .get("/metrics")
        .await
        .expect_problem(401, "token_invalid");
    let r = app
        .client()
        .with_token("metrics-token-0123456789")
        .get("/metrics")
        .await;
    r.expect(200);
    assert!(r.text().contains("http_requests_total"), "{}", r.text());
}

// --- property-level authorization and resource limits (OWASP API3, API4) ---------------

#[tokio::test]
async fn nobody_sets_what_the_server_decides_and_sizes_are_bounded() {
    let app = spawn().await;
    let w = app.world().await;
    // A member may not award herself credit, choose her org, role or status, or approve
    // her own leave: such fields are unknown to the request types.
    let attempts = [
        (
            "post",
            "/v1/progress/sync".to_string(),
            json!({"events": [{"client_event_id": "4c0d7a4e-5b7b-4b35-9d1c-2f6f3b6e0a11", "lesson_id": 1, "kind": "play",
                "from_s": 0, "to_s": 10, "started_at": "2026-11-27T01:00:00Z", "ended_at": "2026-11-27T01:00:10Z", "credit_centi": 10000}]}),
            "events[0].credit_centi",
        ),
        (
            "post",
            format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "13755550501", "name": "某人", "category": "full", "org_id": w.county}),
            "org_id",
        ),
        (
            "patch",
            format!("/v1/members/{}", w.member_a_id),
            json!({"role": "secretary"}),
            "role",
        ),
        (
            "post",
            "/v1/courses".to_string(),
            json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "课", "credit_centi": 10, "status": "published"}),
            "status",
        ),
    ];
    for (method, path, body, field) in attempts {
        let c = if path.starts_with("/v1/progress") {
            &w.member_a
        } else {
            &w.secretary_a
        };
        let r = match method {
            "post" => c.post(&path, body).await,
            _ => c.patch(&path, body).await,
        };
        let problem = r.expect_problem(422, "invalid_body");
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
        assert_eq!(
            problem["errors"][0]["code"], "unknown_field",
            "{path}: {problem}"
        );
    }
    // Sizes: a page is at most 200 rows, a sync batch at most 200 events, a body 64 KiB.
    w.secretary_a
        .get(&format!("/v1/orgs/{}/members?limit=201", w.branch_a))
        .await
        .expect_problem(400, "invalid_query");
    let event = |i: usize| {
        json!({"client_event_id": format!("4c0d7a4e-5b7b-4b35-9d1c-{i:012}"), "lesson_id": 1, "kind": "play",
               "from_s": 0, "to_s": 10, "started_at": "2026-11-27T01:00:00Z", "ended_at": "2026-11-27T01:00:10Z"})
    };
    let batch: Vec<Value> = (0..201).map(event).collect();
    w.member_a
        .post("/v1/progress/sync", json!({"events": batch}))
        .await
        .expect_problem(422, "validation_failed");
    let big = "字".repeat(30_000);
    w.secretary_a
        .patch(&format!("/v1/orgs/{}", w.group_a), json!({"name": big}))
        .await
        .expect_problem(413, "payload_too_large");
}
