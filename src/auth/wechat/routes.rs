//! HTTP routes of WeChat mini-program login.

use actix_web::{HttpRequest, HttpResponse, post, web};

use super::login;
use super::model::{
    UnbindWechatRequest, WechatBindRequest, WechatLoginRequest, WechatLoginResponse,
};
use super::unbind::{self, Proof};
use crate::auth::Caller;
use crate::auth::model::TokenPair;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::client_ip::client_ip;
use crate::state::AppState;

/// Log in with the `code` from `wx.login()`. A WeChat account already bound to a member
/// gets a session (`status: logged_in`); an unknown one gets a single-use `bind_token`
/// (`status: bind_required`) to send with the phone-number code to
/// `POST /v1/auth/wechat/bind`.
#[utoipa::path(tag = "auth", request_body = WechatLoginRequest, responses(
    (status = 200, body = WechatLoginResponse),
    (status = 400, body = Problem, description = "wechat_code_invalid: the code is invalid or already used"),
    (status = 403, body = Problem, description = "account_disabled / forbidden (WeChat blocks the user as high-risk)"),
    (status = 422, body = Problem, description = "validation_failed / invalid_body"),
    (status = 429, body = Problem, description = "rate_limited (per client IP, or WeChat's own limit); see Retry-After"),
    (status = 502, body = Problem, description = "upstream_failed: WeChat is busy, slow or answered unexpectedly"),
    (status = 503, body = Problem, description = "wechat_not_configured"),
))]
#[post("/auth/wechat")]
pub async fn login_with_wechat(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<WechatLoginRequest>,
) -> ApiResult<web::Json<WechatLoginResponse>> {
    let ip = client_ip(&req, &state.config.trusted_proxies);
    login::login(&state, ip, &body.into_inner().code)
        .await
        .map(web::Json)
}

/// Bind the WeChat account behind `bind_token` to the member a branch secretary added with
/// the phone number behind `phone_code` (from the mini-program's phone-number button), and
/// log in. The bind token is used up by success and by final refusals (404, 409, 403); after
/// a failure that may pass (400, 429, 502) it stays valid for another phone code.
#[utoipa::path(tag = "auth", request_body = WechatBindRequest, responses(
    (status = 200, body = TokenPair),
    (status = 400, body = Problem, description = "wechat_code_invalid: the phone code is invalid or already used"),
    (status = 401, body = Problem, description = "bind_token_invalid: unknown, expired or already used"),
    (status = 403, body = Problem, description = "account_disabled / wechat_password_required: the account holds a role or has a password, send it as `password` (the bind token stays valid for another phone code) / wrong_password / bind_code_invalid (the bind token is used up)"),
    (status = 404, body = Problem, description = "member_not_found: no member with this phone; ask your branch secretary"),
    (status = 409, body = Problem, description = "wechat_already_bound: this WeChat account is bound to another member; account_bound_to_other_wechat: the member is bound to another WeChat account (she unbinds it, or her secretary resets it)"),
    (status = 422, body = Problem, description = "validation_failed / invalid_body"),
    (status = 429, body = Problem, description = "rate_limited (WeChat's limit); see Retry-After"),
    (status = 502, body = Problem, description = "upstream_failed"),
    (status = 503, body = Problem, description = "wechat_not_configured"),
))]
#[post("/auth/wechat/bind")]
pub async fn bind_wechat(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<WechatBindRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let body = body.into_inner();
    login::bind(
        &state,
        ip,
        &body.bind_token,
        &body.phone_code,
        body.password,
        body.one_time_code.map(String::from),
    )
    .await
    .map(web::Json)
}

/// Unbind the caller's WeChat, with her password or from the bound WeChat itself (a fresh
/// `wx.login()` code), so that another WeChat can bind her account. Her other sessions end;
/// the change shows in `GET /v1/me/account-events` (`wechat_unbound`).
#[utoipa::path(tag = "auth", security(("bearer" = [])), request_body = UnbindWechatRequest, responses(
    (status = 204, description = "unbound"),
    (status = 400, body = Problem, description = "wechat_code_invalid"),
    (status = 401, body = Problem),
    (status = 403, body = Problem, description = "wrong_password / wechat_not_this_account: the code came from another WeChat"),
    (status = 409, body = Problem, description = "wechat_not_bound"),
    (status = 422, body = Problem, description = "unbind_proof_required / validation_failed / invalid_body"),
    (status = 429, body = Problem, description = "rate_limited"),
    (status = 502, body = Problem, description = "upstream_failed"),
    (status = 503, body = Problem, description = "wechat_not_configured (unbinding with a WeChat code)"),
))]
#[post("/me/wechat/unbind")]
pub async fn unbind_my_wechat(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<UnbindWechatRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let proof = match (body.password, body.wechat_code) {
        (Some(p), _) => Some(Proof::Password(p)),
        (None, Some(c)) => Some(Proof::WechatCode(String::from(c))),
        (None, None) => None,
    };
    unbind::by_owner(&state, &caller, proof).await?;
    Ok(HttpResponse::NoContent().finish())
}
