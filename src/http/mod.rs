//! Cross-cutting HTTP pieces: the JSON extractor and body limits, fallbacks for unknown
//! routes and bad parameters, the language of error bodies, request observation
//! (request id, logs, metrics) and the OpenAPI document.

pub mod client_ip;
pub mod content_encoding;
pub mod cors;
pub mod etag;
pub mod fallback;
pub mod head;
pub mod idempotency;
pub mod json;
/// The response language lives with the errors it translates (the lowest floor).
pub use crate::error::lang;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod pagination;
pub mod patch;
pub mod ratelimit;
pub mod strict_json;
pub mod text;
pub mod url_key;

pub use json::{ApiJson, BodyLimit};
