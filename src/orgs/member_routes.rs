//! HTTP routes of members and roles.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};

use super::access::{Right, authorize, authorize_member};
use super::members::{self, Added, MemberFilter};
use super::model::{
    AddMemberRequest, ChangeStatusRequest, GrantRoleRequest, MemberDetail, MemberView, Role,
    RoleView, TransferRequest, UpdateMemberRequest,
};
use super::{roles, settings};
use crate::audit::{self, Target};
use crate::auth::{Caller, identity_cache};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

/// Members whose home org is in this org's subtree: search by name or phone, filter,
/// cursor-paginated.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path), MemberFilter, PageParams), responses(
    (status = 200, body = Page<MemberView>), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    filter: web::Query<MemberFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<MemberView>>> {
    let id = id.into_inner();
    let (filter, page) = (filter.into_inner(), page.into_inner());
    let list = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Operate)?;
            members::list(c, &org, &filter, &page)
        })
        .await?;
    Ok(web::Json(list))
}

/// Add a member to a branch or party group. Re-sending the same request returns the
/// existing member (200) instead of creating a duplicate. A phone of a person outside the
/// caller's scope (a member elsewhere, a role holder above, an account with a password) is
/// refused with `member_not_addable`, which does not say which or where.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AddMemberRequest, responses(
    (status = 201, body = MemberView, description = "added"),
    (status = 200, body = MemberView, description = "already a member of this org"),
    (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "member_not_addable: cannot add this phone here; already_member: a member of another org in the caller's scope (transfer them)"),
    (status = 422, body = Problem),
))]
#[post("/orgs/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<AddMemberRequest>,
) -> ApiResult<HttpResponse> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let added = state
        .db
        .write(move |c| {
            let (org, scope) = authorize(c, caller.user_id, id, Right::Administer)?;
            let today = settings::today(c, &org, now)?;
            let added = members::add(c, now.naive_utc(), today, &org, &scope, &req)?;
            if let Added::Created(m) = &added {
                audit::record(
                    c,
                    now.naive_utc(),
                    &caller.actor(),
                    "member_added",
                    &Target::new("user", m.user_id).in_org(org.id),
                    serde_json::json!({"category": m.category, "phone": m.phone}),
                )?;
            }
            Ok(added)
        })
        .await?;
    let user_id = match &added {
        Added::Created(m) | Added::Existing(m) => m.user_id,
    };
    identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(match added {
        Added::Created(m) => HttpResponse::Created().json(m),
        Added::Existing(m) => HttpResponse::Ok().json(m),
    })
}

/// A member with membership history and roles (the member themself, or an organizer
/// whose scope covers the member's home org).
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), responses(
    (status = 200, body = MemberDetail), (status = 404, body = Problem),
))]
#[get("/members/{user_id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> ApiResult<web::Json<MemberDetail>> {
    let user_id = user_id.into_inner();
    let detail = state
        .db
        .read(move |c| {
            authorize_member(c, caller.user_id, user_id, Right::View)?;
            members::detail(c, user_id)
        })
        .await?;
    Ok(web::Json(detail))
}

/// Edit a member's details (name, phone, category, cadre flag, dates). Only for a person
/// wholly inside the caller's scope (403 when they hold a role above it). A new phone
/// number ends every session of the person and removes their WeChat binding; they see it
/// in `GET /v1/me/account-events`.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), request_body = UpdateMemberRequest, responses(
    (status = 200, body = MemberView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "phone_taken"), (status = 422, body = Problem),
))]
#[patch("/members/{user_id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
    body: ApiJson<UpdateMemberRequest>,
) -> ApiResult<web::Json<MemberView>> {
    let (user_id, req) = (user_id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let (view, revoked) = state
        .db
        .write(move |c| {
            let home = authorize_member(c, caller.user_id, user_id, Right::Administer)?
                .ok_or_else(ApiError::not_found)?;
            let today = settings::today(c, &home, now)?;
            let updated = members::update(c, now, today, user_id, &req)?;
            if !updated.changed.is_empty() {
                audit::record(
                    c,
                    now.naive_utc(),
                    &caller.actor(),
                    "member_updated",
                    &Target::new("user", user_id).in_org(home.id),
                    serde_json::json!({"fields": updated.changed}),
                )?;
            }
            let mut revoked = Vec::new();
            if let Some(p) = updated.phone_change {
                audit::record(
                    c,
                    now.naive_utc(),
                    &caller.actor(),
                    "phone_changed",
                    &Target::new("user", user_id).in_org(home.id),
                    serde_json::json!({
                        "from": crate::auth::phone::mask(&p.from),
                        "to": crate::auth::phone::mask(&p.to),
                        "sessions_revoked": true,
                        "wechat_unbound": p.wechat_unbound,
                    }),
                )?;
                revoked = p.revoked;
            }
            Ok((members::member_view(c, user_id)?, revoked))
        })
        .await?;
    crate::auth::sessions::denylist(&state.kv, now, &revoked).await;
    identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(web::Json(view))
}

/// Transfer a member to another branch or party group (the caller administers both).
/// The old membership ends the day before `date`; history is kept.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), request_body = TransferRequest, responses(
    (status = 200, body = MemberView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/members/{user_id}/transfer")]
pub async fn transfer_member(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
    body: ApiJson<TransferRequest>,
) -> ApiResult<web::Json<MemberView>> {
    let (user_id, req) = (user_id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let home = authorize_member(c, caller.user_id, user_id, Right::Administer)?.ok_or_else(ApiError::not_found)?;
            let (to, _) = authorize(c, caller.user_id, req.to_org_id, Right::Administer)?;
            let date = match req.date {
                Some(d) => d,
                None => settings::today(c, &to, now)?,
            };
            let view = members::transfer(c, now.naive_utc(), user_id, &to, date, req.reason.as_deref())?;
            audit::record(c, now.naive_utc(), &caller.actor(), "member_transferred", &Target::new("user", user_id).in_org(home.id), serde_json::json!({"from_org_id": home.id, "to_org_id": to.id, "date": date, "reason": req.reason}))?;
            Ok(view)
        })
        .await?;
    identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(web::Json(view))
}

/// Change a member's status (`active`, `migrant`, `suspended`, `left`; `left` ends the
/// membership and answers 204).
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), request_body = ChangeStatusRequest, responses(
    (status = 200, body = MemberView), (status = 204, description = "the member left"),
    (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[put("/members/{user_id}/status")]
pub async fn change_member_status(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
    body: ApiJson<ChangeStatusRequest>,
) -> ApiResult<HttpResponse> {
    let (user_id, req) = (user_id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let home = authorize_member(c, caller.user_id, user_id, Right::Administer)?
                .ok_or_else(ApiError::not_found)?;
            let date = match req.date {
                Some(d) => d,
                None => settings::today(c, &home, now)?,
            };
            let view = members::change_status(
                c,
                now.naive_utc(),
                user_id,
                req.status,
                date,
                req.reason.as_deref(),
            )?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "member_status_changed",
                &Target::new("user", user_id).in_org(home.id),
                serde_json::json!({"status": req.status, "reason": req.reason}),
            )?;
            Ok(view)
        })
        .await?;
    identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(match view {
        Some(v) => HttpResponse::Ok().json(v),
        None => HttpResponse::NoContent().finish(),
    })
}

/// A one-time code with which the member binds WeChat without a password (a secretary
/// made from an imported member holds a role, so WeChat vouching for her phone number alone
/// does not bind her). Valid 72 hours, once; issuing again replaces the earlier code. For
/// administrators of a person wholly inside their scope.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), responses(
    (status = 201, body = BindCodeView), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/members/{user_id}/wechat-bind-code")]
pub async fn issue_wechat_bind_code(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (code, expires_at) = issue_code(
        &state,
        caller,
        user_id.into_inner(),
        crate::auth::wechat::bind_code::issue,
        "wechat_bind_code_issued",
    )
    .await?;
    Ok(HttpResponse::Created().json(BindCodeView { code, expires_at }))
}

/// How a one-time code is issued: (connection, now, the person, the issuer) → the code and
/// when it expires.
type IssueCode = fn(
    &mut crate::db::DbConnection,
    chrono::NaiveDateTime,
    i64,
    i64,
) -> ApiResult<(String, chrono::NaiveDateTime)>;

/// Issues a one-time code to `user_id` for an administrator whose scope covers the person
/// (404 otherwise), audited as `action` on the person.
async fn issue_code(
    state: &AppState,
    caller: Caller,
    user_id: i64,
    issue: IssueCode,
    action: &'static str,
) -> ApiResult<(String, chrono::DateTime<chrono::Utc>)> {
    let now = state.clock.now_naive();
    state
        .db
        .write(move |c| {
            let home = authorize_member(c, caller.user_id, user_id, Right::Administer)?
                .ok_or_else(ApiError::not_found)?;
            let (code, expires_at) = issue(c, now, user_id, caller.user_id)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                action,
                &Target::new("user", user_id).in_org(home.id),
                serde_json::json!({"expires_at": expires_at.and_utc()}),
            )?;
            Ok((code, expires_at.and_utc()))
        })
        .await
}

/// A one-time login code with which the member sets a password herself
/// (`POST /v1/auth/password-reset`): for a member added without one, who forgot it or lost
/// her WeChat. Valid two hours, once; shown only here; issuing again replaces the earlier
/// code; audited on her account. For administrators of a person wholly inside their scope.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), responses(
    (status = 201, body = OneTimeCodeView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/members/{user_id}/login-code")]
pub async fn issue_login_code(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (code, expires_at) = issue_code(
        &state,
        caller,
        user_id.into_inner(),
        crate::auth::login_code::issue,
        "login_code_issued",
    )
    .await?;
    Ok(HttpResponse::Created().json(OneTimeCodeView { code, expires_at }))
}

/// A one-time login code: read it to the member, who sets her password with it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OneTimeCodeView {
    /// Eight digits.
    pub code: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Reset a member's WeChat binding (she changed WeChat accounts or lost the phone): the
/// binding goes and every session of hers ends; her next WeChat login binds again by phone.
/// Audited on her account (`wechat_reset`), where she sees it. 204 also when nothing was
/// bound. For administrators of a person wholly inside their scope.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("user_id" = i64, Path)), responses(
    (status = 204, description = "no WeChat is bound to her now"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/members/{user_id}/wechat")]
pub async fn reset_member_wechat(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let user_id = user_id.into_inner();
    let now = state.clock.now();
    let revoked = state
        .db
        .write(move |c| {
            let home = authorize_member(c, caller.user_id, user_id, Right::Administer)?
                .ok_or_else(ApiError::not_found)?;
            crate::auth::wechat::unbind::reset(c, now, &caller.actor(), user_id, home.id)
        })
        .await?;
    crate::auth::sessions::denylist(&state.kv, now, &revoked).await;
    identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(HttpResponse::NoContent().finish())
}

/// A one-time WeChat bind code: give it to the person, who sends it with the bind.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BindCodeView {
    /// Eight digits.
    pub code: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Role holders on this org and below.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<RoleView>), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/roles")]
pub async fn list_org_roles(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<RoleView>>> {
    let id = id.into_inner();
    let list = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Operate)?;
            roles::list(c, &org)
        })
        .await?;
    Ok(web::Json(list))
}

/// Grant a role on this org to a member of its subtree (201; 200 if already held).
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path)), request_body = GrantRoleRequest, responses(
    (status = 201, body = Vec<RoleView>, description = "granted; the grantee's roles"),
    (status = 200, body = Vec<RoleView>, description = "already held"),
    (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/orgs/{id}/roles")]
pub async fn grant_org_role(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<GrantRoleRequest>,
) -> ApiResult<HttpResponse> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now_naive();
    let grantee = req.user_id;
    let (granted, list) = state
        .db
        .write(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Administer)?;
            let granted = roles::grant(c, now, &org, req.user_id, req.role, caller.user_id)?;
            if granted {
                audit::record(
                    c,
                    now,
                    &caller.actor(),
                    "role_granted",
                    &Target::new("user", req.user_id).in_org(org.id),
                    serde_json::json!({"role": req.role}),
                )?;
            }
            Ok((granted, members::roles_of(c, req.user_id)?))
        })
        .await?;
    identity_cache::forget(&state.kv, &[grantee]).await;
    Ok(if granted {
        HttpResponse::Created().json(list)
    } else {
        HttpResponse::Ok().json(list)
    })
}

/// Revoke a role.
#[utoipa::path(tag = "members", security(("bearer" = [])), params(("id" = i64, Path), ("user_id" = i64, Path), ("role" = Role, Path)), responses(
    (status = 204, description = "revoked"), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/orgs/{id}/roles/{user_id}/{role}")]
pub async fn revoke_org_role(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64, String)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id, role) = path.into_inner();
    let role = Role::parse(&role).ok_or_else(ApiError::not_found)?;
    let now = state.clock.now_naive();
    state
        .db
        .write(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Administer)?;
            roles::revoke(c, &org, user_id, role)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "role_revoked",
                &Target::new("user", user_id).in_org(org.id),
                serde_json::json!({"role": role}),
            )
        })
        .await?;
    identity_cache::forget(&state.kv, &[user_id]).await;
    Ok(HttpResponse::NoContent().finish())
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_members)
        .service(add_member)
        .service(get_member)
        .service(update_member)
        .service(transfer_member)
        .service(change_member_status)
        .service(issue_wechat_bind_code)
        .service(issue_login_code)
        .service(reset_member_wechat)
        .service(list_org_roles)
        .service(grant_org_role)
        .service(revoke_org_role);
}
