//! Shared helpers: start an emulator on an ephemeral port and talk to it with reqwest.
#![allow(dead_code)]

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::time::{Duration, SystemTime};

use xbl_mpsd_emulator::{Clock, Emulator, EmulatorConfig, RunningEmulator};

/// Test users.
pub const ALICE: u64 = 2533274792693551;
pub const BOB: u64 = 2533274792693552;
pub const CAROL: u64 = 2533274792693553;
pub const DAVE: u64 = 2533274792693554;

pub const SCID: &str = "00000000-0000-0000-0000-00007a5b8c9d";
pub const TEMPLATE: &str = "lobby";

pub struct Harness {
    pub emulator: RunningEmulator,
    pub client: reqwest::Client,
    pub base: String,
}

pub async fn start() -> Harness {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Harness {
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let base = emulator.base_url();
    Harness {
        emulator,
        client: reqwest::Client::new(),
        base,
    }
}

/// An emulator on a manual clock (`config`'s other fields kept).
pub async fn start_manual_with(config: EmulatorConfig) -> Harness {
    start_with(EmulatorConfig {
        clock: Clock::manual(),
        ..config
    })
    .await
}

/// An emulator on a manual clock, the timer sweep on (the default).
pub async fn start_manual() -> Harness {
    start_manual_with(EmulatorConfig::default()).await
}

/// The path of a test session.
pub fn session_path(name: &str) -> String {
    format!("/serviceconfigs/{SCID}/sessionTemplates/{TEMPLATE}/sessions/{name}")
}

/// The authorization header of `xuid`.
pub fn auth(xuid: u64) -> String {
    format!("XBL3.0 x=-;{xuid}")
}

/// A join body for `members.me`.
pub fn join_body() -> Value {
    serde_json::json!({ "members": { "me": { "constants": { "system": { "initialize": false } },
        "properties": { "system": { "active": true } } } } })
}

impl Harness {
    /// Sends a request as `xuid` with contract version 107 and extra headers.
    pub async fn send(
        &self,
        method: Method,
        xuid: u64,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", auth(xuid))
            .header("x-xbl-contract-version", "107");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request is answered")
    }

    pub async fn put(&self, xuid: u64, path: &str, body: Value) -> Response {
        self.send(Method::PUT, xuid, path, Some(&body), &[]).await
    }

    pub async fn get(&self, xuid: u64, path: &str) -> Response {
        self.send(Method::GET, xuid, path, None, &[]).await
    }

    pub async fn post(&self, xuid: u64, path: &str, body: Value) -> Response {
        self.send(Method::POST, xuid, path, Some(&body), &[]).await
    }

    pub async fn delete(&self, xuid: u64, path: &str) -> Response {
        self.send(Method::DELETE, xuid, path, None, &[]).await
    }

    /// Moves the emulator's manual clock forward by `millis` (the sweep runs before this returns).
    pub fn advance(&self, millis: u64) -> SystemTime {
        self.emulator
            .clock()
            .advance(Duration::from_millis(millis))
            .expect("a manual clock")
    }

    /// The emulator's time.
    pub fn now(&self) -> SystemTime {
        self.emulator.clock().now()
    }

    /// `GET` of session `name` as `xuid`: the document, or `Value::Null` for 204.
    pub async fn read(&self, xuid: u64, name: &str) -> Value {
        let response = self.get(xuid, &session_path(name)).await;
        match response.status() {
            StatusCode::NO_CONTENT => Value::Null,
            StatusCode::OK => json(response).await,
            other => panic!("GET {name}: {other}"),
        }
    }

    /// `xuid` creates (or joins) session `name` and the session document is returned.
    pub async fn join(&self, xuid: u64, name: &str) -> Value {
        let response = self.put(xuid, &session_path(name), join_body()).await;
        assert!(
            response.status().is_success(),
            "join failed: {}",
            response.status()
        );
        json(response).await
    }
}

/// The body as JSON.
pub async fn json(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a plain-text error with `status` and returns its message.
pub async fn text_error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain"),
        "content-type {content_type}"
    );
    let text = response.text().await.expect("body");
    assert!(!text.is_empty(), "error body is empty");
    text
}

/// A header's text.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts `response` has no body.
pub async fn assert_empty(response: Response, status: StatusCode) {
    assert_eq!(response.status(), status);
    assert_eq!(response.text().await.expect("body"), "");
}
