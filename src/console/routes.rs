//! `GET /console/` (the page) and `GET /console/assets/<hash>/<file>` (its files).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use super::Assets;
use crate::error::{ApiError, ErrorCode};

/// Only this origin's scripts, styles and connections; images and media also from the
/// `blob:` URLs the console makes of authorized downloads, and QR codes as `data:` images.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(to_page))
        .route("/console/", web::get().to(page))
        .route("/console/assets/{hash}/{file:.*}", web::get().to(file));
}

async fn to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

async fn page(assets: web::Data<Assets>) -> Result<HttpResponse, ApiError> {
    let index = assets
        .index()
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(index))
}

async fn file(
    assets: web::Data<Assets>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (hash, name) = path.into_inner();
    let found = assets
        .file(&hash, &name)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let cache = if assets.immutable() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(found.content_type),
        ))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(found.body.into_owned()))
}
