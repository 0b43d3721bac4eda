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
    Ok(CreatedUser {
        user_id: user.id,
        phone: user.phone,
        generated_password: generated.then_some(password_raw),
    })
}
