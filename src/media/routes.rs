//! HTTP routes of media: upload, metadata with a fresh signed URL, signed playback, and
//! lasting signed images (course covers). Every `GET` also answers `HEAD` (see
//! [`crate::http::head`]).

use actix_web::http::header::{CACHE_CONTROL, HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::model::{ImageQuery, MediaKind, MediaView, SignedQuery, UploadForm, UploadQuery};
use super::{access, form, records, serve, upload};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Upload a media file (video, audio, image, PDF) as `multipart/form-data` — what
/// `wx.uploadFile` sends — or as the raw body. The type is decided by the content, not the
/// name or the declared type; each kind has its own size limit. The same content uploaded
/// again is stored once: the answer is then 200 with the existing media. The caller must
/// hold a role (organizers, secretaries, administrators).
#[utoipa::path(tag = "media", security(("bearer" = [])), params(UploadQuery),
    request_body(description = "the file: one file part in a multipart form, or the raw body", content(
        (UploadForm = "multipart/form-data"),
        ("application/octet-stream"),
    )),
    responses(
        (status = 201, body = MediaView, description = "stored"),
        (status = 200, body = MediaView, description = "this content was uploaded before: the existing media"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "the caller holds no role"),
        (status = 413, body = Problem, description = "payload_too_large: over the kind's limit (nothing kept)"),
        (status = 415, body = Problem, description = "unsupported_media_type: the content is not an accepted type"),
        (status = 400, body = Problem, description = "malformed_multipart"),
        (status = 422, body = Problem, description = "validation_failed: a bad or unknown form field"),
    ))]
#[post("/media")]
pub async fn upload_media(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id;
    state
        .db
        .read(move |c| access::require_operator(c, user_id).map(drop))
        .await?;
    let (received, meta) = form::receive(&state, &req, payload, query.into_inner()).await?;
    let saved = upload::save(&state, &caller, received, meta).await?;
    let view = super::view(&state, &saved.media)?;
    Ok(if saved.created {
        HttpResponse::Created()
            .insert_header((LOCATION, format!("/v1/media/{}", view.id)))
            .json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// A media file's metadata with a fresh signed URL, for the organizers of an org it was
/// uploaded for and for whoever may see something that uses it (a course's lesson or
/// cover, a meeting's minutes). Anyone else gets 404.
#[utoipa::path(tag = "media", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = MediaView),
    (status = 401, body = Problem),
    (status = 404, body = Problem, description = "no such media, or none the caller may see"),
))]
#[get("/media/{id}")]
pub async fn get_media(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<web::Json<MediaView>> {
    let (user_id, id) = (caller.user_id, id.into_inner());
    let uses = state.media_uses;
    let media = state
        .db
        .read(move |c| {
            let scope = crate::orgs::access::Scope::load(c, user_id)?;
            access::require_visible(c, &scope, uses, id)?;
            records::find(c, id)
        })
        .await?;
    Ok(web::Json(super::view(&state, &media)?))
}

/// Play or download a media file through its signed URL (`url` of a media or lesson): no
/// `Authorization` header, since a mini-program `<video>` cannot send one. Single `Range`
/// requests give 206; `ETag` is the SHA-256; never compressed. `HEAD` (a player's probe)
/// answers the same status and headers, `Content-Length` included, without the body.
#[utoipa::path(tag = "media", params(("id" = i64, Path), SignedQuery), responses(
    (status = 200, description = "the whole content, typed by what it is", content(("video/mp4"), ("audio/mpeg"), ("audio/mp4"), ("audio/wav"), ("audio/ogg"), ("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))),
    (status = 206, description = "the requested range, with Content-Range", content(("video/mp4"), ("audio/mpeg"), ("audio/mp4"), ("audio/wav"), ("audio/ogg"), ("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))),
    (status = 304, description = "If-None-Match matched the ETag"),
    (status = 403, body = Problem, description = "media_url_invalid / media_url_expired"),
    (status = 404, body = Problem),
    (status = 416, body = Problem, description = "range_not_satisfiable, with Content-Range: bytes */size"),
))]
#[get("/media/{id}/content")]
pub async fn play_media(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    query: web::Query<SignedQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now().timestamp();
    state
        .media
        .signer
        .verify(id, query.exp.as_deref(), query.sig.as_deref(), now)?;
    let media = state.db.read(move |c| records::find(c, id)).await?;
    serve::respond(&state.media.store, &media, &req).await
}

/// Show an image (a course cover) through its lasting signed URL (`cover_url` of a course):
/// no `Authorization` header and no expiry, so the URL — and every list that shows it —
/// stays the same, and the picture is cached for good (`Cache-Control: public, immutable`;
/// the content of a media id never changes). Only images are served this way.
#[utoipa::path(tag = "media", params(("id" = i64, Path), ImageQuery), responses(
    (status = 200, description = "the image", content(("image/jpeg"), ("image/png"), ("image/webp"))),
    (status = 206, description = "the requested range, with Content-Range", content(("image/jpeg"), ("image/png"), ("image/webp"))),
    (status = 304, description = "If-None-Match matched the ETag"),
    (status = 403, body = Problem, description = "media_url_invalid"),
    (status = 404, body = Problem, description = "no such media, or it is not an image"),
    (status = 416, body = Problem, description = "range_not_satisfiable, with Content-Range: bytes */size"),
))]
#[get("/media/{id}/image")]
pub async fn get_media_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    query: web::Query<ImageQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state.media.images.verify(id, query.sig.as_deref())?;
    let media = state.db.read(move |c| records::find(c, id)).await?;
    if media.kind()? != MediaKind::Image {
        return Err(ApiError::not_found());
    }
    let mut res = serve::respond(&state.media.store, &media, &req).await?;
    res.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static(serve::LASTING_CACHE_CONTROL),
    );
    Ok(res)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_media)
        .service(get_media)
        .service(play_media)
        .service(get_media_image);
}
