//! The client against a mock MPSD on loopback: headers per write mode, every outcome and error, retries
//! (on a fake clock), no retry of writes, token refresh after a 401, and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use xbl_mpsd_ext::retry::FixedJitter;
use xbl_mpsd_ext::{
    AuthError, ContractVersion, ETag, Error, FakeClock, FnTokenProvider, HandleId, MpsdClient,
    RetryPolicy, SessionDelta, SessionReference, TokenRequest, WriteMode, WriteOutcome, XblToken,
    handles,
};

mod support;
use support::HANDLE;

const LOCATION: &str =
    "/serviceconfigs/00000000-0000-0000-0000-000076029b4d/sessionTemplates/lobby/sessions/game-1";
const SECRET: &str = "eyJzZWNyZXQiOiJ0b2tlbiJ9";

fn handle() -> HandleId {
    HANDLE.parse().unwrap()
}

fn session_json() -> Value {
    json!({
        "contractVersion": 107, "changeNumber": 3,
        "membersInfo": {"first": 0, "next": 1, "count": 1, "accepted": 1, "active": 1},
        "constants": {"system": {"visibility": "open", "maxMembersCount": 8}, "custom": {}},
        "properties": {"system": {}, "custom": {}},
        "members": {"0": {"constants": {"system": {"xuid": "2533274792693551", "index": 0}}}}
    })
}

fn session_response(status: u16, etag: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("etag", etag)
        .insert_header("content-location", LOCATION)
        .insert_header("date", "Sat, 28 Nov 2026 10:00:00 GMT")
        .set_body_json(session_json())
}

fn text(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/plain")
        .set_body_string(message)
}

fn client(server: &MockServer) -> (MpsdClient, Arc<FakeClock>) {
    support::mock_client(&server.uri(), SECRET)
}

fn put_by_handle() -> wiremock::MockBuilder {
    Mock::given(method("PUT")).and(path(format!("/handles/{HANDLE}/session")))
}

#[tokio::test]
async fn every_request_carries_the_contract_version_and_authorization_and_no_api_version() {
    let server = MockServer::start().await;
    put_by_handle()
        .and(header("x-xbl-contract-version", "107"))
        .and(header(
            "authorization",
            format!("XBL3.0 x=1234;{SECRET}").as_str(),
        ))
        .and(body_json(json!({"members": {"me": {
            "constants": {"system": {"xuid": "2533274792693551"}},
            "properties": {"system": {"active": true}}
        }}})))
        .respond_with(session_response(200, "E1"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let delta = SessionDelta::new().join("2533274792693551".parse().unwrap());
    client.write(handle(), delta).send().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("api-version").is_none());
    assert!(requests[0].headers.get("if-match").is_none());
    assert!(requests[0].headers.get("if-none-match").is_none());
}

#[tokio::test]
async fn the_contract_version_is_configurable_and_unknown_ones_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-xbl-contract-version", "105"))
        .respond_with(session_response(200, "E1"))
        .expect(1)
        .mount(&server)
        .await;
    let client = MpsdClient::builder()
        .base_url(server.uri())
        .contract_version(ContractVersion::V105)
        .build()
        .unwrap();
    client.get_session(handle()).send().await.unwrap();

    let err = MpsdClient::builder()
        .contract_version_number(106)
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("104, 105, 107"), "{message}");

    for bad in [
        "not a url",
        "ftp://example.com",
        "http://h/?q=1",
        "http://user:pw@h/",
    ] {
        assert!(
            MpsdClient::builder().base_url(bad).build().is_err(),
            "{bad} must be refused"
        );
    }
}

async fn headers_for(mode: WriteMode) -> (Option<String>, Option<String>) {
    let server = MockServer::start().await;
    put_by_handle()
        .respond_with(session_response(200, "E2"))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .mode(mode)
        .send()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let get = |name: &str| {
        requests[0]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    (get("if-match"), get("if-none-match"))
}

#[tokio::test]
async fn each_write_mode_sends_its_precondition_headers() {
    let star = Some("*".to_owned());
    assert_eq!(
        headers_for(WriteMode::CreateNew).await,
        (None, star.clone())
    );
    assert_eq!(
        headers_for(WriteMode::UpdateExisting).await,
        (star.clone(), None)
    );
    assert_eq!(
        headers_for(WriteMode::UpdateOrCreateNew).await,
        (None, None)
    );
    let etag = ETag::new("9555A7DE-8B91-40E4-8CFB-0629312C9C7D").unwrap();
    assert_eq!(
        headers_for(WriteMode::SynchronizedUpdate { etag: Some(etag) }).await,
        (
            Some("9555A7DE-8B91-40E4-8CFB-0629312C9C7D".to_owned()),
            None
        )
    );
    assert_eq!(
        headers_for(WriteMode::SynchronizedUpdate { etag: None }).await,
        (None, star)
    );
}

#[tokio::test]
async fn created_and_updated_carry_the_session_etag_reference_and_date() {
    let server = MockServer::start().await;
    put_by_handle()
        .and(header("if-none-match", "*"))
        .respond_with(session_response(201, "E-created"))
        .mount(&server)
        .await;
    put_by_handle()
        .and(header("if-match", "*"))
        .respond_with(session_response(200, "E-updated"))
        .mount(&server)
        .await;
    let (client, _) = client(&server);

    let created = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .mode(WriteMode::CreateNew)
        .send()
        .await
        .unwrap();
    let WriteOutcome::Created(session) = created else {
        panic!("expected Created, got {created:?}")
    };
    assert_eq!(session.etag().map(ETag::as_str), Some("E-created"));
    let expected: SessionReference = LOCATION.parse().unwrap();
    assert_eq!(session.reference(), Some(&expected));
    assert_eq!(
        session.retrieved(),
        Some(httpdate::parse_http_date("Sat, 28 Nov 2026 10:00:00 GMT").unwrap())
    );
    assert_eq!(
        session.member_xuids(),
        ["2533274792693551".parse::<xbl_mpsd_ext::Xuid>().unwrap()]
    );

    let updated = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .mode(WriteMode::UpdateExisting)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(updated, WriteOutcome::Updated(ref s) if s.etag().map(ETag::as_str) == Some("E-updated"))
    );
    assert!(updated.is_committed());
}

#[tokio::test]
async fn out_of_sync_returns_the_current_session_when_sent_and_deleted_is_204() {
    let server = MockServer::start().await;
    put_by_handle()
        .and(header("if-match", "old"))
        .respond_with(session_response(412, "E-current"))
        .mount(&server)
        .await;
    put_by_handle()
        .and(header("if-none-match", "*"))
        .respond_with(ResponseTemplate::new(412))
        .mount(&server)
        .await;
    put_by_handle()
        .and(body_json(json!({"members": {"me": null}})))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (client, _) = client(&server);

    let outcome = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .mode(WriteMode::SynchronizedUpdate {
            etag: Some(ETag::new("old").unwrap()),
        })
        .send()
        .await
        .unwrap();
    let WriteOutcome::OutOfSync {
        current: Some(current),
        ..
    } = &outcome
    else {
        panic!("expected OutOfSync with the session, got {outcome:?}")
    };
    assert_eq!(current.etag().map(ETag::as_str), Some("E-current"));
    assert_eq!(current.change_number(), Some(3));
    assert!(!outcome.is_committed());

    let outcome = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .mode(WriteMode::CreateNew)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(outcome, WriteOutcome::OutOfSync { current: None, .. }),
        "{outcome:?}"
    );

    let outcome = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new().leave())
        .send()
        .await
        .unwrap();
    assert_eq!(outcome, WriteOutcome::SessionDeleted);
}

#[tokio::test]
async fn error_statuses_become_typed_errors_with_the_service_text() {
    let cases: [(u16, &str); 7] = [
        (400, "BadRequest"),
        (401, "AccessDenied"),
        (403, "AccessDenied"),
        (404, "HandleNotFound"),
        (409, "Conflict"),
        (429, "Throttled"),
        (503, "Unavailable"),
    ];
    for (status, expected) in cases {
        let server = MockServer::start().await;
        put_by_handle()
            .respond_with(
                text(status, "The requested session wasn't found")
                    .insert_header("retry-after", "3"),
            )
            .mount(&server)
            .await;
        let client = MpsdClient::builder()
            .base_url(server.uri())
            .build()
            .unwrap();
        let err = client
            .write(handle(), xbl_mpsd_ext::SessionDelta::new())
            .send()
            .await
            .unwrap_err();
        let debug = format!("{err:?}");
        assert!(debug.starts_with(expected), "{status}: {debug}");
        assert!(
            err.to_string()
                .contains("The requested session wasn't found"),
            "{err}"
        );
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        if status == 429 || status == 503 {
            assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        }
    }
}

#[tokio::test]
async fn a_404_by_reference_is_not_found_rather_than_handle_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LOCATION))
        .respond_with(text(
            404,
            "The requested service config is either invalid or not configured for sessions",
        ))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let reference: SessionReference = LOCATION.parse().unwrap();
    let err = client.get_session(reference).send().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn writes_are_not_retried_unless_the_call_opts_in() {
    let server = MockServer::start().await;
    put_by_handle()
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .mount(&server)
        .await;
    let (client, clock) = client(&server);
    let err = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(clock.sleeps().is_empty());

    let err = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .retry_on_failure()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(server.received_requests().await.unwrap().len() > 2);
}

#[tokio::test]
async fn invites_are_not_retried_but_reads_follow_the_xsapi_schedule() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}/session")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}/session")))
        .respond_with(session_response(200, "E"))
        .mount(&server)
        .await;
    let (client, clock) = client(&server);

    let session: SessionReference = LOCATION.parse().unwrap();
    let invite = handles::invite_request(
        &session,
        "2814679796296491".parse().unwrap(),
        xbl_mpsd_ext::TitleId::new(1234),
        None,
    );
    let err = client.create_handle(invite).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(clock.sleeps().is_empty());

    let read = client.get_session(handle()).send().await.unwrap();
    assert!(read.is_some());
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2), Duration::from_secs(4)],
        "XSAPI's 2 s, 4 s backoff"
    );
}

#[tokio::test]
async fn reads_give_none_for_204_and_not_modified_for_304() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("if-none-match", "E1"))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    assert_eq!(client.get_session(handle()).send().await.unwrap(), None);
    let read = client
        .get_session(handle())
        .if_none_match(&ETag::new("E1").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read, xbl_mpsd_ext::Read::NotModified);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_repeats_a_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "XBL3.0 x=-;fresh"))
        .respond_with(session_response(200, "E"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(text(401, "token expired"))
        .mount(&server)
        .await;
    let refreshed = Arc::new(AtomicUsize::new(0));
    let counter = refreshed.clone();
    let provider = FnTokenProvider::new(move |request: TokenRequest| {
        let counter = counter.clone();
        async move {
            let token = if counter.load(Ordering::SeqCst) > 0 {
                "fresh"
            } else {
                "stale"
            };
            if let TokenRequest::Refresh { .. } = request {
                counter.fetch_add(1, Ordering::SeqCst);
                return XblToken::without_user_hash("fresh").map_err(AuthError::InvalidToken);
            }
            XblToken::without_user_hash(token).map_err(AuthError::InvalidToken)
        }
    });
    let client = MpsdClient::builder()
        .base_url(server.uri())
        .token_provider(provider)
        .build()
        .unwrap();
    assert!(client.get_session(handle()).send().await.unwrap().is_some());
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A provider whose token is at hand (`token_ready`): the client sends it without awaiting `token()`,
/// and after a 401 sends the refreshed token instead of the rejected one it still has at hand.
#[tokio::test]
async fn a_token_at_hand_is_sent_without_awaiting_the_provider_and_a_refresh_replaces_it() {
    struct AtHand {
        awaited: AtomicUsize,
    }
    impl xbl_mpsd_ext::TokenProvider for AtHand {
        fn token(&self) -> xbl_mpsd_ext::TokenFuture<'_> {
            self.awaited.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {
                XblToken::without_user_hash("awaited").map_err(AuthError::InvalidToken)
            })
        }
        fn refresh<'a>(&'a self, _rejected: &'a XblToken) -> xbl_mpsd_ext::TokenFuture<'a> {
            Box::pin(async {
                XblToken::without_user_hash("fresh").map_err(AuthError::InvalidToken)
            })
        }
        fn token_ready(&self) -> Option<XblToken> {
            XblToken::without_user_hash("ready").ok()
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "XBL3.0 x=-;ready"))
        .respond_with(text(401, "token expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "XBL3.0 x=-;fresh"))
        .respond_with(session_response(200, "E"))
        .expect(2)
        .mount(&server)
        .await;
    let provider = Arc::new(AtHand {
        awaited: AtomicUsize::new(0),
    });
    let client = MpsdClient::builder()
        .base_url(server.uri())
        .token_provider(provider.clone())
        .build()
        .unwrap();
    // ready → 401 → refresh → fresh; then fresh again, though the provider still has "ready" at hand.
    assert!(client.get_session(handle()).send().await.unwrap().is_some());
    assert!(client.get_session(handle()).send().await.unwrap().is_some());
    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        sent,
        ["XBL3.0 x=-;ready", "XBL3.0 x=-;fresh", "XBL3.0 x=-;fresh"]
    );
    // A provider with its token at hand is never awaited for it, not even by the refresh.
    assert_eq!(provider.awaited.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_static_token_refused_with_401_is_access_denied_without_a_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(text(401, "token expired"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client.get_session(handle()).send().await.unwrap_err();
    assert!(
        matches!(err, Error::AccessDenied { status, .. } if status == 401),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failing_token_provider_is_an_authorization_error_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let provider = FnTokenProvider::new(|_: TokenRequest| async {
        Err(xbl_mpsd_ext::AuthError::provider("the user is signed out"))
    });
    let client = MpsdClient::builder()
        .base_url(server.uri())
        .token_provider(provider)
        .build()
        .unwrap();
    let err = client.get_session(handle()).send().await.unwrap_err();
    assert!(
        matches!(err, Error::Authorization(ref m) if m.contains("signed out")),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn handles_are_created_read_queried_and_deleted() {
    let server = MockServer::start().await;
    let doc = json!({"id": HANDLE, "type": "activity", "version": 1,
        "sessionRef": {"scid": "MockScid", "templateName": "lobby", "name": "game-1"},
        "ownerXuid": "2533274792693551", "titleId": "1234"});
    Mock::given(method("POST"))
        .and(path("/handles"))
        .and(body_json(json!({"type": "activity", "version": 1,
            "sessionRef": {"scid": "MockScid", "templateName": "lobby", "name": "game-1"}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(doc.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc.clone()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/handles/query"))
        .and(query_param("include", "relatedInfo,customProperties"))
        .and(body_json(json!({"type": "activity", "scid": "MockScid",
            "owners": {"xuids": ["2533274792693551"]}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [doc]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/handles/{HANDLE}")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let session: SessionReference =
        "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/game-1"
            .parse()
            .unwrap();
    let created = client
        .create_handle(handles::activity_request(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(created.id(), Some(handle()));
    let created = created.document.unwrap();
    assert_eq!(client.get_handle(handle()).send().await.unwrap(), created);
    let found = client
        .query_handles(handles::activities_query(
            &session.scid,
            &["2533274792693551".parse().unwrap()],
        ))
        .include(xbl_mpsd_ext::Include::RelatedInfo)
        .include(xbl_mpsd_ext::Include::CustomProperties)
        .send()
        .await
        .unwrap();
    assert_eq!(found, [created]);
    client.delete_handle(handle()).send().await.unwrap();
}

#[tokio::test]
async fn an_activity_post_with_an_empty_body_is_accepted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let session: SessionReference = LOCATION.parse().unwrap();
    let created = client
        .create_handle(handles::activity_request(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(created.document, None);
    assert_eq!(created.id(), None);
}

#[tokio::test]
async fn an_undecodable_success_keeps_the_body_in_the_error() {
    let server = MockServer::start().await;
    put_by_handle()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{\"changeNumber\": \"three\"}", "application/json"),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .send()
        .await
        .unwrap_err();
    let Error::InvalidResponse { body, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(body.contains("three"));
}

#[tokio::test]
async fn the_token_never_shows_in_debug_display_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(move |request: &Request| {
            // Echo nothing of the request back: the error text must come only from the service message.
            assert!(request.headers.contains_key("authorization"));
            text(401, "denied")
        })
        .mount(&server)
        .await;
    let builder = MpsdClient::builder()
        .base_url(server.uri())
        .token(XblToken::new("1234", SECRET).unwrap());
    assert!(!format!("{builder:?}").contains(SECRET));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(SECRET));
    let err = client.get_session(handle()).send().await.unwrap_err();
    assert!(!format!("{err:?}").contains(SECRET));
    assert!(!err.to_string().contains(SECRET));
}

/// Records what an observer is told.
#[derive(Clone, Default)]
struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

impl xbl_mpsd_ext::Observer for Recorder {
    fn observe(&self, exchange: &xbl_mpsd_ext::Exchange<'_>) {
        let line = match exchange.outcome {
            Ok((status, headers)) => format!(
                "{} {} {} {} {}",
                exchange.operation_id,
                exchange.method,
                exchange.path,
                status.as_u16(),
                headers
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
            ),
            Err(e) => format!("{} failed: {e}", exchange.operation_id),
        };
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test]
async fn an_observer_sees_every_exchange_retries_included() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(session_response(200, "E7"))
        .mount(&server)
        .await;
    put_by_handle()
        .respond_with(ResponseTemplate::new(412))
        .mount(&server)
        .await;
    let recorder = Recorder::default();
    let client = MpsdClient::builder()
        .base_url(server.uri())
        .token(XblToken::new("1234", SECRET).unwrap())
        .retry_policy(RetryPolicy::default().with_jitter(FixedJitter(0.0)))
        .clock(Arc::new(FakeClock::default()))
        .observer(recorder.clone())
        .build()
        .unwrap();
    client.get_session(handle()).send().await.unwrap();
    client
        .write(handle(), xbl_mpsd_ext::SessionDelta::new())
        .mode(WriteMode::CreateNew)
        .no_commit()
        .send()
        .await
        .unwrap();
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            format!("get_session_by_handle GET /handles/{HANDLE}/session 503 -"),
            format!("get_session_by_handle GET /handles/{HANDLE}/session 200 E7"),
            format!("write_session_by_handle PUT /handles/{HANDLE}/session?nocommit=true 412 -"),
        ]
    );
    assert!(!format!("{client:?}").contains(SECRET));
}
