//! The authorization matrix: every route of the app, taken from its OpenAPI document (built
//! from the same registration as the routes), is called by three people — an organizer of
//! a *sibling* branch, a plain member, and an anonymous caller — against branch A's data.
//! A route without an entry here fails the test, so a new route cannot skip this check.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, Resp, spawn};

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum Who {
    SiblingOrganizer,
    Member,
    Anonymous,
}

/// One route: how to call it, and the status each caller must get.
struct Entry {
    method: &'static str,
    /// The route pattern as in the spec.
    pattern: &'static str,
    /// Statuses for (sibling organizer, member, anonymous).
    expect: (u16, u16, u16),
    /// Run with a fresh session (the call ends it).
    fresh_session: bool,
}

const fn e(method: &'static str, pattern: &'static str, expect: (u16, u16, u16)) -> Entry {
    Entry {
        method,
        pattern,
        expect,
        fresh_session: false,
    }
}

/// 404 for both signed-in callers (outside scope / not a manager), 401 anonymous.
const HIDDEN: (u16, u16, u16) = (404, 404, 401);
/// Managing a course the member may only study: 404 for the sibling, 403 for the member.
const STUDY_ONLY: (u16, u16, u16) = (404, 403, 401);

fn matrix() -> Vec<Entry> {
    vec![
        e("get", "/healthz", (200, 200, 200)),
        e("get", "/readyz", (200, 200, 200)),
        // Not served without DANGKE_METRICS_TOKEN (tested with a token in ops.rs).
        e("get", "/metrics", (404, 404, 404)),
        e("get", "/openapi.json", (200, 200, 200)),
        e("post", "/v1/auth/login", (401, 401, 401)),
        e("post", "/v1/auth/refresh", (401, 401, 401)),
        e("post", "/v1/auth/password-reset", (401, 401, 401)),
        // Public; WeChat is not configured in this test, so everyone gets 503.
        e("post", "/v1/auth/wechat", (503, 503, 503)),
        e("post", "/v1/auth/wechat/bind", (503, 503, 503)),
        Entry {
            fresh_session: true,
            ..e("post", "/v1/auth/logout", (204, 204, 401))
        },
        e("get", "/v1/me", (200, 200, 401)),
        e("get", "/v1/me/account-events", (200, 200, 401)),
        e("put", "/v1/me/password", (403, 403, 401)),
        // Nobody in the world has WeChat bound.
        e("post", "/v1/me/wechat/unbind", (409, 409, 401)),
        e("post", "/v1/orgs", HIDDEN),
        e("get", "/v1/orgs/{id}", (404, 200, 401)),
        e("patch", "/v1/orgs/{id}", HIDDEN),
        e("post", "/v1/orgs/{id}/move", HIDDEN),
        e("get", "/v1/orgs/{id}/children", HIDDEN),
        e("get", "/v1/orgs/{id}/audit", HIDDEN),
        e("get", "/v1/orgs/{id}/tree", HIDDEN),
        e("get", "/v1/orgs/{id}/settings", HIDDEN),
        e("patch", "/v1/orgs/{id}/settings", HIDDEN),
        e("get", "/v1/orgs/{id}/members", HIDDEN),
        e("post", "/v1/orgs/{id}/members", HIDDEN),
        e("get", "/v1/members/{user_id}", HIDDEN),
        e("patch", "/v1/members/{user_id}", HIDDEN),
        e("post", "/v1/members/{user_id}/transfer", HIDDEN),
        e("put", "/v1/members/{user_id}/status", HIDDEN),
        e("post", "/v1/members/{user_id}/wechat-bind-code", HIDDEN),
        e("post", "/v1/members/{user_id}/login-code", HIDDEN),
        e("delete", "/v1/members/{user_id}/wechat", HIDDEN),
        // A valid CSV naming branch A's own member: only authorization can fail.
        e("post", "/v1/orgs/{id}/members/import", HIDDEN),
        e("get", "/v1/orgs/{id}/roles", HIDDEN),
        e("post", "/v1/orgs/{id}/roles", HIDDEN),
        e("delete", "/v1/orgs/{id}/roles/{user_id}/{role}", HIDDEN),
        // Courses: owned by branch A, published and assigned to branch A (the member
        // studies it, so managing it is 403 for them rather than 404).
        e("post", "/v1/courses", HIDDEN),
        e("get", "/v1/courses/{id}", (404, 200, 401)),
        e("patch", "/v1/courses/{id}", STUDY_ONLY),
        e("post", "/v1/courses/{id}/publish", STUDY_ONLY),
        e("post", "/v1/courses/{id}/archive", STUDY_ONLY),
        e("get", "/v1/orgs/{id}/courses", HIDDEN),
        e("post", "/v1/courses/{id}/assignments", STUDY_ONLY),
        e("get", "/v1/courses/{id}/assignments", STUDY_ONLY),
        e(
            "delete",
            "/v1/courses/{id}/assignments/{org_id}",
            STUDY_ONLY,
        ),
        e("get", "/v1/me/courses", (200, 200, 401)),
        e("post", "/v1/courses/{id}/lessons", STUDY_ONLY),
        e("get", "/v1/lessons/{id}", (404, 200, 401)),
        e("patch", "/v1/lessons/{id}", STUDY_ONLY),
        e("delete", "/v1/lessons/{id}", STUDY_ONLY),
        e("put", "/v1/lessons/{id}/quiz", STUDY_ONLY),
        e("get", "/v1/lessons/{id}/quiz", (404, 200, 401)),
        e("post", "/v1/lessons/{id}/quiz/attempts", (404, 201, 401)),
        // Extra attempts for branch A's committee member: a person outside the caller's
        // scope is 404 (the sibling's and the plain member's alike, as for member records).
        e("post", "/v1/lessons/{id}/quiz/extra-attempts", HIDDEN),
        // Sync answers per event: the sibling's event for branch A's lesson is rejected
        // (`lesson_not_visible`, checked below), the member's accepted.
        e("post", "/v1/progress/sync", (200, 200, 401)),
        e("get", "/v1/me/study", (200, 200, 401)),
        // Anyone's own grants; no reminder template is configured here, so reporting one is 422.
        e("get", "/v1/me/subscriptions", (200, 200, 401)),
        e("post", "/v1/me/subscriptions", (422, 422, 401)),
        // Anyone holding a role may upload; branch A's upload is seen by branch A's
        // organizers and by those who see something using it (nothing here), so neither the
        // sibling nor the member sees it. Playback needs a signed URL, which none has.
        e("post", "/v1/media", (201, 403, 401)),
        e("get", "/v1/media/{id}", HIDDEN),
        e("get", "/v1/media/{id}/content", (403, 403, 403)),
        // A cover image's lasting URL: also a signed URL, which none has.
        e("get", "/v1/media/{id}/image", (403, 403, 403)),
        // Activities of branch A: the member (invited, in a party group of branch A) sees
        // them and may ask for leave; organizing is branch A's.
        e("post", "/v1/orgs/{id}/activities", HIDDEN),
        e("get", "/v1/orgs/{id}/activities", HIDDEN),
        e("get", "/v1/activities/{id}", (404, 200, 401)),
        e("patch", "/v1/activities/{id}", STUDY_ONLY),
        e("post", "/v1/activities/{id}/cancel", STUDY_ONLY),
        e("get", "/v1/activities/{id}/occurrences", (404, 200, 401)),
        e("get", "/v1/occurrences/{id}", (404, 200, 401)),
        e("post", "/v1/occurrences/{id}/move", STUDY_ONLY),
        e("post", "/v1/occurrences/{id}/cancel", STUDY_ONLY),
        e("put", "/v1/occurrences/{id}/minutes", STUDY_ONLY),
        e("post", "/v1/occurrences/{id}/guests", STUDY_ONLY),
        e(
            "delete",
            "/v1/occurrences/{id}/guests/{guest_id}",
            STUDY_ONLY,
        ),
        e("post", "/v1/occurrences/{id}/checkin/open", STUDY_ONLY),
        e("post", "/v1/occurrences/{id}/checkin/close", STUDY_ONLY),
        e("get", "/v1/occurrences/{id}/checkin/code", STUDY_ONLY),
        // Check-in is not open for the target, so the invited member gets 409.
        e("post", "/v1/occurrences/{id}/checkin", (404, 409, 401)),
        e("post", "/v1/occurrences/{id}/proxy", STUDY_ONLY),
        e("get", "/v1/occurrences/{id}/attendance", STUDY_ONLY),
        e("get", "/v1/occurrences/{id}/record", STUDY_ONLY),
        // The live board is refused before any stream starts.
        e("get", "/v1/occurrences/{id}/live", STUDY_ONLY),
        e(
            "put",
            "/v1/occurrences/{id}/attendance/{user_id}",
            STUDY_ONLY,
        ),
        e("post", "/v1/occurrences/{id}/leave", (404, 201, 401)),
        e("get", "/v1/occurrences/{id}/leaves", STUDY_ONLY),
        e("post", "/v1/leaves/{id}/decision", STUDY_ONLY),
        e("get", "/v1/me/activities", (200, 200, 401)),
        e("post", "/v1/me/calendar-token", (201, 201, 401)),
        e("delete", "/v1/me/calendar-token", (204, 204, 401)),
        // The feed authenticates by its token only; without one the query is malformed.
        e("get", "/v1/me/calendar.ics", (400, 400, 400)),
        // Statistics of branch A: its operators only (the member list's right).
        e("get", "/v1/orgs/{id}/stats", HIDDEN),
        e("get", "/v1/orgs/{id}/stats/children", HIDDEN),
        e("get", "/v1/orgs/{id}/stats/members", HIDDEN),
        e("get", "/v1/orgs/{id}/stats/members/export", HIDDEN),
        e("get", "/v1/orgs/{id}/compliance", HIDDEN),
        e("get", "/v1/orgs/{id}/compliance/export", HIDDEN),
        e("get", "/v1/orgs/{id}/digest", HIDDEN),
        // Without a signature, exactly the digest's check (signed URLs: tests/api/chart.rs).
        e("get", "/v1/orgs/{id}/digest/chart.png", HIDDEN),
        // Pushes: branch A's channel, schedule and delivery.
        e("get", "/v1/orgs/{id}/push-channels", HIDDEN),
        e("post", "/v1/orgs/{id}/push-channels", HIDDEN),
        e("get", "/v1/push-channels/{id}", HIDDEN),
        e("patch", "/v1/push-channels/{id}", HIDDEN),
        e("delete", "/v1/push-channels/{id}", HIDDEN),
        e("post", "/v1/push-channels/{id}/schedules", HIDDEN),
        e("delete", "/v1/push-schedules/{id}", HIDDEN),
        e("post", "/v1/push-channels/{id}/test", HIDDEN),
        e("get", "/v1/orgs/{id}/deliveries", HIDDEN),
        e("get", "/v1/deliveries/{id}", HIDDEN),
        e("post", "/v1/deliveries/{id}/retry", HIDDEN),
        // The funnel among the owner org's (branch A's) members by default.
        e("get", "/v1/courses/{id}/stats", HIDDEN),
    ]
}

/// A valid request body for each writing route, so that only authorization can fail.
fn body_for(method: &str, pattern: &str, w: &World, t: &Targets) -> Option<Value> {
    let body = match (method, pattern) {
        ("post", "/v1/auth/login") => {
            json!({"phone": "13900000003", "password": "not-the-password"})
        }
        ("post", "/v1/auth/refresh") => json!({"refresh_token": "not-a-refresh-token"}),
        ("post", "/v1/auth/password-reset") => {
            json!({"phone": "13900000003", "code": "12345678", "new_password": "another-pass-9"})
        }
        ("post", "/v1/me/wechat/unbind") => json!({"password": "not-the-password"}),
        ("post", "/v1/auth/wechat") => json!({"code": "not-a-code"}),
        ("post", "/v1/auth/wechat/bind") => {
            json!({"bind_token": "not-a-token", "phone_code": "not-a-code"})
        }
        ("post", "/v1/auth/logout") => json!({}),
        ("post", "/v1/me/subscriptions") => json!({"template_id": "tmpl-x", "accepted": 1}),
        ("put", "/v1/me/password") => {
            json!({"current_password": "not-the-password", "new_password": "another-pass-9"})
        }
        ("post", "/v1/orgs") => {
            json!({"parent_id": w.branch_a, "name": "新党小组", "kind": "party_group"})
        }
        ("patch", "/v1/orgs/{id}") => json!({"name": "改名党支部"}),
        ("post", "/v1/orgs/{id}/move") => json!({"new_parent_id": w.county}),
        ("post", "/v1/orgs/{id}/push-channels") => {
            json!({"kind": "wecom_robot", "name": "矩阵群二", "key": "another-robot-key"})
        }
        ("patch", "/v1/push-channels/{id}") => json!({"name": "改名"}),
        ("post", "/v1/push-channels/{id}/schedules") => {
            json!({"frequency": "weekly", "weekday": 1, "time": "08:00"})
        }
        ("patch", "/v1/orgs/{id}/settings") => json!({"time_zone": "Asia/Urumqi"}),
        ("post", "/v1/orgs/{id}/members") => {
            json!({"phone": "13700000099", "name": "新党员", "category": "full"})
        }
        ("patch", "/v1/members/{user_id}") => json!({"name": "改名"}),
        ("post", "/v1/members/{user_id}/transfer") => json!({"to_org_id": w.group_a}),
        ("put", "/v1/members/{user_id}/status") => json!({"status": "migrant"}),
        ("post", "/v1/orgs/{id}/roles") => json!({"user_id": w.member_a_id, "role": "organizer"}),
        ("post", "/v1/courses") => {
            json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "x", "credit_centi": 10})
        }
        ("patch", "/v1/courses/{id}") => json!({"title": "改名"}),
        ("post", "/v1/courses/{id}/publish") | ("post", "/v1/courses/{id}/archive") => json!({}),
        ("post", "/v1/courses/{id}/assignments") => {
            json!({"org_ids": [w.branch_a], "required": false})
        }
        ("post", "/v1/courses/{id}/lessons") => {
            json!({"kind": "article", "title": "x", "body": "<p>x</p>"})
        }
        ("patch", "/v1/lessons/{id}") => json!({"title": "改名"}),
        ("put", "/v1/lessons/{id}/quiz") => {
            json!({"questions": [{"kind": "true_false", "text": "x", "answer": true}]})
        }
        ("post", "/v1/lessons/{id}/quiz/attempts") => json!({"answers": []}),
        ("post", "/v1/lessons/{id}/quiz/extra-attempts") => {
            json!({"user_id": w.committee_a_id, "attempts": 1, "reason": "矩阵"})
        }
        ("post", "/v1/orgs/{id}/activities") => json!({"kind": "other", "title": "矩阵活动",
            "start_local": "2027-03-02T09:00:00", "end_local": "2027-03-02T10:00:00"}),
        ("patch", "/v1/activities/{id}") => json!({"title": "改名"}),
        ("post", "/v1/activities/{id}/cancel") | ("post", "/v1/occurrences/{id}/cancel") => {
            json!({"reason": "矩阵"})
        }
        ("post", "/v1/occurrences/{id}/move") => {
            json!({"start_local": "2027-03-03T09:00:00", "end_local": "2027-03-03T10:00:00"})
        }
        ("put", "/v1/occurrences/{id}/minutes") => json!({"text": "纪要", "photo_media_ids": []}),
        ("post", "/v1/occurrences/{id}/guests") => json!({"name": "张镇长", "org_name": "柳林镇"}),
        ("post", "/v1/occurrences/{id}/checkin/open")
        | ("post", "/v1/occurrences/{id}/checkin/close")
        | ("post", "/v1/me/calendar-token") => json!({}),
        ("post", "/v1/occurrences/{id}/checkin") => json!({"code": "123456"}),
        ("post", "/v1/occurrences/{id}/proxy") => {
            json!({"user_id": w.committee_a_id, "reason": "年迈"})
        }
        ("put", "/v1/occurrences/{id}/attendance/{user_id}") => {
            json!({"status": "present", "reason": "更正"})
        }
        ("post", "/v1/occurrences/{id}/leave") => json!({"reason": "外出务工"}),
        ("post", "/v1/leaves/{id}/decision") => json!({"approve": true}),
        ("post", "/v1/progress/sync") => json!({"events": [{
            "client_event_id": "matrix-1", "lesson_id": t.lesson, "kind": "play", "from_s": 0, "to_s": 30,
            "started_at": "2026-11-27T00:00:00Z", "ended_at": "2026-11-27T00:00:30Z"}]}),
        _ => return None,
    };
    Some(body)
}

/// Objects of branch A the matrix calls on.
struct Targets {
    activity: i64,
    occurrence: i64,
    leave: i64,
    course: i64,
    lesson: i64,
    media: i64,
    channel: i64,
    schedule: i64,
    delivery: i64,
}

/// A tiny PNG, the raw body of the upload route.
const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");

/// A published course of branch A, assigned to branch A, with a lesson that has a quiz.
async fn targets(w: &World) -> Targets {
    let c = &w.secretary_a;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "矩阵课程", "credit_centi": 50}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let lesson = c
        .post(&format!("/v1/courses/{course}/lessons"), json!({"kind": "audio", "title": "一", "external_url": "https://cdn.example.com/a.mp3", "duration_s": 60}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    c.put(
        &format!("/v1/lessons/{lesson}/quiz"),
        json!({"questions": [{"kind": "true_false", "text": "对吗", "answer": true}]}),
    )
    .await
    .expect(200);
    c.publish_and_assign(course, json!({"org_ids": [w.branch_a], "required": true}))
        .await;
    let mut cover = PNG.to_vec();
    cover.extend_from_slice(b"branch A's own cover");
    let uploaded = c
        .send(
            c.request(Method::POST, "/v1/media")
                .header("content-type", "image/png")
                .body(cover),
        )
        .await;
    uploaded.expect(201);
    let media = uploaded.json()["id"].as_i64().unwrap();
    let scheduled = c
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "branch_general_meeting", "title": "矩阵支部党员大会",
                   "start_local": "2027-03-01T09:00:00", "end_local": "2027-03-01T11:00:00"}),
        )
        .await;
    scheduled.expect(201);
    let activity = scheduled.json()["id"].as_i64().unwrap();
    let occurrence = scheduled.json()["upcoming"][0]["id"].as_i64().unwrap();
    let asked = w
        .committee_a
        .post(
            &format!("/v1/occurrences/{occurrence}/leave"),
            json!({"reason": "外出"}),
        )
        .await;
    asked.expect(201);
    let leave = asked.json()["id"].as_i64().unwrap();
    let channel = c
        .post(
            &format!("/v1/orgs/{}/push-channels", w.branch_a),
            json!({"kind": "wecom_robot", "name": "矩阵群", "key": "matrix-robot-key"}),
        )
        .await
        .json()["channel"]["id"]
        .as_i64()
        .unwrap();
    let schedule = c
        .post(
            &format!("/v1/push-channels/{channel}/schedules"),
            json!({"frequency": "daily", "time": "08:00"}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let delivery = c
        .post(&format!("/v1/push-channels/{channel}/test"), json!({}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    Targets {
        channel,
        schedule,
        delivery,
        activity,
        occurrence,
        leave,
        course,
        lesson,
        media,
    }
}

/// The concrete path: branch A for orgs, the committee member of branch A for people, the
/// targets for courses and lessons.
fn concrete(pattern: &str, w: &World, t: &Targets) -> String {
    let id = if pattern.starts_with("/v1/activities/") {
        t.activity
    } else if pattern.starts_with("/v1/occurrences/") {
        t.occurrence
    } else if pattern.starts_with("/v1/leaves/") {
        t.leave
    } else if pattern.starts_with("/v1/media/") {
        t.media
    } else if pattern.starts_with("/v1/courses/") {
        t.course
    } else if pattern.starts_with("/v1/lessons/") {
        t.lesson
    } else if pattern.starts_with("/v1/push-channels/") {
        t.channel
    } else if pattern.starts_with("/v1/push-schedules/") {
        t.schedule
    } else if pattern.starts_with("/v1/deliveries/") {
        t.delivery
    } else {
        w.branch_a
    };
    pattern
        .replace("{id}", &id.to_string())
        .replace("{org_id}", &w.branch_a.to_string())
        .replace("{user_id}", &w.committee_a_id.to_string())
        .replace("{role}", "committee_member")
        .replace("{guest_id}", "1")
}

async fn call(client: &Client, entry: &Entry, w: &World, t: &Targets) -> Resp {
    let method = Method::from_bytes(entry.method.to_ascii_uppercase().as_bytes()).unwrap();
    let path = concrete(entry.pattern, w, t);
    let mut rb = client.request(method, &path);
    if let Some(body) = body_for(entry.method, entry.pattern, w, t) {
        rb = rb.json(&body);
    }
    if (entry.method, entry.pattern) == ("post", "/v1/orgs/{id}/members/import") {
        rb = rb
            .header("content-type", "text/csv")
            .body("姓名,手机号\n矩阵导入,13900000077\n");
    }
    if (entry.method, entry.pattern) == ("post", "/v1/media") {
        rb = rb.header("content-type", "image/png").body(PNG.to_vec());
    }
    client.send(rb).await
}

/// What the answer shows that the spec does not document for this operation: its status,
/// or (for a body) its media type.
fn undocumented(spec: &Value, entry: &Entry, r: &Resp) -> Option<String> {
    let status = r.status.as_u16().to_string();
    let documented = &spec["paths"][entry.pattern][entry.method]["responses"][&status];
    if documented.is_null() {
        return Some(format!("status {status} is not documented"));
    }
    let content = documented.get("content").and_then(Value::as_object);
    let media_type = r
        .header("content-type")
        .map(|ct| ct.split(';').next().unwrap_or("").trim().to_string());
    match (content, media_type) {
        (Some(c), Some(mt)) if !r.body.is_empty() && !c.contains_key(&mt) => Some(format!(
            "status {status} sent {mt}, the spec says {:?}",
            c.keys().collect::<Vec<_>>()
        )),
        (None, Some(mt)) if !r.body.is_empty() => Some(format!(
            "status {status} sent a {mt} body, the spec documents none"
        )),
        _ => None,
    }
}

#[tokio::test]
async fn every_route_is_checked_for_sibling_member_and_anonymous() {
    let app = spawn().await;
    let w = app.world().await;
    let t = targets(&w).await;

    let spec = app.client().get("/openapi.json").await.json();
    let mut in_spec = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            in_spec.insert((method.clone(), path.clone()));
        }
    }
    let table = matrix();
    let in_table: BTreeSet<(String, String)> = table
        .iter()
        .map(|e| (e.method.to_string(), e.pattern.to_string()))
        .collect();
    let missing: Vec<_> = in_spec.difference(&in_table).collect();
    let stale: Vec<_> = in_table.difference(&in_spec).collect();
    assert!(
        missing.is_empty(),
        "routes without an authorization matrix entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix entries for routes that do not exist: {stale:?}"
    );

    let mut failures = Vec::new();
    for entry in &table {
        for who in [Who::SiblingOrganizer, Who::Member, Who::Anonymous] {
            let client = match (who, entry.fresh_session) {
                (Who::SiblingOrganizer, false) => w.organizer_b.clone(),
                (Who::SiblingOrganizer, true) => app.login_as("13900000004").await,
                (Who::Member, false) => w.member_a.clone(),
                (Who::Member, true) => app.login_as("13900000003").await,
                (Who::Anonymous, _) => app.client(),
            };
            let expected = match who {
                Who::SiblingOrganizer => entry.expect.0,
                Who::Member => entry.expect.1,
                Who::Anonymous => entry.expect.2,
            };
            let r = call(&client, entry, &w, &t).await;
            let got = r.status.as_u16();
            if let Some(problem) = undocumented(&spec, entry, &r) {
                failures.push(format!(
                    "{who:?} {} {}: {problem}",
                    entry.method, entry.pattern
                ));
            }
            if got != expected {
                failures.push(format!(
                    "{who:?} {} {}: expected {expected}, got {got}",
                    entry.method, entry.pattern
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix failures:\n{}",
        failures.join("\n")
    );

    // Nothing the three could not do happened: branch A is unchanged.
    let a = w
        .admin
        .get(&format!("/v1/orgs/{}", w.branch_a))
        .await
        .json();
    assert_eq!(a["name"], "东山村党支部");
    assert_eq!(a["parent_id"], w.township);
    let m = w
        .admin
        .get(&format!("/v1/members/{}", w.committee_a_id))
        .await
        .json();
    assert_eq!(m["name"], "张委员");
    assert_eq!(m["status"], "active");
    assert_eq!(m["org_id"], w.branch_a);
    let course = w
        .secretary_a
        .get(&format!("/v1/courses/{}", t.course))
        .await
        .json();
    assert_eq!(course["title"], "矩阵课程");
    assert_eq!(course["status"], "published");
    assert_eq!(course["lessons"].as_array().unwrap().len(), 1);
}
