//! `MpsdClient::api()` — the generated client, which the CLI's generated commands use — runs each request through
//! the client's call policy: an idempotent operation is retried on 503 (honoring `Retry-After`) and repeated once
//! with a refreshed token after a 401; a write that is not idempotent is sent once. Against a mock MPSD on
//! loopback, on a fake clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xbl_mpsd_ext::{AuthError, FnTokenProvider, MpsdClient, TokenRequest, XblToken, types};

mod support;
use support::{HANDLE, handle_json};

const SCID: &str = support::MOCK_SCID;

fn uuid() -> uuid::Uuid {
    HANDLE.parse().unwrap()
}

#[tokio::test]
async fn a_generated_read_is_retried_after_two_503s_honoring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "3"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(handle_json()))
        .expect(1)
        .mount(&server)
        .await;
    let (client, clock) = support::mock_client(&server.uri(), "t");
    let handle = client
        .api()
        .get_handle()
        .handle_id(uuid())
        .send()
        .await
        .unwrap();
    assert_eq!(handle.status(), 200);
    // Backoff 2 s then 4 s, but at least the 3 s the service asked for.
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(3), Duration::from_secs(4)]
    );
}

#[tokio::test]
async fn an_x_idempotent_post_is_retried_and_a_plain_post_is_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/serviceconfigs/{SCID}/batch")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .mount(&server)
        .await;
    let (client, _) = support::mock_client(&server.uri(), "t");
    // `create_handle` is a POST without `x-idempotent`: its 503 is the answer.
    let request: types::CreateHandleRequest = serde_json::from_value(json!({
        "type": "activity", "version": 1,
        "sessionRef": {"scid": SCID, "templateName": "lobby", "name": "game-1"}
    }))
    .unwrap();
    let error = client
        .api()
        .create_handle()
        .body(request)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // `query_sessions_batch` is a POST marked `x-idempotent: true`: retried past the second 503.
    let body: types::SessionQueryBatchRequest =
        serde_json::from_value(json!({"xuids": ["2533274792693551"]})).unwrap();
    let found = client
        .api()
        .query_sessions_batch()
        .scid(SCID.parse::<xbl_mpsd_ext::Scid>().unwrap())
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(found.into_inner().results.is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_generated_read_refused_with_401_refreshes_the_token_and_repeats_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "XBL3.0 x=-;fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(handle_json()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("token expired"))
        .mount(&server)
        .await;
    let refreshed = Arc::new(AtomicUsize::new(0));
    let counter = refreshed.clone();
    // A provider that does not cache what it refreshed: the client sends the fresh token on the repeat.
    let provider = FnTokenProvider::new(move |request: TokenRequest| {
        let counter = counter.clone();
        async move {
            if let TokenRequest::Refresh { .. } = request {
                counter.fetch_add(1, Ordering::SeqCst);
                return XblToken::without_user_hash("fresh").map_err(AuthError::InvalidToken);
            }
            XblToken::without_user_hash("stale").map_err(AuthError::InvalidToken)
        }
    });
    let client = MpsdClient::builder()
        .base_url(server.uri())
        .token_provider(provider)
        .build()
        .unwrap();
    let handle = client
        .api()
        .get_handle()
        .handle_id(uuid())
        .send()
        .await
        .unwrap();
    assert_eq!(handle.status(), 200);
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);
    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["XBL3.0 x=-;stale", "XBL3.0 x=-;fresh"]);
}

#[tokio::test]
async fn the_typed_helpers_are_not_retried_twice_over() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let (client, clock) = support::mock_client(&server.uri(), "t");
    client
        .get_handle(HANDLE.parse().unwrap())
        .send()
        .await
        .unwrap_err();
    // XSAPI's schedule once (2, 4, 8 s in the 20 s window): 4 requests, not 4 × 4.
    assert_eq!(clock.sleeps().len(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}
