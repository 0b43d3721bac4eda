//! HTTP routes of the organization tree and its settings.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::access::{Right, authorize};
use super::audit_log::{self, AuditEntry, AuditFilter};
use super::model::{
    CreateOrgRequest, MoveOrgRequest, OrgTreeNode, OrgView, Sector, UpdateOrgRequest,
};
use super::settings::{self, OrgSettingsView, PatchSettingsRequest};
use super::tree;
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::ApiJson;
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

/// Create an organization under a parent the caller administers.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), request_body = CreateOrgRequest, responses(
    (status = 201, body = OrgView),
    (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "a sibling has this name"),
    (status = 422, body = Problem, description = "org_hierarchy_invalid / validation_failed"),
))]
#[post("/orgs")]
pub async fn create_org(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateOrgRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    let now = state.clock.now_naive();
    let org = state
        .db
        .write(move |c| {
            let (parent, _) = authorize(c, caller.user_id, req.parent_id, Right::Administer)?;
            let org = tree::create(
                c,
                now,
                Some(&parent),
                &req.name,
                req.kind,
                req.sector.unwrap_or(Sector::Village),
            )?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "org_created",
                &Target::new("org", org.id).in_org(org.id),
                serde_json::json!({"parent_id": parent.id, "name": org.name, "kind": org.kind}),
            )?;
            OrgView::from_row(&org)
        })
        .await?;
    Ok(HttpResponse::Created().json(org))
}

/// An organization.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = OrgView), (status = 404, body = Problem),
))]
#[get("/orgs/{id}")]
pub async fn get_org(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<OrgView>> {
    let id = id.into_inner();
    let org = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::View)?;
            OrgView::from_row(&org)
        })
        .await?;
    Ok(web::Json(org))
}

/// Rename an organization or change its sector.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateOrgRequest, responses(
    (status = 200, body = OrgView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
))]
#[patch("/orgs/{id}")]
pub async fn update_org(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateOrgRequest>,
) -> ApiResult<web::Json<OrgView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now_naive();
    let org = state
        .db
        .write(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Administer)?;
            let updated = tree::update(c, now, &org, req.name.as_deref(), req.sector)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "org_updated",
                &Target::new("org", id).in_org(id),
                serde_json::json!({"from": org.name, "to": updated.name, "sector": updated.sector}),
            )?;
            OrgView::from_row(&updated)
        })
        .await?;
    // `GET /v1/me` shows the names of the caller's home org and role orgs.
    crate::auth::identity_cache::forget_orgs(&state.kv).await;
    Ok(web::Json(org))
}

/// Move an organization and its whole subtree under another parent. The caller must
/// administer both; an org cannot move under itself or a descendant (409 `org_cycle`).
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MoveOrgRequest, responses(
    (status = 200, body = OrgView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "org_cycle"), (status = 422, body = Problem),
))]
#[post("/orgs/{id}/move")]
pub async fn move_org(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<MoveOrgRequest>,
) -> ApiResult<web::Json<OrgView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now_naive();
    let org = state
        .db
        .write(move |c| {
            let (org, scope) = authorize(c, caller.user_id, id, Right::Administer)?;
            let parent = tree::find(c, req.new_parent_id)?;
            scope.check(&parent.path, Right::Administer)?;
            let moved = tree::move_subtree(c, now, &org, &parent)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "org_moved",
                &Target::new("org", id).in_org(id),
                serde_json::json!({"from_parent_id": org.parent_id, "to_parent_id": parent.id}),
            )?;
            OrgView::from_row(&moved)
        })
        .await?;
    crate::auth::identity_cache::forget_orgs(&state.kv).await;
    Ok(web::Json(org))
}

/// Direct children of an organization.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<OrgView>), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/children")]
pub async fn list_org_children(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<OrgView>>> {
    let id = id.into_inner();
    let children = state
        .db
        .read(move |c| {
            authorize(c, caller.user_id, id, Right::Operate)?;
            tree::children(c, id)?
                .iter()
                .map(OrgView::from_row)
                .collect()
        })
        .await?;
    Ok(web::Json(children))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TreeParams {
    /// Levels below the org to include (1–8, default 2).
    pub depth: Option<i32>,
}

/// An organization with its descendants, nested.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path), TreeParams), responses(
    (status = 200, body = OrgTreeNode), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/tree")]
pub async fn get_org_tree(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<TreeParams>,
) -> ApiResult<web::Json<OrgTreeNode>> {
    let id = id.into_inner();
    let depth = q.depth.unwrap_or(2);
    if !(1..=8).contains(&depth) {
        return Err(ApiError::new(crate::error::ErrorCode::InvalidQuery)
            .with_detail("depth 应在 1 到 8 之间", "depth must be between 1 and 8"));
    }
    let node = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Operate)?;
            let rows = tree::subtree(c, &org, depth)?;
            tree::nest(org.id, &rows)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(web::Json(node))
}

/// Effective settings of an organization, each with where it comes from.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = OrgSettingsView), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/settings")]
pub async fn get_org_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<OrgSettingsView>> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Operate)?;
            settings::effective(c, &org)
        })
        .await?;
    Ok(web::Json(view))
}

/// Override settings on this organization (inherited by its subtree); `null` removes an
/// override.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PatchSettingsRequest, responses(
    (status = 200, body = OrgSettingsView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[patch("/orgs/{id}/settings")]
pub async fn update_org_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<PatchSettingsRequest>,
) -> ApiResult<web::Json<OrgSettingsView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now_naive();
    let view = state
        .db
        .write(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Administer)?;
            let changes = settings::patch(c, now, &org, caller.user_id, &req)?;
            audit::record(
                c,
                now,
                &caller.actor(),
                "org_settings_changed",
                &Target::new("org", id).in_org(id),
                serde_json::json!({"changes": changes}),
            )?;
            settings::effective(c, &org)
        })
        .await?;
    Ok(web::Json(view))
}

/// The audit log of this org's subtree, newest first: who did what to which object. For
/// secretaries, deputy secretaries and administrators.
#[utoipa::path(tag = "orgs", security(("bearer" = [])), params(("id" = i64, Path), AuditFilter, PageParams), responses(
    (status = 200, body = Page<AuditEntry>), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/orgs/{id}/audit")]
pub async fn list_org_audit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    filter: web::Query<AuditFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<AuditEntry>>> {
    let id = id.into_inner();
    let (filter, page) = (filter.into_inner(), page.into_inner());
    let entries = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller.user_id, id, Right::Administer)?;
            audit_log::list(c, &org, &filter, &page)
        })
        .await?;
    Ok(web::Json(entries))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_org)
        .service(list_org_audit)
        .service(get_org)
        .service(update_org)
        .service(move_org)
        .service(list_org_children)
        .service(get_org_tree)
        .service(get_org_settings)
        .service(update_org_settings);
}
