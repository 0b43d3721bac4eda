//! Statistics over HTTP on a hand-built tree with known figures: members of every
//! category, study of a required course, a theme party day with a check-in, approved
//! leave, proxy attendance, an absence made up by studying the linked course, and a
//! transfer after it all — then the figures at the branch, township and county, the
//! children ranking, the member table with its filters and pages, scope, the cache seeing
//! the next completion, and `stats rebuild` giving the same roll-ups.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::activities::{sh, spawn, spawn_plus};
use crate::helpers::world::World;
use crate::helpers::{Client, TestApp};

/// A required course of the township (one article, 60 s of reading, 1.00 credit hour),
/// published and assigned to the township as required. Returns (course, lesson).
pub async fn township_course(w: &World) -> (i64, i64) {
    let c = &w.admin;
    let course = c
        .post("/v1/courses", json!({"owner_org_id": w.township, "kind": "online_class", "title": "党章学习", "credit_centi": 100}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let lesson = c
        .post(
            &format!("/v1/courses/{course}/lessons"),
            json!({"kind": "article", "title": "党章", "body": "<p>正文</p>", "min_reading_s": 60}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    c.publish_and_assign(course, json!({"org_ids": [w.township], "required": true}))
        .await;
    (course, lesson)
}

/// Reads the article for 60 s ending at `end`.
pub async fn read_article(c: &Client, lesson: i64, id: &str, end: DateTime<Utc>) {
    let r = c
        .post("/v1/progress/sync", json!({"events": [{"client_event_id": id, "lesson_id": lesson, "kind": "read", "from_s": 0, "to_s": 60,
            "started_at": (end - Duration::seconds(60)).to_rfc3339(), "ended_at": end.to_rfc3339()}]}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["results"][0]["status"], "accepted", "{}", r.text());
}

pub async fn add(
    app: &TestApp,
    w: &World,
    org: i64,
    phone: &str,
    name: &str,
    category: &str,
) -> i64 {
    let mut body = json!({"phone": phone, "name": name, "category": category});
    if category != "activist" {
        body["joined_party_on"] = json!("2010-07-01");
    }
    let r = w.admin.post(&format!("/v1/orgs/{org}/members"), body).await;
    r.expect(201);
    let id = r.json()["user_id"].as_i64().unwrap();
    app.set_password(id, crate::helpers::world::PASSWORD).await;
    id
}

/// The tree after the day's events.
pub struct Day {
    pub app: TestApp,
    pub w: World,
    pub course: i64,
    pub lesson: i64,
    pub b1: i64,
    pub b2: i64,
    pub b3: i64,
    pub c_b2: Client,
}

/// Branch A: secretary, committee member (full), a probationary member, and the group
/// member who studies the course and is then transferred to branch B. Branch B: the
/// organizer and three villagers (one an activist). On 2026-11-27 branch B holds its theme
/// party day 10:00–11:00 (credit 0.50, linked to the course): b1 checks in, b2 is on
/// approved leave, b3 is recorded by proxy, the organizer is absent and makes it up by
/// studying the course afterwards.
pub async fn the_day() -> Day {
    the_day_with(Vec::new()).await
}

/// [`the_day`] on an app started with these extra settings.
pub async fn the_day_with(extra: Vec<(&'static str, String)>) -> Day {
    let app = spawn_plus(extra).await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let (course, lesson) = township_course(&w).await;
    add(
        &app,
        &w,
        w.branch_a,
        "13900000010",
        "钱预备",
        "probationary",
    )
    .await;
    let b1 = add(&app, &w, w.branch_b, "13900000011", "孙一", "full").await;
    let b2 = add(&app, &w, w.branch_b, "13900000012", "孙二", "full").await;
    let b3 = add(&app, &w, w.branch_b, "13900000013", "孙三", "activist").await;
    let c_b1 = app.login_as("13900000011").await;
    let c_b2 = app.login_as("13900000012").await;

    let org = &w.organizer_b;
    let r = org
        .post(&format!("/v1/orgs/{}/activities", w.branch_b), json!({"kind": "theme_party_day", "title": "主题党日",
            "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:00:00", "course_id": course, "credit_centi": 50}))
        .await;
    r.expect(201);
    let occ = r.json()["upcoming"][0]["id"].as_i64().unwrap();

    // Before the start: b2 asks for leave, the organizer approves.
    let leave = c_b2
        .post(
            &format!("/v1/occurrences/{occ}/leave"),
            json!({"reason": "外出务工"}),
        )
        .await;
    leave.expect(201);
    let leave_id = leave.json()["id"].as_i64().unwrap();
    org.post(
        &format!("/v1/leaves/{leave_id}/decision"),
        json!({"approve": true}),
    )
    .await
    .expect(200);

    // Study in the morning: the group member and b1 finish the course.
    app.clock.set(sh(2026, 11, 27, 9, 41));
    read_article(&w.member_a, lesson, "a-1", sh(2026, 11, 27, 9, 40)).await;
    app.clock.set(sh(2026, 11, 27, 9, 46));
    read_article(&c_b1, lesson, "b1-1", sh(2026, 11, 27, 9, 45)).await;

    // The theme party day.
    app.clock.set(sh(2026, 11, 27, 10, 0));
    org.post(&format!("/v1/occurrences/{occ}/checkin/open"), json!({}))
        .await
        .expect(200);
    app.clock.set(sh(2026, 11, 27, 10, 2));
    let code = org.checkin_code(occ).await;
    let r = c_b1
        .post(
            &format!("/v1/occurrences/{occ}/checkin"),
            json!({"code": code}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "present");
    org.post(
        &format!("/v1/occurrences/{occ}/proxy"),
        json!({"user_id": b3, "reason": "老人无智能手机"}),
    )
    .await
    .expect(200);
    app.clock.set(sh(2026, 11, 27, 11, 0));
    org.post(&format!("/v1/occurrences/{occ}/checkin/close"), json!({}))
        .await
        .expect(200);

    // The organizer makes up the absence by studying the linked course.
    app.clock.set(sh(2026, 11, 27, 11, 11));
    read_article(org, lesson, "o-1", sh(2026, 11, 27, 11, 10)).await;
    let list = org
        .get(&format!("/v1/occurrences/{occ}/attendance"))
        .await
        .json();
    assert_eq!(list["counts"]["made_up"], 1, "{list}");

    // The group member moves to branch B, taking the year's study along.
    app.clock.set(sh(2026, 11, 27, 11, 30));
    w.admin
        .post(
            &format!("/v1/members/{}/transfer", w.member_a_id),
            json!({"to_org_id": w.branch_b}),
        )
        .await
        .expect(200);
    app.clock.set(sh(2026, 11, 27, 11, 40));
    Day {
        app,
        w,
        course,
        lesson,
        b1,
        b2,
        b3,
        c_b2,
    }
}

async fn stats(c: &Client, org: i64, query: &str) -> Value {
    let r = c.get(&format!("/v1/orgs/{org}/stats?{query}")).await;
    r.expect(200);
    r.json()
}

/// The figures that matter, in one comparable value.
fn figures(s: &Value) -> Value {
    json!({
        "members": s["members"], "active": s["active"], "credit": s["credit"],
        "required": s["required_courses"], "attendance": s["attendance"],
        "attendance_rate": s["attendance_rate"], "no_org_life_6m": s["no_org_life_6m"],
    })
}

/// Even pace by 27 November 2026 (day 331 of 365) for a 32-hour quota.
const EXPECTED_MEMBER: i64 = 3200 * 331 / 365;

fn branch_b_figures() -> Value {
    let _ = EXPECTED_MEMBER;
    json!({
        "members": {"total": 5, "full": 4, "probationary": 0, "activist": 1, "cadres": 0},
        // organizer (made up), b1 (present, studied), b3 (proxy), the transferred member (studied).
        "active": 4,
        // b1 1.00 + 0.50, b3 0.50, organizer 1.00 (the course; never the activity's credit
        // for a make-up), the transferred member 1.00.
        "credit": {"year": 2026, "earned_centi": 400, "quota_centi": 4 * 3200, "met": 1, "on_track": 0, "behind": 4},
        "required": {"done": 3, "total": 5, "rate": 0.6},
        "attendance": [{"kind": "theme_party_day", "occurrences": 1, "invited": 4, "present": 1, "late": 0,
                        "proxy": 1, "made_up": 1, "absent": 0, "leave": 1, "rate": 0.667}],
        "attendance_rate": 0.667,
        // b2 (leave) and the transferred member.
        "no_org_life_6m": 2,
    })
}

fn branch_a_figures() -> Value {
    json!({
        "members": {"total": 3, "full": 2, "probationary": 1, "activist": 0, "cadres": 0},
        "active": 0,
        "credit": {"year": 2026, "earned_centi": 0, "quota_centi": 3 * 3200, "met": 0, "on_track": 0, "behind": 3},
        "required": {"done": 0, "total": 3, "rate": 0.0},
        "attendance": [],
        "attendance_rate": null,
        "no_org_life_6m": 3,
    })
}

fn township_figures() -> Value {
    json!({
        "members": {"total": 8, "full": 6, "probationary": 1, "activist": 1, "cadres": 0},
        "active": 4,
        "credit": {"year": 2026, "earned_centi": 400, "quota_centi": 7 * 3200, "met": 1, "on_track": 0, "behind": 7},
        "required": {"done": 3, "total": 8, "rate": 0.375},
        "attendance": [{"kind": "theme_party_day", "occurrences": 1, "invited": 4, "present": 1, "late": 0,
                        "proxy": 1, "made_up": 1, "absent": 0, "leave": 1, "rate": 0.667}],
        "attendance_rate": 0.667,
        "no_org_life_6m": 5,
    })
}

#[tokio::test]
async fn figures_are_exact_at_every_level() {
    let d = the_day().await;
    let w = &d.w;
    assert_eq!(
        figures(&stats(&w.organizer_b, w.branch_b, "period=2026-11").await),
        branch_b_figures()
    );
    assert_eq!(
        figures(&stats(&w.secretary_a, w.branch_a, "period=2026-11").await),
        branch_a_figures()
    );
    let township = stats(&w.admin, w.township, "period=2026-11").await;
    assert_eq!(figures(&township), township_figures());
    assert_eq!(
        township["period"],
        json!({"label": "2026-11", "from": "2026-11-01", "to": "2026-11-30"})
    );
    let county = stats(&w.admin, w.county, "period=2026-Q4").await;
    assert_eq!(figures(&county), township_figures());

    // A month without activity: nobody active, no occurrences; the year's credit stands.
    let october = stats(&w.admin, w.township, "period=2026-10").await;
    assert_eq!(october["active"], 0);
    assert_eq!(october["attendance"], json!([]));
    assert_eq!(october["credit"]["earned_centi"], 400);
    // Dates inside the month: the day itself counts, the day before does not.
    let day = stats(&w.admin, w.township, "from=2026-11-27&to=2026-11-27").await;
    assert_eq!(day["active"], 4);
    let before = stats(&w.admin, w.township, "from=2026-11-01&to=2026-11-26").await;
    assert_eq!(before["active"], 0);
    assert_eq!(before["attendance"], json!([]));
    // The whole year.
    assert_eq!(
        figures(&stats(&w.admin, w.township, "period=2026").await),
        township_figures()
    );

    // Children of the township: the figures a township sees for a village are the village's own.
    let r = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/children?period=2026-11&sort=name",
            w.township
        ))
        .await;
    r.expect(200);
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["org_id"], w.branch_a);
    assert_eq!(items[1]["org_id"], w.branch_b);
    assert_eq!(
        items[0],
        stats(&w.secretary_a, w.branch_a, "period=2026-11").await
    );
    assert_eq!(
        items[1],
        stats(&w.organizer_b, w.branch_b, "period=2026-11").await
    );
    // Ranked by the share of members behind, most first: A (3 of 3) before B (4 of 5).
    let ranked = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/children?period=2026-11",
            w.township
        ))
        .await
        .json();
    assert_eq!(ranked["items"][0]["org_id"], w.branch_a);
    let by_active = w
        .admin
        .get(&format!(
            "/v1/orgs/{}/stats/children?period=2026-11&sort=-active_rate",
            w.township
        ))
        .await
        .json();
    assert_eq!(by_active["items"][0]["org_id"], w.branch_b);
}

#[tokio::test]
async fn compliance_and_the_course_funnel() {
    let d = the_day().await;
    let w = &d.w;
    // The township adopted dangke at the start of the year (by default: the day its orgs
    // were created, and nothing before it would be asked).
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            json!({"adoption_date": "2026-01-01"}),
        )
        .await
        .expect(200);
    let r = w
        .admin
        .get(&format!("/v1/orgs/{}/compliance?year=2026", w.township))
        .await;
    r.expect(200);
    let grid = r.json();
    let rows = grid["rows"].as_array().unwrap();
    let row = |org: i64, kind: &str| {
        rows.iter()
            .find(|r| r["org_id"] == org && r["kind"] == kind)
            .unwrap()
            .clone()
    };
    // Branch B held November's theme party day; December is to come; the rest is missing.
    let b = row(w.branch_b, "theme_party_day");
    assert_eq!(
        (
            b["held"].as_i64(),
            b["missing"].as_i64(),
            b["upcoming"].as_i64()
        ),
        (Some(1), Some(10), Some(1))
    );
    assert_eq!(b["slots"][10], json!({"slot": "2026-11", "status": "held"}));
    assert_eq!(
        b["slots"][0],
        json!({"slot": "2026-01", "status": "missing"})
    );
    let a = row(w.branch_a, "theme_party_day");
    assert_eq!(
        (
            a["held"].as_i64(),
            a["missing"].as_i64(),
            a["upcoming"].as_i64()
        ),
        (Some(0), Some(10), Some(2))
    );
    let quarterly = row(w.branch_a, "party_lesson");
    assert_eq!(quarterly["slots"].as_array().unwrap().len(), 4);
    assert_eq!(quarterly["slots"][3]["status"], "upcoming");
    let yearly = row(w.branch_b, "democratic_appraisal");
    assert_eq!(
        yearly["slots"],
        json!([{"slot": "2026", "status": "upcoming"}])
    );
    // Missing first.
    let missing: Vec<i64> = rows
        .iter()
        .map(|r| r["missing"].as_i64().unwrap())
        .collect();
    assert!(missing.windows(2).all(|p| p[0] >= p[1]), "{missing:?}");
    // Kinds without a required frequency have no row; only branches have rows.
    assert!(
        rows.iter()
            .all(|r| r["kind"] != "other" && r["kind"] != "mini_party_class")
    );
    assert!(
        rows.iter()
            .all(|r| r["org_id"] == w.branch_a || r["org_id"] == w.branch_b)
    );
    w.organizer_b
        .get(&format!("/v1/orgs/{}/compliance", w.township))
        .await
        .expect(404);

    // The course of the township among its members.
    let course_id = d.course;
    let f = w
        .admin
        .get(&format!(
            "/v1/courses/{course_id}/stats?org_id={}",
            w.township
        ))
        .await;
    f.expect(200);
    let f = f.json();
    assert_eq!(
        (
            f["assigned"].as_i64(),
            f["started"].as_i64(),
            f["completed"].as_i64()
        ),
        (Some(8), Some(3), Some(3))
    );
    assert_eq!(f["quiz_passed"], Value::Null);
    assert_eq!(f["lessons"][0]["lesson_id"], d.lesson);
    assert_eq!(
        (
            f["lessons"][0]["started"].as_i64(),
            f["lessons"][0]["dropped"].as_i64()
        ),
        (Some(3), Some(0))
    );
    // Branch B alone: its five members, three of whom finished.
    let fb = w
        .organizer_b
        .get(&format!(
            "/v1/courses/{course_id}/stats?org_id={}",
            w.branch_b
        ))
        .await
        .json();
    assert_eq!(
        (fb["assigned"].as_i64(), fb["completed"].as_i64()),
        (Some(5), Some(3))
    );
    w.organizer_b
        .get(&format!(
            "/v1/courses/{course_id}/stats?org_id={}",
            w.branch_a
        ))
        .await
        .expect(404);
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["user_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_member_table_filters_sorts_and_pages() {
    let d = the_day().await;
    let (w, org) = (&d.w, &d.w.organizer_b);
    let base = format!("/v1/orgs/{}/stats/members?period=2026-11", w.branch_b);
    let all = org.get(&base).await;
    all.expect(200);
    let all = all.json();
    // Lowest credit first; ties by user id (the transferred member was added before the organizer).
    assert_eq!(
        ids(&all),
        vec![d.b2, d.b3, w.member_a_id, w.organizer_b_id, d.b1]
    );
    let row = |id: i64| {
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["user_id"] == id)
            .unwrap()
            .clone()
    };
    let b1 = row(d.b1);
    assert_eq!(b1["credit_centi"], 150);
    assert_eq!(b1["quota_centi"], 3200);
    assert_eq!(b1["expected_centi"], EXPECTED_MEMBER);
    assert_eq!(b1["pace"], "behind");
    assert_eq!(b1["required_done"], 1);
    assert_eq!(b1["required_total"], 1);
    assert_eq!(b1["attendance"]["present"], 1);
    assert_eq!(b1["attendance"]["rate"], 1.0);
    assert_eq!(b1["active"], true);
    assert_eq!(b1["no_org_life_6m"], false);
    assert_eq!(b1["last_org_life_at"], "2026-11-27T02:00:00Z");
    let b3 = row(d.b3);
    assert_eq!(
        (b3["pace"].as_str(), b3["quota_centi"].as_i64()),
        (Some("met"), Some(0))
    );
    assert_eq!(b3["attendance"]["proxy"], 1);
    let organizer = row(w.organizer_b_id);
    assert_eq!(organizer["attendance"]["made_up"], 1);
    assert_eq!(organizer["attendance"]["rate"], 0.0);
    assert_eq!(organizer["credit_centi"], 100);
    let b2 = row(d.b2);
    assert_eq!(b2["attendance"]["leave"], 1);
    assert_eq!(b2["attendance"]["rate"], Value::Null);
    assert_eq!(
        (b2["active"].as_bool(), b2["no_org_life_6m"].as_bool()),
        (Some(false), Some(true))
    );
    let moved = row(w.member_a_id);
    assert_eq!(
        (moved["org_id"].as_i64(), moved["credit_centi"].as_i64()),
        (Some(w.branch_b), Some(100))
    );

    let behind = org.get(&format!("{base}&filter=behind")).await.json();
    assert_eq!(
        ids(&behind),
        vec![d.b2, w.member_a_id, w.organizer_b_id, d.b1]
    );
    let inactive = org.get(&format!("{base}&filter=inactive")).await.json();
    assert_eq!(ids(&inactive), vec![d.b2]);
    let desc = org.get(&format!("{base}&sort=-credit")).await.json();
    assert_eq!(
        ids(&desc),
        vec![d.b1, w.member_a_id, w.organizer_b_id, d.b3, d.b2]
    );

    // Pages of two, by name, walk the same rows once.
    let mut seen = Vec::new();
    let mut url = format!("{base}&sort=name&limit=2");
    loop {
        let page = org.get(&url).await;
        page.expect(200);
        let page = page.json();
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{base}&sort=name&limit=2&cursor={c}"),
            None => break,
        }
    }
    let by_name = org.get(&format!("{base}&sort=name&limit=10")).await.json();
    assert_eq!(seen, ids(&by_name));
    assert_eq!(seen.len(), 5);

    org.get(&format!("{base}&filter=lazy"))
        .await
        .expect_problem(400, "invalid_query");
    org.get(&format!("{base}&limit=1001"))
        .await
        .expect_problem(400, "invalid_query");
    org.get(&format!("/v1/orgs/{}/stats?period=2026-13", w.branch_b))
        .await
        .expect_problem(400, "invalid_query");
    org.get(&format!(
        "/v1/orgs/{}/stats?from=2026-12-30&to=2027-01-02",
        w.branch_b
    ))
    .await
    .expect_problem(400, "invalid_query");
}

#[tokio::test]
async fn scope_hides_ancestors_and_siblings() {
    let app = spawn().await;
    let w = app.world().await;
    for org in [w.township, w.county, w.branch_a] {
        for path in ["stats", "stats/children", "stats/members"] {
            w.organizer_b
                .get(&format!("/v1/orgs/{org}/{path}"))
                .await
                .expect(404);
        }
    }
    // A plain member reads no statistics, not even of their own branch.
    w.member_a
        .get(&format!("/v1/orgs/{}/stats", w.branch_a))
        .await
        .expect(404);
    // The committee member (an organizer's rights) does.
    w.committee_a
        .get(&format!("/v1/orgs/{}/stats", w.branch_a))
        .await
        .expect(200);
    w.organizer_b
        .get(&format!("/v1/orgs/{}/stats", w.branch_b))
        .await
        .expect(200);
}

#[tokio::test]
async fn the_next_read_sees_a_completion_and_rebuild_changes_nothing() {
    let d = the_day().await;
    let w = &d.w;
    let before = stats(&w.admin, w.township, "period=2026-11").await;
    assert_eq!(figures(&before), township_figures());
    // Cached now; b2 completes the course and the very next read shows it.
    read_article(&d.c_b2, d.lesson, "b2-1", sh(2026, 11, 27, 11, 39)).await;
    let after = stats(&w.admin, w.township, "period=2026-11").await;
    assert_eq!(after["credit"]["earned_centi"], 500);
    assert_eq!(after["required_courses"]["done"], 4);
    assert_eq!(after["active"], 5);

    // `stats rebuild` recomputes the same roll-ups from the raw rows.
    let incremental = snapshot(&d.app).await;
    d.app
        .app_state
        .db
        .write(dangke::stats::rollup::rebuild)
        .await
        .unwrap();
    assert_eq!(snapshot(&d.app).await, incremental);
    let rebuilt = stats(&w.admin, w.township, "period=2026-11").await;
    assert_eq!(figures(&rebuilt), figures(&after));

    // Branch B (its members and its theme party day) moves to another township: the new
    // township's figures are the branch's own, the old township keeps the rest, and the
    // moved rows are what a rebuild computes.
    let branch_b = stats(&w.admin, w.branch_b, "period=2026-11").await;
    let town2 = d
        .app
        .create_org(&w.admin, w.county, "河口镇党委", "township_committee")
        .await;
    w.admin
        .post(
            &format!("/v1/orgs/{}/move", w.branch_b),
            json!({"new_parent_id": town2}),
        )
        .await
        .expect(200);
    let moved = stats(&w.admin, town2, "period=2026-11").await;
    assert_eq!(
        figures(&moved),
        figures(&stats(&w.admin, w.branch_b, "period=2026-11").await)
    );
    for k in [
        "members",
        "active",
        "credit",
        "attendance",
        "no_org_life_6m",
    ] {
        assert_eq!(moved[k], branch_b[k], "{k}");
    }
    // The township's required course no longer applies under the new township.
    assert_eq!(moved["required_courses"]["total"], 0);
    let old_town = stats(&w.admin, w.township, "period=2026-11").await;
    assert_eq!(
        old_town["members"]["total"].as_i64().unwrap(),
        after["members"]["total"].as_i64().unwrap()
            - branch_b["members"]["total"].as_i64().unwrap()
    );
    assert_eq!(old_town["attendance"], json!([]));
    assert_rebuild_changes_nothing(&d.app).await;
}

/// Every roll-up row, in a stable order and text form.
pub async fn snapshot(app: &TestApp) -> Vec<String> {
    app.app_state
        .db
        .read(|c| {
            use dangke::db::schema::{
                stats_member_months as m, stats_member_years as y, stats_members as s,
                stats_occurrences as o,
            };
            use diesel::prelude::*;
            let mut out = Vec::new();
            {
                use dangke::db::schema::{changes as ch, stats_digests as d};
                let pending: i64 = ch::table
                    .filter(ch::consumer.eq("stats"))
                    .count()
                    .get_result(c)?;
                out.push(format!("pending statistics changes {pending}"));
                let digests: Vec<(i64, i32, i32, String, Vec<u8>)> = d::table
                    .order((d::org_id, d::part, d::year))
                    .select((d::org_id, d::part, d::year, d::org_path, d::data))
                    .load(c)?;
                out.extend(digests.iter().map(|r| format!("d {r:?}")));
            }
            type YearRow = (
                (i64, i32, Option<i64>, Option<String>, String, bool),
                (i64, i32, i64, i64, i64, i64, i64, i64),
            );
            let years: Vec<YearRow> = y::table
                .order((y::user_id, y::year))
                .select((
                    (
                        y::user_id,
                        y::year,
                        y::org_id,
                        y::org_path,
                        y::category,
                        y::is_cadre,
                    ),
                    (
                        y::credit_centi,
                        y::active_months,
                        y::days_01_02,
                        y::days_03_04,
                        y::days_05_06,
                        y::days_07_08,
                        y::days_09_10,
                        y::days_11_12,
                    ),
                ))
                .load(c)?;
            out.extend(years.iter().map(|r| format!("y {r:?}")));
            type MonthRow = (
                (i64, i32, i32),
                (i64, i32, i32, i32, i32, i32, i32, i32, i32, i32),
            );
            let months: Vec<MonthRow> = m::table
                .order((m::user_id, m::year, m::month))
                .select((
                    (m::user_id, m::year, m::month),
                    (
                        m::credit_centi,
                        m::lessons_completed,
                        m::present,
                        m::late,
                        m::proxy,
                        m::made_up,
                        m::absent,
                        m::leave,
                        m::org_life,
                        m::active_days,
                    ),
                ))
                .load(c)?;
            out.extend(months.iter().map(|r| format!("m {r:?}")));
            type MemberRow = (
                (
                    i64,
                    i32,
                    Option<chrono::NaiveDateTime>,
                    Option<chrono::NaiveDateTime>,
                ),
                (Option<i64>, Option<String>, String, bool, Option<i32>, i64),
            );
            let members: Vec<MemberRow> = s::table
                .order(s::user_id)
                .select((
                    (
                        s::user_id,
                        s::required_done,
                        s::last_active_at,
                        s::last_org_life_at,
                    ),
                    (
                        s::org_id,
                        s::org_path,
                        s::category,
                        s::is_cadre,
                        s::latest_year,
                        s::latest_credit_centi,
                    ),
                ))
                .load(c)?;
            out.extend(members.iter().map(|r| format!("s {r:?}")));
            type OccurrenceRow = (
                (i64, i64, String, bool, Option<String>),
                (i32, i32, i32, i32, i32, i32, i32),
            );
            let occs: Vec<OccurrenceRow> = o::table
                .order(o::occurrence_id)
                .select((
                    (o::occurrence_id, o::org_id, o::kind, o::held, o::org_path),
                    (
                        o::invited,
                        o::present,
                        o::late,
                        o::proxy,
                        o::made_up,
                        o::absent,
                        o::leave,
                    ),
                ))
                .load(c)?;
            out.extend(occs.iter().map(|r| format!("o {r:?}")));
            Ok(out)
        })
        .await
        .unwrap()
}

/// `stats rebuild` recomputes exactly the roll-ups the writes maintained.
pub async fn assert_rebuild_changes_nothing(app: &TestApp) {
    // The changes the writes recorded are applied first, as the next read would.
    dangke::changes::runner::drain(
        &app.app_state.db,
        dangke::stats::apply::LISTENER,
        None,
        &app.app_state.changes,
    )
    .await
    .unwrap();
    let incremental = snapshot(app).await;
    app.app_state
        .db
        .write(dangke::stats::rollup::rebuild)
        .await
        .unwrap();
    assert_eq!(snapshot(app).await, incremental);
}

/// The member table's row of `user` (`None` when the page does not list them).
async fn member_row(c: &Client, org: i64, query: &str, user: i64) -> Option<Value> {
    let page = c
        .get(&format!("/v1/orgs/{org}/stats/members?{query}&limit=100"))
        .await
        .json();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == user)
        .cloned()
}

/// The roll-ups carry each member's zone-dated days and placement: a new time zone re-dates
/// study done near midnight, and a category change or a member leaving moves the figures at
/// once — each time the same rows a rebuild computes.
#[tokio::test]
async fn a_new_zone_re_dates_study_and_placement_changes_move_the_figures() {
    let app = spawn().await;
    app.clock.set(sh(2026, 11, 30, 9, 0));
    let w = app.world().await;
    let (_course, lesson) = township_course(&w).await;
    let late = add(&app, &w, w.branch_a, "13900000020", "夜读", "full").await;
    let c_late = app.login_as("13900000020").await;
    // Finished at 01:30 on 1 December in Beijing time: 23:30 on 30 November in Urumqi.
    app.clock.set(sh(2026, 12, 1, 9, 0));
    read_article(&c_late, lesson, "late-1", sh(2026, 12, 1, 1, 30)).await;
    let active_on = |day: &'static str| {
        let admin = &w.admin;
        let branch = w.branch_a;
        async move { stats(admin, branch, &format!("from={day}&to={day}")).await["active"].clone() }
    };
    assert_eq!(active_on("2026-11-30").await, 0);
    assert_eq!(active_on("2026-12-01").await, 1);
    assert_rebuild_changes_nothing(&app).await;

    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.branch_a),
            json!({"time_zone": "Asia/Urumqi"}),
        )
        .await
        .expect(200);
    assert_eq!(active_on("2026-11-30").await, 1);
    assert_eq!(active_on("2026-12-01").await, 0);
    assert_rebuild_changes_nothing(&app).await;

    // A category change moves the member between the counts of the summary and the table.
    let before = stats(&w.admin, w.branch_a, "period=2026").await;
    w.admin
        .patch(
            &format!("/v1/members/{late}"),
            json!({"category": "probationary"}),
        )
        .await
        .expect(200);
    let after = stats(&w.admin, w.branch_a, "period=2026").await;
    let n = |s: &Value, k: &str| s["members"][k].as_i64().unwrap();
    assert_eq!(n(&after, "full"), n(&before, "full") - 1);
    assert_eq!(n(&after, "probationary"), n(&before, "probationary") + 1);
    let row = member_row(&w.admin, w.branch_a, "period=2026", late)
        .await
        .unwrap();
    assert_eq!(row["category"], "probationary");
    assert_eq!(row["name"], "夜读");
    assert_eq!(row["credit_centi"], 100);
    assert_rebuild_changes_nothing(&app).await;

    // Leaving takes the member and their credit out of the branch and the county.
    let county_before = stats(&w.admin, w.county, "period=2026").await;
    w.admin
        .put(
            &format!("/v1/members/{late}/status"),
            json!({"status": "left", "date": "2026-12-01"}),
        )
        .await
        .expect(204);
    for (org, was) in [(w.branch_a, &after), (w.county, &county_before)] {
        let now = stats(&w.admin, org, "period=2026").await;
        assert_eq!(n(&now, "total"), n(was, "total") - 1);
        assert_eq!(
            now["credit"]["earned_centi"].as_i64().unwrap(),
            was["credit"]["earned_centi"].as_i64().unwrap() - 100
        );
    }
    assert_rebuild_changes_nothing(&app).await;
}

/// The member table of an earlier year reads that year's rows, not the latest year's that
/// the roster carries; the summary agrees.
#[tokio::test]
async fn the_member_table_of_an_earlier_year_reads_that_year() {
    let app = spawn().await;
    app.clock.set(sh(2025, 12, 30, 9, 0));
    let w = app.world().await;
    let (_, first) = township_course(&w).await;
    let (_, second) = township_course(&w).await;
    let id = add(&app, &w, w.branch_a, "13900000021", "跨年", "full").await;
    let c = app.login_as("13900000021").await;
    read_article(&c, first, "y-1", sh(2025, 12, 30, 8, 0)).await;
    read_article(&c, second, "y-2", sh(2025, 12, 30, 8, 30)).await;
    app.clock.set(sh(2026, 1, 5, 9, 0));
    let (_, third) = township_course(&w).await;
    read_article(&c, third, "y-3", sh(2026, 1, 5, 8, 0)).await;
    // On 5 January an even pace asks for 3200 × 5 / 365 = 43 hundredths: 2026 is on track.
    for (year, credit, pace) in [
        (2025, 200, "behind"),
        (2026, 100, "on_track"),
        (2024, 0, "behind"),
    ] {
        for filter in ["all", "behind"] {
            let query = format!("period={year}&filter={filter}");
            let row = member_row(&w.admin, w.branch_a, &query, id).await;
            if filter == "behind" && pace != "behind" {
                assert!(row.is_none(), "{query}");
                continue;
            }
            let row = row.unwrap_or_else(|| panic!("{query}: not listed"));
            assert_eq!(row["credit_centi"], credit, "{year} {filter}");
            assert_eq!(row["pace"], pace, "{year} {filter}");
        }
        let s = stats(&w.admin, w.branch_a, &format!("period={year}")).await;
        assert_eq!(s["credit"]["earned_centi"], credit, "{year}");
    }
    // Sorted by credit, highest first: the member leads the branch in 2025 only.
    let top = |year: i32| {
        let admin = &w.admin;
        let branch = w.branch_a;
        async move {
            admin
                .get(&format!(
                    "/v1/orgs/{branch}/stats/members?period={year}&sort=-credit&limit=1"
                ))
                .await
                .json()["items"][0]["credit_centi"]
                .clone()
        }
    };
    assert_eq!(top(2025).await, 200);
    assert_eq!(top(2026).await, 100);
}

/// An occurrence counts from its start (invitees frozen) even when nobody touches it: the
/// background task starts it at its start, and the start alone changes the next read at the
/// branch and above, though no member's row changed and nobody opened check-in.
#[tokio::test]
async fn an_occurrence_counts_from_its_start() {
    let app = crate::helpers::spawn_with(crate::helpers::Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "800d".into()),
            ("DANGKE_CHANGES_EVERY", "1s".into()),
        ],
        ..Default::default()
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    add(&app, &w, w.branch_b, "13900000011", "孙一", "full").await;
    let org = &w.organizer_b;
    let r = org
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_b),
            json!({"kind": "branch_general_meeting", "title": "支部党员大会",
            "start_local": "2026-11-27T10:00:00", "end_local": "2026-11-27T11:00:00"}),
        )
        .await;
    r.expect(201);
    // A minute before the start, with the background task running: not counted yet.
    app.clock.set(sh(2026, 11, 27, 9, 59));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    for at in [w.branch_b, w.township] {
        let s = stats(&w.admin, at, "period=2026-11").await;
        assert_eq!(s["attendance"], json!([]), "{s}");
    }
    let invited = stats(&w.admin, w.branch_b, "period=2026-11").await["members"]["total"].clone();
    // The start passes; nobody opens check-in, records anything or closes it.
    app.clock.set(sh(2026, 11, 27, 10, 0));
    let mut s = json!(null);
    for _ in 0..100 {
        s = stats(&w.admin, w.branch_b, "period=2026-11").await;
        if s["attendance"] != json!([]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for at in [w.branch_b, w.township] {
        let s = stats(&w.admin, at, "period=2026-11").await;
        let k = &s["attendance"][0];
        assert_eq!(
            (&k["kind"], &k["occurrences"], &k["invited"], &k["present"]),
            (
                &json!("branch_general_meeting"),
                &json!(1),
                &invited,
                &json!(0)
            ),
            "{s}"
        );
    }
    assert_rebuild_changes_nothing(&app).await;
}

/// Changes recorded by writes are applied in the background too, without any statistics
/// read, to what a rebuild computes.
#[tokio::test]
async fn pending_changes_are_applied_in_the_background() {
    let app = crate::helpers::spawn_with(crate::helpers::Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "800d".into()),
            ("DANGKE_CHANGES_EVERY", "1s".into()),
        ],
        ..Default::default()
    })
    .await;
    app.clock.set(sh(2026, 11, 27, 9, 0));
    let w = app.world().await;
    let (_course, lesson) = township_course(&w).await;
    app.clock.set(sh(2026, 11, 27, 9, 41));
    read_article(&w.member_a, lesson, "bg-1", sh(2026, 11, 27, 9, 40)).await;
    let stale = || app.pending_stats_changes();
    // No statistics read happens in this test: the changes are applied only if the
    // background runner applied them.
    let mut left = stale().await;
    for _ in 0..100 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = stale().await;
    }
    assert_eq!(left, 0, "the background runner applied the changes");
    assert_rebuild_changes_nothing(&app).await;
}

/// Issue 22: `sort=name` orders children by their Chinese names' pinyin (安乐 an, 东山
/// dong, 西河 xi), not by tree path (creation order) nor by code point (东 before 安);
/// `-name` reverses it. The org tree lists children the same way.
#[tokio::test]
async fn children_sorted_by_name_follow_pinyin() {
    let app = spawn().await;
    let w = app.world().await;
    let anle = app
        .create_org(&w.admin, w.township, "安乐村党支部", "branch")
        .await;
    let names = |v: &Value, key: &str| -> Vec<i64> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["org_id"].as_i64().or(i["id"].as_i64()).unwrap())
            .collect()
    };
    let base = format!("/v1/orgs/{}/stats/children?period=2026-11", w.township);
    let asc = w.admin.get(&format!("{base}&sort=name")).await.json();
    assert_eq!(
        names(&asc, "items"),
        vec![anle, w.branch_a, w.branch_b],
        "{asc}"
    );
    let desc = w.admin.get(&format!("{base}&sort=-name")).await.json();
    assert_eq!(
        names(&desc, "items"),
        vec![w.branch_b, w.branch_a, anle],
        "{desc}"
    );
    let tree = w
        .admin
        .get(&format!("/v1/orgs/{}/tree?depth=1", w.township))
        .await
        .json();
    assert_eq!(
        names(&tree, "children"),
        vec![anle, w.branch_a, w.branch_b],
        "{tree}"
    );
}

/// Issue 22: the member table honours `from`/`to` to the day, as the org summary does: a
/// meeting of 27 November is in a range that holds that day and in no range that does not,
/// and the exports follow the table.
#[tokio::test]
async fn member_attendance_honours_day_ranges() {
    let d = the_day().await;
    let w = &d.w;
    let row_of = |page: &Value, user: i64| -> Value {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user_id"] == user)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let members = |range: &'static str| {
        let c = w.organizer_b.clone();
        let path = format!("/v1/orgs/{}/stats/members?{range}&limit=200", w.branch_b);
        async move {
            let r = c.get(&path).await;
            r.expect(200);
            r.json()
        }
    };
    // b1 checked in at the theme party day of 27 November.
    let before = members("from=2026-11-01&to=2026-11-26").await;
    assert_eq!(
        row_of(&before, d.b1)["attendance"]["present"],
        0,
        "{before}"
    );
    let on = members("from=2026-11-27&to=2026-11-27").await;
    assert_eq!(row_of(&on, d.b1)["attendance"]["present"], 1, "{on}");
    let month = members("period=2026-11").await;
    assert_eq!(row_of(&month, d.b1)["attendance"]["present"], 1, "{month}");
    // The summary of each range agrees with the rows.
    for (range, page) in [
        ("from=2026-11-01&to=2026-11-26", &before),
        ("from=2026-11-27&to=2026-11-27", &on),
    ] {
        let s = w
            .organizer_b
            .get(&format!("/v1/orgs/{}/stats?{range}", w.branch_b))
            .await
            .json();
        let summary: i64 = s["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["present"].as_i64().unwrap())
            .sum();
        let rows: i64 = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attendance"]["present"].as_i64().unwrap())
            .sum();
        assert_eq!(summary, rows, "{range}: {s}");
    }
    // The export of a range that misses the day has no attendance for b1 either.
    let csv = w
        .organizer_b
        .get(&format!(
            "/v1/orgs/{}/stats/members/export?from=2026-11-01&to=2026-11-26&format=csv",
            w.branch_b
        ))
        .await;
    csv.expect(200);
    let body = String::from_utf8(csv.body[3..].to_vec()).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let (id_col, present_col) = (
        header.iter().position(|h| h == "党员编号").unwrap(),
        header.iter().position(|h| h == "出席").unwrap(),
    );
    let b1 = reader
        .records()
        .map(|r| r.unwrap())
        .find(|r| r[id_col] == d.b1.to_string())
        .unwrap();
    assert_eq!(&b1[present_col], "0");
}

/// Issue 22: the member table sorted by name follows pinyin in SQL (keyset pages of two
/// walk the same order), not code point (王 before 安 before 李), and the export follows
/// it; users written before the sort key existed get theirs at the next start.
#[tokio::test]
async fn members_sorted_by_name_follow_pinyin_across_pages() {
    use dangke::db::schema::users;
    use diesel::prelude::*;

    let app = spawn().await;
    let w = app.world().await;
    let org = app
        .create_org(&w.admin, w.township, "拼音排序测试支部", "branch")
        .await;
    // Code point order would be 安 李 王 王 张 赵 陈; pinyin is an chen li wang wang zhang zhao.
    let names = ["王伟", "赵磊", "安然", "张伟", "陈静", "王芳", "李娜"];
    let mut ids = std::collections::HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let id = app
            .add_member(&w.admin, org, &format!("1370000{:04}", i + 1), name)
            .await;
        ids.insert(id, *name);
    }
    let want = ["安然", "陈静", "李娜", "王芳", "王伟", "张伟", "赵磊"];
    let base = format!("/v1/orgs/{org}/stats/members?period=2026-11");
    let walk = |admin: Client| {
        let base = base.clone();
        async move {
            let mut seen = Vec::new();
            let mut url = format!("{base}&sort=name&limit=2");
            loop {
                let page = admin.get(&url).await;
                page.expect(200);
                let page = page.json();
                seen.extend(
                    page["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["name"].as_str().unwrap().to_string()),
                );
                match page["next_cursor"].as_str() {
                    Some(c) => url = format!("{base}&sort=name&limit=2&cursor={c}"),
                    None => break,
                }
            }
            seen
        }
    };
    assert_eq!(walk(w.admin.clone()).await, want);

    // The export lists the rows in the same order.
    let csv = w
        .admin
        .get(&format!(
            "/v1/orgs/{org}/stats/members/export?period=2026-11&format=csv&sort=name"
        ))
        .await;
    csv.expect(200);
    let body = String::from_utf8(csv.body[3..].to_vec()).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let name_col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "姓名")
        .unwrap();
    let exported: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[name_col].to_string())
        .collect();
    assert_eq!(exported, want);

    // A rename moves the member: 赵磊 → 艾磊 (ai) comes first.
    let zhao = *ids.iter().find(|(_, n)| **n == "赵磊").unwrap().0;
    w.admin
        .patch(&format!("/v1/members/{zhao}"), json!({"name": "艾磊"}))
        .await
        .expect(200);
    let renamed = ["艾磊", "安然", "陈静", "李娜", "王芳", "王伟", "张伟"];
    assert_eq!(walk(w.admin.clone()).await, renamed);

    // Users from before the key existed (no key) get it when the server next starts.
    let cleared = app
        .app_state
        .db
        .write(|c| {
            Ok(diesel::update(users::table)
                .set(users::name_key.eq(""))
                .execute(c)?)
        })
        .await
        .unwrap();
    assert!(cleared >= names.len());
    let restarted = crate::helpers::spawn_with(crate::helpers::Options {
        vars: vec![("DANGKE_ACCESS_TOKEN_TTL", "800d".to_string())],
        share_db: Some(app.db.clone()),
        clock: Some(app.clock.clone()),
        ..Default::default()
    })
    .await;
    let admin = restarted
        .client()
        .with_token(w.admin.access_token.as_deref().unwrap());
    assert_eq!(walk(admin).await, renamed);
}
