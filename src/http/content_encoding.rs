//! Request bodies a phone compressed: `Content-Encoding: gzip` is decoded as the body streams
//! in, with actix's own decoder ([`Decompress`]); any other coding is refused with 415
//! `unsupported_content_encoding`, since the body could not be read.
//!
//! The body readers (the JSON extractor through [`super::json::read_body_limited`], the
//! member import) call [`decoded`] with their limit, which then holds twice: on the bytes
//! that arrive (checked here) and on the decoded bytes (checked by the reader, as for a
//! plain body). A gzip bomb is handed to the decoder in small pieces, so no single step
//! inflates more than about a megabyte before the reader stops it with 413
//! `payload_too_large`. Media uploads take no coding at all ([`require_identity`]): the
//! files are compressed already.
//!
//! Actix's `web::Json` and `web::Bytes` decode on their own; [`super::ApiJson`] reads the
//! raw payload to enforce its limits, so it decodes here.

use actix_web::HttpRequest;
use actix_web::dev::{Decompress, Payload};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_ENCODING, ContentEncoding};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::{ApiError, ErrorCode};

/// Bytes handed to the gzip decoder at a time. Deflate inflates at most about 1:1032, so
/// one step yields at most about 1 MiB whatever the body holds.
const PIECE: usize = 1024;

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// As it is (no header, or `identity`).
    Identity,
    /// `gzip` (or its old alias `x-gzip`).
    Gzip,
}

/// The coding of the request's body: 415 `unsupported_content_encoding` for any coding but
/// `gzip` and `identity`, or for more than one `gzip`.
pub fn coding_of(req: &HttpRequest) -> Result<Coding, ApiError> {
    let mut coding = Coding::Identity;
    for value in req.headers().get_all(CONTENT_ENCODING) {
        let text = value.to_str().map_err(|_| unsupported("?"))?;
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let gzip = token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip");
            if token.eq_ignore_ascii_case("identity") {
                continue;
            }
            if gzip && coding == Coding::Identity {
                coding = Coding::Gzip;
                continue;
            }
            return Err(unsupported(token));
        }
    }
    Ok(coding)
}

fn unsupported(token: &str) -> ApiError {
    let token: String = token.chars().take(40).collect();
    ApiError::new(ErrorCode::UnsupportedContentEncoding).with_detail(
        format!("不支持 Content-Encoding: {token}；请求体请不压缩发送，或使用 gzip"),
        format!("Content-Encoding {token} is not supported: send the body as it is, or gzip it"),
    )
}

/// 415 `unsupported_content_encoding` unless the body is sent as it is (media uploads).
pub fn require_identity(req: &HttpRequest) -> Result<(), ApiError> {
    match coding_of(req) {
        Ok(Coding::Identity) => Ok(()),
        _ => Err(
            ApiError::new(ErrorCode::UnsupportedContentEncoding).with_detail(
                "媒体文件请按原样上传，不要设置 Content-Encoding",
                "Upload media files as they are, without a Content-Encoding",
            ),
        ),
    }
}

/// The request body, decoded: the payload itself when sent as it is; for gzip, a stream of
/// the decoded bytes that fails with [`PayloadError::Overflow`] once more than `limit`
/// bytes arrived and with [`PayloadError::EncodingCorrupted`] when the data is not gzip.
pub fn decoded(req: &HttpRequest, payload: Payload, limit: usize) -> Result<Payload, ApiError> {
    if coding_of(req)? == Coding::Identity {
        return Ok(payload);
    }
    let mut arrived = 0usize;
    let pieces = payload.flat_map(move |chunk| {
        let pieces = match chunk {
            Ok(chunk) => {
                arrived = arrived.saturating_add(chunk.len());
                if arrived > limit {
                    vec![Err(PayloadError::Overflow)]
                } else {
                    split(chunk)
                }
            }
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    });
    let decoded = Decompress::new(pieces, ContentEncoding::Gzip).map(|r| {
        r.map_err(|e| match e {
            // The decoder reports bad data as an I/O error.
            PayloadError::Io(_) => PayloadError::EncodingCorrupted,
            other => other,
        })
    });
    Ok(Payload::Stream {
        payload: Box::pin(decoded),
    })
}

/// `chunk` in pieces of at most [`PIECE`] bytes (no copying).
fn split(mut chunk: Bytes) -> Vec<Result<Bytes, PayloadError>> {
    let mut out = Vec::with_capacity(chunk.len() / PIECE + 1);
    while chunk.len() > PIECE {
        out.push(Ok(chunk.split_to(PIECE)));
    }
    out.push(Ok(chunk));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn coding(values: &[&str]) -> Result<Coding, ErrorCode> {
        let mut req = TestRequest::default();
        for v in values {
            req = req.append_header((CONTENT_ENCODING, *v));
        }
        coding_of(&req.to_http_request()).map_err(|e| e.code)
    }

    #[test]
    fn only_gzip_and_identity_are_read() {
        assert_eq!(coding(&[]), Ok(Coding::Identity));
        assert_eq!(coding(&["identity"]), Ok(Coding::Identity));
        assert_eq!(coding(&["gzip"]), Ok(Coding::Gzip));
        assert_eq!(coding(&["GZip"]), Ok(Coding::Gzip));
        assert_eq!(coding(&["x-gzip"]), Ok(Coding::Gzip));
        assert_eq!(coding(&["identity, gzip"]), Ok(Coding::Gzip));
        for bad in [
            &["br"][..],
            &["deflate"],
            &["x-foo"],
            &["gzip, gzip"],
            &["gzip", "br"],
        ] {
            assert_eq!(
                coding(bad),
                Err(ErrorCode::UnsupportedContentEncoding),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pieces_cover_the_chunk_in_order() {
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let pieces: Vec<Bytes> = split(Bytes::from(data.clone()))
            .into_iter()
            .map(|p| p.unwrap())
            .collect();
        assert!(pieces.iter().all(|p| p.len() <= PIECE));
        assert_eq!(pieces.concat(), data);
    }
}
