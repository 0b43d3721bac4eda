//! Push routes: an org's channels and their schedules, test messages, the deliveries with
//! their attempts, and retrying a dead one. All for the org's organizers (`operate`); every
//! change audited.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::address;
use super::channels;
use super::digests;
use super::model::{
    ChannelCreated, ChannelKind, ChannelView, CreateChannelRequest, CreateScheduleRequest,
    DeliveryStatus, DeliveryView, Purpose, ScheduleView, UpdateChannelRequest,
};
use super::outbox::{self, NewDelivery};
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem, Text};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::http::pagination::{Page, PageParams};
use crate::orgs::access::{Right, authorize};
use crate::state::AppState;

/// Checks a webhook URL where it resolves now (422 on `url` when refused).
async fn check_url(state: &AppState, url: Option<&str>) -> ApiResult<()> {
    let Some(url) = url else { return Ok(()) };
    match address::check(url, &state.config.push.allow_nets).await {
        Ok(_) => Ok(()),
        Err(r) => {
            let (zh, en) = r.message();
            Err(
                ApiError::new(ErrorCode::ValidationFailed).with_field(FieldError::new(
                    "url",
                    "not_allowed",
                    Text::new(zh, en),
                )),
            )
        }
    }
}

/// The channels of an org.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<ChannelView>), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/push-channels")]
pub async fn list_channels(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<ChannelView>>> {
    let id = id.into_inner();
    let list = state
        .db
        .read(move |c| {
            authorize(c, caller.user_id, id, Right::Operate)?;
            channels::list(c, id)
        })
        .await?;
    Ok(web::Json(list))
}

/// Adds a channel to an org: a WeCom robot (`key`), a DingTalk robot (`access_token`,
/// `secret`) or a webhook (`url`, optional `secret`). Secrets are sealed and never shown
/// again; a generated webhook secret is in this answer only.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = CreateChannelRequest, responses(
    (status = 201, body = ChannelCreated), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "conflict: the org has the most channels allowed"),
    (status = 422, body = Problem, description = "validation_failed: a missing or stray credential, or a webhook URL that is not public HTTPS"),
))]
#[post("/orgs/{id}/push-channels")]
pub async fn create_channel(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<CreateChannelRequest>,
) -> ApiResult<HttpResponse> {
    let (org_id, body) = (id.into_inner(), body.into_inner());
    let (creds, generated) = channels::credentials_for(
        body.kind,
        body.key.as_deref(),
        body.access_token.as_deref(),
        body.secret.as_deref(),
        body.url.as_deref(),
    )?;
    check_url(&state, body.url.as_deref()).await?;
    let now = state.clock.now_naive();
    let user_id = caller.user_id;
    let actor = caller.actor();
    let st = state.clone();
    idempotency::write_once(&state, &req, user_id, key, move |c| {
        authorize(c, user_id, org_id, Right::Operate)?;
        let ch = channels::create(c, now, &st.push.secrets, org_id, user_id, &body, &creds)?;
        audit::record(
            c,
            now,
            &actor,
            "push_channel_created",
            &Target::new("push_channel", ch.id).in_org(org_id),
            serde_json::json!({"kind": body.kind, "name": ch.name, "url": ch.url}),
        )?;
        let created = ChannelCreated {
            channel: channels::view(c, &ch)?,
            signing_secret: generated,
        };
        Ok((StatusCode::CREATED, created))
    })
    .await
}

/// A channel.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = ChannelView), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/push-channels/{id}")]
pub async fn get_channel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<ChannelView>> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |c| {
            let ch = channels::find(c, id)?;
            authorize(c, caller.user_id, ch.org_id, Right::Operate)?;
            channels::view(c, &ch)
        })
        .await?;
    Ok(web::Json(view))
}

/// Changes a channel: its name, alerts, credentials (all of its kind's together) or webhook
/// URL. New credentials or a new URL clear the broken mark.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateChannelRequest, responses(
    (status = 200, body = ChannelView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 422, body = Problem),
))]
#[patch("/push-channels/{id}")]
pub async fn update_channel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateChannelRequest>,
) -> ApiResult<web::Json<ChannelView>> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let ch = state
        .db
        .read(move |c| {
            let ch = channels::find(c, id)?;
            authorize(c, caller.user_id, ch.org_id, Right::Operate)?;
            Ok(ch)
        })
        .await?;
    let kind = ChannelKind::from_db(&ch.kind)?;
    let new_creds = body.key.is_some() || body.access_token.is_some() || body.secret.is_some();
    let creds = if new_creds {
        let url = if kind == ChannelKind::Webhook {
            Some(
                body.url
                    .as_deref()
                    .or(ch.url.as_deref())
                    .unwrap_or_default(),
            )
        } else {
            body.url.as_deref()
        };
        if kind == ChannelKind::Webhook && body.secret.is_none() {
            return Err(ApiError::invalid_field(
                "secret",
                "required",
                Text::new("更换凭据须填写 secret", "new credentials need secret"),
            ));
        }
        Some(
            channels::credentials_for(
                kind,
                body.key.as_deref(),
                body.access_token.as_deref(),
                body.secret.as_deref(),
                url,
            )?
            .0,
        )
    } else {
        None
    };
    if body.url.is_some() && kind != ChannelKind::Webhook {
        return Err(ApiError::invalid_field(
            "url",
            "not_allowed",
            Text::new("此类渠道不使用该字段", "not used by this kind of channel"),
        ));
    }
    check_url(&state, body.url.as_deref()).await?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let st = state.clone();
    let view = state
        .db
        .write(move |c| {
            let ch = channels::find(c, id)?;
            authorize(c, caller.user_id, ch.org_id, Right::Operate)?;
            let ch = channels::update(c, now, &st.push.secrets, &ch, &body, creds.as_ref())?;
            audit::record(
                c,
                now,
                &actor,
                "push_channel_updated",
                &Target::new("push_channel", ch.id).in_org(ch.org_id),
                serde_json::json!({
                    "name": body.name.as_ref().map(|n| n.as_str()),
                    "alerts": body.alerts,
                    "url": body.url.as_ref().map(|u| u.as_str()),
                    "credentials_replaced": creds.is_some(),
                }),
            )?;
            channels::view(c, &ch)
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a channel: it stops sending and its pending deliveries are cancelled.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/push-channels/{id}")]
pub async fn delete_channel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let actor = caller.actor();
    state
        .db
        .write(move |c| {
            let ch = channels::find(c, id)?;
            authorize(c, caller.user_id, ch.org_id, Right::Operate)?;
            channels::delete(c, now, &ch)?;
            audit::record(
                c,
                now,
                &actor,
                "push_channel_deleted",
                &Target::new("push_channel", ch.id).in_org(ch.org_id),
                serde_json::json!({"name": ch.name}),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a digest schedule to a channel: daily, weekly (a weekday) or monthly (a day), at a
/// local time in the org's zone. The digest covers the period just ended. Send an
/// `Idempotency-Key`: a retry returns the same schedule instead of adding another.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = CreateScheduleRequest, responses(
    (status = 201, body = ScheduleView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "conflict: the channel has the most schedules allowed"),
    (status = 422, body = Problem),
))]
#[post("/push-channels/{id}/schedules")]
pub async fn create_schedule(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<CreateScheduleRequest>,
) -> ApiResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let now = state.clock.now_naive();
    let actor = caller.actor();
    idempotency::write_once(&state, &req, caller.user_id, key, move |c| {
        let ch = channels::find(c, id)?;
        authorize(c, caller.user_id, ch.org_id, Right::Operate)?;
        let s = channels::add_schedule(c, now, &ch, &body)?;
        let view = channels::schedule_view(&s)?;
        audit::record(
            c,
            now,
            &actor,
            "push_schedule_created",
            &Target::new("push_channel", ch.id).in_org(ch.org_id),
            serde_json::json!({"schedule_id": s.id, "frequency": view.frequency, "weekday": view.weekday, "month_day": view.month_day, "time": view.time}),
        )?;
        Ok((StatusCode::CREATED, view))
    })
    .await
}

/// Removes a digest schedule.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/push-schedules/{id}")]
pub async fn delete_schedule(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let actor = caller.actor();
    state
        .db
        .write(move |c| {
            let (s, ch) = channels::find_schedule(c, id)?;
            authorize(c, caller.user_id, ch.org_id, Right::Operate)?;
            channels::delete_schedule(c, s.id)?;
            audit::record(
                c,
                now,
                &actor,
                "push_schedule_deleted",
                &Target::new("push_channel", ch.id).in_org(ch.org_id),
                serde_json::json!({"schedule_id": s.id}),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a test message through a channel now (the delivery is answered as written; watch
/// it in the deliveries list).
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), responses(
    (status = 202, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/push-channels/{id}/test")]
pub async fn test_channel(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let user_id = caller.user_id;
    let actor = caller.actor();
    let give_up = state.config.push.give_up_after;
    let reply = idempotency::write_once(&state, &req, user_id, key, move |c| {
        let ch = channels::find(c, id)?;
        let (org, _) = authorize(c, user_id, ch.org_id, Right::Operate)?;
        let zone = crate::orgs::settings::time_zone(c, &org)?;
        let kind = ChannelKind::from_db(&ch.kind)?;
        let dedup_key = format!("test:{}", uuid::Uuid::new_v4().simple());
        outbox::enqueue(
            c,
            now,
            give_up,
            NewDelivery {
                target: outbox::Target::Channel(ch.id),
                org_id: ch.org_id,
                purpose: Purpose::Test,
                dedup_key: dedup_key.clone(),
                parts: digests::test_parts(
                    kind,
                    &org.name,
                    &ch.name,
                    &digests::local_label(zone, now),
                ),
            },
        )?;
        audit::record(
            c,
            now,
            &actor,
            "push_channel_tested",
            &Target::new("push_channel", ch.id).in_org(ch.org_id),
            serde_json::json!({}),
        )?;
        let (d, ch) = outbox::find_by_key(c, &dedup_key)?;
        Ok((StatusCode::ACCEPTED, outbox::view(c, d, ch)?))
    })
    .await?;
    state.push.wake.notify_one();
    Ok(reply)
}

/// Which deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// Items per page (1–200, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The org's deliveries, newest first, each with its attempts and last error.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path), DeliveriesQuery), responses(
    (status = 200, body = Page<DeliveryView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<DeliveriesQuery>,
) -> ApiResult<web::Json<Page<DeliveryView>>> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let status = q.status;
    let list = state
        .db
        .read(move |c| {
            authorize(c, caller.user_id, id, Right::Operate)?;
            outbox::list(c, id, status, &page)
        })
        .await?;
    Ok(web::Json(list))
}

/// One delivery with its attempts and last error: what a client polls to follow a test
/// message or a retry until it is no longer `pending`.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/deliveries/{id}")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DeliveryView>> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |c| {
            let (d, ch) = outbox::find(c, id)?;
            authorize(c, caller.user_id, d.org_id, Right::Operate)?;
            outbox::view(c, d, ch)
        })
        .await?;
    Ok(web::Json(view))
}

/// Sends a dead delivery again, from its first unsent message.
#[utoipa::path(tag = "push", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "conflict: the delivery is not dead"),
))]
#[post("/deliveries/{id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DeliveryView>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let give_up = state.config.push.give_up_after;
    let view = state
        .db
        .write(move |c| {
            let (d, ch) = outbox::find(c, id)?;
            authorize(c, caller.user_id, d.org_id, Right::Operate)?;
            if ch.is_some_and(|ch| ch.deleted_at.is_some()) {
                return Err(ApiError::new(ErrorCode::Conflict)
                    .with_detail("推送渠道已删除", "the channel was deleted"));
            }
            outbox::retry(c, now, give_up, &d)?;
            audit::record(
                c,
                now,
                &actor,
                "push_delivery_retried",
                &Target::new("push_delivery", d.id).in_org(d.org_id),
                serde_json::json!({"channel_id": d.channel_id}),
            )?;
            let (d, ch) = outbox::find(c, id)?;
            outbox::view(c, d, ch)
        })
        .await?;
    state.push.wake.notify_one();
    Ok(web::Json(view))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_channels)
        .service(create_channel)
        .service(get_channel)
        .service(update_channel)
        .service(delete_channel)
        .service(create_schedule)
        .service(delete_schedule)
        .service(test_channel)
        .service(list_deliveries)
        .service(get_delivery)
        .service(retry_delivery)
        .service(super::subscription_routes::report_subscription)
        .service(super::subscription_routes::my_subscriptions);
}
