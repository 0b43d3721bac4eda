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
             stable `code`; the codes are listed in the `ErrorCode` schema.",
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
    api
}

/// The document as pretty JSON with a trailing newline (the checked-in form).
pub fn document_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
