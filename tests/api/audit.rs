//! The audit log, read back: every organizer write route is walked once by a secretary or
//! the county admin, and `GET /v1/orgs/{id}/audit` of the county must show its entry. The
//! list of organizer routes is checked against the spec, so a new write route cannot skip
//! its audit entry; filters and scope are checked too.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::helpers::{Client, Resp};
use crate::media::{Part, upload_multipart};
use crate::security::import_csv;

const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");

/// Write routes that are not an organizer's: sign-in, a person's own account, a member's
/// own study, quiz attempt, check-in, leave request and reminder grants (audited where they matter by their
/// own tests).
const NOT_ORGANIZER: &[(&str, &str)] = &[
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/logout"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/auth/wechat"),
    ("post", "/v1/auth/wechat/bind"),
    ("put", "/v1/me/password"),
    ("post", "/v1/auth/password-reset"),
    ("post", "/v1/me/wechat/unbind"),
    ("post", "/v1/me/calendar-token"),
    ("delete", "/v1/me/calendar-token"),
    ("post", "/v1/me/subscriptions"),
    ("post", "/v1/progress/sync"),
    ("post", "/v1/lessons/{id}/quiz/attempts"),
    ("post", "/v1/occurrences/{id}/checkin"),
    ("post", "/v1/occurrences/{id}/leave"),
];

fn ok(r: &Resp) -> Value {
    assert!(r.status.is_success(), "{}: {}", r.status, r.text());
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

async fn actions(admin: &Client, org: i64, query: &str) -> Vec<Value> {
    let r = admin
        .get(&format!("/v1/orgs/{org}/audit?limit=200{query}"))
        .await;
    r.expect(200);
    r.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_organizer_write_is_in_the_audit_log() {
    // The push worker off: the walk ends a test delivery `dead` by hand before retrying it,
    // and a worker sending it meanwhile would record its attempt over that (a 409 race).
    let app = crate::helpers::spawn_with(crate::helpers::Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "800d".into()),
            ("DANGKE_PUSH_EVERY", "off".into()),
        ],
        ..crate::helpers::Options::default()
    })
    .await;
    let w = app.world().await;
    let (sec, admin) = (&w.secretary_a, &w.admin);
    let mut walked: Vec<(&str, &str, &str)> = Vec::new();
    macro_rules! walk {
        ($method:literal, $pattern:literal, $action:literal, $call:expr) => {{
            let r = $call;
            walked.push(($method, $pattern, $action));
            ok(&r)
        }};
    }

    // Orgs.
    let group = walk!(
        "post",
        "/v1/orgs",
        "org_created",
        admin
            .post(
                "/v1/orgs",
                json!({"parent_id": w.branch_a, "name": "东山村第二党小组", "kind": "party_group"})
            )
            .await
    )["id"]
        .as_i64()
        .unwrap();
    walk!(
        "patch",
        "/v1/orgs/{id}",
        "org_updated",
        admin
            .patch(
                &format!("/v1/orgs/{group}"),
                json!({"name": "东山村第三党小组"})
            )
            .await
    );
    walk!(
        "post",
        "/v1/orgs/{id}/move",
        "org_moved",
        admin
            .post(
                &format!("/v1/orgs/{}/move", w.branch_b),
                json!({"new_parent_id": w.county})
            )
            .await
    );
    walk!(
        "patch",
        "/v1/orgs/{id}/settings",
        "org_settings_changed",
        sec.patch(
            &format!("/v1/orgs/{}/settings", w.branch_a),
            json!({"quotas": {"member": 3600}})
        )
        .await
    );

    // Members and roles.
    let new_member = walk!(
        "post",
        "/v1/orgs/{id}/members",
        "member_added",
        sec.post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "13755550401", "name": "新党员", "category": "full"})
        )
        .await
    )["user_id"]
        .as_i64()
        .unwrap();
    walk!(
        "patch",
        "/v1/members/{user_id}",
        "member_updated",
        sec.patch(
            &format!("/v1/members/{new_member}"),
            json!({"name": "新党员甲", "phone": "13755550402"})
        )
        .await
    );
    walk!(
        "post",
        "/v1/members/{user_id}/transfer",
        "member_transferred",
        sec.post(
            &format!("/v1/members/{new_member}/transfer"),
            json!({"to_org_id": w.group_a})
        )
        .await
    );
    walk!(
        "post",
        "/v1/members/{user_id}/wechat-bind-code",
        "wechat_bind_code_issued",
        sec.post(
            &format!("/v1/members/{new_member}/wechat-bind-code"),
            json!({})
        )
        .await
    );
    walk!(
        "post",
        "/v1/members/{user_id}/login-code",
        "login_code_issued",
        sec.post(&format!("/v1/members/{new_member}/login-code"), json!({}))
            .await
    );
    walk!(
        "delete",
        "/v1/members/{user_id}/wechat",
        "wechat_reset",
        sec.delete(&format!("/v1/members/{new_member}/wechat"))
            .await
    );
    walk!(
        "post",
        "/v1/orgs/{id}/roles",
        "role_granted",
        sec.post(
            &format!("/v1/orgs/{}/roles", w.branch_a),
            json!({"user_id": new_member, "role": "organizer"})
        )
        .await
    );
    walk!(
        "delete",
        "/v1/orgs/{id}/roles/{user_id}/{role}",
        "role_revoked",
        sec.delete(&format!(
            "/v1/orgs/{}/roles/{new_member}/organizer",
            w.branch_a
        ))
        .await
    );
    walk!(
        "put",
        "/v1/members/{user_id}/status",
        "member_status_changed",
        sec.put(
            &format!("/v1/members/{new_member}/status"),
            json!({"status": "migrant"})
        )
        .await
    );
    walk!(
        "post",
        "/v1/orgs/{id}/members/import",
        "members_imported",
        import_csv(
            sec,
            w.branch_a,
            "姓名,手机号\n导入党员,13755550403\n",
            false
        )
        .await
    );

    // Media, courses, lessons, quiz.
    let media = walk!(
        "post",
        "/v1/media",
        "media_uploaded",
        upload_multipart(
            sec,
            &[Part::File {
                name: "file",
                file_name: "cover.png",
                content_type: "image/png",
                bytes: PNG
            }]
        )
        .await
    )["id"]
        .as_i64()
        .unwrap();
    let course = walk!("post", "/v1/courses", "course_created",
        sec.post("/v1/courses", json!({"owner_org_id": w.branch_a, "kind": "mini_class", "title": "审计课程", "credit_centi": 100, "cover_media_id": media})).await)["id"]
        .as_i64()
        .unwrap();
    walk!(
        "patch",
        "/v1/courses/{id}",
        "course_updated",
        sec.patch(
            &format!("/v1/courses/{course}"),
            json!({"title": "审计课程（修订）"})
        )
        .await
    );
    let lesson = walk!(
        "post",
        "/v1/courses/{id}/lessons",
        "lesson_created",
        sec.post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "一", "body": "<p>学习</p>", "min_reading_s": 30})
        )
        .await
    )["id"]
        .as_i64()
        .unwrap();
    let second = ok(&sec
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "二", "body": "<p>讨论</p>", "min_reading_s": 30}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    walk!(
        "patch",
        "/v1/lessons/{id}",
        "lesson_updated",
        sec.patch(&format!("/v1/lessons/{lesson}"), json!({"title": "第一课"}))
            .await
    );
    walk!("put", "/v1/lessons/{id}/quiz", "quiz_set",
        sec.put(&format!("/v1/lessons/{lesson}/quiz"), json!({"max_attempts": 1, "questions": [{"kind": "true_false", "text": "党员每年学习不少于32学时", "answer": true}]})).await);
    walk!(
        "delete",
        "/v1/lessons/{id}",
        "lesson_deleted",
        sec.delete(&format!("/v1/lessons/{second}")).await
    );
    walk!(
        "post",
        "/v1/courses/{id}/publish",
        "course_published",
        sec.post(&format!("/v1/courses/{course}/publish"), json!({}))
            .await
    );
    walk!(
        "post",
        "/v1/courses/{id}/assignments",
        "course_assigned",
        sec.post(
            &format!("/v1/courses/{course}/assignments"),
            json!({"org_ids": [w.branch_a]})
        )
        .await
    );
    walk!(
        "post",
        "/v1/lessons/{id}/quiz/extra-attempts",
        "quiz_attempts_granted",
        sec.post(
            &format!("/v1/lessons/{lesson}/quiz/extra-attempts"),
            json!({"user_id": w.member_a_id, "attempts": 1, "reason": "外出务工，补考一次"})
        )
        .await
    );
    walk!(
        "delete",
        "/v1/courses/{id}/assignments/{org_id}",
        "course_unassigned",
        sec.delete(&format!("/v1/courses/{course}/assignments/{}", w.branch_a))
            .await
    );
    walk!(
        "post",
        "/v1/courses/{id}/archive",
        "course_archived",
        sec.post(&format!("/v1/courses/{course}/archive"), json!({}))
            .await
    );

    // Activities: today at 11:00 in Shanghai (the test clock is 09:30), and a series.
    let meeting = walk!(
        "post",
        "/v1/orgs/{id}/activities",
        "activity_scheduled",
        sec.post(
            &format!("/v1/orgs/{}/activities", w.branch_a),
            json!({"kind": "theme_party_day", "title": "主题党日",
            "start_local": "2026-11-27T11:00:00", "end_local": "2026-11-27T12:00:00"})
        )
        .await
    );
    let occ = meeting["upcoming"][0]["id"].as_i64().unwrap();
    let leave = ok(&w
        .member_a
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "外出务工"}),
        )
        .await)["id"]
        .as_i64()
        .unwrap();
    walk!(
        "post",
        "/v1/leaves/{id}/decision",
        "leave_approved",
        sec.post(
            &format!("/v1/leaves/{leave}/decision"),
            json!({"approve": true})
        )
        .await
    );
    walk!(
        "post",
        "/v1/occurrences/{id}/checkin/open",
        "checkin_opened",
        sec.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
            .await
    );
    walk!(
        "post",
        "/v1/occurrences/{id}/proxy",
        "attendance_proxy",
        sec.post(
            &format!("/v1/occurrences/{occ}/proxy"),
            json!({"user_id": w.committee_a_id, "reason": "年迈"})
        )
        .await
    );
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 27, 3, 30, 0).unwrap());
    walk!(
        "put",
        "/v1/occurrences/{id}/minutes",
        "minutes_saved",
        sec.put(
            &format!("/v1/occurrences/{occ}/minutes"),
            json!({"text": "学习党章", "photo_media_ids": [media]})
        )
        .await
    );
    let guest = walk!(
        "post",
        "/v1/occurrences/{id}/guests",
        "guest_added",
        sec.post(
            &format!("/v1/occurrences/{occ}/guests"),
            json!({"name": "张镇长", "org_id": w.township})
        )
        .await
    )["id"]
        .as_i64()
        .unwrap();
    walk!(
        "delete",
        "/v1/occurrences/{id}/guests/{guest_id}",
        "guest_removed",
        sec.delete(&format!("/v1/occurrences/{occ}/guests/{guest}"))
            .await
    );
    walk!(
        "post",
        "/v1/occurrences/{id}/checkin/close",
        "checkin_closed",
        sec.post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
            .await
    );
    walk!(
        "put",
        "/v1/occurrences/{id}/attendance/{user_id}",
        "attendance_corrected",
        sec.put(
            &format!("/v1/occurrences/{occ}/attendance/{}", w.committee_a_id),
            json!({"status": "present", "reason": "本人到场"})
        )
        .await
    );
    let series = walk!("post", "/v1/orgs/{id}/activities", "activity_scheduled",
        sec.post(&format!("/v1/orgs/{}/activities", w.branch_a), json!({"kind": "branch_committee_meeting", "title": "支委会",
            "start_local": "2027-01-05T09:00:00", "end_local": "2027-01-05T10:00:00", "rrule": "FREQ=MONTHLY;BYMONTHDAY=5"})).await);
    let series_id = series["id"].as_i64().unwrap();
    let (first, second_occ) = (
        series["upcoming"][0]["id"].as_i64().unwrap(),
        series["upcoming"][1]["id"].as_i64().unwrap(),
    );
    walk!(
        "post",
        "/v1/occurrences/{id}/move",
        "occurrence_moved",
        sec.post(
            &format!("/v1/occurrences/{first}/move"),
            json!({"start_local": "2027-01-06T09:00:00", "end_local": "2027-01-06T10:00:00"})
        )
        .await
    );
    walk!(
        "post",
        "/v1/occurrences/{id}/cancel",
        "occurrence_cancelled",
        sec.post(
            &format!("/v1/occurrences/{second_occ}/cancel"),
            json!({"reason": "春节"})
        )
        .await
    );
    walk!(
        "patch",
        "/v1/activities/{id}",
        "activity_updated",
        sec.patch(
            &format!("/v1/activities/{series_id}"),
            json!({"title": "支部委员会"})
        )
        .await
    );
    walk!(
        "post",
        "/v1/activities/{id}/cancel",
        "activity_cancelled",
        sec.post(
            &format!("/v1/activities/{series_id}/cancel"),
            json!({"reason": "改为线上"})
        )
        .await
    );

    // Pushes.
    let channel = walk!(
        "post",
        "/v1/orgs/{id}/push-channels",
        "push_channel_created",
        sec.post(
            &format!("/v1/orgs/{}/push-channels", w.branch_a),
            json!({"kind": "wecom_robot", "name": "东山村支部群", "key": "audit-robot-key"})
        )
        .await
    )["channel"]["id"]
        .as_i64()
        .unwrap();
    walk!(
        "patch",
        "/v1/push-channels/{id}",
        "push_channel_updated",
        sec.patch(
            &format!("/v1/push-channels/{channel}"),
            json!({"alerts": true})
        )
        .await
    );
    let schedule = walk!(
        "post",
        "/v1/push-channels/{id}/schedules",
        "push_schedule_created",
        sec.post(
            &format!("/v1/push-channels/{channel}/schedules"),
            json!({"frequency": "weekly", "weekday": 1, "time": "08:00"})
        )
        .await
    )["id"]
        .as_i64()
        .unwrap();
    walk!(
        "delete",
        "/v1/push-schedules/{id}",
        "push_schedule_deleted",
        sec.delete(&format!("/v1/push-schedules/{schedule}")).await
    );
    let delivery = walk!(
        "post",
        "/v1/push-channels/{id}/test",
        "push_channel_tested",
        sec.post(&format!("/v1/push-channels/{channel}/test"), json!({}))
            .await
    )["id"]
        .as_i64()
        .unwrap();
    // Only a dead delivery can be retried: end this one as the worker would.
    app.app_state
        .db
        .write(move |c| {
            use dangke::db::schema::push_deliveries as pd;
            use diesel::prelude::*;
            diesel::update(pd::table.find(delivery))
                .set(pd::status.eq("dead"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    walk!(
        "post",
        "/v1/deliveries/{id}/retry",
        "push_delivery_retried",
        sec.post(&format!("/v1/deliveries/{delivery}/retry"), json!({}))
            .await
    );
    walk!(
        "delete",
        "/v1/push-channels/{id}",
        "push_channel_deleted",
        sec.delete(&format!("/v1/push-channels/{channel}")).await
    );

    // Every organizer write route of the spec was walked.
    let spec: Value = serde_json::from_str(&dangke::http::openapi::document_json()).unwrap();
    let mut writes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if matches!(method.as_str(), "post" | "put" | "patch" | "delete")
                && !NOT_ORGANIZER.contains(&(method.as_str(), path.as_str()))
            {
                writes.insert((method.clone(), path.clone()));
            }
        }
    }
    let done: BTreeSet<(String, String)> = walked
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = writes.difference(&done).collect();
    assert!(
        missing.is_empty(),
        "organizer write routes not walked: {missing:?}"
    );

    // Each left its entry in the county's log (the admin administers the whole county).
    let log = actions(admin, w.county, "").await;
    let seen: BTreeSet<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    let absent: Vec<_> = walked
        .iter()
        .filter(|(_, _, action)| !seen.contains(action))
        .map(|(m, p, a)| format!("{m} {p} ({a})"))
        .collect();
    assert!(
        absent.is_empty(),
        "writes without an audit entry: {absent:?}"
    );
    assert!(seen.contains("phone_changed"), "{seen:?}");

    // Filters: by action, by actor, by time.
    let by_action = actions(admin, w.county, "&action=member_added").await;
    assert!(!by_action.is_empty() && by_action.iter().all(|e| e["action"] == "member_added"));
    let by_admin = actions(admin, w.county, &format!("&actor={}", w.admin_id)).await;
    assert!(!by_admin.is_empty() && by_admin.iter().all(|e| e["actor_user_id"] == w.admin_id));
    let later = actions(admin, w.county, "&from=2026-11-27T03:00:00Z").await;
    assert!(
        !later.is_empty()
            && later
                .iter()
                .all(|e| e["at"].as_str().unwrap() >= "2026-11-27T03:00:00Z")
    );
    // Cursor pages: newest first, no entry twice.
    let page = admin
        .get(&format!("/v1/orgs/{}/audit?limit=5", w.county))
        .await
        .json();
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = admin
        .get(&format!(
            "/v1/orgs/{}/audit?limit=5&cursor={cursor}",
            w.county
        ))
        .await
        .json();
    assert!(page["items"][4]["id"].as_i64() > next["items"][0]["id"].as_i64());

    // Scope: the village secretary reads her branch's log (not the county's), organizers none.
    let branch_log = actions(sec, w.branch_a, "").await;
    assert!(!branch_log.is_empty());
    assert!(
        branch_log
            .iter()
            .all(|e| e["org_id"] != w.county && e["org_id"] != w.branch_b)
    );
    sec.get(&format!("/v1/orgs/{}/audit", w.county))
        .await
        .expect_problem(404, "not_found");
    w.committee_a
        .get(&format!("/v1/orgs/{}/audit", w.branch_a))
        .await
        .expect_problem(403, "forbidden");
}
