//! The retry executor wrapped around real `reqwest` calls against a mock server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::{StatusCode, header::HeaderMap};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};
use xbl_mpsd_ext::{
    Classification, FakeClock, RetryMode, RetryPolicy, XblToken, contract::ContractVersion,
    retry::FixedJitter,
};

mod support;

/// What a call can fail with; a real client would use its own error type.
#[derive(Debug)]
enum CallError {
    Status(StatusCode, HeaderMap),
    Transport(reqwest::Error),
}

fn classify(error: &CallError) -> Classification {
    match error {
        CallError::Status(status, headers) => Classification::from_response(*status, headers),
        CallError::Transport(error) => Classification::from_reqwest_error(error),
    }
}

/// Builds and sends the request anew on every attempt.
async fn send(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
) -> Result<String, CallError> {
    let request = request.build().map_err(CallError::Transport)?;
    let response = client
        .execute(request)
        .await
        .map_err(CallError::Transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(CallError::Status(status, response.headers().clone()));
    }
    response.text().await.map_err(CallError::Transport)
}

fn policy() -> RetryPolicy {
    RetryPolicy::default().with_jitter(FixedJitter(0.0))
}

#[tokio::test]
async fn get_retries_after_503_honouring_retry_after() {
    let server = MockServer::start().await;
    let route = "/handles/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d/session";
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;

    let client = reqwest::Client::new();
    let token = XblToken::new("123", "secret-token").unwrap();
    let url = format!("{}{route}", server.uri());
    let clock = FakeClock::default();
    let body = policy()
        .run(
            &clock,
            RetryMode::Idempotent,
            || {
                let request = client
                    .get(&url)
                    .header(reqwest::header::AUTHORIZATION, token.authorization())
                    .header(
                        xbl_mpsd_ext::contract::HEADER,
                        ContractVersion::default().header_value(),
                    );
                send(&client, request)
            },
            classify,
        )
        .await
        .unwrap();
    assert_eq!(body, "{}");
    assert_eq!(clock.sleeps(), [Duration::from_secs(3)]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.headers["authorization"], "XBL3.0 x=123;secret-token");
        assert_eq!(r.headers["x-xbl-contract-version"], "107");
    }
}

#[tokio::test]
async fn invite_post_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let url = format!("{}/handles", server.uri());
    let clock = FakeClock::default();
    let result = policy()
        .run(
            &clock,
            RetryMode::NonIdempotent,
            || send(&client, client.post(&url).body(r#"{"type":"invite"}"#)),
            classify,
        )
        .await;
    assert!(matches!(
        result,
        Err(CallError::Status(StatusCode::SERVICE_UNAVAILABLE, _))
    ));
    assert!(clock.sleeps().is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_until_the_window_closes() {
    // Bind and drop a listener: its port then refuses connections.
    let url = format!("{}/handles/query", support::refused_url());
    let client = reqwest::Client::new();
    let clock = FakeClock::default();
    let mut attempts = 0;
    let result = policy()
        .run(
            &clock,
            RetryMode::Idempotent,
            || {
                attempts += 1;
                send(&client, client.post(&url))
            },
            classify,
        )
        .await;
    let Err(CallError::Transport(error)) = result else {
        panic!("expected a transport error")
    };
    assert!(error.is_connect(), "{error}");
    assert_eq!(attempts, 4);
    assert_eq!(clock.sleeps(), [2, 4, 8].map(Duration::from_secs));
}
