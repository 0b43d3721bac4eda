//! The database side of WeChat login: finding the user an openid belongs to, and giving an
//! openid to the member a branch secretary imported with the phone number WeChat vouches for.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::bind_token::Pending;
use crate::audit::{self, Actor, Target};
use crate::auth::model::{USER_ACTIVE, User};
use crate::auth::phone::Phone;
use crate::auth::users;
use crate::db::DbConnection;
use crate::db::schema::{org_roles, users as users_t};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::orgs::members;

/// What the person binding showed besides the phone number WeChat vouched for.
#[derive(Debug, Clone, Default)]
pub struct Proof {
    /// The account's password came with the bind and matched.
    pub password_verified: bool,
    /// A one-time code issued to the account (see [`super::bind_code`]).
    pub one_time_code: Option<String>,
}

/// Why a bind was refused. Each is final for the bind token: trying again cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No member or role holder with that phone (the secretary has not added them).
    NotFound,
    /// The account is disabled.
    Disabled,
    /// This WeChat account is bound to another user.
    WechatTaken,
    /// The user is bound to another WeChat account (she unbinds it, or a secretary resets
    /// it).
    AccountBoundElsewhere,
    /// The account holds a role or has a password, and neither its password nor a
    /// one-time code was given.
    PasswordRequired,
    /// The one-time code is wrong, expired or used.
    CodeInvalid,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::NotFound => "member_not_found",
            Refusal::Disabled => "account_disabled",
            Refusal::WechatTaken => "wechat_already_bound",
            Refusal::AccountBoundElsewhere => "account_bound_to_other_wechat",
            Refusal::PasswordRequired => "password_required",
            Refusal::CodeInvalid => "bind_code_invalid",
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(match r {
            Refusal::NotFound => ErrorCode::MemberNotFound,
            Refusal::Disabled => ErrorCode::AccountDisabled,
            Refusal::WechatTaken => ErrorCode::WechatAlreadyBound,
            Refusal::AccountBoundElsewhere => ErrorCode::AccountBoundToOtherWechat,
            Refusal::PasswordRequired => ErrorCode::WechatPasswordRequired,
            Refusal::CodeInvalid => ErrorCode::BindCodeInvalid,
        })
    }
}

/// The user bound to `openid`, if any.
pub fn find_by_openid(conn: &mut DbConnection, openid: &str) -> ApiResult<Option<User>> {
    Ok(users_t::table
        .filter(users_t::wechat_openid.eq(openid))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The password hash a bind to the account with this phone must be checked against:
/// `Some` for an active account that may bind and is guarded (holds a role or has a
/// password; the hash is `None` for a role holder who never set one, so no password can
/// match), `None` when the bind needs no password or will be refused anyway.
pub fn password_to_check(
    conn: &mut DbConnection,
    phone: &Phone,
) -> ApiResult<Option<Option<String>>> {
    let Some(user) = users::find_by_phone(conn, phone)? else {
        return Ok(None);
    };
    if user.status != USER_ACTIVE || !may_bind(conn, user.id)? {
        return Ok(None);
    }
    let guarded = user.password_hash.is_some() || holds_role(conn, user.id)?;
    Ok(guarded.then_some(user.password_hash))
}

/// Members (a current membership) and role holders may bind; a bare account may not.
fn may_bind(conn: &mut DbConnection, user_id: i64) -> ApiResult<bool> {
    Ok(members::current(conn, user_id)?.is_some() || holds_role(conn, user_id)?)
}

fn holds_role(conn: &mut DbConnection, user_id: i64) -> ApiResult<bool> {
    let roles: i64 = org_roles::table
        .filter(org_roles::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(roles > 0)
}

/// The phone number WeChat returned, as ours: mainland numbers only.
pub fn mainland(pure_phone: &str, country_code: &str) -> Option<Phone> {
    if !(country_code.is_empty() || country_code == "86") {
        return None;
    }
    Phone::parse(pure_phone)
}

/// Gives `pending`'s openid to the user with this phone and audits it; a refusal is
/// audited too (the caller commits, then answers with the refusal). Binding the same
/// openid again is harmless. An account that holds a role or has a password is bound only
/// with `proof` of its own: its password (checked before, outside the transaction) or a
/// one-time code issued to it (used up here): WeChat vouching for a phone number must not
/// hand over an organizer's account (invariant 5 of [`crate::orgs::identity`]).
pub fn bind(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor: &Actor,
    phone: (&str, &str),
    pending: &Pending,
    proof: &Proof,
) -> ApiResult<Result<i64, Refusal>> {
    let refuse = |conn: &mut DbConnection, target: Target, refusal: Refusal| {
        audit::record(
            conn,
            now,
            actor,
            "wechat_bind_refused",
            &target,
            serde_json::json!({"reason": refusal.reason()}),
        )?;
        Ok(Err(refusal))
    };
    let Some(phone) = mainland(phone.0, phone.1) else {
        let target = Target::new("phone", format!("+{} {}", phone.1, phone.0));
        return refuse(conn, target, Refusal::NotFound);
    };
    let Some(user) = users::find_by_phone(conn, &phone)? else {
        return refuse(
            conn,
            Target::new("phone", phone.as_str()),
            Refusal::NotFound,
        );
    };
    let target = Target::new("user", user.id);
    if user.status != USER_ACTIVE {
        return refuse(conn, target, Refusal::Disabled);
    }
    if !may_bind(conn, user.id)? {
        return refuse(conn, target, Refusal::NotFound);
    }
    let guarded = user.password_hash.is_some() || holds_role(conn, user.id)?;
    if guarded && !proof.password_verified {
        match proof.one_time_code.as_deref() {
            None => return refuse(conn, target, Refusal::PasswordRequired),
            Some(code) => {
                if !super::bind_code::consume(conn, now, user.id, code)? {
                    return refuse(conn, target, Refusal::CodeInvalid);
                }
            }
        }
    }
    match user.wechat_openid.as_deref() {
        Some(bound) if bound == pending.openid => return Ok(Ok(user.id)),
        Some(_) => return refuse(conn, target, Refusal::AccountBoundElsewhere),
        None => {}
    }
    if find_by_openid(conn, &pending.openid)?.is_some() {
        return refuse(conn, target, Refusal::WechatTaken);
    }
    let updated = diesel::update(users_t::table.find(user.id))
        .set((
            users_t::wechat_openid.eq(&pending.openid),
            users_t::wechat_unionid.eq(pending.unionid.as_ref().or(user.wechat_unionid.as_ref())),
            users_t::updated_at.eq(now),
        ))
        .execute(conn);
    match updated {
        Ok(_) => {}
        // Another request bound this openid a moment ago (the unique index caught it).
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            return Err(Refusal::WechatTaken.into());
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        conn,
        now,
        &Actor::user(user.id, actor.ip.clone()),
        "wechat_bound",
        &target,
        serde_json::json!({"unionid": pending.unionid.is_some()}),
    )?;
    Ok(Ok(user.id))
}

/// Takes the WeChat binding off `user_id` (both ids); returns the openid it had, `None` when
/// nothing was bound. The caller audits and ends sessions.
pub fn unbind(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
) -> ApiResult<Option<String>> {
    let user = users::find(conn, user_id)?;
    let Some(openid) = user.wechat_openid else {
        return Ok(None);
    };
    diesel::update(users_t::table.find(user_id))
        .set((
            users_t::wechat_openid.eq(None::<String>),
            users_t::wechat_unionid.eq(None::<String>),
            users_t::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Some(openid))
}
