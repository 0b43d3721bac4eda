//! Org totals (`src/stats/totals.rs`): the summary and the children of an org computed from
//! the totals equal, figure for figure, what the digests of every org below compute, for
//! every period made of whole months or starting on a month's first day — on a generated province with a quota override, and
//! after a lesson completed, a member moved and a quota changed.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use dangke::auth::admin::{RootOrg, create_admin};
use dangke::orgs::model::{Org, OrgKind};
use dangke::stats::context::Subtree;
use dangke::stats::generate::{Plan, run};
use dangke::stats::period::Period;
use dangke::stats::summary::{OrgStats, compute_from_digests};
use dangke::stats::totals_read;
use serde_json::json;

use crate::activities::sh;
use crate::helpers::{TestApp, spawn};
use crate::stats::{read_article, the_day};

fn org_of(app: &TestApp, id: i64) -> impl std::future::Future<Output = Org> + '_ {
    use dangke::db::schema::orgs;
    use diesel::prelude::*;
    async move {
        app.app_state
            .db
            .read(move |c| {
                Ok(orgs::table
                    .find(id)
                    .select(Org::as_select())
                    .first::<Org>(c)?)
            })
            .await
            .unwrap()
    }
}

/// The summary of `org` for `period` from the totals (which must answer) and from the
/// digests.
async fn both(
    app: &TestApp,
    org: i64,
    period: &Period,
) -> ((OrgStats, Vec<OrgStats>), (OrgStats, Vec<OrgStats>)) {
    both_on(app, org, period, app.app_state.clock.now_naive()).await
}

/// [`both`] as read at `now` (the six-month cut-off and the even pace move with it).
async fn both_on(
    app: &TestApp,
    org: i64,
    period: &Period,
    now: NaiveDateTime,
) -> ((OrgStats, Vec<OrgStats>), (OrgStats, Vec<OrgStats>)) {
    let root = org_of(app, org).await;
    let db = &app.app_state.db;
    let tree = Arc::new(db.read(move |c| Subtree::load(c, root, now)).await.unwrap());
    let (t, p) = (tree.clone(), period.clone());
    let totals = db
        .read(move |c| totals_read::summarize(c, &t, &p))
        .await
        .unwrap();
    let totals = totals.unwrap_or_else(|| panic!("the totals of {org} answer {}", period.label));
    let digests = compute_from_digests(db, tree, period.clone())
        .await
        .unwrap();
    (totals, digests)
}

fn period(label: &str) -> Period {
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    Period::parse(Some(label), None, None, today).unwrap()
}

fn between(from: (u32, u32), to: (u32, u32)) -> Period {
    let d = |(m, day)| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    Period::parse(None, Some(d(from)), Some(d(to)), today).unwrap()
}

/// Periods the totals answer: whole months, and from a month's first day into a month.
fn whole_month_periods() -> Vec<Period> {
    vec![
        period("2026"),
        period("2026-11"),
        period("2026-01"),
        period("2026-Q4"),
        period("2026-Q2"),
        period("2025"),
        between((3, 1), (8, 31)),
        // Year to date, and periods from a month's first day into a later month.
        between((1, 1), (11, 20)),
        between((1, 1), (6, 1)),
        between((3, 1), (11, 27)),
        between((11, 1), (11, 5)),
        between((10, 1), (10, 30)),
    ]
}

/// Reading days across the year and the next: the even pace goes from nothing to the
/// whole quota, the six-month cut-off sweeps the year's organizational life.
fn reading_days() -> Vec<NaiveDateTime> {
    [
        (2026, 1, 3),
        (2026, 5, 20),
        (2026, 8, 31),
        (2026, 11, 27),
        (2027, 3, 1),
    ]
    .into_iter()
    .map(|(y, m, d)| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap()
    })
    .collect()
}

async fn assert_agree(app: &TestApp, orgs: &[i64]) {
    assert_agree_on(app, orgs, &[app.app_state.clock.now_naive()]).await;
}

async fn assert_agree_on(app: &TestApp, orgs: &[i64], nows: &[NaiveDateTime]) {
    for org in orgs {
        for p in whole_month_periods() {
            for now in nows {
                let (totals, digests) = both_on(app, *org, &p, *now).await;
                assert_eq!(
                    totals, digests,
                    "org {org}, period {}, read at {now}",
                    p.label
                );
            }
        }
    }
}

#[tokio::test]
async fn totals_answer_what_the_digests_answer_on_a_generated_province() {
    let app = spawn().await;
    let now = app.app_state.clock.now_naive();
    let plan = Plan {
        members: 600,
        branches: 50,
        events: 3_000,
        occurrences: 150,
        counties: 3,
        seed: 11,
    };
    app.app_state
        .db
        .write(move |c| run(c, now, plan))
        .await
        .unwrap();
    let created = create_admin(
        &app.app_state,
        "13800000001",
        "基准管理员",
        Some("generated-1".into()),
        Some(RootOrg {
            name: "生成省委".into(),
            kind: OrgKind::CountyCommittee,
        }),
    )
    .await
    .unwrap();
    let root = created.root_org_id.unwrap();
    let mut admin = app.client();
    admin.login("13800000001", "generated-1").await;
    let r = admin
        .get(&format!(
            "/v1/orgs/{root}/stats/children?period=2026&sort=name"
        ))
        .await;
    r.expect(200);
    let counties: Vec<i64> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["org_id"].as_i64().unwrap())
        .collect();
    assert_eq!(counties.len(), 3);

    // One county holds its members to other quotas: groups of several quotas add up.
    admin
        .patch(
            &format!("/v1/orgs/{}/settings", counties[0]),
            json!({"quotas": {"member": 40, "cadre": 0}}),
        )
        .await
        .expect(200);
    let r = admin
        .get(&format!("/v1/orgs/{root}/stats?period=2026"))
        .await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["members"]["total"], 600, "{v}");
    assert!(v["credit"]["earned_centi"].as_i64().unwrap() > 0, "{v}");
    assert!(!v["attendance"].as_array().unwrap().is_empty(), "{v}");

    assert_agree_on(&app, &[root, counties[0], counties[1]], &reading_days()).await;
    let (totals, _) = both(&app, root, &period("2026")).await;
    let c = &totals.0.credit;
    assert!(c.met > 0 && c.behind > 0, "{totals:?}");
    let (spring, _) = both_on(&app, counties[0], &period("2026"), reading_days()[1]).await;
    assert!(spring.0.credit.on_track > 0, "{spring:?}");

    // Read every day from July to May: the six-month cut-off passes every day of the year's
    // organizational life.
    let first = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let daily: Vec<NaiveDateTime> = (0..335)
        .map(|d| {
            (first + chrono::Duration::days(d))
                .and_hms_opt(4, 0, 0)
                .unwrap()
        })
        .collect();
    let mut cut_off = std::collections::BTreeSet::new();
    for now in daily {
        let (totals, digests) = both_on(&app, root, &period("2026"), now).await;
        assert_eq!(totals, digests, "read at {now}");
        cut_off.insert(totals.0.no_org_life_6m);
    }
    // Not all or none: the cut-off fell among the members' days.
    assert!(
        cut_off.iter().filter(|n| **n > 0 && **n < 600).count() >= 2,
        "{cut_off:?}"
    );

    // A period that starts inside a month is left to the digests.
    let part = between((3, 5), (8, 31));
    let root_org = org_of(&app, root).await;
    let tree = app
        .app_state
        .db
        .read(move |c| Subtree::load(c, root_org, now))
        .await
        .unwrap();
    let answered = app
        .app_state
        .db
        .read(move |c| totals_read::summarize(c, &tree, &part))
        .await
        .unwrap();
    assert!(answered.is_none());
}

#[tokio::test]
async fn totals_follow_a_lesson_a_move_and_a_quota_change() {
    let d = the_day().await;
    let (app, w) = (&d.app, &d.w);
    let orgs = [w.county, w.township, w.branch_a, w.branch_b];
    let summary = |org: i64, label: &'static str| async move {
        // Over HTTP first: the read applies the pending changes.
        w.admin
            .get(&format!("/v1/orgs/{org}/stats?period={label}"))
            .await
            .expect(200);
        both(app, org, &period(label)).await.0
    };
    let before = summary(w.township, "2026-11").await;
    assert_agree(app, &orgs).await;

    // b2 completes the course.
    app.clock.set(sh(2026, 11, 27, 11, 51));
    read_article(&d.c_b2, d.lesson, "b2-1", sh(2026, 11, 27, 11, 50)).await;
    let after = summary(w.township, "2026-11").await;
    assert!(
        after.0.credit.earned_centi > before.0.credit.earned_centi,
        "{before:?} {after:?}"
    );
    assert_eq!(after.0.active, before.0.active + 1);
    assert_agree(app, &orgs).await;

    // b1 moves from branch B to branch A.
    let count = |s: &(OrgStats, Vec<OrgStats>), org: i64| {
        s.1.iter().find(|c| c.org_id == org).unwrap().members.total
    };
    w.admin
        .post(
            &format!("/v1/members/{}/transfer", d.b1),
            json!({"to_org_id": w.branch_a}),
        )
        .await
        .expect(200);
    let moved = summary(w.township, "2026-11").await;
    assert_eq!(count(&moved, w.branch_a), count(&after, w.branch_a) + 1);
    assert_eq!(count(&moved, w.branch_b), count(&after, w.branch_b) - 1);
    assert_agree(app, &orgs).await;

    // Branch A's members are held to a quota of one hour.
    w.admin
        .patch(
            &format!("/v1/orgs/{}/settings", w.branch_a),
            json!({"quotas": {"member": 100, "cadre": 100}}),
        )
        .await
        .expect(200);
    let quota = summary(w.township, "2026").await;
    let a = quota.1.iter().find(|c| c.org_id == w.branch_a).unwrap();
    let was = moved.1.iter().find(|c| c.org_id == w.branch_a).unwrap();
    assert!(
        a.credit.quota_centi < was.credit.quota_centi,
        "{a:?} {was:?}"
    );
    assert_eq!(a.members.total, was.members.total);
    assert_agree(app, &orgs).await;
}
