//! Process-level harness: runs the built `dangke serve` binary as a child process over a
//! test database, for what only a real process shows (kill -9, restart on the same data,
//! environment parsing, metrics of a fresh process).
//!
//! The child gets real environment variables: the inherited `DANGKE_*`, `DATABASE_URL`,
//! `REDIS_URL` and `AWS_*` credentials are removed first, so the developer's shell cannot
//! leak in. Its stdout and stderr go to `dangke-<port>.log` in the database's data dir.

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::TestDb;
use super::backend;

/// The JWT secret the in-process harness uses too (tokens are interchangeable).
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// The bearer token `GET /metrics` of a process instance answers to.
pub const METRICS_TOKEN: &str = "process-test-metrics-token-0123";

/// How long a start may take before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Inherited variables the child must not see.
fn leaks(name: &str) -> bool {
    name.starts_with("DANGKE_")
        || matches!(
            name,
            "DATABASE_URL" | "REDIS_URL" | "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY"
        )
}

/// A running `dangke serve` process. Killed when dropped.
pub struct Instance {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub port: u16,
    child: Option<Child>,
    /// The child's settings, `DANGKE_BIND` excepted (set per start).
    env: Vec<(String, String)>,
    log: PathBuf,
    data_dir: PathBuf,
    /// Keeps the database (SQLite directory or PostgreSQL schema) alive while we run.
    _db: TestDb,
}

/// Why a start did not get to ready.
enum StartError {
    /// The process exited (e.g. the port was taken between choosing and binding it).
    Exited(ExitStatus),
    TimedOut,
}

impl Instance {
    /// Starts `dangke serve` on a free loopback port over `db` (its url and data dir), with
    /// the in-process harness's JWT secret, `REDIS_URL` when the in-process harness would
    /// use Redis, `DANGKE_WORKERS=1`, `DANGKE_DB_POOL_SIZE=3`, `DANGKE_METRICS_TOKEN` =
    /// [`METRICS_TOKEN`], then `vars` (which override those). Waits until `GET /readyz`
    /// answers 200 (up to 60 s; on timeout panics with the tail of the log).
    pub async fn start(db: &TestDb, vars: &[(&str, String)]) -> Instance {
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), db.url.clone()),
            ("DANGKE_DATA_DIR".into(), db.data_dir.clone()),
            ("DANGKE_JWT_SECRET".into(), JWT_SECRET.into()),
            ("DANGKE_WORKERS".into(), "1".into()),
            ("DANGKE_DB_POOL_SIZE".into(), "3".into()),
            ("DANGKE_METRICS_TOKEN".into(), METRICS_TOKEN.into()),
        ];
        if let Some(redis) = backend::redis_url() {
            env.push(("REDIS_URL".into(), redis));
        }
        for (k, v) in vars {
            env.retain(|(name, _)| name != k);
            env.push(((*k).to_string(), v.clone()));
        }
        let mut instance = Instance {
            base: String::new(),
            port: 0,
            child: None,
            env,
            log: PathBuf::new(),
            data_dir: PathBuf::from(&db.data_dir),
            _db: db.clone(),
        };
        instance.launch(None).await;
        instance
    }

    /// SIGKILL (kill -9) and wait for the process to be gone (reaped).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on Unix.
            let _ = child.kill();
            let status = child.wait().expect("wait for the killed process");
            assert!(
                !status.success(),
                "the process exited by itself before kill -9 ({status}); log {}:\n{}",
                self.log.display(),
                log_tail(&self.log)
            );
        }
    }

    /// Starts the process again with the same settings (the same port if it is free,
    /// otherwise a new one, updating `base`), waiting for `/readyz`. Kills the running
    /// process first if there is one.
    pub async fn restart(&mut self) {
        self.kill9();
        let same = self.port;
        self.launch(Some(same)).await;
    }

    /// `GET /metrics` with [`METRICS_TOKEN`], as text (panics unless 200).
    pub async fn metrics(&self) -> String {
        let res = http()
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("GET /metrics");
        let status = res.status();
        let text = res.text().await.expect("metrics body");
        assert_eq!(status.as_u16(), 200, "GET /metrics: {text}");
        text
    }

    /// The log file of the current process.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Spawns and waits for ready, on `prefer` when it is free, else on a free port;
    /// retries a few times when the child loses a race for its port.
    async fn launch(&mut self, prefer: Option<u16>) {
        let mut last = String::new();
        for attempt in 0..5 {
            let port = match prefer {
                Some(p) if attempt == 0 && port_is_free(p) => p,
                _ => free_port(),
            };
            self.spawn(port);
            match self.wait_ready().await {
                Ok(()) => return,
                Err(StartError::Exited(status)) => {
                    self.child = None;
                    last = format!(
                        "exited with {status} before ready; log {}:\n{}",
                        self.log.display(),
                        log_tail(&self.log)
                    );
                    if !last.contains("DANGKE_BIND") {
                        break; // not a lost port race: do not retry
                    }
                }
                Err(StartError::TimedOut) => {
                    self.kill_quietly();
                    panic!(
                        "dangke serve on port {port} not ready after {} s; log {}:\n{}",
                        READY_TIMEOUT.as_secs(),
                        self.log.display(),
                        log_tail(&self.log)
                    );
                }
            }
        }
        panic!("dangke serve did not start: {last}");
    }

    fn spawn(&mut self, port: u16) {
        self.port = port;
        self.base = format!("http://127.0.0.1:{port}");
        self.log = self.data_dir.join(format!("dangke-{port}.log"));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the process log");
        let log_err = log.try_clone().expect("clone the log handle");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangke"));
        cmd.arg("serve")
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        for (name, _) in std::env::vars_os() {
            if leaks(&name.to_string_lossy()) {
                cmd.env_remove(&name);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.env("DANGKE_BIND", format!("127.0.0.1:{port}"));
        self.child = Some(cmd.spawn().expect("spawn the dangke binary"));
    }

    async fn wait_ready(&mut self) -> Result<(), StartError> {
        let client = http();
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/readyz", self.base);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(StartError::Exited(status));
            }
            if let Ok(res) = client.get(&url).send().await
                && res.status().as_u16() == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::TimedOut);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill_quietly(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Before the fields (the database guard) go.
        self.kill_quietly();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("http client")
}

/// A port nothing listens on now (bind 127.0.0.1:0, read it, let it go).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn port_is_free(port: u16) -> bool {
    port != 0 && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The last 60 lines of a log file.
fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        use std::io::Read;
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// The labels of a Prometheus series, `{a="x",b="y"}` at the start of `s`, as raw pairs,
/// and the rest of `s` after the closing brace. Quoted values may hold `,` `{` `}` `\"`.
fn parse_labels(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let inner = s.strip_prefix('{')?;
    let mut pairs = Vec::new();
    let mut chars = inner.char_indices().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|(_, c)| *c == ',' || c.is_whitespace())
        {
            chars.next();
        }
        match chars.peek() {
            Some((i, '}')) => return Some((pairs, &inner[i + 1..])),
            None => return None,
            _ => {}
        }
        let mut key = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        if chars.next().map(|(_, c)| c) != Some('"') {
            return None;
        }
        let mut value = String::new();
        let mut escaped = false;
        for (_, c) in chars.by_ref() {
            if escaped {
                value.push(c);
                escaped = false;
            } else if c == '\\' {
                value.push(c);
                escaped = true;
            } else if c == '"' {
                break;
            } else {
                value.push(c);
            }
        }
        pairs.push((key.trim().to_string(), value));
    }
}

/// The value of the metric `name` in a Prometheus text exposition, over the series whose
/// labels include every pair of `label` (given as `consumer="stats"`, or several joined by
/// commas; empty: any series), summed; 0.0 when none matches.
pub fn metric_value(text: &str, name: &str, label: &str) -> f64 {
    let wanted = if label.trim().is_empty() {
        Vec::new()
    } else {
        parse_labels(&format!("{{{label}}}"))
            .map(|(p, _)| p)
            .unwrap_or_else(|| panic!("bad label selector {label:?}"))
    };
    let mut sum = 0.0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, rest) = if rest.starts_with('{') {
            match parse_labels(rest) {
                Some(x) => x,
                None => continue,
            }
        } else if rest.starts_with(char::is_whitespace) {
            (Vec::new(), rest)
        } else {
            continue; // another metric whose name starts with `name`
        };
        if !wanted.iter().all(|w| labels.contains(w)) {
            continue;
        }
        if let Some(v) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            sum += v;
        }
    }
    sum
}

#[test]
fn metric_value_reads_the_exposition_format() {
    let text = "\
# HELP dangke_changes_applied_total Changes applied
# TYPE dangke_changes_applied_total counter
dangke_changes_applied_total{consumer=\"stats\"} 3
dangke_changes_applied_total{consumer=\"audit\"} 4
dangke_changes_applied_total_extra{consumer=\"stats\"} 100
dangke_http_requests_total{route=\"/v1/orgs/{id}\",method=\"GET\",status=\"200\"} 2
dangke_http_requests_total{route=\"/v1/a,b\",method=\"GET\",status=\"404\"} 5
dangke_http_requests_total{route=\"/v1/orgs/{id}\",method=\"POST\",status=\"200\"} 1
dangke_up 1
";
    assert_eq!(
        metric_value(text, "dangke_changes_applied_total", "consumer=\"stats\""),
        3.0
    );
    assert_eq!(metric_value(text, "dangke_changes_applied_total", ""), 7.0);
    assert_eq!(
        metric_value(text, "dangke_changes_applied_total", "consumer=\"x\""),
        0.0
    );
    assert_eq!(metric_value(text, "dangke_missing", ""), 0.0);
    assert_eq!(
        metric_value(
            text,
            "dangke_http_requests_total",
            "route=\"/v1/orgs/{id}\""
        ),
        3.0
    );
    assert_eq!(
        metric_value(
            text,
            "dangke_http_requests_total",
            "route=\"/v1/orgs/{id}\",method=\"POST\""
        ),
        1.0
    );
    assert_eq!(
        metric_value(text, "dangke_http_requests_total", "status=\"404\""),
        5.0
    );
    assert_eq!(metric_value(text, "dangke_up", ""), 1.0);
}

/// A `redis-server` of the test's own, on a free loopback port, that the test can stop and
/// start again on the same port (to take Redis away from running instances and give it
/// back). No persistence: a restart comes back empty, as a failed-over cache would.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one; `None` when `redis-server` is not installed (the caller skips).
    pub async fn start() -> Option<RedisServer> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return None;
        }
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        server.start_again().await;
        Some(server)
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL): clients see their connections drop and new ones refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and waits until it answers `PING`.
    pub async fn start_again(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if ping(self.port).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await,
        Ok(Ok(n)) if buf[..n].starts_with(b"+PONG")
    )
}
