//! A real Chromium, headless, driven through WebDriver (`chromedriver` from Debian's
//! `chromium-driver`, started per test on a free port) with `fantoccini`, for the console
//! tests. One browser runs at a time (they are heavy on two cores); each gets a fresh
//! profile and a download directory.
//!
//! Without `chromedriver` the console tests skip, unless `DANGKE_TEST_REQUIRE_BROWSER=1`
//! or `DANGKE_TEST_NO_SKIP=1` (`scripts/test` installs both packages and sets the first).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::TestApp;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a step waits for the page (a loaded two-core CI machine is slow).
pub const WAIT: Duration = Duration::from_secs(20);

static ONE_AT_A_TIME: Semaphore = Semaphore::const_new(1);

/// Whether the browser tests can run here; `false` means the caller returns (skipped).
/// They run on the SQLite leg only: the console calls the same API on either backend,
/// and the PostgreSQL leg runs every API test already.
pub fn available() -> bool {
    if super::backend::backend() != super::backend::Backend::Sqlite {
        return false;
    }
    let present = Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists();
    if !present && std::env::var("DANGKE_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!(
            "the console tests need chromium and chromium-driver (DANGKE_TEST_REQUIRE_BROWSER=1)"
        );
    }
    !super::backend::skip_unless(present, "chromium and chromium-driver (Debian packages)")
}

/// One browser session on a test app's console.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub downloads: PathBuf,
    _profile: tempfile::TempDir,
    _download_dir: tempfile::TempDir,
    driver: tokio::process::Child,
    _permit: SemaphorePermit<'static>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at 1366×768 (the village PC).
    pub async fn start(app: &TestApp) -> Browser {
        Browser::start_sized(app, 1366, 768).await
    }

    pub async fn start_sized(app: &TestApp, width: u32, height: u32) -> Browser {
        let permit = ONE_AT_A_TIME.acquire().await.expect("semaphore open");
        let port = free_port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let download_dir = tempfile::tempdir().expect("download dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                    "--force-device-scale-factor=1",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": download_dir.path().display().to_string(),
                    "download.prompt_for_download": false,
                    "intl.accept_languages": "zh-CN,zh",
                },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        let client = loop {
            let mut builder = ClientBuilder::rustls().expect("rustls");
            builder.capabilities(caps.clone());
            match builder.connect(&url).await {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot start a Chromium session through chromedriver: {e}"),
            }
        };
        Browser {
            client,
            base: app.base.clone(),
            downloads: download_dir.path().to_path_buf(),
            _profile: profile,
            _download_dir: download_dir,
            driver,
            _permit: permit,
        }
    }

    /// Opens a console route (`#/dashboard/12`, or "" for the start page).
    pub async fn open(&self, route: &str) {
        self.client
            .goto(&format!("{}/console/{route}", self.base))
            .await
            .expect("navigate");
    }

    /// Logs in on the login page and waits for the layout.
    pub async fn login(&self, phone: &str, password: &str) {
        self.open("").await;
        self.fill("input[name=phone]", phone).await;
        self.fill("input[name=password]", password).await;
        self.click("form.login button[type=submit]").await;
        self.wait("header.top").await;
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn wait(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css:?} on the page within {WAIT:?}: {e}"))
    }

    /// Waits until the element matching `css` has text containing `needle`; returns it.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(els) = self.client.find_all(Locator::Css(css)).await {
                for el in els {
                    if let Ok(t) = el.text().await {
                        if t.contains(needle) {
                            return t;
                        }
                        last = t;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css:?} never contained {needle:?} (last text: {last:?})")
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("element text")
    }

    pub async fn click(&self, css: &str) {
        self.wait(css).await.click().await.expect("click");
    }

    /// Clicks the first `css` element whose text contains `label` (a button by its words).
    pub async fn click_text(&self, css: &str, label: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if let Ok(els) = self.client.find_all(Locator::Css(css)).await {
                for el in els {
                    if el.text().await.is_ok_and(|t| t.contains(label))
                        && el.is_displayed().await.unwrap_or(false)
                    {
                        el.click().await.expect("click");
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {css:?} with {label:?} to click")
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    /// Chooses a file for an `<input type=file>`.
    pub async fn choose_file(&self, css: &str, file: &Path) {
        let el = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .expect("file input");
        el.send_keys(&file.display().to_string())
            .await
            .expect("choose file");
    }

    /// Runs JavaScript in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("execute script")
    }

    /// Saves a PNG screenshot as `name`.png under `DANGKE_TEST_SCREENSHOTS` (when set:
    /// `docs/console/` to update the committed ones) or under the target's temp dir.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = std::env::var_os("DANGKE_TEST_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console"));
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Waits for a finished download whose name ends with `suffix`; returns its bytes.
    pub async fn downloaded(&self, suffix: &str) -> (String, Vec<u8>) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if let Ok(dir) = std::fs::read_dir(&self.downloads) {
                for entry in dir.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.ends_with(suffix)
                        && let Ok(bytes) = std::fs::read(entry.path())
                        && !bytes.is_empty()
                    {
                        return (name, bytes);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no download ending in {suffix:?} in {}",
            self.downloads.display()
        )
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

/// Every route the app answered during the test that is neither in the OpenAPI document
/// nor one of the console's own: the console must call nothing the contract does not
/// describe. Read from the app's request counter (`dangke_http_requests_total`), whose
/// `route` label is the matched pattern or `unmatched`.
pub fn undocumented_requests(app: &TestApp) -> Vec<String> {
    let spec = dangke::http::openapi::document();
    let documented: Vec<String> = spec.paths.paths.keys().cloned().collect();
    let mut out = Vec::new();
    for family in app.app_state.metrics.registry().gather() {
        if family.name() != "dangke_http_requests_total" {
            continue;
        }
        for m in family.get_metric() {
            let label = |n: &str| {
                m.get_label()
                    .iter()
                    .find(|l| l.name() == n)
                    .map(|l| l.value().to_string())
                    .unwrap_or_default()
            };
            let route = label("route");
            if route.starts_with("/console") || documented.contains(&route) {
                continue;
            }
            out.push(format!(
                "{} {} → {} ({} times)",
                label("method"),
                route,
                label("status"),
                m.get_counter().get_value()
            ));
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
