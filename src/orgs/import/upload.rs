//! Reading the uploaded file: `multipart/form-data` (what `wx.uploadFile` sends) or a raw
//! `text/csv` body, either possibly gzip-compressed (`Content-Encoding: gzip`), streamed
//! with a byte limit far above the JSON one. A body that declares or reaches more than the
//! limit, as sent or as decoded, is refused with 413 as soon as that is known.

use actix_multipart::Multipart;
use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures_util::{StreamExt, TryStreamExt};

use crate::error::{ApiError, ErrorCode, Text};
use crate::http::json::{read_body_limited, too_large};

/// Largest import body: 20 MiB (some 300,000 rows of a member list).
pub const IMPORT_BODY_LIMIT: usize = 20 * 1024 * 1024;

/// The uploaded bytes, the charset declared for them and the file name, if any.
#[derive(Debug)]
pub struct Upload {
    pub bytes: Vec<u8>,
    pub charset: Option<String>,
    pub file_name: Option<String>,
}

/// Raw body types read as the CSV itself. Windows labels `.csv` files
/// `application/vnd.ms-excel`; some clients send `application/octet-stream`.
const RAW_TYPES: [&str; 5] = [
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
];

/// Reads the file from the request.
pub async fn read(req: &HttpRequest, payload: Payload, limit: usize) -> Result<Upload, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "multipart/form-data" {
        return read_multipart(req, payload, limit).await;
    }
    if RAW_TYPES.contains(&essence.as_str()) {
        let mut payload = payload;
        let bytes = read_body_limited(req, &mut payload, limit)
            .await
            .map_err(|e| match e.code {
                ErrorCode::MalformedJson => unreadable(e),
                _ => e,
            })?;
        return Ok(Upload {
            bytes,
            charset: charset_of(content_type),
            file_name: None,
        });
    }
    Err(ApiError::new(ErrorCode::UnsupportedMediaType).with_detail(
        "请以 multipart/form-data（文件）或 text/csv 上传",
        "Upload the file as multipart/form-data or send it as text/csv",
    ))
}

/// The `charset` parameter of a content type.
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn malformed(cause: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_field(
        "file",
        "malformed_multipart",
        Text::new(
            "上传内容不是合法的 multipart/form-data",
            "The upload is not valid multipart/form-data",
        ),
    )
    .with_cause(anyhow::anyhow!("multipart: {cause}"))
}

/// A raw body that could not be read whole (corrupt gzip, a broken transfer).
fn unreadable(cause: ApiError) -> ApiError {
    ApiError::invalid_field(
        "file",
        "unreadable",
        Text::new(
            "上传的文件无法读取（压缩数据损坏或传输中断）",
            "The uploaded file could not be read (corrupt compression or a broken transfer)",
        ),
    )
    .with_cause(anyhow::anyhow!("{cause:?}"))
}

fn missing_file() -> ApiError {
    ApiError::invalid_field(
        "file",
        "required",
        Text::new("没有收到文件", "No file was uploaded"),
    )
}

/// The first part with a file name (or, failing that, the part named `file`). Every byte
/// of the request counts against `limit`, so a huge non-file part is refused too.
async fn read_multipart(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<Upload, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let payload = crate::http::content_encoding::decoded(req, payload, limit)?;
    let mut seen = 0usize;
    let counted = payload.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > limit {
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    });
    let mut parts = Multipart::new(req.headers(), counted);
    let overflow_or = |e: actix_multipart::MultipartError| match e {
        actix_multipart::MultipartError::Payload(PayloadError::Overflow) => too_large(limit),
        other => malformed(other),
    };
    while let Some(mut field) = parts.try_next().await.map_err(overflow_or)? {
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let is_file = file_name.is_some() || field.name() == Some("file");
        let charset = field
            .content_type()
            .and_then(|m| m.get_param("charset"))
            .map(|c| c.as_str().to_string());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(overflow_or)? {
            if is_file {
                bytes.extend_from_slice(&chunk);
            }
        }
        if is_file {
            return Ok(Upload {
                bytes,
                charset,
                file_name,
            });
        }
    }
    Err(missing_file())
}

#[cfg(test)]
mod tests {
    use super::charset_of;

    #[test]
    fn reads_the_declared_charset() {
        assert_eq!(charset_of("text/csv; charset=GBK").as_deref(), Some("GBK"));
        assert_eq!(
            charset_of("text/csv; charset=\"utf-8\"").as_deref(),
            Some("utf-8")
        );
        assert_eq!(charset_of("text/csv"), None);
    }
}
