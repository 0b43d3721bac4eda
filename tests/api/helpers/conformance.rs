//! Every answer a test receives is checked against the published contract: the operation
//! (method and path pattern) must document the status, and a body's media type must be one
//! the spec lists for that status. So the whole suite, not only a spec test, proves that
//! `api-spec/openapi.json` equals the wire. Requests to paths or methods the spec does not
//! have (the 404/405 fallbacks) are not checked.
//!
//! `DANGKE_TEST_SPEC_LOG=FILE` appends violations to FILE instead of failing the test
//! (to list them all at once).

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::Value;

use super::client::Resp;

/// Documented answers of one operation: status -> media types.
type Answers = HashMap<String, Vec<String>>;

/// The spec's operations: method, path pattern split in segments, documented answers.
struct Spec {
    ops: Vec<(String, Vec<String>, Answers)>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let doc: Value =
            serde_json::from_str(&dangke::http::openapi::document_json()).expect("the spec parses");
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                    continue;
                };
                let answers = responses
                    .iter()
                    .map(|(status, r)| {
                        let types = r
                            .get("content")
                            .and_then(Value::as_object)
                            .map(|c| c.keys().cloned().collect())
                            .unwrap_or_default();
                        (status.clone(), types)
                    })
                    .collect();
                let segments = path.split('/').map(str::to_string).collect();
                ops.push((method.to_ascii_uppercase(), segments, answers));
            }
        }
        Spec { ops }
    })
}

/// The documented answers of the operation a request reached, if the spec has it: the
/// matching pattern with the most literal segments wins (`/v1/me/calendar.ics` over a
/// parameter).
fn operation(
    method: &Method,
    path: &str,
) -> Option<(String, &'static HashMap<String, Vec<String>>)> {
    let segments: Vec<&str> = path.split('/').collect();
    spec()
        .ops
        .iter()
        .filter(|(m, pattern, _)| {
            m == method.as_str()
                && pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.starts_with('{') || p == s)
        })
        .max_by_key(|(_, pattern, _)| pattern.iter().filter(|p| !p.starts_with('{')).count())
        .map(|(_, pattern, answers)| (pattern.join("/"), answers))
}

/// Checks one answer; a violation fails the test (or is logged, see the module doc).
pub fn check(method: &Method, path: &str, r: &Resp) {
    let Some((pattern, answers)) = operation(method, path) else {
        return;
    };
    let status = r.status.as_u16().to_string();
    let problem = match answers.get(&status) {
        None => Some(format!("status {status} is not documented")),
        Some(types) => {
            let media_type = r
                .header("content-type")
                .map(|ct| ct.split(';').next().unwrap_or("").trim().to_string());
            match media_type {
                Some(mt) if !r.body.is_empty() && !types.contains(&mt) => Some(format!(
                    "status {status} sent {mt}, the spec lists {types:?}"
                )),
                _ => None,
            }
        }
    };
    let Some(problem) = problem else {
        return;
    };
    let line = format!(
        "{method} {pattern}: {problem}: {}",
        r.text().chars().take(300).collect::<String>()
    );
    match std::env::var("DANGKE_TEST_SPEC_LOG") {
        Ok(file) => {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
            {
                let _ = writeln!(f, "{line}");
            }
        }
        Err(_) => panic!("the answer does not match api-spec/openapi.json: {line}"),
    }
}
