//! Any generated operation through `MpsdClient::operation` (contract version, authorization, retries by
//! method, typed errors), and successes the crate does not know (202, …) never reported as errors — against
//! a mock MPSD on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xbl_mpsd_ext::types;
use xbl_mpsd_ext::{ETag, Error, FakeClock, HandleId, MpsdClient, Read, Reply, WriteOutcome};

mod support;
use support::{HANDLE, handle_json};

const SCID: &str = support::MOCK_SCID;

fn handle() -> HandleId {
    HANDLE.parse().unwrap()
}

fn client(server: &MockServer) -> (MpsdClient, Arc<FakeClock>) {
    support::mock_client(&server.uri(), "secret-token")
}

fn activity_request() -> types::CreateHandleRequest {
    serde_json::from_value(json!({
        "type": "activity", "version": 1,
        "sessionRef": {"scid": SCID, "templateName": "lobby", "name": "game-1"}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_generated_read_gets_the_client_headers_retries_and_the_typed_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .and(header("x-xbl-contract-version", "107"))
        .and(header("authorization", "XBL3.0 x=1234;secret-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(handle_json()))
        .mount(&server)
        .await;
    let (client, clock) = client(&server);
    let reply = client
        .operation(|api| api.get_handle().handle_id(*handle().as_uuid()))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let document = reply.into_typed().expect("the typed success");
    assert_eq!(
        document.id.as_ref().map(ToString::to_string).as_deref(),
        Some(HANDLE)
    );
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2), Duration::from_secs(4)],
        "GET is retried on XSAPI's schedule"
    );
}

#[tokio::test]
async fn a_generated_post_is_sent_once_unless_it_opts_in_and_errors_are_typed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .mount(&server)
        .await;
    let (client, clock) = client(&server);
    let body = activity_request();
    let err = client
        .operation(|api| api.create_handle().body(body.clone()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(clock.sleeps().is_empty());

    let err = client
        .operation(|api| api.create_handle().body(body.clone()))
        .retry_on_failure()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(server.received_requests().await.unwrap().len() > 2);
}

#[tokio::test]
async fn a_404_on_a_handle_path_is_handle_not_found_and_invalid_input_is_an_invalid_request() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("content-type", "text/plain")
                .set_body_string("no such handle"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .operation(|api| api.delete_handle().handle_id(*handle().as_uuid()))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::HandleNotFound { message, .. } if message == "no such handle"),
        "{err:?}"
    );
    // A builder missing its required path parameter never reaches the network.
    let err = client
        .operation(|api| api.get_handle())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn an_untyped_success_is_a_raw_reply() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/handles/query"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"job": "pending"})))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let query: types::HandleQueryRequest = serde_json::from_value(json!({
        "type": "activity", "scid": SCID, "owners": {"xuids": ["2533274792693551"]}
    }))
    .unwrap();
    let reply = client
        .operation(|api| api.query_handles().body(query.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
    let Reply::Raw(response) = reply else {
        panic!("a 202 is not the typed 200");
    };
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"job": "pending"})
    );
}

/// 202 Accepted to every wrapped call: a success each time, never `Error::Service`.
#[tokio::test]
async fn unknown_successes_of_the_wrapped_calls_are_successes() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("/handles/{HANDLE}/session")))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}/session")))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/handles/query"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(202).set_body_json(handle_json()))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let (client, _) = client(&server);

    let outcome = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .send()
        .await
        .unwrap();
    assert!(
        matches!(&outcome, WriteOutcome::Accepted { status, session: None, .. } if *status == 202),
        "{outcome:?}"
    );
    assert!(outcome.is_committed());
    assert_eq!(
        client
            .get_session(handle())
            .if_none_match(&ETag::new("E").unwrap())
            .send()
            .await
            .unwrap(),
        Read::NoSession
    );
    assert_eq!(
        client
            .create_handle(activity_request())
            .send()
            .await
            .unwrap()
            .document,
        None
    );
    let query: types::HandleQueryRequest = serde_json::from_value(json!({
        "type": "activity", "scid": SCID, "owners": {"xuids": ["2533274792693551"]}
    }))
    .unwrap();
    assert!(client.query_handles(query).send().await.unwrap().is_empty());
    let document = client.get_handle(handle()).send().await.unwrap();
    assert_eq!(
        document.id.as_ref().map(ToString::to_string).as_deref(),
        Some(HANDLE)
    );
    client.delete_handle(handle()).send().await.unwrap();
}

#[tokio::test]
async fn an_accepted_write_with_a_session_body_keeps_the_session() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("/handles/{HANDLE}/session")))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("etag", "E7")
                .set_body_json(json!({"contractVersion": 107, "changeNumber": 7})),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let outcome = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .send()
        .await
        .unwrap();
    let session = outcome.session().expect("the session the 202 carried");
    assert_eq!(session.change_number(), Some(7));
    assert_eq!(session.etag().map(|e| e.as_str()), Some("E7"));
}
