//! Administrative account tasks run from the command line.

use super::password;
use super::phone::Phone;
use super::users;
use crate::audit::{self, Actor, Target};
use crate::error::ApiResult;
use crate::state::AppState;

/// The result of `dangke admin create`.
pub struct CreatedUser {
    pub user_id: i64,
    pub phone: String,
    /// Set when no password was given and one was generated.
    pub generated_password: Option<String>,
    /// The root org the user administers, when one was asked for.
    pub root_org_id: Option<i64>,
}

/// A root organization to create (or find by name) and make the new user its admin.
pub struct RootOrg {
    pub name: String,
    pub kind: crate::orgs::model::OrgKind,
}

/// Creates a user with a password (generated when not given); with `root`, also the root
/// org (found by name if it exists) with the user as its `admin`.
pub async fn create_admin(
    state: &AppState,
    phone: &str,
    name: &str,
    password_raw: Option<String>,
    root: Option<RootOrg>,
) -> ApiResult<CreatedUser> {
    let created = create_user(state, phone, name, password_raw).await?;
    if let Some(root) = root {
        let now = state.clock.now_naive();
        let user_id = created.user_id;
        let org_id = state
            .db
            .write(move |c| {
                use crate::db::schema::orgs;
                use crate::orgs::model::{Org, Role, Sector};
                use diesel::prelude::*;
                let existing: Option<Org> = orgs::table
                    .filter(orgs::parent_id.is_null())
                    .filter(orgs::name.eq(root.name.trim()))
                    .select(Org::as_select())
                    .first(c)
                    .optional()?;
                let org = match existing {
                    Some(o) => o,
                    None => crate::orgs::tree::create(
                        c,
                        now,
                        None,
                        &root.name,
                        root.kind,
                        Sector::Village,
                    )?,
                };
                crate::orgs::roles::insert(c, now, org.id, user_id, Role::Admin, None)?;
                audit::record(
                    c,
                    now,
                    &Actor::system(),
                    "role_granted",
                    &Target::new("user", user_id).in_org(org.id),
                    serde_json::json!({"role": "admin", "via": "cli"}),
                )?;
                Ok(org.id)
            })
            .await?;
        super::identity_cache::forget(&state.kv, &[user_id]).await;
        return Ok(CreatedUser {
            root_org_id: Some(org_id),
            ..created
        });
    }
    Ok(created)
}

/// Creates a user with a password (generated when not given).
pub async fn create_user(
    state: &AppState,
    phone: &str,
    name: &str,
    password_raw: Option<String>,
) -> ApiResult<CreatedUser> {
    let phone = Phone::parse_field(phone, "phone")?;
    let name = users::check_name(name, "name")?;
    let (password_raw, generated) = match password_raw {
        Some(p) => (p, false),
        None => (
            super::tokens::generate_secret().chars().take(12).collect(),
            true,
        ),
    };
    password::check_rule(&password_raw, "password")?;
    let pw = password_raw.clone();
    let hash = password::blocking(move || password::hash(&pw)).await??;
    let now = state.clock.now_naive();
    let user = state
        .db
        .write(move |c| {
            let user = users::create(c, now, &phone, &name, Some(&hash))?;
            audit::record(
                c,
                now,
                &Actor::system(),
                "user_created",
                &Target::new("user", user.id),
                serde_json::json!({"via": "cli"}),
            )?;
            Ok(user)
        })
        .await?;
    // A new id may be one a recreated database used before, under the same Redis.
    super::identity_cache::forget(&state.kv, &[user.id]).await;
    Ok(CreatedUser {
        user_id: user.id,
        phone: user.phone,
        generated_password: generated.then_some(password_raw),
        root_org_id: None,
    })
}
