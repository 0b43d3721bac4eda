//! `ETag` / `If-None-Match` for reads that phones repeat: the tag is a hash of the body, so
//! it changes exactly when the content does, and an unchanged list costs the phone a 304
//! instead of the whole payload.

use actix_web::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// The strong entity tag of a body.
pub fn tag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// Whether `If-None-Match` on the request matches `tag` (weak comparison, `*` matches).
pub fn matches(req: &HttpRequest, tag: &str) -> bool {
    let bare = tag.trim_start_matches("W/");
    req.headers()
        .get_all(IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == bare)
}

/// Serializes `body` as JSON with an `ETag`; answers 304 (no body) when the client has it.
/// `Cache-Control: private, no-cache` makes clients revalidate every time.
pub fn json<T: Serialize>(req: &HttpRequest, body: &T) -> ApiResult<HttpResponse> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let tag = tag_of(&bytes);
    Ok(rendered(req, &tag, bytes))
}

/// [`json`] for a body serialized earlier (a cached one) whose tag is [`tag_of`] its bytes.
pub fn rendered(req: &HttpRequest, tag: &str, body: impl Into<Bytes>) -> HttpResponse {
    let not_modified = matches(req, tag);
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((ETAG, tag.to_string()))
        .insert_header((CACHE_CONTROL, "private, no-cache"));
    if not_modified {
        return res.finish();
    }
    res.content_type("application/json").body(body.into())
}
