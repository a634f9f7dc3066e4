//! `customize` on the typed helpers: a parameter the helper has no method for reaches the wire through the
//! generated builder, on every retry; a closure for another operation than the one sent is refused before any
//! request — against a mock MPSD on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xbl_mpsd_ext::api::builder;
use xbl_mpsd_ext::{Error, SessionReference, handles};

mod support;
use support::{HANDLE, handle_json};

const SCID: &str = support::MOCK_SCID;

#[tokio::test]
async fn a_handle_query_sends_a_query_parameter_its_helper_does_not_know() {
    let server = MockServer::start().await;
    // `take` is a query parameter of the generated `query_handles` that `QueryHandles` has no method for.
    Mock::given(method("POST"))
        .and(path("/handles/query"))
        .and(query_param("take", "7"))
        .and(query_param("include", "relatedInfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [handle_json()]})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = support::mock_client(&server.uri(), "t");
    let query = handles::activities_query(
        &SCID.parse().unwrap(),
        &["2533274792693551".parse().unwrap()],
    );
    let found = client
        .query_handles(query)
        .include(handles::Include::RelatedInfo)
        .customize(|request| request.take(7))
        .send()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn the_closure_runs_again_on_each_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .and(header("accept-language", "fr-FR"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .and(header("accept-language", "fr-FR"))
        .respond_with(ResponseTemplate::new(200).set_body_json(handle_json()))
        .expect(1)
        .mount(&server)
        .await;
    let (client, clock) = support::mock_client(&server.uri(), "t");
    let handle = client
        .get_handle(HANDLE.parse().unwrap())
        .customize(|request| request.accept_language("fr-FR"))
        .send()
        .await
        .unwrap();
    assert_eq!(handle.type_.as_str(), "activity");
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn a_session_query_applies_the_closure_for_the_builder_it_sends() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/serviceconfigs/{SCID}/sessiontemplates/lobby/sessions"
        )))
        .and(query_param("keyword", "ctf"))
        .and(query_param("take", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = support::mock_client(&server.uri(), "t");
    let found = client
        .query_sessions(SCID.parse().unwrap())
        .template("lobby".parse().unwrap())
        .keyword("ctf")
        // One closure per builder the query may send; only the template query's applies.
        .customize(|request: builder::QuerySessions<'_>| request.take(1))
        .customize(|request: builder::QueryTemplateSessions<'_>| request.take(2))
        .send()
        .await
        .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn a_closure_for_another_operation_is_refused_before_sending() {
    let server = MockServer::start().await;
    let (client, _) = support::mock_client(&server.uri(), "t");
    let session: SessionReference =
        format!("/serviceconfigs/{SCID}/sessionTemplates/lobby/sessions/s1")
            .parse()
            .unwrap();
    let error = client
        .get_session(&session)
        .customize(|request: builder::GetSessionByHandle<'_>| request.accept_language("en-US"))
        .send()
        .await
        .unwrap_err();
    let Error::InvalidRequest(message) = &error else {
        panic!("{error:?}");
    };
    assert!(
        message.contains("get_session_by_handle") && message.contains("sends `get_session`"),
        "{message}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_write_gets_the_closure_for_the_builder_it_sends() {
    let server = MockServer::start().await;
    let location = format!("/serviceconfigs/{SCID}/sessionTemplates/lobby/sessions/s1");
    Mock::given(method("PUT"))
        .and(path(location.as_str()))
        .and(header("accept-language", "de-DE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = support::mock_client(&server.uri(), "t");
    let session: SessionReference = location.parse().unwrap();
    let outcome = client
        .write(&session, xbl_mpsd_ext::SessionDelta::new())
        .customize(|request: builder::WriteSession<'_>| request.accept_language("de-DE"))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(outcome, xbl_mpsd_ext::WriteOutcome::SessionDeleted),
        "{outcome:?}"
    );
}
