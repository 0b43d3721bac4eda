//! A member's WeChat subscription grants: `POST /v1/me/subscriptions` after
//! `wx.requestSubscribeMessage` (a retried report with the same `Idempotency-Key` counts
//! once), `GET /v1/me/subscriptions` to know whether to ask again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::grants;
use super::model::{SubscriptionGrantRequest, SubscriptionsView};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::state::AppState;

/// Reports one-time grants the member gave on the phone for a reminder's template; each
/// allows one message. Answers what is left of every reminder's grants.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("Idempotency-Key" = Option<String>, Header)), request_body = SubscriptionGrantRequest, responses(
    (status = 200, body = SubscriptionsView),
    (status = 409, body = Problem, description = "wechat_not_bound: the account has no WeChat bound"),
    (status = 422, body = Problem, description = "unknown_template, or `accepted` outside 1–10"),
))]
#[post("/me/subscriptions")]
pub async fn report_subscription(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    body: ApiJson<SubscriptionGrantRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let user_id = caller.user_id;
    let now = state.clock.now_naive();
    let cfg = state.config.push.clone();
    idempotency::write_once(&state, &req, user_id, key, move |c| {
        grants::add(
            c,
            &cfg,
            now,
            user_id,
            body.template_id.as_str(),
            body.accepted,
        )?;
        let view = grants::view(c, &cfg, user_id)?;
        Ok((StatusCode::OK, view))
    })
    .await
}

/// What is left of the member's grants, per configured reminder.
#[utoipa::path(tag = "push", security(("bearer" = [])), responses(
    (status = 200, body = SubscriptionsView),
))]
#[get("/me/subscriptions")]
pub async fn my_subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<SubscriptionsView>> {
    let cfg = state.config.push.clone();
    let view = state
        .db
        .read(move |c| grants::view(c, &cfg, caller.user_id))
        .await?;
    Ok(web::Json(view))
}
