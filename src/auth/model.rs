//! Rows and API types of accounts and sessions.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{refresh_families, refresh_tokens, users};
use crate::http::text::Code;

/// A person who can log in.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub phone: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub wechat_openid: Option<String>,
    pub wechat_unionid: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// User status values.
pub const USER_ACTIVE: &str = "active";
pub const USER_DISABLED: &str = "disabled";

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub phone: &'a str,
    pub name: &'a str,
    /// [`crate::collate::sort_key`] of the name.
    pub name_key: &'a str,
    pub password_hash: Option<&'a str>,
    pub wechat_openid: Option<&'a str>,
    pub wechat_unionid: Option<&'a str>,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_families)]
pub struct RefreshFamily {
    pub id: String,
    pub user_id: i64,
    pub method: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoke_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub family_id: String,
    pub token_hash: String,
    pub access_jti: String,
    pub access_iat: i64,
    pub access_exp: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// `POST /v1/auth/login`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Mainland mobile number, e.g. `13807310001`.
    pub phone: String,
    pub password: String,
}

/// `POST /v1/auth/password-reset`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// Mainland mobile number, e.g. `13807310001`.
    pub phone: String,
    /// The one-time login code from the branch secretary (eight digits).
    pub code: crate::http::text::Code,
    pub new_password: String,
}

/// `POST /v1/auth/refresh`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: Code,
}

/// `PUT /v1/me/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// Required when the account already has a password.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

/// A new access token and its refresh token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user_id: i64,
}

/// `GET /v1/me`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeView {
    pub id: i64,
    pub phone: String,
    pub name: String,
    pub status: String,
    pub has_password: bool,
    pub wechat_bound: bool,
    pub created_at: DateTime<Utc>,
    /// The caller's current home org, if they are a member.
    pub membership: Option<crate::orgs::model::MemberView>,
    /// Roles the caller holds (what the app may offer them to manage).
    pub roles: Vec<crate::orgs::model::RoleView>,
}

impl From<&User> for MeView {
    fn from(u: &User) -> Self {
        MeView {
            membership: None,
            roles: Vec::new(),
            id: u.id,
            phone: u.phone.clone(),
            name: u.name.clone(),
            status: u.status.clone(),
            has_password: u.password_hash.is_some(),
            wechat_bound: u.wechat_openid.is_some(),
            created_at: u.created_at.and_utc(),
        }
    }
}
