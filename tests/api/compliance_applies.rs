//! Compliance asks only what a branch can do (issue 22): party group meetings only where the
//! branch has party groups, committee meetings only where it has a committee (at least
//! `committee_min_members` full members, default 7), nothing in a slot that ends before the
//! adoption date; the grid says why a slot does not apply.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, spawn};

/// The row of `org` and `kind` in the township's 2026 grid.
async fn row(w: &World, org: i64, kind: &str) -> Value {
    let r = w
        .admin
        .get(&format!("/v1/orgs/{}/compliance?year=2026", w.township))
        .await;
    r.expect(200);
    let grid = r.json();
    let rows = grid["rows"].as_array().unwrap();
    let missing: Vec<i64> = rows
        .iter()
        .map(|r| r["missing"].as_i64().unwrap())
        .collect();
    assert!(missing.windows(2).all(|p| p[0] >= p[1]), "{missing:?}");
    rows.iter()
        .find(|r| r["org_id"] == org && r["kind"] == kind)
        .unwrap_or_else(|| panic!("no row {org} {kind}: {grid:#}"))
        .clone()
}

/// (held, missing, upcoming, not_applicable) of a row.
fn counts(row: &Value) -> (i64, i64, i64, i64) {
    let n = |f: &str| row[f].as_i64().unwrap_or_else(|| panic!("{f}: {row}"));
    (n("held"), n("missing"), n("upcoming"), n("not_applicable"))
}

/// The statuses of a row's slots, with their reasons.
fn statuses(row: &Value) -> Vec<(String, Option<String>)> {
    row["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_string(),
                s["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn na(reason: &str) -> (String, Option<String>) {
    ("not_applicable".to_string(), Some(reason.to_string()))
}

fn st(status: &str) -> (String, Option<String>) {
    (status.to_string(), None)
}

async fn adopt(c: &Client, org: i64, date: Value) {
    c.patch(
        &format!("/v1/orgs/{org}/settings"),
        json!({ "adoption_date": date }),
    )
    .await
    .expect(200);
}

fn meeting(kind: &str) -> Value {
    json!({"kind": kind, "title": "会议", "start_local": "2026-12-20T09:00:00", "end_local": "2026-12-20T10:30:00"})
}

#[tokio::test]
async fn a_branch_without_party_groups_is_not_asked_for_party_group_meetings() {
    let app = spawn().await;
    let w = app.world().await;
    adopt(&w.admin, w.township, json!("2026-01-01")).await;

    // Branch B has no party groups: every slot does not apply, and the row says why.
    let b = row(&w, w.branch_b, "party_group_meeting").await;
    assert_eq!(b["reason"], "no_party_groups", "{b}");
    assert_eq!(counts(&b), (0, 0, 0, 12), "{b}");
    assert!(
        statuses(&b).iter().all(|s| *s == na("no_party_groups")),
        "{b}"
    );
    // Which is what scheduling one there says.
    w.admin
        .post(
            &format!("/v1/orgs/{}/activities", w.branch_b),
            meeting("party_group_meeting"),
        )
        .await
        .expect(422);

    // Branch A has a party group: asked for every month since adoption, which it can hold.
    let a = row(&w, w.branch_a, "party_group_meeting").await;
    assert!(a.get("reason").is_none_or(Value::is_null), "{a}");
    assert_eq!(counts(&a), (0, 10, 2, 0), "{a}");
    w.admin
        .post(
            &format!("/v1/orgs/{}/activities", w.group_a),
            meeting("party_group_meeting"),
        )
        .await
        .expect(201);
}

#[tokio::test]
async fn a_branch_is_asked_for_committee_meetings_once_it_has_a_committee() {
    let app = spawn().await;
    let w = app.world().await;
    adopt(&w.admin, w.township, json!("2026-01-01")).await;
    let settings = w
        .admin
        .get(&format!("/v1/orgs/{}/settings", w.branch_b))
        .await
        .json();
    assert_eq!(
        settings["committee_min_members"],
        json!({"value": 7, "source": "default", "from_org_id": null})
    );

    let full = |items: &Value| {
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["category"] == "full" && m["status"] == "active")
            .count()
    };
    let members = w
        .admin
        .get(&format!("/v1/orgs/{}/members?limit=100", w.branch_b))
        .await
        .json();
    let have = full(&members);
    assert!(have < 7, "{members:#}");
    let b = row(&w, w.branch_b, "branch_committee_meeting").await;
    assert_eq!(b["reason"], "no_committee", "{b}");
    assert_eq!(counts(&b), (0, 0, 0, 12), "{b}");

    // Six members, then the seventh: the branch sets up a committee and is asked.
    for i in have..6 {
        app.add_member(
            &w.admin,
            w.branch_b,
            &format!("1370000{i:04}"),
            &format!("新党员{i}"),
        )
        .await;
    }
    let b = row(&w, w.branch_b, "branch_committee_meeting").await;
    assert_eq!(b["reason"], "no_committee", "{b}");
    app.add_member(&w.admin, w.branch_b, "13700009999", "第七名党员")
        .await;
    let b = row(&w, w.branch_b, "branch_committee_meeting").await;
    assert!(b.get("reason").is_none_or(Value::is_null), "{b}");
    assert_eq!(counts(&b), (0, 10, 2, 0), "{b}");
    assert_eq!(statuses(&b)[0], st("missing"));

    // The threshold is an org setting, inherited down the tree.
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            json!({"committee_min_members": 8}),
        )
        .await
        .expect(200);
    let b = row(&w, w.branch_b, "branch_committee_meeting").await;
    assert_eq!(b["reason"], "no_committee", "{b}");
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.township),
            json!({"committee_min_members": 0}),
        )
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn months_before_the_adoption_date_do_not_apply() {
    let app = spawn().await;
    let w = app.world().await;

    // By default the branch adopted dangke the day it was created (2026-11-27 in
    // Shanghai): January to October do not apply, November (which it falls in) does.
    let settings = w
        .admin
        .get(&format!("/v1/orgs/{}/settings", w.branch_b))
        .await
        .json();
    assert_eq!(
        settings["adoption_date"],
        json!({"value": "2026-11-27", "source": "default", "from_org_id": null})
    );
    let b = row(&w, w.branch_b, "theme_party_day").await;
    assert_eq!(counts(&b), (0, 0, 2, 10), "{b}");
    let s = statuses(&b);
    assert!(s[..10].iter().all(|s| *s == na("before_adoption")), "{b}");
    assert_eq!(s[10], st("upcoming"));

    // Set on the branch: 15 June. June (straddling it) and after are asked.
    adopt(&w.admin, w.branch_b, json!("2026-06-15")).await;
    let b = row(&w, w.branch_b, "theme_party_day").await;
    assert_eq!(counts(&b), (0, 5, 2, 5), "{b}");
    let s = statuses(&b);
    assert_eq!(s[4], na("before_adoption"));
    assert_eq!(s[5], st("missing"));
    let q = row(&w, w.branch_b, "party_lesson").await;
    assert_eq!(
        statuses(&q),
        vec![
            na("before_adoption"),
            st("missing"),
            st("missing"),
            st("upcoming")
        ]
    );
    // The branch A next door still goes by its own creation date.
    let a = row(&w, w.branch_a, "theme_party_day").await;
    assert_eq!(counts(&a), (0, 0, 2, 10), "{a}");

    // Adopted next year: nothing of 2026 applies, and the row says so.
    adopt(&w.admin, w.branch_b, json!("2027-02-01")).await;
    let y = row(&w, w.branch_b, "democratic_appraisal").await;
    assert_eq!(y["reason"], "before_adoption", "{y}");
    assert_eq!(counts(&y), (0, 0, 0, 1), "{y}");

    // `null` removes the override: back to the creation date.
    adopt(&w.admin, w.branch_b, Value::Null).await;
    let b = row(&w, w.branch_b, "theme_party_day").await;
    assert_eq!(counts(&b), (0, 0, 2, 10), "{b}");
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.branch_b),
            json!({"adoption_date": "2026-13-01"}),
        )
        .await
        .expect(422);
}

/// The last day of a slot label: `2026-03`, `2026-Q2` or `2026`.
fn slot_end(label: &str) -> NaiveDate {
    let (year, last_month) = match label.split_once('-') {
        None => (label.parse::<i32>().unwrap(), 12),
        Some((y, q)) if q.starts_with('Q') => {
            (y.parse().unwrap(), q[1..].parse::<u32>().unwrap() * 3)
        }
        Some((y, m)) => (y.parse().unwrap(), m.parse().unwrap()),
    };
    let next = if last_month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, last_month + 1, 1)
    };
    next.unwrap().pred_opt().unwrap()
}

#[tokio::test]
async fn every_missing_slot_of_the_demo_county_is_one_the_branch_could_have_held() {
    let app = spawn().await;
    let s = match dangke::demo::seed(&app.app_state).await.unwrap().0 {
        dangke::orgs::demo::Seeded::Created(s) => s,
        other => panic!("not seeded: {other:?}"),
    };
    let login = s
        .logins
        .iter()
        .find(|l| l.role == "admin" && l.org == "清河县委")
        .unwrap();
    let mut admin = app.client();
    admin
        .login(&login.phone, dangke::orgs::demo::PASSWORD)
        .await;
    let grid = admin
        .get(&format!("/v1/orgs/{}/compliance?year=2026", s.county_id))
        .await;
    grid.expect(200);
    let grid = grid.json();
    let rows = grid["rows"].as_array().unwrap();
    let mut asked: HashMap<(i64, String), usize> = HashMap::new();
    let mut total = 0;
    for r in rows {
        let slots = r["slots"].as_array().unwrap();
        let (held, missing, upcoming, not_applicable) = counts(r);
        assert_eq!(
            (held + missing + upcoming + not_applicable) as usize,
            slots.len(),
            "{r}"
        );
        let count = |status: &str| slots.iter().filter(|s| s["status"] == status).count() as i64;
        assert_eq!(missing, count("missing"), "{r}");
        assert_eq!(not_applicable, count("not_applicable"), "{r}");
        if missing == 0 {
            continue;
        }
        assert!(r.get("reason").is_none_or(Value::is_null), "{r}");
        let branch = r["org_id"].as_i64().unwrap();
        let kind = r["kind"].as_str().unwrap().to_string();
        let settings = admin
            .get(&format!("/v1/orgs/{branch}/settings"))
            .await
            .json();
        let adopted: NaiveDate = settings["adoption_date"]["value"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for slot in slots.iter().filter(|s| s["status"] == "missing") {
            let end = slot_end(slot["slot"].as_str().unwrap());
            assert!(end >= adopted, "{r}: {slot} ends before {adopted}");
            assert!(end.year() == 2026, "{slot}");
            total += 1;
        }
        asked.insert((branch, kind), missing as usize);
    }
    assert!(total > 0, "the demo has gaps: {grid:#}");

    // The kind applies to the branch, and the API accepts scheduling it there.
    for (branch, kind) in asked.keys() {
        let mut at = *branch;
        let children = admin
            .get(&format!("/v1/orgs/{branch}/children"))
            .await
            .json();
        let groups: Vec<i64> = children
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == "party_group")
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        if kind == "party_group_meeting" {
            assert!(!groups.is_empty(), "{branch} has no party groups");
            at = groups[0];
        }
        if kind == "branch_committee_meeting" {
            let settings = admin
                .get(&format!("/v1/orgs/{branch}/settings"))
                .await
                .json();
            let min = settings["committee_min_members"]["value"].as_i64().unwrap();
            let mut full = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/v1/orgs/{branch}/members?limit=100");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page = admin.get(&path).await.json();
                full += page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| {
                        m["category"] == "full"
                            && (m["status"] == "active" || m["status"] == "migrant")
                    })
                    .count() as i64;
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            assert!(
                full >= min,
                "{branch}: {full} full members, committee from {min}"
            );
        }
        let r = admin
            .post(&format!("/v1/orgs/{at}/activities"), meeting(kind))
            .await;
        assert_eq!(r.status.as_u16(), 201, "{branch} {kind}: {}", r.text());
    }
}
