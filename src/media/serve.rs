//! Serving media bytes: single `Range` requests (resume after a dropped connection), a strong
//! `ETag` (the SHA-256), `If-None-Match` / `If-Range`, a long `Cache-Control` (content at a
//! key never changes), and `Content-Encoding: identity` so the app's compression middleware
//! leaves media alone (compressing video wastes the phone's CPU and breaks byte ranges).
//!
//! The body streams from the store; nothing is loaded whole. A `HEAD` probe (see
//! [`crate::http::head`]) gets the same headers and the store is not read.

use actix_web::body::{BodySize, SizedStream};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap,
    IF_NONE_MATCH, IF_RANGE, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{HttpRequest, HttpResponse};

use super::model::Media;
use super::storage::{MediaStore, unavailable};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Media never changes at its URL; a year is the conventional "forever".
pub const CACHE_CONTROL_VALUE: &str = "private, max-age=31536000, immutable";

/// For a lasting image URL (a course cover), which any cache on the way may keep as well.
pub const LASTING_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// What a `Range` header asks of an object of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable range: send the whole object (200).
    Whole,
    /// Bytes `start..=end` (206).
    Part { start: u64, end: u64 },
    /// A well-formed range that lies outside the object (416).
    Unsatisfiable,
}

/// Interprets a `Range` header for an object of `size` bytes. Only one range is served;
/// several ranges, other units or malformed values are ignored (the whole object is sent),
/// as RFC 9110 allows.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeAsk {
    let Some(value) = header else {
        return RangeAsk::Whole;
    };
    let Some(spec) = value
        .trim()
        .strip_prefix("bytes=")
        .map(str::trim)
        .filter(|s| !s.contains(','))
    else {
        return RangeAsk::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAsk::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if first.is_empty() {
        // bytes=-n: the last n bytes.
        return match number(last) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if size == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part {
                start: size - n.min(size),
                end: size - 1,
            },
            None => RangeAsk::Whole,
        };
    }
    let Some(start) = number(first) else {
        return RangeAsk::Whole;
    };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) if end >= start => Some(end),
            _ => return RangeAsk::Whole,
        }
    };
    if start >= size {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Part {
        start,
        end: end.map_or(size - 1, |e| e.min(size - 1)),
    }
}

/// Whether any entity tag in `header` equals `etag` (`*` matches; weak prefixes ignored).
fn tag_listed(headers: &HeaderMap, name: &actix_web::http::header::HeaderName, etag: &str) -> bool {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Builds the response for `media` from the store.
pub async fn respond(
    store: &MediaStore,
    media: &Media,
    req: &HttpRequest,
) -> ApiResult<HttpResponse> {
    let size = u64::try_from(media.size_bytes).map_err(ApiError::internal)?;
    let etag = media.etag();
    let headers = req.headers();
    let mut ask = parse_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), size);
    // If-Range: the range holds only for this exact content (dates cannot match a hash).
    if let Some(if_range) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok())
        && if_range.trim() != etag
    {
        ask = RangeAsk::Whole;
    }
    if ask == RangeAsk::Whole && tag_listed(headers, &IF_NONE_MATCH, &etag) {
        let mut res = HttpResponse::NotModified();
        common_headers(&mut res, &etag);
        return Ok(res.finish());
    }
    let range = match ask {
        RangeAsk::Unsatisfiable => {
            return Err(ApiError::new(ErrorCode::RangeNotSatisfiable)
                .with_header(CONTENT_RANGE, format!("bytes */{size}"))
                .with_header(ACCEPT_RANGES, "bytes"));
        }
        RangeAsk::Whole => None,
        RangeAsk::Part { start, end } => Some(start..end + 1),
    };
    // A HEAD probe gets the same headers without the store being read.
    let (span, stream) = if crate::http::head::is_head(req) {
        (range.clone().unwrap_or(0..size), None)
    } else {
        let read = store
            .read(&media.storage_key, range.clone())
            .await
            .map_err(|e| {
                unavailable(e.context(format!("reading media object {}", media.storage_key)))
            })?;
        (read.range, Some(read.stream))
    };
    let length = span.end.saturating_sub(span.start);
    let mut res = match range {
        Some(_) => {
            let mut res = HttpResponse::build(StatusCode::PARTIAL_CONTENT);
            res.insert_header((
                CONTENT_RANGE,
                format!("bytes {}-{}/{size}", span.start, span.end.saturating_sub(1)),
            ));
            res
        }
        None => HttpResponse::Ok(),
    };
    common_headers(&mut res, &etag);
    res.insert_header((CONTENT_TYPE, media.content_type.as_str()));
    Ok(match stream {
        Some(stream) => res.body(SizedStream::new(length, stream)),
        None => res.body(crate::http::head::Bodiless(BodySize::Sized(length))),
    })
}

fn common_headers(res: &mut actix_web::HttpResponseBuilder, etag: &str) {
    res.insert_header((ACCEPT_RANGES, "bytes"))
        .insert_header((ETAG, etag.to_string()))
        .insert_header((CACHE_CONTROL, CACHE_CONTROL_VALUE))
        .insert_header((CONTENT_ENCODING, "identity"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> RangeAsk {
        RangeAsk::Part { start, end }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(parse_range(Some("bytes=0-99"), 1000), part(0, 99));
        assert_eq!(parse_range(Some("bytes=500-"), 1000), part(500, 999));
        assert_eq!(parse_range(Some("bytes=-100"), 1000), part(900, 999));
        assert_eq!(parse_range(Some("bytes=-5000"), 1000), part(0, 999));
        assert_eq!(parse_range(Some("bytes=990-2000"), 1000), part(990, 999));
        assert_eq!(parse_range(Some("bytes=999-999"), 1000), part(999, 999));
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(
            parse_range(Some("bytes=1000-"), 1000),
            RangeAsk::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some("bytes=1000-1200"), 1000),
            RangeAsk::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 1000), RangeAsk::Unsatisfiable);
    }

    #[test]
    fn what_is_ignored() {
        for h in [
            None,
            Some("bytes=0-1,5-9"),
            Some("items=0-9"),
            Some("bytes=9-1"),
            Some("bytes=a-b"),
            Some("bytes=-"),
            Some("bytes=+1-2"),
            Some("bytes"),
        ] {
            assert_eq!(parse_range(h, 1000), RangeAsk::Whole, "{h:?}");
        }
    }
}
