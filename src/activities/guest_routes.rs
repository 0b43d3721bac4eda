//! HTTP routes of an occurrence's guests: an organizer records and removes them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, post, web};

use super::access;
use super::guests::{self, GuestRequest, GuestView};
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::idempotency::{self, IdempotencyKey};
use crate::orgs::access::Right;
use crate::state::AppState;

/// Record a guest (not an invitee: a township cadre at a village meeting) by name and org
/// (`org_id` or `org_name`). Organizers only. The same name and org again answers the guest
/// already recorded (200). Guests are listed with the attendance and the occurrence, and
/// never counted in attendance figures or statistics.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = GuestRequest, responses(
    (status = 201, body = GuestView), (status = 200, body = GuestView, description = "recorded before"),
    (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "occurrence_cancelled / too many guests"), (status = 422, body = Problem),
))]
#[post("/occurrences/{id}/guests")]
pub async fn add_guest(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: ApiJson<GuestRequest>,
) -> ApiResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let user_id = caller.user_id;
    let now = state.clock.now();
    idempotency::write_once(&state, &req, user_id, key, move |c| {
        let ctx = access::occurrence(c, user_id, id, Right::Operate)?;
        let (view, created) = guests::add(c, now, &ctx, user_id, &body)?;
        let status = if created {
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "guest_added",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"guest_id": view.id, "name": view.name, "org_id": view.org_id, "org_name": view.org_name}),
            )?;
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, view))
    })
    .await
}

/// Remove a guest. Organizers only; removing one already removed answers 204 again.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), ("guest_id" = i64, Path)), responses(
    (status = 204, description = "removed (or already gone)"), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/occurrences/{id}/guests/{guest_id}")]
pub async fn remove_guest(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, guest_id) = path.into_inner();
    let now = state.clock.now();
    state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            if let Some(gone) = guests::remove(c, &ctx, guest_id)? {
                audit::record(
                    c,
                    now.naive_utc(),
                    &caller.actor(),
                    "guest_removed",
                    &Target::new("occurrence", id).in_org(ctx.org.id),
                    serde_json::json!({"guest_id": gone.id, "name": gone.name}),
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
