//! The OpenAPI document, built from the same registration that mounts the routes
//! (`utoipa-actix-web`), so a route cannot exist without its entry.

use utoipa::openapi::path::PathItem;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{ErrorCode, Problem};

/// The lower-case methods a path item defines.
pub fn methods_of(item: &PathItem) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, op) in [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("options", &item.options),
        ("head", &item.head),
        ("patch", &item.patch),
        ("trace", &item.trace),
    ] {
        if op.is_some() {
            out.push(name);
        }
    }
    out
}

/// Builds the complete document: every mounted route, the shared schemas, the bearer
/// security scheme, and the list of error codes.
pub fn document() -> OpenApi {
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .configure(crate::mount)
        .split_for_parts();
    api.info = InfoBuilder::new()
        .title("dangke API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Backend of a phone-first study platform for rural grass-roots party organizations. \
             Conventions: api-spec/CONVENTIONS.md. Every error is application/problem+json with a \
             stable `code`; the codes are listed in the `ErrorCode` schema. Every GET operation \
             also answers HEAD: the same status and headers (Content-Length, ETag) without the \
             body. A request body may be sent gzip-compressed (`Content-Encoding: gzip`, except \
             media uploads); its limit holds for the decompressed bytes too, and any other \
             coding is 415 `unsupported_content_encoding`.",
        ))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "metrics_token",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The value of DANGKE_METRICS_TOKEN"))
                .build(),
        ),
    );
    use utoipa::PartialSchema;
    use utoipa::ToSchema;
    components
        .schemas
        .insert(Problem::name().into_owned(), Problem::schema());
    components
        .schemas
        .insert(ErrorCode::name().into_owned(), ErrorCode::schema());
    components.schemas.insert(
        crate::error::FieldErrorBody::name().into_owned(),
        crate::error::FieldErrorBody::schema(),
    );
    for (name, schema) in crate::http::text::schemas() {
        components.schemas.insert(name, schema);
    }
    for (name, schema) in crate::extra_schemas() {
        components.schemas.insert(name, schema);
    }
    api
}

/// The document as pretty JSON with a trailing newline (the checked-in and served form),
/// completed with what every route can answer (see [`complete`]).
pub fn document_json() -> String {
    json_of(&document())
}

/// `doc` as served and committed (see [`document_json`]).
pub fn json_of(doc: &OpenApi) -> String {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    complete(&mut doc);
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

const PROBLEM_TYPE: &str = "application/problem+json";

/// Adds to every operation the answers that come from the shared layers rather than the
/// handler — the body readers (400 `malformed_json`, 413, 415 for the content type or the
/// content encoding, 422), path and query
/// parsing (400), the bearer check (401), an unexpected failure (500) — and makes every
/// error answer `application/problem+json` with the `Problem` schema. Rate-limited answers
/// (429) carry their headers.
pub fn complete(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            if !op.contains_key("responses") {
                continue;
            }
            let params = op.get("parameters").and_then(Value::as_array);
            let has_query = params.is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let idempotent = params.is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key")
            });
            let secured = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            let body_types: Vec<String> = op
                .get("requestBody")
                .and_then(|b| b.get("content"))
                .and_then(Value::as_object)
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            let json_body = body_types.iter().any(|t| t == "application/json");
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut add = |status: &str, code: &str, why: &str| {
                let entry = responses
                    .entry(status.to_string())
                    .or_insert_with(|| json!({"description": ""}));
                let description = entry["description"].as_str().unwrap_or("").to_string();
                if !description.contains(code) {
                    let line = format!("{code}: {why}");
                    entry["description"] = json!(if description.is_empty() {
                        line
                    } else {
                        format!("{description}; {line}")
                    });
                }
            };
            if !body_types.is_empty() {
                add(
                    "413",
                    "payload_too_large",
                    "the body is over the route's limit",
                );
                let accepted = if json_body {
                    "send Content-Type: application/json"
                } else {
                    "a content type this route does not take"
                };
                add("415", "unsupported_media_type", accepted);
                add(
                    "415",
                    "unsupported_content_encoding",
                    "a Content-Encoding other than gzip (media uploads take none)",
                );
            }
            if json_body {
                add("400", "malformed_json", "the body is not valid JSON");
                add(
                    "422",
                    "invalid_body",
                    "an unknown, missing or mistyped field (`errors` names it)",
                );
            }
            if path.contains('{') {
                add(
                    "400",
                    "invalid_path_param",
                    "a path parameter has the wrong form",
                );
            }
            if has_query {
                add(
                    "400",
                    "invalid_query",
                    "a query parameter is missing or has the wrong form",
                );
            }
            if idempotent {
                add(
                    "400",
                    "invalid_header",
                    "an Idempotency-Key that is not 1-255 visible ASCII characters",
                );
                add(
                    "409",
                    "idempotency_key_reused",
                    "the Idempotency-Key was used for a different request",
                );
                add(
                    "409",
                    "idempotency_in_progress",
                    "the same request is still in progress; retry shortly",
                );
            }
            if secured {
                add(
                    "401",
                    "token_missing",
                    "no, an invalid, an expired or a revoked access token (token_invalid, token_expired, token_revoked)",
                );
            }
            add(
                "500",
                "internal",
                "an unexpected failure; the body is opaque, the cause is logged under X-Request-Id",
            );
            for (status, response) in responses.iter_mut() {
                if status.as_str() < "400" {
                    continue;
                }
                problem_content(response);
                if status == "429" {
                    rate_limit_headers(response);
                }
            }
        }
    }
}

/// An error answer's body: `Problem` as `application/problem+json` (a handler-documented
/// `application/json` Problem is moved; another body, such as `/readyz`'s, is left).
fn problem_content(response: &mut serde_json::Value) {
    use serde_json::json;
    let problem = json!({"schema": {"$ref": "#/components/schemas/Problem"}});
    let content = response
        .as_object_mut()
        .map(|r| r.entry("content").or_insert_with(|| json!({})));
    let Some(content) = content.and_then(|c| c.as_object_mut()) else {
        return;
    };
    let is_problem = |c: &serde_json::Value| c["schema"]["$ref"] == "#/components/schemas/Problem";
    if let Some(existing) = content.get("application/json")
        && is_problem(existing)
    {
        content.remove("application/json");
    }
    if content.is_empty() || !content.values().any(|c| !is_problem(c)) {
        content.insert(PROBLEM_TYPE.to_string(), problem);
    }
}

fn rate_limit_headers(response: &mut serde_json::Value) {
    use serde_json::json;
    response["headers"] = json!({
        "Retry-After": {"description": "Seconds until a retry may pass.", "schema": {"type": "integer"}},
        "RateLimit": {"description": "The remaining quota and reset time (IETF draft `RateLimit` header).", "schema": {"type": "string"}},
        "RateLimit-Policy": {"description": "The limit in force (IETF draft `RateLimit-Policy` header).", "schema": {"type": "string"}},
    });
}
