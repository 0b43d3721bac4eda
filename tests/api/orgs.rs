//! The organization tree, settings, members and roles over HTTP.

use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn world_builds_and_me_shows_membership_and_roles() {
    let app = spawn().await;
    let w = app.world().await;
    let me = w.secretary_a.get("/v1/me").await;
    me.expect(200);
    let me = me.json();
    assert_eq!(me["id"], w.secretary_a_id);
    assert_eq!(me["membership"]["org_id"], w.branch_a);
    assert_eq!(me["roles"][0]["role"], "secretary");
    assert_eq!(me["roles"][0]["org_id"], w.branch_a);
    let me = w.admin.get("/v1/me").await.json();
    assert_eq!(me["id"], w.admin_id);
    assert!(me["membership"].is_null());
    assert_eq!(me["roles"][0]["role"], "admin");
    let tree = w
        .admin
        .get(&format!("/v1/orgs/{}/tree?depth=3", w.county))
        .await;
    tree.expect(200);
    let tree = tree.json();
    assert_eq!(tree["children"][0]["name"], "城关镇党委");
    let villages = tree["children"][0]["children"].as_array().unwrap();
    assert_eq!(villages.len(), 2);
    assert_eq!(villages[0]["children"][0]["name"], "东山村第一党小组");
    let shallow = w
        .admin
        .get(&format!("/v1/orgs/{}/tree?depth=1", w.county))
        .await
        .json();
    assert!(
        shallow["children"][0]["children"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    w.admin
        .get(&format!("/v1/orgs/{}/tree?depth=99", w.county))
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test]
async fn kinds_must_fit_the_hierarchy_and_names_are_unique_among_siblings() {
    let app = spawn().await;
    let w = app.world().await;
    // A township under a branch is refused.
    w.admin
        .post(
            "/v1/orgs",
            json!({"parent_id": w.branch_a, "name": "错镇", "kind": "township_committee"}),
        )
        .await
        .expect_problem(422, "org_hierarchy_invalid");
    w.admin
        .post(
            "/v1/orgs",
            json!({"parent_id": w.township, "name": "东山村党支部", "kind": "branch"}),
        )
        .await
        .expect_problem(409, "conflict");
    let r = w
        .admin
        .post(
            "/v1/orgs",
            json!({"parent_id": w.township, "name": "兴农合作社党支部", "kind": "branch", "sector": "cooperative"}),
        )
        .await;
    r.expect(201);
    let coop = r.json();
    assert_eq!(coop["sector"], "cooperative");
    assert_eq!(coop["depth"], 2);
    assert!(
        coop["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{}/", coop["id"]))
    );
    // The secretary of branch A may create a party group in her branch, not elsewhere.
    w.secretary_a
        .post(
            "/v1/orgs",
            json!({"parent_id": w.branch_a, "name": "东山村第二党小组", "kind": "party_group"}),
        )
        .await
        .expect(201);
    w.secretary_a
        .post(
            "/v1/orgs",
            json!({"parent_id": w.branch_b, "name": "西河村第一党小组", "kind": "party_group"}),
        )
        .await
        .expect_problem(404, "not_found");
    w.committee_a
        .post(
            "/v1/orgs",
            json!({"parent_id": w.branch_a, "name": "东山村第三党小组", "kind": "party_group"}),
        )
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn moving_a_subtree_rewrites_paths_and_rejects_cycles() {
    let app = spawn().await;
    let w = app.world().await;
    let town2 = app
        .create_org(&w.admin, w.county, "河口镇党委", "township_committee")
        .await;
    // A branch cannot move under its own party group, nor the township under its branch.
    w.admin
        .post(
            &format!("/v1/orgs/{}/move", w.township),
            json!({"new_parent_id": w.branch_a}),
        )
        .await
        .expect_problem(409, "org_cycle");
    w.admin
        .post(
            &format!("/v1/orgs/{}/move", w.township),
            json!({"new_parent_id": w.township}),
        )
        .await
        .expect_problem(409, "org_cycle");
    // Branch A (with its party group and members) moves to the other township.
    let r = w
        .admin
        .post(
            &format!("/v1/orgs/{}/move", w.branch_a),
            json!({"new_parent_id": town2}),
        )
        .await;
    r.expect(200);
    let moved = r.json();
    let town2_path = w.admin.get(&format!("/v1/orgs/{town2}")).await.json()["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(moved["path"], format!("{town2_path}{}/", w.branch_a));
    assert_eq!(moved["parent_id"], town2);
    let group = w.admin.get(&format!("/v1/orgs/{}", w.group_a)).await.json();
    assert_eq!(
        group["path"],
        format!("{town2_path}{}/{}/", w.branch_a, w.group_a)
    );
    assert_eq!(group["depth"], 3);
    // Members follow their org: the new township sees them, the old one does not.
    let in_new = w
        .admin
        .get(&format!("/v1/orgs/{town2}/members"))
        .await
        .json();
    assert_eq!(in_new["items"].as_array().unwrap().len(), 3);
    let in_old = w
        .admin
        .get(&format!("/v1/orgs/{}/members", w.township))
        .await
        .json();
    assert_eq!(
        in_old["items"].as_array().unwrap().len(),
        1,
        "only branch B's organizer remains"
    );
    // The branch secretary cannot move her branch to a township she does not administer.
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/move", w.branch_a),
            json!({"new_parent_id": w.township}),
        )
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn settings_inherit_down_the_tree_and_say_where_they_come_from() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/settings", w.branch_a))
        .await;
    s.expect(200);
    let s = s.json();
    assert_eq!(s["time_zone"]["value"], "Asia/Shanghai");
    assert_eq!(s["time_zone"]["source"], "default");
    assert_eq!(s["quotas"]["member"]["value"], 3200);
    assert_eq!(s["quotas"]["cadre"]["value"], 5600);
    assert_eq!(s["quotas"]["activist"]["value"], 0);
    assert_eq!(s["frequencies"]["theme_party_day"]["value"], "monthly");
    assert_eq!(
        s["frequencies"]["branch_general_meeting"]["value"],
        "quarterly"
    );
    assert_eq!(s["frequencies"]["democratic_appraisal"]["value"], "yearly");
    assert_eq!(s["frequencies"]["mini_party_class"]["value"], "none");

    // The county raises the cadre quota; the township changes its zone.
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.county),
            json!({"quotas": {"cadre": 6000}}),
        )
        .await
        .expect(200);
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            json!({"time_zone": "Asia/Urumqi"}),
        )
        .await
        .expect(200);
    // The branch overrides the party lesson frequency.
    let r = w
        .secretary_a
        .patch(
            &format!("/v1/orgs/{}/settings", w.branch_a),
            json!({"frequencies": {"party_lesson": "monthly"}}),
        )
        .await;
    r.expect(200);
    let s = r.json();
    assert_eq!(s["quotas"]["cadre"]["value"], 6000);
    assert_eq!(s["quotas"]["cadre"]["source"], "inherited");
    assert_eq!(s["quotas"]["cadre"]["from_org_id"], w.county);
    assert_eq!(s["time_zone"]["value"], "Asia/Urumqi");
    assert_eq!(s["time_zone"]["from_org_id"], w.township);
    assert_eq!(s["frequencies"]["party_lesson"]["value"], "monthly");
    assert_eq!(s["frequencies"]["party_lesson"]["source"], "own");
    // The party group inherits all three.
    let g = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/settings", w.group_a))
        .await
        .json();
    assert_eq!(g["frequencies"]["party_lesson"]["from_org_id"], w.branch_a);
    assert_eq!(g["time_zone"]["value"], "Asia/Urumqi");
    // null removes the override.
    let s = w
        .admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            json!({"time_zone": null}),
        )
        .await
        .json();
    assert_eq!(s["time_zone"]["source"], "default");
    // Bad values are field errors; the committee member may read but not change settings;
    // the branch secretary cannot even see the township's settings.
    let body = w
        .admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.county),
            json!({"time_zone": "Mars/Base", "quotas": {"member": -5, "elder": 1}, "frequencies": {"party_lesson": "weekly"}}),
        )
        .await
        .expect_problem(422, "invalid_body");
    assert_eq!(body["errors"][0]["field"], "frequencies.party_lesson");
    let body = w
        .admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.county),
            json!({"time_zone": "Mars/Base", "quotas": {"member": -5, "elder": 1}}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"time_zone")
            && fields.contains(&"quotas.member")
            && fields.contains(&"quotas.elder"),
        "{fields:?}"
    );
    w.committee_a
        .get(&format!("/v1/orgs/{}/settings", w.branch_a))
        .await
        .expect(200);
    w.committee_a
        .patch(
            &format!("/v1/orgs/{}/settings", w.branch_a),
            json!({"time_zone": "Asia/Tokyo"}),
        )
        .await
        .expect_problem(403, "forbidden");
    w.secretary_a
        .get(&format!("/v1/orgs/{}/settings", w.township))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn members_list_searches_filters_and_pages() {
    let app = spawn().await;
    let w = app.world().await;
    for i in 0..25 {
        let r = w
            .secretary_a
            .post(
                &format!("/v1/orgs/{}/members", w.branch_a),
                json!({"phone": format!("1370000{:04}", i), "name": format!("党员{i:02}"),
                       "category": if i % 5 == 0 { "probationary" } else { "full" }, "is_cadre": i == 3}),
            )
            .await;
        r.expect(201);
    }
    // 25 new + secretary + committee member in branch A + member in its party group.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/orgs/{}/members?limit=10&cursor={c}", w.branch_a),
            None => format!("/v1/orgs/{}/members?limit=10", w.branch_a),
        };
        let page = w.secretary_a.get(&path).await;
        page.expect(200);
        let page = page.json();
        for m in page["items"].as_array().unwrap() {
            seen.push(m["user_id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 28);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 28, "no member twice across pages");
    assert!(
        seen.contains(&w.member_a_id),
        "party group members are in the branch subtree"
    );
    assert!(!seen.contains(&w.organizer_b_id));

    let q = |query: &str| {
        let c = w.secretary_a.clone();
        let path = format!("/v1/orgs/{}/members?limit=200&{query}", w.branch_a);
        async move { c.get(&path).await.json()["items"].as_array().unwrap().len() }
    };
    assert_eq!(q("q=党员0").await, 10);
    assert_eq!(q("q=13700000012").await, 1);
    assert_eq!(q("category=probationary").await, 5);
    assert_eq!(q("is_cadre=true").await, 1);
    assert_eq!(q("status=migrant").await, 0);
    w.secretary_a
        .get(&format!("/v1/orgs/{}/members?limit=0", w.branch_a))
        .await
        .expect_problem(400, "invalid_query");
    w.secretary_a
        .get(&format!("/v1/orgs/{}/members?cursor=garbage!", w.branch_a))
        .await
        .expect_problem(400, "invalid_query");
    w.secretary_a
        .get(&format!("/v1/orgs/{}/members?category=elder", w.branch_a))
        .await
        .expect_problem(400, "invalid_query");
    w.secretary_a
        .get("/v1/orgs/abc/members")
        .await
        .expect_problem(400, "invalid_path_param");
}

#[tokio::test]
async fn adding_a_member_is_idempotent_and_validated() {
    let app = spawn().await;
    let w = app.world().await;
    let body = json!({"phone": "13712345678", "name": "刘桂兰", "category": "full", "gender": "female",
                      "birth_date": "1949-08-30", "joined_party_on": "1976-05-04"});
    let first = w
        .secretary_a
        .post(&format!("/v1/orgs/{}/members", w.group_a), body.clone())
        .await;
    first.expect(201);
    let first = first.json();
    assert_eq!(first["org_id"], w.group_a);
    assert_eq!(first["gender"], "female");
    assert_eq!(first["from_date"], "2026-11-27");
    // The phone retried: same member, 200, no duplicate.
    let again = w
        .secretary_a
        .post(&format!("/v1/orgs/{}/members", w.group_a), body.clone())
        .await;
    again.expect(200);
    assert_eq!(again.json()["membership_id"], first["membership_id"]);
    // A member of another org cannot be added again elsewhere.
    w.admin
        .post(&format!("/v1/orgs/{}/members", w.branch_b), body.clone())
        .await
        .expect_problem(409, "already_member");
    // Members only belong to branches and party groups.
    w.admin
        .post(
            &format!("/v1/orgs/{}/members", w.township),
            json!({"phone": "13712345679", "name": "甲", "category": "full"}),
        )
        .await
        .expect_problem(422, "org_hierarchy_invalid");
    let bad = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "1371234567", "name": "乙", "category": "full"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(bad["errors"][0]["field"], "phone");
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/members", w.branch_a),
            json!({"phone": "13712345670", "name": "丙", "category": "full", "birth_date": "2030-01-01"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    // Audit trail.
    let n = app
        .app_state
        .db
        .read(|c| {
            use dangke::db::schema::audit_log::dsl::*;
            use diesel::prelude::*;
            Ok(audit_log
                .filter(action.eq("member_added"))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(n, 5, "four world members and 刘桂兰");
}

#[tokio::test]
async fn editing_transferring_and_leaving_keep_history() {
    let app = spawn().await;
    let w = app.world().await;
    let m = w.member_a_id;
    let r = w
        .secretary_a
        .patch(
            &format!("/v1/members/{m}"),
            json!({"name": "王建国", "is_cadre": true, "gender": "male", "birth_date": null}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["name"], "王建国");
    assert_eq!(r.json()["is_cadre"], true);
    w.secretary_a
        .patch(&format!("/v1/members/{m}"), json!({"phone": "13900000001"}))
        .await
        .expect_problem(409, "phone_taken");
    w.committee_a
        .patch(&format!("/v1/members/{m}"), json!({"name": "x"}))
        .await
        .expect_problem(403, "forbidden");

    // The branch secretary cannot transfer into branch B (outside her scope) …
    w.secretary_a
        .post(
            &format!("/v1/members/{m}/transfer"),
            json!({"to_org_id": w.branch_b}),
        )
        .await
        .expect_problem(404, "not_found");
    // … the township admin (here the county admin) can.
    let r = w
        .admin
        .post(
            &format!("/v1/members/{m}/transfer"),
            json!({"to_org_id": w.branch_b, "date": "2026-12-01", "reason": "搬迁"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["org_id"], w.branch_b);
    assert_eq!(r.json()["from_date"], "2026-12-01");
    let detail = w.organizer_b.get(&format!("/v1/members/{m}")).await;
    detail.expect(200);
    let history = detail.json()["history"].as_array().unwrap().clone();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["org_id"], w.branch_b);
    assert!(history[0]["to_date"].is_null());
    assert_eq!(history[1]["org_id"], w.group_a);
    assert_eq!(history[1]["to_date"], "2026-11-30");
    assert_eq!(history[1]["end_reason"], "搬迁");
    // Branch A's secretary no longer sees the member; the member sees themself.
    w.secretary_a
        .get(&format!("/v1/members/{m}"))
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .get(&format!("/v1/members/{m}"))
        .await
        .expect(200);

    // Status: migrant keeps the membership; left ends it.
    let r = w
        .admin
        .put(
            &format!("/v1/members/{m}/status"),
            json!({"status": "migrant"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "migrant");
    w.admin
        .put(
            &format!("/v1/members/{m}/status"),
            json!({"status": "left", "reason": "迁出本县"}),
        )
        .await
        .expect(204);
    let me = w.member_a.get("/v1/me").await.json();
    assert!(me["membership"].is_null());
    let listed = w
        .admin
        .get(&format!("/v1/orgs/{}/members", w.branch_b))
        .await
        .json();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["user_id"] != m)
    );
}

#[tokio::test]
async fn roles_are_granted_in_scope_and_revoked() {
    let app = spawn().await;
    let w = app.world().await;
    let roles = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/roles", w.branch_a))
        .await;
    roles.expect(200);
    assert_eq!(
        roles.json().as_array().unwrap().len(),
        2,
        "secretary and committee member"
    );
    // Granting makes the member an organizer: they now list members.
    w.member_a
        .get(&format!("/v1/orgs/{}/members", w.branch_a))
        .await
        .expect_problem(404, "not_found");
    let r = w
        .secretary_a
        .post(
            &format!("/v1/orgs/{}/roles", w.group_a),
            json!({"user_id": w.member_a_id, "role": "organizer"}),
        )
        .await;
    r.expect(201);
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/roles", w.group_a),
            json!({"user_id": w.member_a_id, "role": "organizer"}),
        )
        .await
        .expect(200);
    w.member_a
        .get(&format!("/v1/orgs/{}/members", w.group_a))
        .await
        .expect(200);
    // … but not the branch (the role sits on the party group).
    w.member_a
        .get(&format!("/v1/orgs/{}/members", w.branch_a))
        .await
        .expect_problem(404, "not_found");
    // Roles go to members of the subtree only.
    w.secretary_a
        .post(
            &format!("/v1/orgs/{}/roles", w.branch_a),
            json!({"user_id": w.organizer_b_id, "role": "organizer"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    // Committee members cannot grant.
    w.committee_a
        .post(
            &format!("/v1/orgs/{}/roles", w.branch_a),
            json!({"user_id": w.member_a_id, "role": "secretary"}),
        )
        .await
        .expect_problem(403, "forbidden");
    // Revoke.
    w.secretary_a
        .delete(&format!(
            "/v1/orgs/{}/roles/{}/organizer",
            w.group_a, w.member_a_id
        ))
        .await
        .expect(204);
    w.secretary_a
        .delete(&format!(
            "/v1/orgs/{}/roles/{}/organizer",
            w.group_a, w.member_a_id
        ))
        .await
        .expect_problem(404, "not_found");
    w.member_a
        .get(&format!("/v1/orgs/{}/members", w.group_a))
        .await
        .expect_problem(404, "not_found");
}
