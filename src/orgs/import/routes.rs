//! `POST /v1/orgs/{id}/members/import`: extract, authorize, hand over, respond.

use actix_web::{HttpRequest, post, web};

use super::model::{ImportParams, ImportReport, ImportUpload};
use super::pipeline;
use super::report;
use super::upload::{self, IMPORT_BODY_LIMIT};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::BodyLimit;
use crate::http::lang::Lang;
use crate::orgs::access::{Right, authorize};
use crate::orgs::settings;
use crate::state::AppState;

/// Import the member list a branch secretary exports from Excel (CSV: UTF-8 with or
/// without BOM, GBK/GB18030, or UTF-16 with BOM; Chinese or English headers such as
/// 姓名/name, 手机号/phone, 性别/gender, 出生日期/birth_date, 入党日期/joined_party_on,
/// 类别/category, 所在支部/org, 是否干部/cadre). Name and phone columns are required.
///
/// Each data row is `created`, `updated` (details changed, or moved to another branch or
/// party group of this subtree — a transfer that keeps history), `unchanged`, or
/// `rejected` with its line and reason; one bad row never loses the good ones. An empty
/// 所在支部 means this org. An empty cell leaves the stored value as it is. Re-importing
/// the same file changes nothing. With `dry_run=true` nothing is written and the report is
/// the same. Bodies up to 20 MiB and 50,000 rows. Needs the right to administer the org.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(("id" = i64, Path), ImportParams),
    request_body(
        description = "The CSV as a multipart file part (as `wx.uploadFile` sends it) or as the raw body",
        content((ImportUpload = "multipart/form-data"), (String = "text/csv")),
    ),
    responses(
        (status = 200, body = ImportReport, description = "the per-row report"),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem, description = "payload_too_large: over 20 MiB"),
        (status = 415, body = Problem, description = "neither multipart/form-data nor text/csv"),
        (status = 422, body = Problem, description = "validation_failed: a required column is missing, the encoding is not recognized, or too many rows"),
    )
)]
#[post("/orgs/{id}/members/import")]
pub async fn import_members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    params: web::Query<ImportParams>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<web::Json<ImportReport>> {
    let (id, dry_run) = (id.into_inner(), params.dry_run);
    let now = state.clock.now();
    let caller_id = caller.user_id;
    // Authorize before reading up to 20 MiB.
    let today = state
        .db
        .read(move |c| {
            let (org, _) = authorize(c, caller_id, id, Right::Administer)?;
            settings::today(c, &org, now)
        })
        .await?;
    let limit = BodyLimit::of(&req, IMPORT_BODY_LIMIT);
    let upload = upload::read(&req, payload.into_inner(), limit).await?;
    let prepared = web::block(move || pipeline::prepare(upload, today))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("import task failed: {e}")))??;
    let (facts, results) = if dry_run {
        state
            .db
            .read(move |c| pipeline::dry_run(c, caller_id, id, now, prepared))
            .await?
    } else {
        let actor = caller.actor();
        state
            .db
            .write(move |c| pipeline::import(c, &actor, caller_id, id, now, prepared))
            .await?
    };
    if !dry_run {
        let touched: Vec<i64> = results.iter().filter_map(|r| r.user_id).collect();
        crate::auth::identity_cache::forget(&state.kv, &touched).await;
    }
    let lang = Lang::from_headers(req.headers());
    Ok(web::Json(report::render(facts, dry_run, results, lang)))
}
