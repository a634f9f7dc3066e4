//! Decode tests against XSAPI's multiplayer fixture (`Multiplayer.json`, 62 real-shaped documents).
//!
//! The corpus is vendored in `test-fixtures/xsapi/Multiplayer.json` (MIT, Microsoft; origin and commit in
//! `test-fixtures/xsapi/ORIGIN`); `$XBL_MPSD_CONFORMANCE_DIR/Multiplayer.json` overrides it when set. Every document the spec
//! models must decode into the generated types and re-encode to exactly the same JSON value.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use xbl_mpsd_api::types::{
    CreateHandleRequest, HandleDocument, HandleQueryRequest, HandleQueryResponse,
    InitializationStageKind, MultiplayerSession, MultiplayerSessionRequest, QueryMemberStatusKind,
    RestrictionKind, SessionQueryResponse, VisibilityKind,
};
use xbl_mpsd_api::{MemberKey, Nullable, Xuid};

/// What each corpus document is, by the schema that models it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Session,
    Delta,
    CreateHandle,
    Handle,
    QueryRequest,
    QueryResponse,
    /// The answer of a session query (`GET …/sessions`, `POST …/batch`).
    SessionQueryResponse,
    /// A payload of another service (RTA) that MPSD's REST API does not carry.
    NotModelled,
}

const CORPUS: &[(&str, Kind)] = &[
    ("defaultSessionDocument", Kind::Session),
    ("MultiplayerResponseForComparingSessions", Kind::Session),
    ("largeSessionDocument", Kind::Session),
    ("sessionWithInitialTeamResponseJson", Kind::Session),
    ("serversJson", Kind::Delta),
    ("defaultJsonWrite", Kind::Delta),
    ("sessionCapabilitiesJson", Kind::Delta),
    ("writeAddMemberJson", Kind::Delta),
    ("writeCustomPropertyJson", Kind::Delta),
    ("deleteCustomPropertyJson", Kind::Delta),
    ("memberStatusInactiveJson", Kind::Delta),
    ("memberStatusInactiveJson2", Kind::Delta),
    ("memberStatusInactiveJson3", Kind::Delta),
    ("memberStatusActiveJson", Kind::Delta),
    ("matchmakingPropertiesJson", Kind::Delta),
    ("matchmakingSessionConstantsJson", Kind::Delta),
    ("memberCustomJson", Kind::Delta),
    ("deleteMemberCustomJson", Kind::Delta),
    ("leaveJson", Kind::Delta),
    ("secureDeviceJson", Kind::Delta),
    ("turnJson", Kind::Delta),
    ("keywordsJson", Kind::Delta),
    ("joinRestrictionJson", Kind::Delta),
    (
        "TestWriteSessionAsyncWithReadRestrictionExpectedRequest",
        Kind::Delta,
    ),
    ("timeoutsJson", Kind::Delta),
    ("arbitrationTimeoutsJson", Kind::Delta),
    ("qosMetricsJson", Kind::Delta),
    ("measurementServerAddressJson", Kind::Delta),
    ("cloudComputePackageJson", Kind::Delta),
    ("memberInitializationJson", Kind::Delta),
    ("peerToPeerJson", Kind::Delta),
    ("peerToHostJson", Kind::Delta),
    ("initializationStatusJson", Kind::Delta),
    ("hostDeviceTokenJson", Kind::Delta),
    ("serverConnectionPathJson", Kind::Delta),
    ("matchmakingResubmitJson", Kind::Delta),
    ("serverConnectionStringCandidatesJson", Kind::Delta),
    ("membersInGroupJson", Kind::Delta),
    ("qosMeasurementsJson", Kind::Delta),
    ("qosServerMeasurementsJson", Kind::Delta),
    ("closedJson", Kind::Delta),
    ("lockedJson", Kind::Delta),
    ("setSessionChangeTypesJson", Kind::Delta),
    ("arbitrationResultJson", Kind::Delta),
    ("arbitrationResultRankJson", Kind::Delta),
    ("roleTypesRequestJson", Kind::Delta),
    ("activityJson", Kind::CreateHandle),
    ("transferHandleJson", Kind::CreateHandle),
    ("searchHandleJson", Kind::CreateHandle),
    ("inviteRequestJson", Kind::CreateHandle),
    ("transferHandleResponseJson", Kind::Handle),
    ("inviteResponseJson", Kind::Handle),
    ("searchHandlesRequestJson", Kind::QueryRequest),
    (
        "searchHandlesWithSocialGroupRequestJson",
        Kind::QueryRequest,
    ),
    ("activitiesForUserRequestJson", Kind::QueryRequest),
    ("activitiesForSocialGroupRequestJson", Kind::QueryRequest),
    ("searchHandlesResponseJson", Kind::QueryResponse),
    ("activitiesForUserResponseJson", Kind::QueryResponse),
    ("activitiesForSocialGroupResponseJson", Kind::QueryResponse),
    ("rtaConnectionIdJson", Kind::NotModelled),
    ("rtaSessionUpdateJson", Kind::NotModelled),
    ("defaultQuerySessionsResponse", Kind::SessionQueryResponse),
];

fn corpus_path() -> PathBuf {
    let from_env = std::env::var_os("XBL_MPSD_CONFORMANCE_DIR").map(PathBuf::from);
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-fixtures/xsapi");
    let candidates: Vec<PathBuf> = from_env.into_iter().chain([default]).collect();
    for dir in &candidates {
        let file = dir.join("Multiplayer.json");
        if file.is_file() {
            return file;
        }
    }
    panic!(
        "the XSAPI conformance corpus was not found: looked for Multiplayer.json in {candidates:?}. \
         It is part of the repository (test-fixtures/xsapi); set XBL_MPSD_CONFORMANCE_DIR to a folder holding it."
    );
}

fn corpus() -> Map<String, Value> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => map,
        other => panic!("{path:?} is not one JSON object: {other:?}"),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(name: &str, doc: &Value) -> Result<(), String> {
    let decoded: T = serde_json::from_value(doc.clone()).map_err(|e| {
        format!(
            "{name}: does not decode as {}: {e}",
            std::any::type_name::<T>()
        )
    })?;
    let encoded = serde_json::to_value(&decoded).map_err(|e| format!("{name}: encode: {e}"))?;
    // The whole document, exactly: every key, `[]`, `{}` and `null`, every number and every timestamp's
    // text (JSON object equality ignores key order).
    if encoded != *doc {
        return Err(format!(
            "{name}: re-encoding lost or changed data\n  before: {doc}\n  after:  {encoded}"
        ));
    }
    // And the text too: re-encoding the re-encoded document gives the same bytes.
    let again: T = serde_json::from_value(encoded.clone()).map_err(|e| format!("{name}: {e}"))?;
    let text = serde_json::to_string(&again).map_err(|e| format!("{name}: {e}"))?;
    if serde_json::to_string(&encoded).ok().as_deref() != Some(text.as_str()) {
        return Err(format!("{name}: a second round trip changed the text"));
    }
    Ok(())
}

#[test]
fn every_corpus_document_is_classified() {
    let corpus = corpus();
    let unknown: Vec<&String> = corpus
        .keys()
        .filter(|k| !CORPUS.iter().any(|(name, _)| name == k))
        .collect();
    assert!(
        unknown.is_empty(),
        "unclassified corpus documents: {unknown:?}"
    );
    let missing: Vec<&str> = CORPUS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !corpus.contains_key(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "documents not in the corpus: {missing:?}"
    );
}

#[test]
fn every_modelled_corpus_document_decodes_and_round_trips() {
    let corpus = corpus();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, kind) in CORPUS {
        let Some(doc) = corpus.get(*name) else {
            continue;
        };
        let result = match kind {
            Kind::Session => round_trip::<MultiplayerSession>(name, doc),
            Kind::Delta => round_trip::<MultiplayerSessionRequest>(name, doc),
            Kind::CreateHandle => round_trip::<CreateHandleRequest>(name, doc),
            Kind::Handle => round_trip::<HandleDocument>(name, doc),
            Kind::QueryRequest => round_trip::<HandleQueryRequest>(name, doc),
            Kind::QueryResponse => round_trip::<HandleQueryResponse>(name, doc),
            Kind::SessionQueryResponse => round_trip::<SessionQueryResponse>(name, doc),
            Kind::NotModelled => continue,
        };
        checked += 1;
        if let Err(e) = result {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 60, "every modelled document was checked");
}

#[test]
fn the_default_session_document_decodes_to_the_expected_values() {
    let corpus = corpus();
    let session: MultiplayerSession =
        serde_json::from_value(corpus["defaultSessionDocument"].clone()).expect("decodes");
    assert_eq!(session.change_number, Nullable::Value(1));
    assert_eq!(session.contract_version, Nullable::Value(105));
    let info = session.members_info.as_ref().expect("membersInfo");
    assert_eq!(
        (info.first, info.next, info.count),
        (Nullable::Value(0), Nullable::Value(4), Nullable::Value(2))
    );
    let constants = session
        .constants
        .as_ref()
        .and_then(|c| c.system.as_ref())
        .expect("constants");
    assert_eq!(constants.max_members_count, Nullable::Value(100));
    // Real casing, not the docs' lower case.
    let visibility = constants.visibility.as_ref().expect("visibility");
    assert_eq!(visibility.kind(), VisibilityKind::Open);
    assert_eq!(visibility.as_str(), "Open");
    let member = &session.members.as_ref().expect("members")[&MemberKey::Index(0)];
    let xuid = member
        .constants
        .as_ref()
        .and_then(|c| c.system.as_ref())
        .and_then(|s| s.xuid.as_ref());
    assert_eq!(xuid.and_then(|x| x.value()), Xuid::new(12345));
    // Member `constants.custom` is any JSON value, here a string.
    assert_eq!(
        member
            .constants
            .as_ref()
            .and_then(|c| c.custom.as_ref())
            .map(|c| &c.0),
        Some(&Value::String("Hello".into()))
    );
    let stage = session
        .initializing
        .as_ref()
        .and_then(|i| i.stage.as_ref())
        .expect("stage");
    assert_eq!(stage.kind(), InitializationStageKind::Measuring);
    assert_eq!(stage.as_str(), "Measuring");
}

#[test]
fn the_session_query_result_decodes_to_the_expected_values() {
    let corpus = corpus();
    let answer: SessionQueryResponse =
        serde_json::from_value(corpus["defaultQuerySessionsResponse"].clone()).expect("decodes");
    let [result] = answer.results.as_slice() else {
        panic!("one result: {:?}", answer.results);
    };
    assert_eq!(
        result.xuid.as_ref().and_then(|x| x.value()),
        Xuid::new(9876)
    );
    assert_eq!(
        result.session_ref.to_string(),
        "/serviceconfigs/foo/sessionTemplates/bar/sessions/session-seven"
    );
    assert_eq!(result.accepted, Nullable::Value(4));
    // The fixture's casing is kept; the kinds are found ignoring it.
    let status = result.status.as_ref().expect("status");
    assert_eq!(
        (status.kind(), status.as_str()),
        (QueryMemberStatusKind::Active, "Active")
    );
    assert_eq!(
        result.visibility.as_ref().map(|v| v.kind()),
        Some(VisibilityKind::Open)
    );
    assert_eq!(
        result.join_restriction.as_ref().map(|r| r.kind()),
        Some(RestrictionKind::Local)
    );
    assert_eq!(result.my_turn, Nullable::Value(true));
    assert_eq!(
        result.keywords,
        Nullable::Value(vec!["one".to_owned(), "two".to_owned()])
    );
    assert_eq!(
        result.start_time.as_ref().map(|t| t.as_str()),
        Some("2013-02-01T00:00:00Z")
    );
}
