//! An HTTP client that behaves like the phone app: JSON in and out, a bearer token.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// A response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        self.expect(status);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "content type of {}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["code"], code, "body: {body}");
        assert_eq!(body["status"], status, "body: {body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string() && body["type"].is_string()
        );
        body
    }
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .no_proxy()
                // Drop idle connections before the server's 5 s keep-alive does: reusing
                // one the server is closing at that moment fails the request with
                // `IncompleteMessage` (seen once under load on a slow export).
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("http client"),
            access_token: None,
            refresh_token: None,
        }
    }

    pub fn with_token(&self, token: &str) -> Client {
        let mut c = self.clone();
        c.access_token = Some(token.to_string());
        c
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.access_token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    /// Sends a request and reads the whole answer, which must match the spec (see
    /// [`super::conformance`]).
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let req = rb.build().expect("request builds");
        let (method, path) = (req.method().clone(), req.url().path().to_string());
        let res = self.http.execute(req).await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.expect("body read").to_vec();
        let resp = Resp {
            status,
            headers,
            body,
        };
        super::conformance::check(&method, &path, &resp);
        resp
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    /// Publishes `course` and assigns it as `assignment` says (`{"org_ids": [..], ..}`);
    /// both must answer 200.
    pub async fn publish_and_assign(&self, course: i64, assignment: Value) {
        self.post(
            &format!("/v1/courses/{course}/publish"),
            serde_json::json!({}),
        )
        .await
        .expect(200);
        self.post(&format!("/v1/courses/{course}/assignments"), assignment)
            .await
            .expect(200);
    }

    /// The current check-in code of occurrence `occ`, as its organizer reads it to show
    /// (must answer 200).
    pub async fn checkin_code(&self, occ: i64) -> String {
        let r = self
            .get(&format!("/v1/occurrences/{occ}/checkin/code"))
            .await;
        r.expect(200);
        r.json()["code"].as_str().unwrap_or_default().to_string()
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    /// Logs in with phone and password and keeps the tokens.
    pub async fn login(&mut self, phone: &str, password: &str) -> Value {
        let r = self
            .post(
                "/v1/auth/login",
                serde_json::json!({"phone": phone, "password": password}),
            )
            .await;
        r.expect(200);
        let body = r.json();
        self.access_token = body["access_token"].as_str().map(str::to_owned);
        self.refresh_token = body["refresh_token"].as_str().map(str::to_owned);
        body
    }
}

impl Client {
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }
}
