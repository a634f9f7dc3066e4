//! Session reads and writes: identity, contract version, create, join, leave, constants, preconditions,
//! nocommit, capacity, visibility, reservations, merge and validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn authorization_is_required_and_checked() {
    let h = start().await;
    let url = format!("{}{}", h.base, session_path("auth"));
    let response = h
        .client
        .get(&url)
        .header("x-xbl-contract-version", "107")
        .send()
        .await
        .unwrap();
    let message = text_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("missing"), "{message}");
    for (value, hint) in [
        ("Bearer abc", "XBL3.0"),
        ("XBL3.0 y=-;1", "x="),
        ("XBL3.0 x=-", "';'"),
        ("XBL3.0 x=-;notanumber", "XUID"),
    ] {
        let response = h
            .client
            .get(&url)
            .header("Authorization", value)
            .header("x-xbl-contract-version", "107")
            .send()
            .await
            .unwrap();
        let message = text_error(response, StatusCode::UNAUTHORIZED).await;
        assert!(message.contains(hint), "{value}: {message}");
    }
}

#[tokio::test]
async fn contract_version_is_required_and_reflected() {
    let h = start().await;
    let url = format!("{}{}", h.base, session_path("cv"));
    for (value, hint) in [
        (None, "required"),
        (Some("abc"), "number"),
        (Some("103"), "104"),
    ] {
        let mut request = h
            .client
            .put(&url)
            .header("Authorization", auth(ALICE))
            .json(&join_body());
        if let Some(value) = value {
            request = request.header("X-XBL-CONTRACT-VERSION", value);
        }
        let message = text_error(request.send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(message.contains(hint), "{value:?}: {message}");
    }
    let response = h
        .client
        .put(&url)
        .header("Authorization", auth(ALICE))
        .header("X-Xbl-Contract-Version", "105")
        .json(&join_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json(response).await["contractVersion"], 105);
    let doc = json(h.get(ALICE, &session_path("cv")).await).await;
    assert_eq!(doc["contractVersion"], 107);
}

#[tokio::test]
async fn create_fills_defaults_and_headers() {
    let h = start().await;
    let body = json!({
        "constants": { "system": { "version": 1, "readyRemovalTimeout": null }, "custom": { "mode": "ctf" } },
        "members": { "me": { "constants": { "system": { "xuid": ALICE.to_string(), "initialize": true } },
                              "properties": { "system": { "active": true } } } }
    });
    // Lower-case literal segments work too.
    let path = format!("/serviceconfigs/{SCID}/sessiontemplates/{TEMPLATE}/sessions/Create1");
    let response = h.put(ALICE, &path, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "content-location"),
        session_path("Create1")
    );
    assert!(!header(&response, "etag").is_empty());
    assert!(httpdate::parse_http_date(&header(&response, "date")).is_ok());
    assert!(header(&response, "content-type").starts_with("application/json"));
    let doc = json(response).await;
    assert_eq!(doc["contractVersion"], 107);
    assert_eq!(doc["changeNumber"], 1);
    assert!(uuid::Uuid::parse_str(doc["branch"].as_str().unwrap()).is_ok());
    assert!(uuid::Uuid::parse_str(doc["correlationId"].as_str().unwrap()).is_ok());
    assert!(doc["startTime"].as_str().unwrap().ends_with('Z'));
    let system = &doc["constants"]["system"];
    assert_eq!(system["version"], 1);
    assert_eq!(system["maxMembersCount"], 100);
    assert_eq!(system["visibility"], "open");
    assert_eq!(system["reservedRemovalTimeout"], 30000);
    assert_eq!(system["inactiveRemovalTimeout"], 0);
    // An infinite (`null`) timeout is left out of the document: XSAPI fails to parse a `null` timeout.
    assert!(
        !system
            .as_object()
            .unwrap()
            .contains_key("readyRemovalTimeout")
    );
    assert_eq!(system["sessionEmptyTimeout"], 0);
    assert_eq!(system["capabilities"], json!({}));
    assert_eq!(doc["constants"]["custom"], json!({ "mode": "ctf" }));
    assert_eq!(doc["properties"], json!({ "system": {}, "custom": {} }));
    assert_eq!(
        doc["membersInfo"],
        json!({ "first": 0, "next": 1, "count": 1, "accepted": 1, "active": 1 })
    );
    let me = &doc["members"]["0"];
    assert_eq!(me["constants"]["system"]["xuid"], ALICE.to_string());
    assert_eq!(me["constants"]["system"]["initialize"], true);
    assert_eq!(me["properties"]["system"]["active"], true);
    assert_eq!(me["reserved"], false);
    assert_eq!(me["activeTitleId"], "1234");
    assert_eq!(me["next"], 1);
    assert!(chrono::DateTime::parse_from_rfc3339(me["joinTime"].as_str().unwrap()).is_ok());

    // The same session under another spelling; the reference keeps the creation spelling.
    let other = format!(
        "/SERVICECONFIGS/{}/SESSIONTEMPLATES/LOBBY/SESSIONS/create1",
        SCID.to_uppercase()
    );
    let response = h.get(ALICE, &other).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-location"),
        session_path("Create1")
    );
}

#[tokio::test]
async fn joining_assigns_indices_and_updates_members_info() {
    let h = start().await;
    h.join(ALICE, "join").await;
    let response = h.put(BOB, &session_path("join"), join_body()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json(response).await;
    assert_eq!(doc["changeNumber"], 2);
    assert_eq!(
        doc["membersInfo"],
        json!({ "first": 0, "next": 2, "count": 2, "accepted": 2, "active": 2 })
    );
    assert_eq!(doc["members"]["0"]["next"], 1);
    assert_eq!(doc["members"]["1"]["next"], 2);
    assert_eq!(
        doc["members"]["1"]["constants"]["system"]["xuid"],
        BOB.to_string()
    );
    assert_eq!(doc["members"]["1"]["constants"]["system"]["index"], 1);

    // Updating me keeps the index; going inactive changes membersInfo.active.
    let body = json!({ "members": { "me": { "properties": { "system": { "active": false, "ready": true } } } } });
    let doc = json(h.put(BOB, &session_path("join"), body).await).await;
    assert_eq!(doc["membersInfo"]["count"], 2);
    assert_eq!(doc["membersInfo"]["active"], 1);
    assert_eq!(doc["members"]["1"]["properties"]["system"]["ready"], true);
}

#[tokio::test]
async fn leaving_last_member_deletes_the_session() {
    let h = start().await;
    h.join(ALICE, "leave").await;
    h.join(BOB, "leave").await;
    let leave = json!({ "members": { "me": null } });
    let doc = json(h.put(BOB, &session_path("leave"), leave.clone()).await).await;
    assert_eq!(doc["membersInfo"]["count"], 1);
    assert!(doc["members"].get("1").is_none());
    assert_empty(
        h.put(ALICE, &session_path("leave"), leave).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_empty(
        h.get(ALICE, &session_path("leave")).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    // A write that adds nobody does not create a session.
    let body = json!({ "properties": { "custom": { "a": 1 } } });
    assert_empty(
        h.put(ALICE, &session_path("nobody"), body).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_empty(
        h.get(ALICE, &session_path("nobody")).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    // Unless the session survives being empty.
    let body = json!({ "constants": { "system": { "sessionEmptyTimeout": null } } });
    let response = h.put(ALICE, &session_path("kept"), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json(response).await["membersInfo"]["count"], 0);
}

#[tokio::test]
async fn constants_cannot_change_after_creation() {
    let h = start().await;
    let body = json!({ "constants": { "system": { "maxMembersCount": 8 }, "custom": { "map": "a" } },
                       "members": { "me": { "constants": { "custom": { "skill": 3 } },
                                            "properties": { "system": { "active": true } } } } });
    assert_eq!(
        h.put(ALICE, &session_path("const"), body).await.status(),
        StatusCode::CREATED
    );
    let same =
        json!({ "constants": { "system": { "maxMembersCount": 8 }, "custom": { "map": "a" } } });
    assert_eq!(
        h.put(ALICE, &session_path("const"), same).await.status(),
        StatusCode::OK
    );
    for (body, field) in [
        (
            json!({ "constants": { "system": { "maxMembersCount": 9 } } }),
            "constants.system.maxMembersCount",
        ),
        (
            json!({ "constants": { "custom": { "map": "b" } } }),
            "constants.custom.map",
        ),
        (
            json!({ "members": { "me": { "constants": { "custom": { "skill": 4 } } } } }),
            "members.me.constants.custom.skill",
        ),
    ] {
        let message = text_error(
            h.put(ALICE, &session_path("const"), body).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(message.contains(field), "{message}");
    }
}

#[tokio::test]
async fn preconditions_answer_412() {
    let h = start().await;
    let path = session_path("pre");
    // If-Match on a missing session: 412 without a body.
    for value in ["*", "ABC"] {
        let response = h
            .send(
                Method::PUT,
                ALICE,
                &path,
                Some(&join_body()),
                &[("If-Match", value)],
            )
            .await;
        assert_empty(response, StatusCode::PRECONDITION_FAILED).await;
    }
    // If-None-Match: * creates.
    let response = h
        .send(
            Method::PUT,
            ALICE,
            &path,
            Some(&join_body()),
            &[("If-None-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let etag = header(&response, "etag");
    // ... and then fails, with the current session.
    let response = h
        .send(
            Method::PUT,
            ALICE,
            &path,
            Some(&join_body()),
            &[("If-None-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(header(&response, "etag"), etag);
    assert_eq!(json(response).await["changeNumber"], 1);
    // A stale ETag fails with the current session and ETag.
    let response = h
        .send(
            Method::PUT,
            ALICE,
            &path,
            Some(&json!({})),
            &[("If-Match", "00000000-0000-0000-0000-000000000000")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(header(&response, "etag"), etag);
    assert_eq!(header(&response, "content-location"), path);
    assert_eq!(json(response).await["membersInfo"]["count"], 1);
    // The current ETag and * succeed, and every commit changes the ETag.
    let response = h
        .send(
            Method::PUT,
            ALICE,
            &path,
            Some(&json!({})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let next = header(&response, "etag");
    assert_ne!(next, etag);
    assert_eq!(json(response).await["changeNumber"], 2);
    let response = h
        .send(
            Method::PUT,
            ALICE,
            &path,
            Some(&json!({})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn get_with_current_etag_is_not_modified() {
    let h = start().await;
    let path = session_path("304");
    let etag = header(&h.put(ALICE, &path, join_body()).await, "etag");
    let response = h
        .send(Method::GET, ALICE, &path, None, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(header(&response, "etag"), etag);
    assert_empty(response, StatusCode::NOT_MODIFIED).await;
    let response = h
        .send(
            Method::GET,
            ALICE,
            &path,
            None,
            &[("If-None-Match", "OTHER")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn nocommit_returns_the_merge_without_storing_it() {
    let h = start().await;
    let path = session_path("dry");
    let response = h
        .put(ALICE, &format!("{path}?nocommit=true"), join_body())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json(response).await["membersInfo"]["count"], 1);
    assert_empty(h.get(ALICE, &path).await, StatusCode::NO_CONTENT).await;

    let etag = header(&h.put(ALICE, &path, join_body()).await, "etag");
    let body = json!({ "properties": { "custom": { "k": 1 } } });
    let response = h.put(ALICE, &format!("{path}?nocommit=true"), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "etag"), etag);
    let doc = json(response).await;
    assert_eq!(doc["properties"]["custom"]["k"], 1);
    assert_eq!(doc["changeNumber"], 2);
    let stored = json(h.get(ALICE, &path).await).await;
    assert_eq!(stored["changeNumber"], 1);
    assert_eq!(stored["properties"]["custom"], json!({}));
}

#[tokio::test]
async fn max_members_count_is_enforced_and_validated() {
    let h = start().await;
    let path = session_path("cap");
    let mut body = join_body();
    body["constants"] = json!({ "system": { "maxMembersCount": 2 } });
    assert_eq!(
        h.put(ALICE, &path, body).await.status(),
        StatusCode::CREATED
    );
    h.join(BOB, "cap").await;
    // Joining a full session is 400, as for a `visible` one (spec `BadRequest`).
    let message = text_error(
        h.put(CAROL, &path, join_body()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("full"), "{message}");
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["membersInfo"]["count"], 2);

    for count in [json!(0), json!(101), json!("5"), json!(2.5)] {
        let mut body = join_body();
        body["constants"] = json!({ "system": { "maxMembersCount": count } });
        let message = text_error(
            h.put(ALICE, &session_path("cap2"), body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains("maxMembersCount"), "{message}");
    }
    // Large sessions may hold up to 1000 and list only "me".
    let mut body = join_body();
    body["constants"] =
        json!({ "system": { "maxMembersCount": 500, "capabilities": { "large": true } } });
    assert_eq!(
        h.put(ALICE, &session_path("large"), body).await.status(),
        StatusCode::CREATED
    );
    let doc = json(h.put(BOB, &session_path("large"), join_body()).await).await;
    assert_eq!(doc["membersInfo"]["count"], 2);
    let members = doc["members"].as_object().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        members["me"]["constants"]["system"]["xuid"],
        BOB.to_string()
    );
}

#[tokio::test]
async fn private_and_visible_sessions_refuse_strangers() {
    let h = start().await;
    let mut body = join_body();
    body["constants"] = json!({ "system": { "visibility": "Private" } });
    body["members"]["reserve_0"] =
        json!({ "constants": { "system": { "xuid": BOB.to_string() } } });
    assert_eq!(
        h.put(ALICE, &session_path("priv"), body).await.status(),
        StatusCode::CREATED
    );
    text_error(
        h.put(CAROL, &session_path("priv"), join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let message = text_error(
        h.get(CAROL, &session_path("priv")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(message.contains("Private"), "{message}");
    // The reserved user can read and join, in place.
    assert_eq!(
        h.get(BOB, &session_path("priv")).await.status(),
        StatusCode::OK
    );
    let doc = h.join(BOB, "priv").await;
    assert_eq!(doc["members"]["1"]["reserved"], false);
    assert_eq!(
        doc["members"]["1"]["constants"]["system"]["xuid"],
        BOB.to_string()
    );
    assert_eq!(
        doc["membersInfo"],
        json!({ "first": 0, "next": 2, "count": 2, "accepted": 2, "active": 2 })
    );

    let mut body = join_body();
    body["constants"] = json!({ "system": { "visibility": "visible" } });
    assert_eq!(
        h.put(ALICE, &session_path("vis"), body).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        h.get(CAROL, &session_path("vis")).await.status(),
        StatusCode::OK
    );
    text_error(
        h.put(CAROL, &session_path("vis"), join_body()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn reservations_add_reserved_members() {
    let h = start().await;
    let mut body = join_body();
    body["members"]["reserve_0"] = json!({ "constants": { "system": { "xuid": BOB.to_string(), "initialize": true }, "custom": { "skill": 100 } } });
    body["members"]["reserve_1"] =
        json!({ "constants": { "system": { "xuid": CAROL.to_string() } } });
    let doc = json(h.put(ALICE, &session_path("res"), body).await).await;
    assert_eq!(
        doc["membersInfo"],
        json!({ "first": 0, "next": 3, "count": 3, "accepted": 1, "active": 1 })
    );
    assert_eq!(doc["members"]["1"]["reserved"], true);
    assert_eq!(doc["members"]["1"]["constants"]["custom"]["skill"], 100);
    assert_eq!(
        doc["members"]["2"]["constants"]["system"]["xuid"],
        CAROL.to_string()
    );
    let doc = h.join(CAROL, "res").await;
    assert_eq!(doc["membersInfo"]["accepted"], 2);
    assert_eq!(doc["members"]["2"]["reserved"], false);
    // Reserving a member twice conflicts; a numeric XUID is a type error.
    let again = json!({ "members": { "reserve_0": { "constants": { "system": { "xuid": BOB.to_string() } } } } });
    text_error(
        h.put(ALICE, &session_path("res"), again).await,
        StatusCode::CONFLICT,
    )
    .await;
    let numeric =
        json!({ "members": { "reserve_0": { "constants": { "system": { "xuid": DAVE } } } } });
    let message = text_error(
        h.put(ALICE, &session_path("res"), numeric).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("xuid"), "{message}");
}

#[tokio::test]
async fn merge_deletes_null_keys() {
    let h = start().await;
    let path = session_path("merge");
    h.join(ALICE, "merge").await;
    let body = json!({ "properties": { "custom": { "a": 1, "b": { "c": 2, "d": 3 } }, "system": { "joinRestriction": "Followed" } } });
    assert_eq!(h.put(ALICE, &path, body).await.status(), StatusCode::OK);
    let body = json!({ "properties": { "custom": { "a": null, "b": { "c": null }, "e": [5] } } });
    let doc = json(h.put(ALICE, &path, body).await).await;
    assert_eq!(
        doc["properties"]["custom"],
        json!({ "b": { "d": 3 }, "e": [5] })
    );
    assert_eq!(doc["properties"]["system"]["joinRestriction"], "Followed");
    let body = json!({ "roleTypes": { "lfg": { "roles": { "friend": { "max": 5 } } } }, "servers": { "matchmaking": { "properties": { "system": { "status": "searching" } } } } });
    let doc = json(h.put(ALICE, &path, body).await).await;
    assert_eq!(doc["roleTypes"]["lfg"]["roles"]["friend"]["max"], 5);
    assert_eq!(
        doc["servers"]["matchmaking"]["properties"]["system"]["status"],
        "searching"
    );
    let doc = json(
        h.put(ALICE, &path, json!({ "servers": { "matchmaking": null } }))
            .await,
    )
    .await;
    assert!(doc.get("servers").is_none());
}

#[tokio::test]
async fn system_fields_are_validated() {
    let h = start().await;
    let path = session_path("valid");
    h.join(ALICE, "valid").await;
    let cases = [
        (
            json!({ "members": { "me": { "properties": { "system": { "active": true, "ready": true } } } } }),
            "ready",
        ),
        (
            json!({ "members": { "me": { "properties": { "system": { "active": "yes" } } } } }),
            "active",
        ),
        (
            json!({ "members": { "me": { "constants": { "system": { "xuid": ALICE } } } } }),
            "xuid",
        ),
        (json!({ "members": { "me": 5 } }), "members.me"),
        (json!({ "members": { "someone": {} } }), "members.someone"),
        (
            json!({ "properties": { "system": { "joinRestriction": "friends" } } }),
            "joinRestriction",
        ),
        (
            json!({ "properties": { "system": { "closed": "no" } } }),
            "closed",
        ),
        (json!({ "properties": 7 }), "properties"),
        (json!({ "changeNumbers": 7 }), "changeNumbers"),
        (
            json!({ "roleTypes": { "lfg": { "mutableRoleSettings": [1.5, "max"] } } }),
            "roleTypes.lfg.mutableRoleSettings",
        ),
        (
            json!({ "roleTypes": { "lfg": { "ownerManaged": "yes" } } }),
            "roleTypes.lfg.ownerManaged",
        ),
        (
            json!({ "roleTypes": { "lfg": { "roles": { "friend": 4 } } } }),
            "roleTypes.lfg.roles.friend",
        ),
        (json!({ "roleTypes": { "lfg": [] } }), "roleTypes.lfg"),
    ];
    for (body, field) in cases {
        let message = text_error(
            h.put(ALICE, &path, body.clone()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains(field), "{body}: {message}");
    }
    let mut body = join_body();
    body["constants"] = json!({ "system": { "visibility": "secret" } });
    let message = text_error(
        h.put(ALICE, &session_path("valid2"), body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("visibility"), "{message}");
    let mut body = join_body();
    body["constants"] = json!({ "system": { "reservedRemovalTimeout": -1 } });
    let message = text_error(
        h.put(ALICE, &session_path("valid2"), body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("reservedRemovalTimeout"), "{message}");
    // Nothing was committed by the refused writes.
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["changeNumber"], 1);
    // Non-members cannot write without joining, nor join as someone else; index writes need a server.
    text_error(
        h.put(
            BOB,
            &path,
            json!({ "properties": { "custom": { "x": 1 } } }),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let impostor = json!({ "members": { "me": { "constants": { "system": { "xuid": CAROL.to_string() } } } } });
    text_error(h.put(BOB, &path, impostor).await, StatusCode::FORBIDDEN).await;
    text_error(
        h.put(ALICE, &path, json!({ "members": { "0": null } }))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

/// Sets `properties.system.<flag>` of session `name` as `xuid` and asserts the write succeeded.
async fn set_flag(h: &Harness, xuid: u64, name: &str, flag: &str, value: bool) {
    let body = json!({ "properties": { "system": { flag: value } } });
    assert_eq!(
        h.put(xuid, &session_path(name), body).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_closed_session_refuses_new_members_but_members_still_write() {
    let h = start().await;
    let path = session_path("closed");
    h.join(ALICE, "closed").await;
    h.join(BOB, "closed").await;
    let reserve = json!({ "members": { "reserve_0": { "constants": { "system": { "xuid": DAVE.to_string() } } } } });
    assert_eq!(h.put(ALICE, &path, reserve).await.status(), StatusCode::OK);
    set_flag(&h, ALICE, "closed", "closed", true).await;

    // A stranger cannot join, not even by re-opening the session in the same write.
    let message = text_error(
        h.put(CAROL, &path, join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(message.contains("closed"), "{message}");
    let mut reopen = join_body();
    reopen["properties"] = json!({ "system": { "closed": false } });
    text_error(h.put(CAROL, &path, reopen).await, StatusCode::FORBIDDEN).await;
    // An invite grants no join into a closed session either.
    let invite = json!({ "type": "invite", "version": 1, "invitedXuid": CAROL.to_string(),
        "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "closed" } });
    assert_eq!(
        h.post(ALICE, "/handles", invite).await.status(),
        StatusCode::CREATED
    );
    text_error(
        h.put(CAROL, &path, join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Members still write; a member who leaves cannot come back while it is closed; the reserved user accepts.
    let body = json!({ "members": { "me": { "properties": { "custom": { "score": 3 } } } } });
    assert_eq!(h.put(BOB, &path, body).await.status(), StatusCode::OK);
    let leave = json!({ "members": { "me": null } });
    assert_eq!(h.put(BOB, &path, leave).await.status(), StatusCode::OK);
    text_error(h.put(BOB, &path, join_body()).await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        h.put(DAVE, &path, join_body()).await.status(),
        StatusCode::OK
    );
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["membersInfo"]["accepted"], 2);

    // Re-opened, anyone may join again.
    set_flag(&h, ALICE, "closed", "closed", false).await;
    assert_eq!(
        h.put(CAROL, &path, join_body()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_locked_session_lets_only_former_members_rejoin() {
    let h = start().await;
    let path = session_path("locked");
    h.join(ALICE, "locked").await;
    h.join(BOB, "locked").await;
    let leave = json!({ "members": { "me": null } });
    assert_eq!(
        h.put(BOB, &path, leave.clone()).await.status(),
        StatusCode::OK
    );
    set_flag(&h, ALICE, "locked", "locked", true).await;

    let message = text_error(
        h.put(CAROL, &path, join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(message.contains("locked"), "{message}");
    // Bob left before the lock; he may rejoin, and leave and rejoin again.
    assert_eq!(
        h.put(BOB, &path, join_body()).await.status(),
        StatusCode::OK
    );
    assert_eq!(h.put(BOB, &path, leave).await.status(), StatusCode::OK);
    assert_eq!(
        h.put(BOB, &path, join_body()).await.status(),
        StatusCode::OK
    );
    // Members still write.
    let body = json!({ "properties": { "custom": { "round": 2 } } });
    assert_eq!(h.put(BOB, &path, body).await.status(), StatusCode::OK);
    // Once unlocked, Carol may join.
    set_flag(&h, ALICE, "locked", "locked", false).await;
    assert_eq!(
        h.put(CAROL, &path, join_body()).await.status(),
        StatusCode::OK
    );
}
