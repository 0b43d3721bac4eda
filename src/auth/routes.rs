//! HTTP routes of accounts and sessions.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};

use super::account;
use super::account_events::{self, AccountEvent};
use super::caller::{Caller, UncheckedCaller};
use super::identity_cache;
use super::login;
use super::model::{
    ChangePasswordRequest, LoginRequest, MeView, PasswordResetRequest, RefreshRequest, TokenPair,
};
use super::password_reset;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::client_ip::client_ip;
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

/// Log in with phone number and password.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, description = "invalid_credentials"),
    (status = 403, body = Problem, description = "account_disabled"),
    (status = 422, body = Problem, description = "validation_failed / invalid_body"),
    (status = 429, body = Problem, description = "rate_limited"),
))]
#[post("/auth/login")]
pub async fn login_with_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let body = body.into_inner();
    let ip = client_ip(&req, &state.config.trusted_proxies);
    login::with_password(&state, ip, &body.phone, body.password)
        .await
        .map(web::Json)
}

/// Set a password with the one-time login code a branch secretary issued
/// (`POST /v1/members/{user_id}/login-code`): for a member who never had one, forgot it, or
/// lost her WeChat. Uses the code up, ends every session of the account and logs this
/// phone in. Rate-limited like login.
#[utoipa::path(tag = "auth", request_body = PasswordResetRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, description = "login_code_invalid: wrong phone or code, or the code expired or was used"),
    (status = 422, body = Problem, description = "validation_failed (phone, new_password) / invalid_body"),
    (status = 429, body = Problem, description = "rate_limited"),
))]
#[post("/auth/password-reset")]
pub async fn reset_password_with_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<PasswordResetRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let body = body.into_inner();
    let ip = client_ip(&req, &state.config.trusted_proxies);
    password_reset::with_login_code(&state, ip, &body.phone, &body.code, body.new_password)
        .await
        .map(web::Json)
}

/// Exchange a refresh token for a new pair (rotation). A replay within the grace window
/// returns the same pair; a later replay revokes the session.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, description = "refresh_token_invalid / refresh_token_reused"),
    (status = 429, body = Problem, description = "rate_limited"),
))]
#[post("/auth/refresh")]
pub async fn refresh_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let ip = client_ip(&req, &state.config.trusted_proxies);
    login::refresh(&state, ip, body.into_inner().refresh_token.into_string())
        .await
        .map(web::Json)
}

/// Log out: revokes this session's refresh tokens and access tokens.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "logged out"),
    (status = 401, body = Problem),
))]
#[post("/auth/logout")]
pub async fn logout_session(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    account::logout(&state, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account, home org and roles. Sends an `ETag`; `If-None-Match` gives 304.
///
/// Answered from a cached snapshot that every change to the account, its membership, its
/// roles or an org's name invalidates before that change's response is sent, so it is never
/// older than a write that has returned.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MeView),
    (status = 304, description = "unchanged since the ETag sent in If-None-Match"),
    (status = 401, body = Problem),
))]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: UncheckedCaller,
) -> ApiResult<HttpResponse> {
    let me = identity_cache::me(&state, caller).await?;
    Ok(crate::http::etag::rendered(&req, &me.tag, me.body))
}

/// What happened to the caller's own account, newest first: a phone number changed by a
/// secretary (which also ended every session and removed the WeChat binding), details
/// edited, WeChat bound, password changed, logins.
#[utoipa::path(tag = "auth", security(("bearer" = [])), params(PageParams), responses(
    (status = 200, body = Page<AccountEvent>),
    (status = 400, body = Problem, description = "invalid_query: a bad limit or cursor"),
    (status = 401, body = Problem),
))]
#[get("/me/account-events")]
pub async fn list_my_account_events(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<AccountEvent>>> {
    let (user_id, page) = (caller.user_id, page.into_inner());
    let events = state
        .db
        .read(move |c| account_events::list(c, user_id, &page))
        .await?;
    Ok(web::Json(events))
}

/// Change (or first set) the caller's password. Revokes every session of the account and
/// returns a fresh pair for this phone.
#[utoipa::path(tag = "auth", security(("bearer" = [])), request_body = ChangePasswordRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem),
    (status = 403, body = Problem, description = "wrong_password"),
    (status = 422, body = Problem),
))]
#[put("/me/password")]
pub async fn change_my_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<ChangePasswordRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let body = body.into_inner();
    account::change_password(&state, &caller, body.current_password, body.new_password)
        .await
        .map(web::Json)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(login_with_password)
        .service(reset_password_with_code)
        .service(refresh_session)
        .service(logout_session)
        .service(get_me)
        .service(list_my_account_events)
        .service(change_my_password);
}
