//! The two shapes of an upload request, streamed into a [`Receiver`]:
//!
//! - `multipart/form-data` (what the mini-program's `wx.uploadFile` sends): exactly one file
//!   part (the part with a file name, or named `file`), plus optional text fields
//!   `duration_s` and `file_name`. Other fields are refused (422), as unknown JSON fields are.
//! - any other `Content-Type`: the body is the file itself; `duration_s` and `file_name`
//!   come from the query string.
//!
//! The declared type of either is ignored: the content decides (see `sniff`). Neither is
//! compressed: a `Content-Encoding` other than `identity` is refused (415), since media
//! files are compressed already.

use actix_multipart::{Field, Multipart};
use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::Payload;
use futures_util::StreamExt;

use super::model::UploadQuery;
use super::receive::{Received, Receiver};
use crate::error::{ApiError, ApiResult, ErrorCode, Text};
use crate::state::AppState;

/// Bytes of a multipart body that are not the file (boundaries, part headers, text fields)
/// at most, for the early size check from `Content-Length`.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Largest text field accepted.
const TEXT_FIELD_LIMIT: usize = 1024;
/// Longest file name kept.
const FILE_NAME_CHARS: usize = 200;

/// What came with the file.
#[derive(Debug, Default, Clone)]
pub struct UploadMeta {
    pub duration_s: Option<i32>,
    pub file_name: Option<String>,
}

/// Reads the upload in whichever shape it came.
pub async fn receive(
    state: &AppState,
    req: &HttpRequest,
    payload: Payload,
    query: UploadQuery,
) -> ApiResult<(Received, UploadMeta)> {
    crate::http::content_encoding::require_identity(req)?;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let dir = &state.media.staging_dir;
    let limits = state.config.media.limits;
    if multipart {
        let at_least = declared.map(|n| n.saturating_sub(MULTIPART_OVERHEAD));
        let receiver = Receiver::start(dir, limits, at_least).await?;
        return receive_multipart(req, payload, receiver).await;
    }
    let mut receiver = Receiver::start(dir, limits, declared).await?;
    let mut payload = payload;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| read_error(anyhow::anyhow!("{e}")))?;
        receiver.push(&chunk).await?;
    }
    let meta = UploadMeta {
        duration_s: check_duration(query.duration_s)?,
        file_name: clean_name(query.file_name.as_deref()),
    };
    Ok((receiver.finish().await?, meta))
}

async fn receive_multipart(
    req: &HttpRequest,
    payload: Payload,
    mut receiver: Receiver,
) -> ApiResult<(Received, UploadMeta)> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut meta = UploadMeta::default();
    let mut got_file = false;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| malformed(anyhow::anyhow!("{e}")))?;
        let name = field.name().unwrap_or("").to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        if file_name.is_some() || name == "file" {
            if got_file {
                return Err(field_error(
                    &name,
                    "too_many_files",
                    "每次只能上传一个文件",
                    "Send one file per upload",
                ));
            }
            got_file = true;
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| read_error(anyhow::anyhow!("{e}")))?;
                receiver.push(&chunk).await?;
            }
            if meta.file_name.is_none() {
                meta.file_name = clean_name(file_name.as_deref());
            }
            continue;
        }
        let value = text_value(&mut field, &name).await?;
        match name.as_str() {
            "duration_s" => {
                let parsed = value.trim().parse::<i32>().map_err(|_| {
                    field_error(
                        "duration_s",
                        "invalid_type",
                        "应为整数秒",
                        "Expected whole seconds",
                    )
                })?;
                meta.duration_s = check_duration(Some(parsed))?;
            }
            "file_name" => meta.file_name = clean_name(Some(&value)),
            _ => {
                return Err(field_error(
                    &name,
                    "unknown_field",
                    "不允许的字段",
                    "Unknown field",
                ));
            }
        }
    }
    if !got_file {
        return Err(field_error(
            "file",
            "required",
            "缺少文件",
            "The file part is missing",
        ));
    }
    Ok((receiver.finish().await?, meta))
}

async fn text_value(field: &mut Field, name: &str) -> ApiResult<String> {
    let bytes = match field.bytes(TEXT_FIELD_LIMIT).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return Err(malformed(anyhow::anyhow!("{e}"))),
        Err(_) => {
            return Err(field_error(
                name,
                "too_long",
                "字段过长",
                "The field is too long",
            ));
        }
    };
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        field_error(
            name,
            "invalid_value",
            "字段不是 UTF-8 文本",
            "Not UTF-8 text",
        )
    })
}

fn check_duration(value: Option<i32>) -> ApiResult<Option<i32>> {
    match value {
        Some(v) if !(1..=86_400).contains(&v) => Err(field_error(
            "duration_s",
            "out_of_range",
            "时长应在 1 到 86400 秒之间",
            "The duration must be 1 to 86400 seconds",
        )),
        other => Ok(other),
    }
}

/// The file name for display: its last path component, without control characters, cut to
/// a sane length.
fn clean_name(name: Option<&str>) -> Option<String> {
    let name = name?;
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(FILE_NAME_CHARS)
        .collect();
    Some(clean.trim().to_string()).filter(|s| !s.is_empty())
}

fn field_error(field: &str, code: &'static str, zh: &str, en: &str) -> ApiError {
    ApiError::invalid_field(field.to_string(), code, Text::new(zh, en))
}

fn malformed(cause: anyhow::Error) -> ApiError {
    ApiError::new(ErrorCode::MalformedMultipart).with_cause(cause)
}

fn read_error(cause: anyhow::Error) -> ApiError {
    ApiError::new(ErrorCode::MalformedMultipart)
        .with_detail(
            "上传中断，请重试",
            "The upload was interrupted; please retry",
        )
        .with_cause(cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(
            clean_name(Some("C:\\课件\\党课.mp3")).as_deref(),
            Some("党课.mp3")
        );
        assert_eq!(
            clean_name(Some("../../etc/passwd")).as_deref(),
            Some("passwd")
        );
        assert_eq!(clean_name(Some("a\u{0}b\n.mp4")).as_deref(), Some("ab.mp4"));
        assert_eq!(clean_name(Some("  ")), None);
        assert_eq!(clean_name(None), None);
    }

    #[test]
    fn durations_must_be_plausible() {
        assert!(check_duration(Some(0)).is_err());
        assert!(check_duration(Some(86_401)).is_err());
        assert_eq!(check_duration(Some(180)).ok().flatten(), Some(180));
        assert_eq!(check_duration(None).ok().flatten(), None);
    }

    #[test]
    fn errors_name_the_field() {
        let e = field_error("x", "unknown_field", "不允许的字段", "Unknown field");
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        let f: &crate::error::FieldError = &e.fields[0];
        assert_eq!(f.field, "x");
    }
}
