//! `dangke gen`: with `--counties` above 1 the generated root stands for a province (a county
//! committee, the highest kind) of counties (township committees), their townships (general
//! branches) and branches; the figures add up at every level, and a rebuild of the
//! statistics changes nothing. With one county the root is the county, as before.

use dangke::auth::admin::{RootOrg, create_admin};
use dangke::orgs::model::OrgKind;
use dangke::stats::generate::{Generated, Plan, run};
use serde_json::Value;

use crate::helpers::{Client, TestApp, spawn};
use crate::stats::assert_rebuild_changes_nothing;

async fn generate(app: &TestApp, plan: Plan) -> Generated {
    let now = app.app_state.clock.now_naive();
    app.app_state
        .db
        .write(move |c| run(c, now, plan))
        .await
        .unwrap()
}

/// A logged-in admin of the root named `name`, and the root's id.
async fn admin_of(app: &TestApp, name: &str) -> (Client, i64) {
    let created = create_admin(
        &app.app_state,
        "13800000001",
        "基准管理员",
        Some("generated-1".into()),
        Some(RootOrg {
            name: name.into(),
            kind: OrgKind::CountyCommittee,
        }),
    )
    .await
    .unwrap();
    let mut c = app.client();
    c.login("13800000001", "generated-1").await;
    (c, created.root_org_id.unwrap())
}

async fn children(c: &Client, org: i64) -> Vec<Value> {
    let r = c
        .get(&format!(
            "/v1/orgs/{org}/stats/children?period=2026&sort=name"
        ))
        .await;
    r.expect(200);
    r.json()["items"].as_array().unwrap().clone()
}

fn sum(items: &[Value], field: &str, sub: &str) -> i64 {
    items.iter().map(|i| i[field][sub].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn a_generated_province_adds_up_at_every_level() {
    let app = spawn().await;
    let plan = Plan {
        members: 600,
        branches: 50,
        events: 3_000,
        occurrences: 100,
        counties: 3,
        seed: 7,
    };
    let g = generate(&app, plan).await;
    // The root, 3 counties, one township each (16 or 17 branches) and the branches.
    assert_eq!((g.orgs, g.members), (1 + 3 + 3 + 50, 600));
    assert_eq!(g.study_events, 3 * g.lessons_completed);
    let (c, root) = admin_of(&app, "生成省委").await;

    let r = c.get(&format!("/v1/orgs/{root}/stats?period=2026")).await;
    r.expect(200);
    let province = r.json();
    assert_eq!(province["org_kind"], "county_committee");
    assert_eq!(province["members"]["total"], 600);
    // Every completed lesson grants 0.20 credit hours this year.
    assert_eq!(
        province["credit"]["earned_centi"],
        20 * g.lessons_completed as i64
    );

    let counties = children(&c, root).await;
    let names: Vec<&str> = counties
        .iter()
        .map(|i| i["org_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["生成第1县委", "生成第2县委", "生成第3县委"]);
    assert!(
        counties
            .iter()
            .all(|i| i["org_kind"] == "township_committee")
    );
    // Members are spread over the branches, the branches evenly over the counties.
    let totals: Vec<i64> = counties
        .iter()
        .map(|i| i["members"]["total"].as_i64().unwrap())
        .collect();
    assert_eq!(totals, [192, 204, 204]);
    assert_eq!(sum(&counties, "members", "total"), 600);
    assert_eq!(
        sum(&counties, "credit", "earned_centi"),
        province["credit"]["earned_centi"].as_i64().unwrap()
    );

    for county in &counties {
        let id = county["org_id"].as_i64().unwrap();
        let townships = children(&c, id).await;
        assert_eq!(townships.len(), 1);
        assert_eq!(townships[0]["org_kind"], "general_branch");
        assert_eq!(townships[0]["members"], county["members"]);
        let branches = children(&c, townships[0]["org_id"].as_i64().unwrap()).await;
        assert!(branches.iter().all(|b| b["org_kind"] == "branch"));
        assert_eq!(
            sum(&branches, "members", "total"),
            county["members"]["total"].as_i64().unwrap()
        );
    }
    assert_rebuild_changes_nothing(&app).await;
}

#[tokio::test]
async fn with_one_county_the_root_is_the_county() {
    let app = spawn().await;
    let plan = Plan {
        members: 100,
        branches: 45,
        events: 300,
        occurrences: 45,
        counties: 1,
        seed: 1,
    };
    let g = generate(&app, plan).await;
    assert_eq!(g.orgs, 1 + 2 + 45);
    let (c, root) = admin_of(&app, "生成县委").await;
    let townships = children(&c, root).await;
    let kinds: Vec<(&str, &str)> = townships
        .iter()
        .map(|i| {
            (
                i["org_name"].as_str().unwrap(),
                i["org_kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("生成第1镇党委", "township_committee"),
            ("生成第2镇党委", "township_committee")
        ]
    );
    assert_eq!(sum(&townships, "members", "total"), 100);
}
