//! The organizer console's shell (issue 21): served by the binary with hashed, long-cached
//! files; login with the Chinese error from the API; the session kept as the API intends
//! (access token in memory, refresh token rotated, logout); a 401 refreshes once; an org
//! outside the caller's scope shows "not found" as the API answers 404; and the console
//! calls nothing the OpenAPI document does not describe.

use std::time::Duration;

use fantoccini::key::Key;

use crate::helpers::browser::{self, Browser};
use crate::helpers::world::PASSWORD;
use crate::helpers::{Options, spawn, spawn_with};

#[tokio::test]
async fn the_console_is_served_from_the_binary_with_hashed_long_cached_files() {
    let app = spawn().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/console", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/console/");

    let r = http
        .get(format!("{}/console/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    let at = page.find("assets/").expect("hashed asset path");
    let hash: String = page[at + 7..].chars().take_while(|c| *c != '/').collect();
    assert_eq!(hash.len(), 16, "{page}");
    assert!(page.contains(&format!("assets/{hash}/app.js")));

    let r = http
        .get(format!("{}/console/assets/{hash}/app.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    // Vendored libraries are served with their licences.
    for file in [
        "vendor/chart.js-4.6.2.umd.min.js",
        "vendor/chart.js-4.6.2.LICENSE.md",
        "vendor/qrcode-generator-2.0.4.mjs",
        "vendor/qrcode-generator-2.0.4.LICENSE.txt",
    ] {
        let r = http
            .get(format!("{}/console/assets/{hash}/{file}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{file}");
    }
    // Another build's hash, a missing file and a way out of the directory are not served.
    for bad in [
        "assets/0123456789abcdef/app.js".to_string(),
        format!("assets/{hash}/nothing.js"),
        format!("assets/{hash}/..%2F..%2Fmod.rs"),
        format!("assets/{hash}/../../Cargo.toml"),
    ] {
        let r = http
            .get(format!("{}/console/{bad}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn a_secretary_logs_in_and_out_and_another_branch_is_not_found() {
    if !browser::available() {
        return;
    }
    let app = spawn_with(Options {
        vars: vec![
            ("DANGKE_ACCESS_TOKEN_TTL", "5m".to_string()),
            ("DANGKE_REFRESH_TOKEN_TTL", "1h".to_string()),
        ],
        ..Options::default()
    })
    .await;
    let w = app.world().await;
    let b = Browser::start(&app).await;

    // A wrong password: the API's Chinese detail on the login form.
    b.open("").await;
    b.fill("input[name=phone]", "13900000001").await;
    b.fill("input[name=password]", "wrong-password").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text("form.login [role=alert]", "手机号或密码错误")
        .await;

    b.login("13900000001", PASSWORD).await;
    // The org tree starts at the caller's branch and the dashboard opens on it.
    b.wait_text("nav.org-tree", "东山村党支部").await;
    let tree = b.text("nav.org-tree").await;
    assert!(
        !tree.contains("西河村党支部") && !tree.contains("城关镇党委"),
        "{tree}"
    );
    // The access token is only in memory; the refresh token only in this tab's storage.
    let stored = b
        .js("return [Object.keys(localStorage).length, Object.keys(sessionStorage)]")
        .await;
    assert_eq!(stored[0], 0, "{stored}");
    assert_eq!(
        stored[1],
        serde_json::json!(["dangke.console.refresh"]),
        "{stored}"
    );

    // The sibling branch, typed into the address bar: "not found", as the API says.
    b.open(&format!("#/dashboard/{}", w.branch_b)).await;
    b.wait_text("main .not-found", "未找到").await;
    let r = w.secretary_a.get(&format!("/v1/orgs/{}", w.branch_b)).await;
    assert_eq!(r.status, 404);
    // The township above her branch: she may read it as a member, but not manage it.
    b.open(&format!("#/members/{}", w.township)).await;
    b.wait_text("main .not-found", "未找到").await;
    let r = w
        .secretary_a
        .get(&format!("/v1/orgs/{}/members", w.township))
        .await;
    assert_eq!(r.status, 404);

    // The access token expires: the next page refreshes once and carries on.
    let before = b
        .js("return sessionStorage.getItem('dangke.console.refresh')")
        .await;
    app.clock.advance(chrono::Duration::minutes(6));
    b.open(&format!("#/members/{}", w.branch_a)).await;
    b.wait("main h1").await;
    assert!(b.text("main").await.find("未找到").is_none());
    let after = b
        .js("return sessionStorage.getItem('dangke.console.refresh')")
        .await;
    assert_ne!(before, after, "the refresh token was not rotated");

    // Logging out revokes the session: back at the login page, the old refresh token is dead.
    b.click_text("header.top button", "退出登录").await;
    b.wait("form.login").await;
    let r = app
        .client()
        .post(
            "/v1/auth/refresh",
            serde_json::json!({"refresh_token": after.as_str().unwrap()}),
        )
        .await;
    assert_eq!(r.status, 401, "{:?}", r.json());

    // A session past its refresh token: the one refresh fails, and the login page says so.
    b.login("13900000001", PASSWORD).await;
    b.wait_text("nav.org-tree", "东山村党支部").await;
    app.clock.advance(chrono::Duration::hours(2));
    b.open(&format!("#/members/{}", w.branch_a)).await;
    b.wait_text("form.login [role=alert]", "登录已过期").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    b.close().await;

    let undocumented = browser::undocumented_requests(&app);
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}

/// A secretary at a 1024-wide tablet, with only the keyboard: logs in (Tab, Enter), and
/// every page opens without an error, without scrolling sideways, and with a label on every
/// field and a text alternative on every image.
#[tokio::test]
async fn every_page_fits_a_tablet_and_its_fields_are_labelled() {
    if !browser::available() {
        return;
    }
    let app = spawn().await;
    let w = app.world().await;
    let b = Browser::start_sized(&app, 1024, 768).await;
    b.open("").await;
    b.wait("form.login input[name=phone]:focus").await;
    let typing = |text: String| {
        let client = b.client.clone();
        async move {
            client
                .active_element()
                .await
                .unwrap()
                .send_keys(&text)
                .await
                .unwrap();
        }
    };
    typing(format!("13900000001{}", char::from(Key::Tab))).await;
    typing(format!("{PASSWORD}{}", char::from(Key::Enter))).await;
    b.wait("header.top").await;

    for page in ["dashboard", "members", "classes", "meetings", "pushes"] {
        b.open(&format!("#/{page}/{}", w.branch_a)).await;
        b.wait("main h1").await;
        // Let the page finish its first requests.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let report = b
            .js(r#"
                const main = document.querySelector('main');
                const unlabelled = [...main.querySelectorAll('input:not([type=hidden]), select, textarea')]
                  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
                  .map((el) => el.outerHTML.slice(0, 120));
                const noAlt = [...main.querySelectorAll('img')].filter((i) => !i.hasAttribute('alt')).map((i) => i.outerHTML.slice(0, 120));
                const errors = [...main.querySelectorAll('.error-box, .not-found')].map((e) => e.textContent);
                return {
                  overflow: document.documentElement.scrollWidth - window.innerWidth,
                  unlabelled, noAlt, errors,
                  h1: main.querySelectorAll('h1').length,
                };
            "#)
            .await;
        assert!(
            report["overflow"].as_i64().unwrap() <= 0,
            "{page}: scrolls sideways: {report}"
        );
        assert_eq!(
            report["unlabelled"],
            serde_json::json!([]),
            "{page}: {report}"
        );
        assert_eq!(report["noAlt"], serde_json::json!([]), "{page}: {report}");
        assert_eq!(report["errors"], serde_json::json!([]), "{page}: {report}");
        assert_eq!(report["h1"], 1, "{page}: {report}");
    }
    b.close().await;
    let undocumented = browser::undocumented_requests(&app);
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}
