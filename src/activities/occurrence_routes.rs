//! HTTP routes of one occurrence: read it, move or cancel it alone, write its minutes,
//! download its record (the 三会一课 file).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::access;
use super::exceptions;
use super::minutes;
use super::model::{
    CancelRequest, MinutesRequest, MinutesView, MoveOccurrenceRequest, OccurrenceDetail,
    OccurrenceView,
};
use super::views;
use super::{record, record_pdf, record_xlsx};
use crate::audit::{self, Target};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem, Text};
use crate::http::ApiJson;
use crate::orgs::access::Right;
use crate::state::AppState;

/// An occurrence: time and place, agenda, minutes (with signed photo URLs for invitees and
/// organizers), guests, my invitation, status and leave; for organizers also the attendance
/// counts.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = OccurrenceDetail), (status = 304, description = "unchanged (If-None-Match)"), (status = 404, body = Problem),
))]
#[get("/occurrences/{id}")]
pub async fn get_occurrence(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut detail = state
        .db
        .read(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::View)?;
            views::detail(c, &ctx, caller.user_id)
        })
        .await?;
    if (detail.my.invited || detail.can_manage)
        && let Some(m) = detail.minutes.as_mut()
    {
        minutes::sign_photos(m, &state.media, state.clock.now());
    }
    crate::http::etag::json(&req, &detail)
}

/// Move one occurrence to another time (local, in the activity's zone) and optionally
/// another place. The series' later edits leave it where it was moved to.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MoveOccurrenceRequest, responses(
    (status = 200, body = OccurrenceView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "occurrence_held / occurrence_cancelled"), (status = 422, body = Problem),
))]
#[post("/occurrences/{id}/move")]
pub async fn move_occurrence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<MoveOccurrenceRequest>,
) -> ApiResult<web::Json<OccurrenceView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let moved = exceptions::move_one(c, now, &ctx, &req)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "occurrence_moved",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"from": ctx.occ.starts_at.and_utc(), "to": moved.starts_at.and_utc(), "place": moved.place}),
            )?;
            views::occurrence_view_of(c, &moved, &ctx.activity)
        })
        .await?;
    Ok(web::Json(view))
}

/// Cancel one occurrence (calendars receive it as cancelled).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CancelRequest, responses(
    (status = 200, body = OccurrenceView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "occurrence_held"),
))]
#[post("/occurrences/{id}/cancel")]
pub async fn cancel_occurrence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<CancelRequest>,
) -> ApiResult<web::Json<OccurrenceView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let view = state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            let cancelled = exceptions::cancel_one(c, now, &ctx, req.reason.as_deref())?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "occurrence_cancelled",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"reason": req.reason, "starts_at": cancelled.starts_at.and_utc()}),
            )?;
            views::occurrence_view_of(c, &cancelled, &ctx.activity)
        })
        .await?;
    Ok(web::Json(view))
}

/// Write the minutes of a held meeting: text and photo media ids (replaces earlier ones).
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path)), request_body = MinutesRequest, responses(
    (status = 200, body = MinutesView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "not started yet / occurrence_cancelled"), (status = 422, body = Problem),
))]
#[put("/occurrences/{id}/minutes")]
pub async fn put_minutes(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<MinutesRequest>,
) -> ApiResult<web::Json<MinutesView>> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let now = state.clock.now();
    let uses = state.media_uses;
    let mut view = state
        .db
        .write(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            // Only photos the organizer may see: an enumerated id of another branch's
            // upload would otherwise become visible through these minutes.
            let scope = crate::orgs::access::Scope::load(c, caller.user_id)?;
            let photos = &req.photo_media_ids;
            crate::media::access::require_usable(c, &scope, uses, "photo_media_ids", photos)?;
            let saved = minutes::save(c, now, &ctx, caller.user_id, &req)?;
            audit::record(
                c,
                now.naive_utc(),
                &caller.actor(),
                "minutes_saved",
                &Target::new("occurrence", id).in_org(ctx.org.id),
                serde_json::json!({"chars": saved.text.chars().count(), "photos": saved.photo_media_ids}),
            )?;
            Ok(saved)
        })
        .await?;
    minutes::sign_photos(&mut view, &state.media, now);
    Ok(web::Json(view))
}

/// The format of a meeting record.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// `xlsx` (default) or `pdf`.
    pub format: Option<String>,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The meeting's record, the sheet a branch files as its 三会一课 record: title, kind, time
/// and place (in the org's zone), agenda, attendance with status and who recorded it, leave
/// with reasons and decisions, proxies with reasons, counts, minutes and their photos.
/// Organizers only (as the attendance list). `format=pdf` needs a CJK font on the server.
#[utoipa::path(tag = "activities", security(("bearer" = [])), params(("id" = i64, Path), RecordQuery), responses(
    (status = 200, description = "the record: xlsx, or pdf with `format=pdf`", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("application/pdf"))),
    (status = 400, body = Problem, description = "invalid_query: format is neither xlsx nor pdf"),
    (status = 403, body = Problem),
    (status = 404, body = Problem, description = "not_found, or record_pdf_unavailable: the server has no font with Chinese glyphs"),
    (status = 503, body = Problem, description = "a minutes photo could not be read from the media store"),
))]
#[get("/occurrences/{id}/record")]
pub async fn get_meeting_record(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    q: web::Query<RecordQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let pdf = match q.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => false,
        "pdf" => true,
        _ => {
            return Err(
                ApiError::new(ErrorCode::InvalidQuery).with_field(FieldError::new(
                    "format",
                    "invalid_value",
                    Text::new("格式应为 xlsx 或 pdf", "format must be xlsx or pdf"),
                )),
            );
        }
    };
    let mut rec = state
        .db
        .read(move |c| {
            let ctx = access::occurrence(c, caller.user_id, id, Right::Operate)?;
            record::gather(c, &ctx)
        })
        .await?;
    let font_path = if pdf {
        let path = state.chart.font_path.clone();
        Some(path.ok_or_else(|| ApiError::new(ErrorCode::RecordPdfUnavailable))?)
    } else {
        None
    };
    for photo in &mut rec.photos {
        photo.bytes = read_object(&state, &photo.media.storage_key).await?;
    }
    let name = format!("{}{}会议记录", rec.starts_local.format("%Y%m%d"), rec.title);
    let body = tokio::task::spawn_blocking(move || match font_path {
        Some(path) => {
            let font = record_pdf::load_font(&path)
                .ok_or_else(|| ApiError::new(ErrorCode::RecordPdfUnavailable))?;
            record_pdf::render(&rec, &font)
        }
        None => record_xlsx::render(&rec),
    })
    .await
    .map_err(ApiError::internal)??;
    let (content_type, ext) = if pdf {
        ("application/pdf", "pdf")
    } else {
        (XLSX, "xlsx")
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"meeting-record-{id}.{ext}\"; filename*=UTF-8''{}.{ext}",
                percent(&name)
            ),
        ))
        .body(body))
}

/// The whole object `key` of the media store.
async fn read_object(state: &AppState, key: &str) -> ApiResult<Vec<u8>> {
    let unavailable = crate::media::storage::unavailable;
    let mut read = state
        .media
        .store
        .read(key, None)
        .await
        .map_err(unavailable)?;
    let mut bytes = Vec::new();
    while let Some(chunk) = read.stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|e| unavailable(e.into()))?);
    }
    Ok(bytes)
}

/// RFC 5987 percent-encoding of a file name (UTF-8; unreserved characters kept).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
