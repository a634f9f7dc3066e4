//! Documents written from the public docs and go-xsapi (sources in `docs/mpsd-notes.md`) for what the XSAPI
//! corpus lacks: contract-107 documents, values in unexpected casings, fields of go-xsapi's observations, future
//! keys.

use serde_json::{Value, json};
use xbl_mpsd_api::types::{
    CreateHandleRequest, HandleDocument, HandleQueryResponse, MultiplayerSession,
    MultiplayerSessionRequest,
};

fn decode<T: serde::de::DeserializeOwned>(doc: &Value) -> T {
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("does not decode: {e}\n{doc}"))
}

#[test]
fn contract_107_session_with_unknown_values_and_future_keys_keeps_them() {
    let doc = json!({
        "contractVersion": 107,
        "branch": "0d1f8a9c-1111-4b2c-9c3d-5e6f7a8b9c0d",
        "changeNumber": 12,
        "correlationId": "06365b64-3067-8039-ecee-3608af3d02fc",
        "startTime": "2026-11-28T10:00:00.1234567Z",
        "initializing": {"stage": "somethingNew", "stageStartTime": "2026-11-28T10:00:00Z", "episode": 1},
        "membersInfo": {"first": 0, "next": 2, "count": 1, "accepted": 1, "active": 1},
        "constants": {
            "system": {
                "version": 1, "maxMembersCount": 8, "visibility": "FULL",
                "inviteProtocol": "game", "sessionEmptyTimeout": 0,
                "memberInitialization": {"joinTimeout": 10000, "measurementTimeout": 30000, "membersNeededToStart": 1},
                "capabilities": {"gameplay": true, "crossPlay": true, "futureCapability": true},
                "aFutureSystemConstant": {"x": 1}
            },
            "custom": {"map": "lava", "nested": {"keep": [1, 2, {"deep": null}]}}
        },
        "properties": {
            "system": {"joinRestriction": "Followed", "readRestriction": "local", "turn": [], "closed": false},
            "custom": {"round": 3}
        },
        "members": {
            "0": {
                "constants": {"system": {"index": 0, "xuid": "2533274792693551", "initialize": false}, "custom": 42},
                "properties": {
                    "system": {
                        "active": true,
                        "connection": "4F1C4A5E-9A32-4B1B-8C2D-1E2F3A4B5C6D",
                        "subscription": {"id": "9A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D", "changeTypes": ["everything"]},
                        "subscriptions": {"2a2f6e1e-0000-4000-8000-000000000001": {"profile": "party", "onBehalfOfTitleId": "1234"}}
                    },
                    "custom": {}
                },
                "gamertag": "Host", "reserved": false, "activeTitleId": "2056720033",
                "joinTime": "2026-11-28T10:00:00Z", "nat": "moderate", "next": 2
            }
        },
        "aFutureTopLevelField": "kept"
    });
    let session: MultiplayerSession = decode(&doc);
    let system = session
        .constants
        .as_ref()
        .and_then(|c| c.system.as_ref())
        .expect("constants.system");
    assert_eq!(system.visibility.as_ref().map(|v| v.as_str()), Some("FULL"));
    assert_eq!(
        system.extra.get("aFutureSystemConstant"),
        Some(&json!({"x": 1}))
    );
    assert_eq!(
        session.extra.get("aFutureTopLevelField"),
        Some(&json!("kept"))
    );
    let encoded = serde_json::to_value(&session).expect("encodes");
    assert_eq!(encoded["constants"]["custom"], doc["constants"]["custom"]);
    assert_eq!(
        encoded["constants"]["system"]["capabilities"]["futureCapability"],
        true
    );
    assert_eq!(encoded["members"]["0"]["constants"]["custom"], 42);
    assert_eq!(
        encoded["members"]["0"]["properties"]["system"]["subscriptions"],
        doc["members"]["0"]["properties"]["system"]["subscriptions"]
    );
    assert_eq!(encoded["initializing"]["stage"], "somethingNew");
    // And the whole document, exactly.
    assert_eq!(encoded, doc);
}

#[test]
fn join_leave_and_reservation_deltas_encode_as_the_service_expects() {
    let join: MultiplayerSessionRequest = decode(&json!({
        "members": {"me": {
            "constants": {"system": {"xuid": "2533274792693551", "initialize": true}},
            "properties": {"system": {"active": true}}
        }}
    }));
    let encoded = serde_json::to_value(&join).expect("encodes");
    assert_eq!(
        encoded["members"]["me"]["constants"]["system"]["xuid"],
        "2533274792693551"
    );
    assert_eq!(
        encoded["members"]["me"]["properties"]["system"]["active"],
        true
    );
    assert_eq!(
        encoded,
        json!({"members": {"me": {
            "constants": {"system": {"xuid": "2533274792693551", "initialize": true}},
            "properties": {"system": {"active": true}}
        }}})
    );

    // `null` is meaningful in a delta: leave, and delete a custom key.
    let leave: MultiplayerSessionRequest =
        decode(&json!({"members": {"me": null}, "properties": {"custom": {"gone": null}}}));
    let encoded = serde_json::to_value(&leave).expect("encodes");
    assert_eq!(
        encoded,
        json!({"members": {"me": null}, "properties": {"custom": {"gone": null}}})
    );

    let empty: MultiplayerSessionRequest = decode(&json!({}));
    assert_eq!(serde_json::to_value(&empty).expect("encodes"), json!({}));
}

#[test]
fn handles_with_fields_seen_by_go_xsapi_and_the_docs_decode() {
    let invite = json!({
        "type": "invite", "version": 1,
        "sessionRef": {"scid": "8d050174-412b-4d51-a29b-d55a34edfdb7", "templateName": "deathmatch", "name": "session-49"},
        "invitedXuid": "3210",
        "inviteAttributes": {"titleId": "1234", "context": "level=3", "contextString": "///custominvitestrings_JoinMyGame"}
    });
    let request: CreateHandleRequest = decode(&invite);
    assert_eq!(
        request.invited_xuid.as_ref().map(|x| x.to_string()),
        Some("3210".to_owned())
    );
    assert_eq!(serde_json::to_value(&request).expect("encodes"), invite);

    let activity_json = json!({
        "id": "7A4D0A99-4E23-4EBA-9894-5173CF123FB4", "type": "activity", "version": 1,
        "sessionRef": {"scid": "MockScid", "templateName": "lobby", "name": "s1"},
        "titleId": "171127034", "ownerXuid": "2814679796296491",
        "createTime": "2026-11-28T10:00:00Z", "inviteProtocol": "game",
        "gameTypes": {"uwp-desktop": {"titleId": "171127034", "pfn": "x.y_z", "boundPfns": []}},
        "relatedInfo": {"visibility": "open", "joinRestriction": "followed", "closed": false,
                        "maxMembersCount": 8, "membersCount": 4, "inviteProtocol": "game",
                        "postedTime": "2026-11-28T10:00:01Z"}
    });
    let activity: HandleDocument = decode(&activity_json);
    assert_eq!(
        serde_json::to_value(&activity).expect("encodes"),
        activity_json
    );
    assert_eq!(
        activity.type_.kind(),
        xbl_mpsd_api::types::HandleTypeKind::Activity
    );
    assert!(
        activity
            .game_types
            .as_ref()
            .is_some_and(|g| g.contains_key("uwp-desktop"))
    );

    // A handle kind the SDK does not know yet still decodes.
    let future: HandleQueryResponse =
        decode(&json!({"results": [{"type": "tournament", "id": "x"}]}));
    assert_eq!(
        future.results[0].type_.kind(),
        xbl_mpsd_api::types::HandleTypeKind::Other
    );
    assert_eq!(future.results[0].type_.as_str(), "tournament");
}

#[test]
fn wrong_json_types_for_system_fields_are_refused() {
    let err = serde_json::from_value::<MultiplayerSession>(json!({
        "constants": {"system": {"maxMembersCount": "eight"}}
    }))
    .expect_err("a string is not a count");
    assert!(err.to_string().contains("invalid type"), "{err}");
}
