//! A small organization world built over HTTP, the way a county would set itself up:
//!
//! ```text
//! 城关县委 (county_committee)          admin: 13900000000 (county admin, not a member)
//! └── 城关镇党委 (township_committee)
//!     ├── 东山村党支部 (branch A)      secretary 13900000001, committee member 13900000002,
//!     │   └── 东山村第一党小组 (group)   member 13900000003 (in branch A)
//!     └── 西河村党支部 (branch B)      organizer 13900000004
//! ```
//! Every person's password is [`PASSWORD`].

use serde_json::{Value, json};

use super::{Client, TestApp};

pub const PASSWORD: &str = "correct-horse-1";

pub struct World {
    pub county: i64,
    pub township: i64,
    pub branch_a: i64,
    pub group_a: i64,
    pub branch_b: i64,
    pub admin: Client,
    pub admin_id: i64,
    pub secretary_a: Client,
    pub secretary_a_id: i64,
    pub committee_a: Client,
    pub committee_a_id: i64,
    pub member_a: Client,
    pub member_a_id: i64,
    pub organizer_b: Client,
    pub organizer_b_id: i64,
}

impl TestApp {
    /// Sets a user's password directly (members added by organizers have none).
    pub async fn set_password(&self, user_id: i64, password: &str) {
        let hash = dangke::auth::password::hash(password).unwrap();
        self.app_state
            .db
            .write(move |c| {
                use dangke::db::schema::users::dsl as u;
                use diesel::prelude::*;
                diesel::update(u::users.find(user_id))
                    .set(u::password_hash.eq(hash))
                    .execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
        dangke::auth::identity_cache::forget(&self.app_state.kv, &[user_id]).await;
    }

    /// Logs in with [`PASSWORD`].
    pub async fn login_as(&self, phone: &str) -> Client {
        let mut c = self.client();
        c.login(phone, PASSWORD).await;
        c
    }

    /// Adds a member through the API with `by`, sets their password, returns the user id.
    pub async fn add_member(&self, by: &Client, org_id: i64, phone: &str, name: &str) -> i64 {
        let r = by
            .post(
                &format!("/v1/orgs/{org_id}/members"),
                json!({"phone": phone, "name": name, "category": "full", "joined_party_on": "2001-07-01"}),
            )
            .await;
        r.expect(201);
        let id = r.json()["user_id"].as_i64().unwrap();
        self.set_password(id, PASSWORD).await;
        id
    }

    /// Creates an org through the API with `by`.
    pub async fn create_org(&self, by: &Client, parent_id: i64, name: &str, kind: &str) -> i64 {
        let r = by
            .post(
                "/v1/orgs",
                json!({"parent_id": parent_id, "name": name, "kind": kind}),
            )
            .await;
        r.expect(201);
        r.json()["id"].as_i64().unwrap()
    }

    /// Grants a role through the API with `by`.
    pub async fn grant(&self, by: &Client, org_id: i64, user_id: i64, role: &str) -> Value {
        let r = by
            .post(
                &format!("/v1/orgs/{org_id}/roles"),
                json!({"user_id": user_id, "role": role}),
            )
            .await;
        r.expect(201);
        r.json()
    }

    /// Builds the world above.
    pub async fn world(&self) -> World {
        let created = dangke::auth::admin::create_admin(
            &self.app_state,
            "13900000000",
            "县委管理员",
            Some(PASSWORD.into()),
            Some(dangke::auth::admin::RootOrg {
                name: "城关县委".into(),
                kind: dangke::orgs::model::OrgKind::CountyCommittee,
            }),
        )
        .await
        .unwrap();
        let county = created.root_org_id.unwrap();
        let admin = self.login_as("13900000000").await;
        let township = self
            .create_org(&admin, county, "城关镇党委", "township_committee")
            .await;
        let branch_a = self
            .create_org(&admin, township, "东山村党支部", "branch")
            .await;
        let group_a = self
            .create_org(&admin, branch_a, "东山村第一党小组", "party_group")
            .await;
        let branch_b = self
            .create_org(&admin, township, "西河村党支部", "branch")
            .await;

        let secretary_a_id = self
            .add_member(&admin, branch_a, "13900000001", "李书记")
            .await;
        self.grant(&admin, branch_a, secretary_a_id, "secretary")
            .await;
        let committee_a_id = self
            .add_member(&admin, branch_a, "13900000002", "张委员")
            .await;
        self.grant(&admin, branch_a, committee_a_id, "committee_member")
            .await;
        let member_a_id = self
            .add_member(&admin, group_a, "13900000003", "王党员")
            .await;
        let organizer_b_id = self
            .add_member(&admin, branch_b, "13900000004", "赵组织员")
            .await;
        self.grant(&admin, branch_b, organizer_b_id, "organizer")
            .await;

        World {
            county,
            township,
            branch_a,
            group_a,
            branch_b,
            admin,
            admin_id: created.user_id,
            secretary_a: self.login_as("13900000001").await,
            secretary_a_id,
            committee_a: self.login_as("13900000002").await,
            committee_a_id,
            member_a: self.login_as("13900000003").await,
            member_a_id,
            organizer_b: self.login_as("13900000004").await,
            organizer_b_id,
        }
    }
}
