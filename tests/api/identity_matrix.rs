//! The identity-takeover matrix, beside the authorization matrix: every route and import
//! path that can change a user's phone, name, status, membership, password or WeChat binding is tried
//! by a village secretary (branch A's) against four people whose identity is not hers to
//! manage:
//!
//! - (a) the county admin: a password, the admin role at the county, no membership;
//! - (b) the township secretary, who is a member of branch A and holds the township's
//!   secretary role (visible to the village secretary, above her scope);
//! - (c) a plain member of the sibling branch B;
//! - (d) an account with a password and no membership or role.
//!
//! Every attempt must be refused with the status written here, and the person's user row,
//! memberships and roles must be exactly as before.

use serde_json::json;

use crate::helpers::world::World;
use crate::helpers::{Client, Resp};
use crate::security::{
    app_with_wechat, identity, import_csv, report_row, township_secretary_in_branch_a,
};

struct Target {
    label: &'static str,
    id: i64,
    phone: &'static str,
    /// The answer to a WeChat bind of the person's number without their password: 403
    /// `wechat_password_required` for a role holder, 404 `member_not_found` for an account
    /// that may not bind at all; `None`: a plain member, whom WeChat binds by phone alone.
    bind_refused: Option<u16>,
}

/// An attempt: what the secretary sends, and the status each target must get.
struct Attempt {
    what: &'static str,
    /// Statuses for (a), (b), (c), (d).
    expect: [u16; 4],
}

const ATTEMPTS: &[Attempt] = &[
    Attempt {
        what: "enroll in branch A",
        expect: [409, 409, 409, 409],
    },
    Attempt {
        what: "enroll in a party group of branch A",
        expect: [409, 409, 409, 409],
    },
    Attempt {
        what: "change the phone",
        expect: [404, 403, 404, 404],
    },
    Attempt {
        what: "rename",
        expect: [404, 403, 404, 404],
    },
    Attempt {
        what: "change the category",
        expect: [404, 403, 404, 404],
    },
    Attempt {
        what: "transfer into a party group of branch A",
        expect: [404, 403, 404, 404],
    },
    Attempt {
        what: "set the status to left",
        expect: [404, 403, 404, 404],
    },
    Attempt {
        what: "set the status to suspended",
        expect: [404, 403, 404, 404],
    },
    // A login code would let her set the person's password; a reset would free the
    // person's account for another WeChat.
    Attempt {
        what: "issue a one-time login code",
        expect: [404, 403, 404, 404],
    },
    Attempt {
        what: "reset the WeChat binding",
        expect: [404, 403, 404, 404],
    },
    // The import answers 200 with the row rejected (checked below).
    Attempt {
        what: "import a row (dry run)",
        expect: [200, 200, 200, 200],
    },
    Attempt {
        what: "import a row",
        expect: [200, 200, 200, 200],
    },
    Attempt {
        what: "import a row naming a party group",
        expect: [200, 200, 200, 200],
    },
];

async fn attempt(w: &World, sec: &Client, what: &str, t: &Target) -> Resp {
    let id = t.id;
    match what {
        "enroll in branch A" => {
            sec.post(
                &format!("/v1/orgs/{}/members", w.branch_a),
                json!({"phone": t.phone, "name": "冒名", "category": "full"}),
            )
            .await
        }
        "enroll in a party group of branch A" => {
            sec.post(
                &format!("/v1/orgs/{}/members", w.group_a),
                json!({"phone": t.phone, "name": "冒名", "category": "activist"}),
            )
            .await
        }
        "change the phone" => {
            sec.patch(
                &format!("/v1/members/{id}"),
                json!({"phone": "13911119999"}),
            )
            .await
        }
        "rename" => {
            sec.patch(&format!("/v1/members/{id}"), json!({"name": "改名"}))
                .await
        }
        "change the category" => {
            sec.patch(
                &format!("/v1/members/{id}"),
                json!({"category": "activist"}),
            )
            .await
        }
        "transfer into a party group of branch A" => {
            sec.post(
                &format!("/v1/members/{id}/transfer"),
                json!({"to_org_id": w.group_a}),
            )
            .await
        }
        "set the status to left" => {
            sec.put(
                &format!("/v1/members/{id}/status"),
                json!({"status": "left"}),
            )
            .await
        }
        "set the status to suspended" => {
            sec.put(
                &format!("/v1/members/{id}/status"),
                json!({"status": "suspended"}),
            )
            .await
        }
        "issue a one-time login code" => {
            sec.post(&format!("/v1/members/{id}/login-code"), json!({}))
                .await
        }
        "reset the WeChat binding" => sec.delete(&format!("/v1/members/{id}/wechat")).await,
        "import a row (dry run)" | "import a row" | "import a row naming a party group" => {
            let org = if what.ends_with("party group") {
                "东山村第一党小组"
            } else {
                ""
            };
            let csv = format!(
                "姓名,手机号,类别,所在支部\n冒名,{},入党积极分子,{org}\n",
                t.phone
            );
            let r = import_csv(sec, w.branch_a, &csv, what.contains("dry run")).await;
            if r.status.is_success() {
                let row = report_row(&r.json(), 2);
                assert_eq!(row["outcome"], "rejected", "{what} {}: {row}", t.label);
                assert_eq!(
                    row["reason"], "member_not_addable",
                    "{what} {}: {row}",
                    t.label
                );
            }
            r
        }
        other => panic!("no attempt {other}"),
    }
}

#[tokio::test]
async fn a_village_secretary_cannot_change_anyone_outside_her_scope() {
    let (app, wx) = app_with_wechat().await;
    let w = app.world().await;
    let township_secretary = township_secretary_in_branch_a(&app, &w).await;
    let sibling_member = w
        .admin
        .post(
            &format!("/v1/orgs/{}/members", w.branch_b),
            json!({"phone": "13900000005", "name": "西河村党员", "category": "full"}),
        )
        .await;
    sibling_member.expect(201);
    let sibling_member = sibling_member.json()["user_id"].as_i64().unwrap();
    let with_password = app
        .create_user("13800000009", "有密码无组织", "whatever-pw-1")
        .await;
    let targets = [
        Target {
            label: "(a) county admin",
            id: w.admin_id,
            phone: "13900000000",
            bind_refused: Some(403),
        },
        Target {
            label: "(b) township secretary",
            id: township_secretary,
            phone: "13900000010",
            bind_refused: Some(403),
        },
        Target {
            label: "(c) sibling branch member",
            id: sibling_member,
            phone: "13900000005",
            bind_refused: None,
        },
        Target {
            label: "(d) password, no membership",
            id: with_password,
            phone: "13800000009",
            bind_refused: Some(404),
        },
    ];

    let mut failures = Vec::new();
    for a in ATTEMPTS {
        for (i, t) in targets.iter().enumerate() {
            let before = identity(&app, t.id).await;
            let r = attempt(&w, &w.secretary_a, a.what, t).await;
            let after = identity(&app, t.id).await;
            if r.status.as_u16() != a.expect[i] {
                failures.push(format!(
                    "{} against {}: {} (expected {}) {}",
                    a.what,
                    t.label,
                    r.status,
                    a.expect[i],
                    r.text()
                ));
            }
            if before != after {
                failures.push(format!(
                    "{} against {} changed the database:\n{before}\n->\n{after}",
                    a.what, t.label
                ));
            }
        }
    }

    // WeChat: a WeChat account that proves a guarded person's number never binds without
    // that person's password.
    for (n, t) in targets.iter().enumerate() {
        let Some(refused) = t.bind_refused else {
            continue;
        };
        let before = identity(&app, t.id).await;
        wx.add_login(&format!("js-{n}"), &format!("openid-attacker-{n}"), None);
        let token = app
            .client()
            .post("/v1/auth/wechat", json!({"code": format!("js-{n}")}))
            .await
            .json()["bind_token"]
            .as_str()
            .unwrap()
            .to_string();
        wx.add_phone(&format!("ph-{n}"), t.phone);
        let r = app
            .client()
            .post(
                "/v1/auth/wechat/bind",
                json!({"bind_token": token, "phone_code": format!("ph-{n}")}),
            )
            .await;
        if r.status.as_u16() != refused {
            failures.push(format!(
                "WeChat bind of {}: {} {}",
                t.label,
                r.status,
                r.text()
            ));
        }
        if identity(&app, t.id).await != before {
            failures.push(format!("WeChat bind of {} changed the database", t.label));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
