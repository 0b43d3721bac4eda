//! Issue 4's walk over HTTP, as a county would start: the admin is created by the CLI on
//! the same database, builds the tree, a branch secretary's Excel list (GBK, 60 members,
//! two bad rows) is imported, members log in with WeChat (first time binds by phone, then
//! directly), and scope holds: branch A's secretary cannot see branch B's members or the
//! township's settings, and a committee member of branch A cannot change roles there.

use std::process::Stdio;
use std::sync::Arc;

use dangke::clock::ManualClock;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::backend::TestDb;
use crate::helpers::wechat_server::WechatServer;
use crate::helpers::{Client, Options, spawn_with, start_time};

const ADMIN_PHONE: &str = "13900000000";
const ADMIN_PASSWORD: &str = "county-admin-pass-1";

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 5] = ["建国", "秀英", "桂兰", "志强", "海燕"];

fn phone(i: usize) -> String {
    format!("1380731{:04}", 1000 + i)
}

/// The list as Excel saves it on a Chinese Windows: GBK, CRLF, Chinese headers. 60
/// members; line 15 has a phone with a digit missing, line 40 no name.
fn members_csv(branch_name: &str) -> Vec<u8> {
    let mut text = String::from("姓名,性别,手机号,出生日期,入党日期,类别,所在支部\r\n");
    for i in 0..60 {
        let line = i + 2;
        let name = if line == 40 {
            String::new()
        } else {
            format!("{}{}", SURNAMES[i % 12], GIVEN[i % 5])
        };
        let tel = if line == 15 {
            "1380731999".to_string()
        } else {
            phone(i)
        };
        let gender = if i % 2 == 0 { "男" } else { "女" };
        let category = if i % 10 == 9 {
            "预备党员"
        } else {
            "正式党员"
        };
        text.push_str(&format!(
            "{name},{gender},{tel},19{:02}-0{}-1{},20{:02}-07-01,{category},{branch_name}\r\n",
            50 + i % 45,
            1 + i % 9,
            i % 10,
            i % 20
        ));
    }
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// `dangke admin create …` on the test database, as an operator would run it.
async fn cli_admin_create(db: &TestDb) {
    let out = Command::new(env!("CARGO_BIN_EXE_dangke"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("DANGKE_DATA_DIR", &db.data_dir)
        .env("DANGKE_LOG", "warn")
        .args([
            "admin",
            "create",
            "--phone",
            ADMIN_PHONE,
            "--name",
            "县委组织部管理员",
            "--password",
            ADMIN_PASSWORD,
            "--org-name",
            "东山县委",
            "--org-kind",
            "county_committee",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "admin create: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn create_org(c: &Client, parent: i64, name: &str, kind: &str) -> i64 {
    let r = c
        .post(
            "/v1/orgs",
            json!({"parent_id": parent, "name": name, "kind": kind, "sector": "village"}),
        )
        .await;
    r.expect(201);
    r.json()["id"].as_i64().unwrap()
}

/// WeChat login with a mini-program `code`: the body of the answer.
async fn wechat_login(c: &Client, code: &str) -> Value {
    let r = c.post("/v1/auth/wechat", json!({ "code": code })).await;
    r.expect(200);
    r.json()
}

/// A member's first WeChat login: bind by the phone the secretary imported. A role holder
/// also sends the one-time code an administrator gave her.
async fn first_wechat_login(
    app_client: &Client,
    wx: &WechatServer,
    who: usize,
    one_time_code: Option<&str>,
) -> Client {
    let (js, openid, phone_code) = (
        format!("js-{who}"),
        format!("openid-{who}"),
        format!("phone-{who}"),
    );
    wx.add_login(&js, &openid, None);
    wx.add_phone(&phone_code, &phone(who));
    let first = wechat_login(app_client, &js).await;
    assert_eq!(first["status"], "bind_required", "{first}");
    let mut body = json!({"bind_token": first["bind_token"], "phone_code": phone_code});
    if let Some(code) = one_time_code {
        body["one_time_code"] = json!(code);
    }
    let bound = app_client.post("/v1/auth/wechat/bind", body).await;
    bound.expect(200);
    let token = bound.json()["access_token"].as_str().unwrap().to_string();
    app_client.with_token(&token)
}

#[tokio::test]
async fn a_county_starts_from_the_cli_to_scoped_secretaries() {
    // The operator creates the county and its admin with the CLI, then starts the server
    // on the same database.
    let db = TestDb::fresh().await;
    cli_admin_create(&db).await;
    let clock = Arc::new(ManualClock::new(start_time()));
    let wx = WechatServer::start(clock.clone()).await;
    let app = spawn_with(Options {
        vars: wx.vars(),
        share_db: Some(db),
        clock: Some(clock),
        ..Options::default()
    })
    .await;
    let anon = app.client();
    let login = anon
        .post(
            "/v1/auth/login",
            json!({"phone": ADMIN_PHONE, "password": ADMIN_PASSWORD}),
        )
        .await;
    login.expect(200);
    let admin = anon.with_token(login.json()["access_token"].as_str().unwrap());
    let me = admin.get("/v1/me").await.json();
    assert_eq!(me["roles"][0]["role"], "admin");
    let county = me["roles"][0]["org_id"].as_i64().unwrap();

    // The tree: a township, two village branches, a party group in the first.
    let township = create_org(&admin, county, "东山镇党委", "township_committee").await;
    let branch_a = create_org(&admin, township, "东山村党支部", "branch").await;
    let branch_b = create_org(&admin, township, "西山村党支部", "branch").await;
    let group = create_org(&admin, branch_a, "第一党小组", "party_group").await;
    let tree = admin
        .get(&format!("/v1/orgs/{county}/tree?depth=3"))
        .await
        .json();
    let text = tree.to_string();
    for name in ["东山镇党委", "东山村党支部", "西山村党支部", "第一党小组"] {
        assert!(text.contains(name), "{name} in {text}");
    }

    // Branch A's list, from Excel: 58 members in, lines 15 and 40 reported.
    let imported = admin
        .send(
            admin
                .request(Method::POST, &format!("/v1/orgs/{branch_a}/members/import"))
                .header("content-type", "text/csv")
                .body(members_csv("东山村党支部")),
        )
        .await;
    imported.expect(200);
    let report = imported.json();
    assert_eq!(report["counts"]["created"], 58, "{report}");
    assert_eq!(report["counts"]["rejected"], 2, "{report}");
    let rejected: Vec<u64> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "rejected")
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, vec![15, 40]);
    let listed = admin
        .get(&format!("/v1/orgs/{branch_a}/members?limit=100"))
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 58);

    // Branch B has a member of its own; the admin makes two of branch A's members the
    // secretary and a committee member, and moves one into the party group.
    let b_member = admin
        .post(
            &format!("/v1/orgs/{branch_b}/members"),
            json!({"phone": "13907319999", "name": "西山党员", "category": "full"}),
        )
        .await;
    b_member.expect(201);
    let user_id = |i: usize| -> i64 {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["phone"] == phone(i))
            .unwrap_or_else(|| panic!("member {i} listed"))["user_id"]
            .as_i64()
            .unwrap()
    };
    let (sec_id, committee_id, plain_id) = (user_id(0), user_id(1), user_id(2));
    for (uid, role) in [(sec_id, "secretary"), (committee_id, "committee_member")] {
        admin
            .post(
                &format!("/v1/orgs/{branch_a}/roles"),
                json!({"user_id": uid, "role": role}),
            )
            .await
            .expect(201);
    }
    admin
        .post(
            &format!("/v1/members/{plain_id}/transfer"),
            json!({"to_org_id": group}),
        )
        .await
        .expect(200);

    // The secretary now holds a role: WeChat vouching for her imported phone is not enough
    // to bind her account. The admin gives her a one-time code (by phone, in person).
    wx.add_login("js-0-try", "openid-0", None);
    wx.add_phone("phone-0-try", &phone(0));
    let attempt = wechat_login(&anon, "js-0-try").await;
    anon.post(
        "/v1/auth/wechat/bind",
        json!({"bind_token": attempt["bind_token"], "phone_code": "phone-0-try"}),
    )
    .await
    .expect_problem(403, "wechat_password_required");
    let code = |uid: i64| {
        let admin = admin.clone();
        async move {
            let r = admin
                .post(&format!("/v1/members/{uid}/wechat-bind-code"), json!({}))
                .await;
            r.expect(201);
            r.json()["code"].as_str().unwrap().to_string()
        }
    };
    let sec_code = code(sec_id).await;
    assert_eq!(sec_code.len(), 8);
    // Her first WeChat login binds with it; the second is direct.
    let secretary = first_wechat_login(&anon, &wx, 0, Some(&sec_code)).await;
    // The code is used up.
    wx.add_login("js-0-reuse", "openid-0-other", None);
    wx.add_phone("phone-0-reuse", &phone(0));
    let reuse = wechat_login(&anon, "js-0-reuse").await;
    anon.post(
        "/v1/auth/wechat/bind",
        json!({"bind_token": reuse["bind_token"], "phone_code": "phone-0-reuse", "one_time_code": sec_code}),
    )
    .await
    .expect_problem(403, "bind_code_invalid");
    let me = secretary.get("/v1/me").await.json();
    assert_eq!(me["id"], sec_id);
    // (A mini-program `code` is good once; the next launch brings a new one.)
    wx.add_login("js-0-again", "openid-0", None);
    let again = wechat_login(&anon, "js-0-again").await;
    assert_eq!(again["status"], "logged_in", "{again}");
    assert_eq!(again["tokens"]["user_id"], sec_id);
    let secretary = anon.with_token(again["tokens"]["access_token"].as_str().unwrap());
    secretary
        .get(&format!("/v1/orgs/{branch_a}/members?limit=5"))
        .await
        .expect(200);

    // Outside her subtree: branch B's members and the township's settings are not there.
    secretary
        .get(&format!("/v1/orgs/{branch_b}/members"))
        .await
        .expect_problem(404, "not_found");
    secretary
        .get(&format!("/v1/orgs/{township}/settings"))
        .await
        .expect_problem(404, "not_found");

    // A committee member of branch A sees the branch but may not change roles in it.
    let committee_code = code(committee_id).await;
    let committee = first_wechat_login(&anon, &wx, 1, Some(&committee_code)).await;
    committee
        .get(&format!("/v1/orgs/{branch_a}/members?limit=5"))
        .await
        .expect(200);
    committee
        .post(
            &format!("/v1/orgs/{branch_a}/roles"),
            json!({"user_id": plain_id, "role": "organizer"}),
        )
        .await
        .expect_problem(403, "forbidden");
    committee
        .send(committee.request(
            Method::DELETE,
            &format!("/v1/orgs/{branch_a}/roles/{sec_id}/secretary"),
        ))
        .await
        .expect_problem(403, "forbidden");
    // The secretary may.
    secretary
        .post(
            &format!("/v1/orgs/{branch_a}/roles"),
            json!({"user_id": plain_id, "role": "organizer"}),
        )
        .await
        .expect(201);

    // A member with no phone imported cannot bind: a clear answer for the phone app.
    wx.add_login("js-stranger", "openid-stranger", None);
    wx.add_phone("phone-stranger", "13600000000");
    let stranger = wechat_login(&anon, "js-stranger").await;
    anon.post(
        "/v1/auth/wechat/bind",
        json!({"bind_token": stranger["bind_token"], "phone_code": "phone-stranger"}),
    )
    .await
    .expect_problem(404, "member_not_found");
}
