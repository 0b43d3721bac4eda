//! `ApiJson<T>`: the JSON body extractor every route uses.
//!
//! It checks the content type, decodes a gzip body (see [`super::content_encoding`]),
//! enforces a size limit while the body streams in (the default [`DEFAULT_JSON_LIMIT`], or
//! a route's own [`BodyLimit`] from `app_data`), and turns every serde failure into the
//! problem+json envelope with the path of the field at fault. Request types add `#[serde(deny_unknown_fields)]` so unknown fields are rejected.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError, Text};

/// Largest JSON body accepted unless a route grants more: 64 KiB.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;

/// A per-route body limit in bytes, set with `app_data(BodyLimit(n))` on the route or scope.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// The limit in force for this request.
    pub fn of(req: &HttpRequest, default: usize) -> usize {
        req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(default)
    }
}

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// True when the request declares a JSON content type (`application/json` or `*/*+json`).
fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Builds the 413 error for a limit.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge).with_detail(
        format!("请求体不能超过 {limit} 字节"),
        format!("The request body must not exceed {limit} bytes"),
    )
}

/// Reads the whole body, decoded from its `Content-Encoding` (see
/// [`super::content_encoding`]), failing with 413 as soon as it passes `limit` bytes, as
/// sent or as decoded.
pub async fn read_body_limited(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut payload = super::content_encoding::decoded(req, payload.take(), limit)?;
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => too_large(limit),
            PayloadError::EncodingCorrupted => ApiError::new(ErrorCode::MalformedJson).with_detail(
                "请求体声明为 gzip 压缩，但无法解压",
                "The body is declared gzip but cannot be decompressed",
            ),
            e => ApiError::new(ErrorCode::MalformedJson)
                .with_detail("请求体读取失败", "The request body could not be read")
                .with_cause(anyhow::anyhow!("payload error: {e}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON into `T`, mapping serde failures to `malformed_json` (syntax) or
/// `invalid_body` (shape) with the offending field's path.
///
/// Every request body of this API is a JSON object: a top-level array is refused, and so is
/// an array anywhere a struct is expected (see [`super::strict_json`]), since serde would
/// otherwise fill a struct's fields from an array by position.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(
            ApiError::new(ErrorCode::InvalidBody).with_field(FieldError::new(
                "",
                "invalid_type",
                Text::new(
                    "请求体应为 JSON 对象",
                    "The request body must be a JSON object",
                ),
            )),
        );
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    // Inside the path tracker, so a refused positional struct is reported at its path.
    serde_path_to_error::deserialize::<_, T>(super::strict_json::Strict(de)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            // A value of the right type that breaks a text rule (control characters,
            // length, URL form) is a validation failure, like the checks in the features.
            serde_json::error::Category::Data
                if crate::http::text::parse_serde_message(&inner.to_string()).is_some() =>
            {
                ApiError::new(ErrorCode::ValidationFailed).with_field(field_error(&path, &inner))
            }
            serde_json::error::Category::Data => {
                ApiError::new(ErrorCode::InvalidBody).with_field(field_error(&path, &inner))
            }
            _ => ApiError::new(ErrorCode::MalformedJson).with_detail(
                format!(
                    "JSON 语法错误（第 {} 行第 {} 列）",
                    inner.line(),
                    inner.column()
                ),
                format!(
                    "JSON syntax error at line {} column {}",
                    inner.line(),
                    inner.column()
                ),
            ),
        }
    })
}

/// The field error for a serde data error at `path`.
fn field_error(path: &str, err: &serde_json::Error) -> FieldError {
    let msg = err.to_string();
    // serde reports the key itself in backticks for unknown and missing fields.
    let quoted = msg.split('`').nth(1).unwrap_or("").to_string();
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else if name.is_empty() || path.ends_with(name) {
            path.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let plain = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    if let Some(problem) = crate::http::text::parse_serde_message(&msg) {
        let (zh, en) = problem.message();
        return FieldError::new(join(""), problem.code(), Text::new(zh, en));
    }
    if msg.starts_with("unknown field") {
        FieldError::new(
            join(&quoted),
            "unknown_field",
            Text::new("不允许的字段", format!("Unknown field: {plain}")),
        )
    } else if msg.starts_with("missing field") {
        FieldError::new(
            join(&quoted),
            "required",
            Text::new("缺少必填字段", "This field is required"),
        )
    } else if msg.starts_with("invalid type") {
        FieldError::new(
            join(""),
            "invalid_type",
            Text::new("字段类型错误", format!("Wrong type: {plain}")),
        )
    } else {
        FieldError::new(
            join(""),
            "invalid_value",
            Text::new("字段取值无效", format!("Invalid value: {plain}")),
        )
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(ApiError::new(ErrorCode::UnsupportedMediaType).with_detail(
                    "请使用 Content-Type: application/json",
                    "Send the body with Content-Type: application/json",
                ));
            }
            let limit = BodyLimit::of(&req, DEFAULT_JSON_LIMIT);
            let body = read_body_limited(&req, &mut payload, limit).await?;
            crate::http::idempotency::remember_body(&req, &body);
            parse_json(&body).map(ApiJson)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Inner {
        phone: String,
        age: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Outer {
        items: Vec<Inner>,
    }

    #[test]
    fn names_the_field_at_fault() {
        let e = parse_json::<Outer>(br#"{"items":[{"phone":"1","age":"x"}]}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidBody);
        assert_eq!(e.fields[0].field, "items[0].age");
        assert_eq!(e.fields[0].code, "invalid_type");

        let e = parse_json::<Outer>(br#"{"items":[{"phone":"1","age":1,"x":2}]}"#).unwrap_err();
        assert_eq!(e.fields[0].code, "unknown_field");
        assert_eq!(e.fields[0].field, "items[0].x");

        let e = parse_json::<Outer>(br#"{"items":[{"phone":"1"}]}"#).unwrap_err();
        assert_eq!(e.fields[0].code, "required");
        assert_eq!(e.fields[0].field, "items[0].age");

        let e = parse_json::<Outer>(br#"{"items":[{"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedJson);

        // A struct given as a positional array, at the top and inside.
        let e = parse_json::<Inner>(br#" ["1", 2]"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidBody);
        assert_eq!(e.fields[0].code, "invalid_type");
        let e = parse_json::<Outer>(br#"{"items":[["1", 2]]}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidBody);
        assert_eq!(e.fields[0].field, "items[0]");
        assert_eq!(e.fields[0].code, "invalid_type");
    }

    #[test]
    fn text_problems_name_the_field() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[expect(dead_code, reason = "fields exist to be deserialized")]
        struct Named {
            name: crate::http::text::Name,
        }
        let e = parse_json::<Named>(br#"{"name":"a\u0000b"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert_eq!(e.fields[0].field, "name");
        assert_eq!(e.fields[0].code, "control_character");
    }
}
