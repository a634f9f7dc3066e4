//! Session queries, clearing an activity and invites to several players, over loopback: against the emulator
//! (what is sent, what comes back, the service's refusals) and against a mock MPSD (retries, several activities,
//! an invite that fails half-way).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use xbl_mpsd_ext::query::{ActivityCleared, QueryError, QueryRule};
use xbl_mpsd_ext::retry::FixedJitter;
use xbl_mpsd_ext::types::{QueryMemberStatusKind, RestrictionKind, Visibility, VisibilityKind};
use xbl_mpsd_ext::{
    Error, Exchange, FakeClock, MpsdClient, Observer, RetryPolicy, SessionDelta, SessionReference,
    SessionTemplateName, TitleId, XblToken, Xuid, handles,
};

const SCID: &str = "00000000-0000-0000-0000-00007a5b8c9d";
const HOST: &str = "2533274792693551";
const FRIEND: &str = "2814679796296491";
const OTHER: &str = "2814679796296492";

fn xuid(text: &str) -> Xuid {
    text.parse().unwrap()
}

/// Every exchange as `METHOD path?query`.
#[derive(Default, Clone)]
struct Requests(Arc<Mutex<Vec<String>>>);

impl Observer for Requests {
    fn observe(&self, exchange: &Exchange<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", exchange.method, exchange.path));
    }
}

impl Requests {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn client(base: &str, user: &str, requests: &Requests) -> MpsdClient {
    MpsdClient::builder()
        .base_url(base)
        .token(XblToken::new("-", user).unwrap())
        .observer(requests.clone())
        .build()
        .unwrap()
}

fn session(template: &str, name: &str) -> SessionReference {
    format!("/serviceconfigs/{SCID}/sessionTemplates/{template}/sessions/{name}")
        .parse()
        .unwrap()
}

/// The friend plays in `lobby/open-1` (open, keyword `ctf`, followed join restriction, the friend's turn) and
/// `game/g-1`, and alone in the private `lobby/secret`.
async fn world() -> (RunningEmulator, MpsdClient, MpsdClient, Requests) {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let requests = Requests::default();
    let host = client(&emulator.base_url(), HOST, &requests);
    let friend = client(&emulator.base_url(), FRIEND, &Requests::default());
    let open = SessionDelta::new()
        .join(xuid(FRIEND))
        .keywords(["ctf"])
        .join_restriction(xbl_mpsd_ext::types::Restriction::FOLLOWED)
        .turn([0]);
    friend
        .write(session("lobby", "open-1"), open)
        .send()
        .await
        .unwrap();
    friend
        .write(
            session("game", "g-1"),
            SessionDelta::new().join(xuid(FRIEND)),
        )
        .send()
        .await
        .unwrap();
    friend
        .write(
            session("lobby", "secret"),
            SessionDelta::new()
                .join(xuid(FRIEND))
                .visibility(Visibility::PRIVATE),
        )
        .send()
        .await
        .unwrap();
    (emulator, host, friend, requests)
}

#[tokio::test]
async fn one_xuid_is_a_get_and_the_results_are_typed() {
    let (_emulator, host, _friend, requests) = world().await;
    let found = host
        .query_sessions(SCID.parse().unwrap())
        .xuid(xuid(FRIEND))
        .send()
        .await
        .unwrap();
    assert_eq!(
        requests.take(),
        [format!("GET /serviceconfigs/{SCID}/sessions?xuid={FRIEND}")]
    );
    let names: Vec<&str> = found
        .iter()
        .map(|f| f.session_ref().name.as_str())
        .collect();
    assert_eq!(names, ["open-1", "g-1"], "not the private one");
    let open = &found[0];
    assert_eq!(open.session_ref(), &session("lobby", "open-1"));
    assert_eq!(open.xuid(), Some(xuid(FRIEND)));
    assert_eq!(open.status(), Some(QueryMemberStatusKind::Active));
    assert_eq!(open.visibility(), Some(VisibilityKind::Open));
    assert!(open.is_open());
    assert_eq!(open.join_restriction(), Some(RestrictionKind::Followed));
    assert!(open.my_turn());
    assert_eq!(open.accepted(), Some(1));
    assert_eq!(open.keywords(), ["ctf"]);
    assert!(open.start_time().is_some_and(|t| t.to_datetime().is_ok()));
    assert!(!found[1].my_turn());
}

#[tokio::test]
async fn several_xuids_are_a_batch_post_and_filters_go_in_the_query_string() {
    let (_emulator, host, _friend, requests) = world().await;
    let lobby = SessionTemplateName::new("lobby").unwrap();
    let found = host
        .query_sessions(SCID.parse().unwrap())
        .template(lobby)
        .xuids([xuid(OTHER), xuid(FRIEND)])
        .keyword("CTF")
        .visibility(Visibility::OPEN)
        .take(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        requests.take(),
        [format!(
            "POST /serviceconfigs/{SCID}/sessiontemplates/lobby/batch?keyword=CTF&take=5&visibility=open"
        )]
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].xuid(), Some(xuid(FRIEND)));
    // A keyword alone: no player fields.
    let by_keyword = host
        .query_sessions(SCID.parse().unwrap())
        .keyword("ctf")
        .send()
        .await
        .unwrap();
    assert_eq!(by_keyword.len(), 1);
    assert_eq!((by_keyword[0].xuid(), by_keyword[0].status()), (None, None));
}

#[tokio::test]
async fn private_sessions_are_the_callers_own_and_bad_queries_are_not_sent() {
    let (_emulator, host, friend, requests) = world().await;
    let scid = || SCID.parse().unwrap();
    let own = friend
        .query_sessions(scid())
        .xuid(xuid(FRIEND))
        .private(true)
        .visibility(Visibility::PRIVATE)
        .send()
        .await
        .unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].visibility(), Some(VisibilityKind::Private));
    // Somebody else's private sessions: the service's 403, typed.
    let error = host
        .query_sessions(scid())
        .xuid(xuid(FRIEND))
        .private(true)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, QueryError::Request(Error::AccessDenied { status, .. }) if *status == 403),
        "{error:?}"
    );
    requests.take();
    for (query, rule) in [
        (host.query_sessions(scid()), QueryRule::NoFilter),
        (
            host.query_sessions(scid()).keyword("ctf").inactive(true),
            QueryRule::InactiveWithoutXuid,
        ),
        (
            host.query_sessions(scid()).xuid(xuid(FRIEND)).take(500),
            QueryRule::TakeTooLarge { take: 500 },
        ),
        (
            host.query_sessions(scid())
                .xuids((1..=101).map(|n: u64| xuid(&n.to_string()))),
            QueryRule::TooManyXuids { count: 101 },
        ),
    ] {
        let error = query.send().await.unwrap_err();
        assert_eq!(error.rule(), Some(&rule));
    }
    assert!(requests.take().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn clear_activity_deletes_the_one_activity_and_says_when_there_is_none() {
    let (_emulator, _host, friend, _requests) = world().await;
    let activity = friend
        .create_handle(handles::activity_request(&session("lobby", "open-1")))
        .send()
        .await
        .unwrap()
        .id()
        .unwrap();
    let cleared = friend
        .clear_activity(SCID.parse().unwrap(), xuid(FRIEND))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared, ActivityCleared::Cleared(activity));
    assert_eq!(cleared.deleted(), [activity]);
    let error = friend.get_handle(activity).send().await.unwrap_err();
    assert!(matches!(error, Error::HandleNotFound { .. }), "{error:?}");
    let again = friend
        .clear_activity(SCID.parse().unwrap(), xuid(FRIEND))
        .send()
        .await
        .unwrap();
    assert_eq!(again, ActivityCleared::NoActivity);
    assert!(again.deleted().is_empty());
}

#[tokio::test]
async fn invites_answer_per_invitee_and_a_failure_names_its_invitee() {
    // Two handles per user: the third invite is refused (403), the others are sent.
    let emulator = Emulator::start(EmulatorConfig {
        max_handles_per_user: 2,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let requests = Requests::default();
    let host = client(&emulator.base_url(), HOST, &requests);
    let lobby = session("lobby", "party");
    host.write(&lobby, SessionDelta::new().join(xuid(HOST)))
        .send()
        .await
        .unwrap();
    requests.take();
    let invitees = [xuid(FRIEND), xuid(OTHER), xuid("2814679796296493")];
    let results = host
        .send_invites(&lobby, invitees, TitleId::new(1234), Some("level=3"))
        .context_string("///custominvitestrings_JoinMe")
        .send()
        .await
        .unwrap();
    assert_eq!(
        requests.take().len(),
        3,
        "one POST per invitee, none retried"
    );
    let sent: Vec<Xuid> = results.iter().map(|r| r.invitee).collect();
    assert_eq!(sent, invitees);
    for result in &results[..2] {
        let id = result.handle_id().expect("sent");
        let handle = host.get_handle(id).send().await.unwrap();
        assert_eq!(handle.invited(), Some(result.invitee));
        let attributes = handle.invite_attributes.as_ref().unwrap();
        assert_eq!(
            attributes.context.as_ref().map(String::as_str),
            Some("level=3")
        );
        assert_eq!(
            attributes.context_string.as_ref().map(String::as_str),
            Some("///custominvitestrings_JoinMe")
        );
    }
    assert!(!results[2].is_sent());
    assert!(
        matches!(&results[2].outcome, Err(Error::AccessDenied { status, .. }) if *status == 403),
        "{:?}",
        results[2].outcome
    );
}

fn mock_client(server: &MockServer) -> MpsdClient {
    MpsdClient::builder()
        .base_url(server.uri())
        .token(XblToken::new("-", HOST).unwrap())
        .retry_policy(RetryPolicy::default().with_jitter(FixedJitter(0.0)))
        .clock(Arc::new(FakeClock::default()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_batch_query_is_a_read_and_is_retried() {
    let server = MockServer::start().await;
    let batch = format!("/serviceconfigs/{SCID}/batch");
    Mock::given(method("POST"))
        .and(path(batch.as_str()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let result = json!({ "results": [{ "xuid": FRIEND, "status": "Active", "sessionRef":
        { "scid": SCID, "templateName": "lobby", "name": "s" }, "visibility": "Open", "futureField": 1 }] });
    Mock::given(method("POST"))
        .and(path(batch.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&result))
        .expect(1)
        .mount(&server)
        .await;
    let found = mock_client(&server)
        .query_sessions(SCID.parse().unwrap())
        .xuids([xuid(HOST), xuid(FRIEND)])
        .send()
        .await
        .unwrap();
    assert_eq!(found[0].status(), Some(QueryMemberStatusKind::Active));
    // Kept as sent: the casing and the field the spec does not know.
    let document = serde_json::to_value(found[0].document()).unwrap();
    assert_eq!(document, result["results"][0]);
}

#[tokio::test]
async fn several_activities_are_all_deleted_and_reported() {
    let server = MockServer::start().await;
    let ids = [
        "7a4d0a99-4e23-4eba-9894-5173cf123fb4",
        "8b4d0a99-4e23-4eba-9894-5173cf123fb4",
    ];
    let reference = json!({ "scid": SCID, "templateName": "lobby", "name": "s" });
    let handle = |id: &str, kind: &str, owner: &str| json!({ "id": id, "type": kind, "ownerXuid": owner, "sessionRef": reference, "version": 1 });
    let results = json!({ "results": [
        handle(ids[0], "activity", HOST),
        handle(ids[1], "Activity", HOST),
        handle("9c4d0a99-4e23-4eba-9894-5173cf123fb4", "search", HOST),
        handle("ad4d0a99-4e23-4eba-9894-5173cf123fb4", "activity", FRIEND),
    ] });
    Mock::given(method("POST"))
        .and(path("/handles/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&results))
        .expect(1)
        .mount(&server)
        .await;
    // The first delete finds the handle already gone: it counts as cleared.
    Mock::given(method("DELETE"))
        .and(path(format!("/handles/{}", ids[0])))
        .respond_with(ResponseTemplate::new(404).set_body_string("gone"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/handles/{}", ids[1])))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex("^/handles/(9c|ad).*"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let cleared = mock_client(&server)
        .clear_activity(SCID.parse().unwrap(), xuid(HOST))
        .send()
        .await
        .unwrap();
    let expected: Vec<_> = ids.iter().map(|id| id.parse().unwrap()).collect();
    assert_eq!(cleared, ActivityCleared::ClearedSeveral(expected));
}

#[tokio::test]
async fn an_invite_that_fails_is_not_retried_and_the_others_are_sent() {
    let server = MockServer::start().await;
    let created = |id: &str| {
        ResponseTemplate::new(201)
            .set_body_json(json!({ "id": id, "type": "invite", "version": 1 }))
    };
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(created("7a4d0a99-4e23-4eba-9894-5173cf123fb4"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/handles"))
        .respond_with(created("8b4d0a99-4e23-4eba-9894-5173cf123fb4"))
        .expect(1)
        .mount(&server)
        .await;
    let lobby = session("lobby", "party");
    let results = mock_client(&server)
        .send_invites(
            &lobby,
            [xuid(FRIEND), xuid(OTHER), xuid(HOST)],
            TitleId::new(1234),
            None,
        )
        .send()
        .await
        .unwrap();
    let sent: Vec<bool> = results.iter().map(|r| r.is_sent()).collect();
    assert_eq!(sent, [true, false, true]);
    assert_eq!(results[1].invitee, xuid(OTHER));
    assert!(matches!(results[1].outcome, Err(Error::Unavailable { .. })));
    let bodies: Vec<serde_json::Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let invited: Vec<&str> = bodies
        .iter()
        .map(|b| b["invitedXuid"].as_str().unwrap())
        .collect();
    assert_eq!(invited, [FRIEND, OTHER, HOST]);
}

#[tokio::test]
async fn the_generic_operation_path_retries_a_batch_query_marked_idempotent() {
    use xbl_mpsd_ext::api::Operation as _;
    use xbl_mpsd_ext::api::builder::{QuerySessionsBatch, WriteSession};
    assert!(QuerySessionsBatch::is_idempotent(), "x-idempotent: true");
    assert!(!WriteSession::is_idempotent(), "a session PUT is not");
    let server = MockServer::start().await;
    let batch = format!("/serviceconfigs/{SCID}/batch");
    Mock::given(method("POST"))
        .and(path(batch.as_str()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(batch.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [] })))
        .expect(1)
        .mount(&server)
        .await;
    let client = mock_client(&server);
    let body = json!({ "xuids": [HOST, FRIEND] });
    let reply = client
        .operation(|api| {
            api.query_sessions_batch()
                .scid(SCID.parse::<xbl_mpsd_ext::Scid>().unwrap())
                .body(
                    serde_json::from_value::<xbl_mpsd_ext::types::SessionQueryBatchRequest>(
                        body.clone(),
                    )
                    .unwrap(),
                )
        })
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(
        reply
            .into_typed()
            .is_some_and(|answer| answer.results.is_empty())
    );
}
