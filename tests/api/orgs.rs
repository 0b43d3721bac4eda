//! The organization tree, settings, members and roles over HTTP.

use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn world_builds_and_me_shows_membership_and_roles() {
    let app = spawn().await;
    let w = app.world().await;
    let me = w.secretary_a.get("/v1/me").await;
    me.expect(200);
    let me = me.json();
    assert_eq!(me["membership"]["org_id"], w.branch_a);
    assert_eq!(me["roles"][0]["role"], "secretary");
    assert_eq!(me["roles"][0]["org_id"], w.branch_a);
    let me = w.admin.get("/v1/me").await.json();
    assert!(me["membership"].is_null());
    assert_eq!(me["roles"][0]["role"], "admin");
    let tree = w
        .admin
        .get(&format!("/v1/orgs/{}/tree?depth=3", w.county))
        .await;
    tree.expect(200);
    let tree = tree.json();
    assert_eq!(tree["children"][0]["name"], "城关镇党委");
    assert_eq!(tree["children"][0]["children"].as_array().unwrap().len(), 2);
    let _ = json!({});
}
