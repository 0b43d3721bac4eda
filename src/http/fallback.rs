//! What answers when no handler does: unknown routes (404 `route_not_found`), known paths
//! with the wrong method (405 `method_not_allowed` with `Allow`, which names `HEAD` beside
//! every `GET`), and the error handlers
//! for actix's own path and query extractors, so every failure has the same envelope.

use actix_router::ResourceDef;
use actix_web::http::header::ALLOW;
use actix_web::{HttpRequest, web};
use utoipa::openapi::OpenApi;

use crate::error::{ApiError, ErrorCode, FieldError, Text};

/// The app's route patterns with their methods, read from the OpenAPI document (which is
/// built from the same registration as the routes, so the two cannot disagree).
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(api: &OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<String> = crate::http::openapi::methods_of(item)
                    .into_iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                // Every GET route answers HEAD too (see `super::head`).
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".to_string());
                }
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable { routes }
    }

    /// The methods registered for a concrete path, if any route matches it.
    pub fn methods_for(&self, path: &str) -> Option<Vec<String>> {
        let mut found: Option<Vec<String>> = None;
        for (def, methods) in &self.routes {
            if def.is_match(path) {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(methods.iter().cloned());
            }
        }
        found
    }
}

/// The default service: 405 when the path exists with other methods, else 404.
pub async fn no_route(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match table.methods_for(req.path()) {
        Some(mut methods) => {
            methods.sort();
            methods.dedup();
            ApiError::new(ErrorCode::MethodNotAllowed)
                .with_header(ALLOW, methods.join(", "))
                .with_detail(
                    format!("该接口支持的方法：{}", methods.join(", ")),
                    format!("This route accepts: {}", methods.join(", ")),
                )
        }
        None => ApiError::new(ErrorCode::RouteNotFound),
    })
}

/// Error handler for `web::Path` extraction failures.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    let message = err.to_string();
    ApiError::new(ErrorCode::InvalidPathParam)
        .with_detail(
            "路径参数格式错误",
            format!("Invalid path parameter: {message}"),
        )
        .into()
}

/// Error handler for `web::Query` extraction failures.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let message = err.to_string();
    let field = message.split('`').nth(1).unwrap_or("query").to_string();
    if let Some(problem) = crate::http::text::parse_serde_message(&message) {
        let (zh, en) = problem.message();
        return ApiError::new(ErrorCode::InvalidQuery)
            .with_field(FieldError::new(field, problem.code(), Text::new(zh, en)))
            .into();
    }
    ApiError::new(ErrorCode::InvalidQuery)
        .with_field(FieldError::new(
            field,
            "invalid_value",
            Text::new(
                "查询参数无效",
                format!("Invalid query parameter: {message}"),
            ),
        ))
        .into()
}

/// Error handler for actix's own `web::Json`, should a route use it.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { limit, .. } | E::Overflow { limit } => {
            crate::http::json::too_large(limit).into()
        }
        E::ContentType => ApiError::new(ErrorCode::UnsupportedMediaType).into(),
        other => ApiError::new(ErrorCode::MalformedJson)
            .with_detail("请求体不是合法的 JSON", format!("{other}"))
            .into(),
    }
}

/// The extractor configurations that route actix's own extractor errors into `ApiError`.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(
            web::JsonConfig::default()
                .limit(crate::http::json::DEFAULT_JSON_LIMIT)
                .error_handler(json_error),
        );
}
