//! The authorization matrix: every route of the app, taken from its OpenAPI document (built
//! from the same registration as the routes), is called by three people — an organizer of
//! a *sibling* branch, a plain member, and an anonymous caller — against branch A's data.
//! A route without an entry here fails the test, so a new route cannot skip this check.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::world::World;
use crate::helpers::{Client, TestApp, spawn};

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum Who {
    SiblingOrganizer,
    Member,
    Anonymous,
}

/// One route: how to call it, and the status each caller must get.
struct Entry {
    method: &'static str,
    /// The route pattern as in the spec.
    pattern: &'static str,
    /// Statuses for (sibling organizer, member, anonymous).
    expect: (u16, u16, u16),
    /// Run with a fresh session (the call ends it).
    fresh_session: bool,
}

const fn e(method: &'static str, pattern: &'static str, expect: (u16, u16, u16)) -> Entry {
    Entry {
        method,
        pattern,
        expect,
        fresh_session: false,
    }
}

/// 404 for both signed-in callers (outside scope / not a manager), 401 anonymous.
const HIDDEN: (u16, u16, u16) = (404, 404, 401);

fn matrix() -> Vec<Entry> {
    vec![
        e("get", "/healthz", (200, 200, 200)),
        e("get", "/readyz", (200, 200, 200)),
        e("get", "/metrics", (200, 200, 200)),
        e("get", "/openapi.json", (200, 200, 200)),
        e("post", "/v1/auth/login", (401, 401, 401)),
        e("post", "/v1/auth/refresh", (401, 401, 401)),
        Entry {
            fresh_session: true,
            ..e("post", "/v1/auth/logout", (204, 204, 401))
        },
        e("get", "/v1/me", (200, 200, 401)),
        e("put", "/v1/me/password", (403, 403, 401)),
        e("post", "/v1/orgs", HIDDEN),
        e("get", "/v1/orgs/{id}", (404, 200, 401)),
        e("patch", "/v1/orgs/{id}", HIDDEN),
        e("post", "/v1/orgs/{id}/move", HIDDEN),
        e("get", "/v1/orgs/{id}/children", HIDDEN),
        e("get", "/v1/orgs/{id}/tree", HIDDEN),
        e("get", "/v1/orgs/{id}/settings", HIDDEN),
        e("patch", "/v1/orgs/{id}/settings", HIDDEN),
        e("get", "/v1/orgs/{id}/members", HIDDEN),
        e("post", "/v1/orgs/{id}/members", HIDDEN),
        e("get", "/v1/members/{user_id}", HIDDEN),
        e("patch", "/v1/members/{user_id}", HIDDEN),
        e("post", "/v1/members/{user_id}/transfer", HIDDEN),
        e("put", "/v1/members/{user_id}/status", HIDDEN),
        e("get", "/v1/orgs/{id}/roles", HIDDEN),
        e("post", "/v1/orgs/{id}/roles", HIDDEN),
        e("delete", "/v1/orgs/{id}/roles/{user_id}/{role}", HIDDEN),
        // Media belongs to no org: anyone holding a role may upload and read it; playback
        // needs a signed URL, which none of the three has here.
        e("post", "/v1/media", (201, 403, 401)),
        e("get", "/v1/media/{id}", (200, 403, 401)),
        e("get", "/v1/media/{id}/content", (403, 403, 403)),
    ]
}

/// A valid request body for each writing route, so that only authorization can fail.
fn body_for(method: &str, pattern: &str, w: &World) -> Option<Value> {
    let body = match (method, pattern) {
        ("post", "/v1/auth/login") => {
            json!({"phone": "13900000003", "password": "not-the-password"})
        }
        ("post", "/v1/auth/refresh") => json!({"refresh_token": "not-a-refresh-token"}),
        ("post", "/v1/auth/logout") => json!({}),
        ("put", "/v1/me/password") => {
            json!({"current_password": "not-the-password", "new_password": "another-pass-9"})
        }
        ("post", "/v1/orgs") => {
            json!({"parent_id": w.branch_a, "name": "新党小组", "kind": "party_group"})
        }
        ("patch", "/v1/orgs/{id}") => json!({"name": "改名党支部"}),
        ("post", "/v1/orgs/{id}/move") => json!({"new_parent_id": w.county}),
        ("patch", "/v1/orgs/{id}/settings") => json!({"time_zone": "Asia/Urumqi"}),
        ("post", "/v1/orgs/{id}/members") => {
            json!({"phone": "13700000099", "name": "新党员", "category": "full"})
        }
        ("patch", "/v1/members/{user_id}") => json!({"name": "改名"}),
        ("post", "/v1/members/{user_id}/transfer") => json!({"to_org_id": w.group_a}),
        ("put", "/v1/members/{user_id}/status") => json!({"status": "migrant"}),
        ("post", "/v1/orgs/{id}/roles") => json!({"user_id": w.member_a_id, "role": "organizer"}),
        _ => return None,
    };
    Some(body)
}

/// A tiny PNG, the raw body of the upload route.
const PNG: &[u8] = include_bytes!("../fixtures/media/cover.png");

/// The concrete path: branch A for orgs, the committee member of branch A for people, a
/// media file uploaded by branch A's secretary for media.
fn concrete(pattern: &str, w: &World, media_id: i64) -> String {
    if pattern.starts_with("/v1/media/") {
        return pattern.replace("{id}", &media_id.to_string());
    }
    pattern
        .replace("{id}", &w.branch_a.to_string())
        .replace("{user_id}", &w.committee_a_id.to_string())
        .replace("{role}", "committee_member")
}

async fn call(app: &TestApp, client: &Client, entry: &Entry, w: &World, media_id: i64) -> u16 {
    let method = Method::from_bytes(entry.method.to_ascii_uppercase().as_bytes()).unwrap();
    let path = concrete(entry.pattern, w, media_id);
    let mut rb = client.request(method, &path);
    if let Some(body) = body_for(entry.method, entry.pattern, w) {
        rb = rb.json(&body);
    }
    if (entry.method, entry.pattern) == ("post", "/v1/media") {
        rb = rb.header("content-type", "image/png").body(PNG.to_vec());
    }
    let _ = app;
    client.send(rb).await.status.as_u16()
}

#[tokio::test]
async fn every_route_is_checked_for_sibling_member_and_anonymous() {
    let app = spawn().await;
    let w = app.world().await;
    let mut cover = PNG.to_vec();
    cover.extend_from_slice(b"branch A's own cover");
    let uploaded = w
        .secretary_a
        .send(
            w.secretary_a
                .request(Method::POST, "/v1/media")
                .header("content-type", "image/png")
                .body(cover),
        )
        .await;
    uploaded.expect(201);
    let media_id = uploaded.json()["id"].as_i64().unwrap();

    let spec = app.client().get("/openapi.json").await.json();
    let mut in_spec = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            in_spec.insert((method.clone(), path.clone()));
        }
    }
    let table = matrix();
    let in_table: BTreeSet<(String, String)> = table
        .iter()
        .map(|e| (e.method.to_string(), e.pattern.to_string()))
        .collect();
    let missing: Vec<_> = in_spec.difference(&in_table).collect();
    let stale: Vec<_> = in_table.difference(&in_spec).collect();
    assert!(
        missing.is_empty(),
        "routes without an authorization matrix entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix entries for routes that do not exist: {stale:?}"
    );

    let mut failures = Vec::new();
    for entry in &table {
        for who in [Who::SiblingOrganizer, Who::Member, Who::Anonymous] {
            let client = match (who, entry.fresh_session) {
                (Who::SiblingOrganizer, false) => w.organizer_b.clone(),
                (Who::SiblingOrganizer, true) => app.login_as("13900000004").await,
                (Who::Member, false) => w.member_a.clone(),
                (Who::Member, true) => app.login_as("13900000003").await,
                (Who::Anonymous, _) => app.client(),
            };
            let expected = match who {
                Who::SiblingOrganizer => entry.expect.0,
                Who::Member => entry.expect.1,
                Who::Anonymous => entry.expect.2,
            };
            let got = call(&app, &client, entry, &w, media_id).await;
            if got != expected {
                failures.push(format!(
                    "{who:?} {} {}: expected {expected}, got {got}",
                    entry.method, entry.pattern
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix failures:\n{}",
        failures.join("\n")
    );

    // Nothing the three could not do happened: branch A is unchanged.
    let a = w
        .admin
        .get(&format!("/v1/orgs/{}", w.branch_a))
        .await
        .json();
    assert_eq!(a["name"], "东山村党支部");
    assert_eq!(a["parent_id"], w.township);
    let m = w
        .admin
        .get(&format!("/v1/members/{}", w.committee_a_id))
        .await
        .json();
    assert_eq!(m["name"], "张委员");
    assert_eq!(m["status"], "active");
    assert_eq!(m["org_id"], w.branch_a);
}
