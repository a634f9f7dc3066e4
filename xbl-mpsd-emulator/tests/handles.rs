//! Handles: create, get, delete, the per-type rules, queries, and sessions read and written through handles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn session_ref(name: &str) -> Value {
    json!({ "scid": SCID, "templateName": TEMPLATE, "name": name })
}

fn activity(name: &str) -> Value {
    json!({ "type": "activity", "version": 1, "sessionRef": session_ref(name) })
}

fn invite(name: &str, invited: u64) -> Value {
    json!({ "type": "invite", "version": 1, "sessionRef": session_ref(name), "invitedXuid": invited.to_string(),
            "inviteAttributes": { "titleId": "1234", "context": "ctx" } })
}

/// Creates a handle and returns its document.
async fn create(h: &Harness, xuid: u64, body: Value) -> Value {
    let response = h.post(xuid, "/handles", body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

fn id_of(doc: &Value) -> String {
    doc["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn activity_handle_lifecycle() {
    let h = start().await;
    h.join(ALICE, "act").await;
    let doc = create(&h, ALICE, activity("act")).await;
    let id = id_of(&doc);
    assert_eq!(
        id,
        uuid::Uuid::parse_str(&id).unwrap().hyphenated().to_string()
    );
    assert_eq!(doc["type"], "activity");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ownerXuid"], ALICE.to_string());
    assert_eq!(doc["titleId"], "1234");
    assert_eq!(doc["sessionRef"], session_ref("act"));
    assert!(doc["createTime"].as_str().unwrap().ends_with('Z'));

    let response = h.get(BOB, &format!("/handles/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await, doc);
    text_error(
        h.delete(BOB, &format!("/handles/{id}")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_empty(
        h.delete(ALICE, &format!("/handles/{id}")).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    text_error(
        h.get(ALICE, &format!("/handles/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    text_error(
        h.delete(ALICE, &format!("/handles/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Only members of an existing session.
    text_error(
        h.post(BOB, "/handles", activity("act")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    text_error(
        h.post(ALICE, "/handles", activity("nosuch")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn activity_replaces_the_previous_one_and_goes_when_the_member_leaves() {
    let h = start().await;
    h.join(ALICE, "one").await;
    h.join(ALICE, "two").await;
    h.join(BOB, "two").await;
    let first = id_of(&create(&h, ALICE, activity("one")).await);
    let second = id_of(&create(&h, ALICE, activity("two")).await);
    text_error(
        h.get(ALICE, &format!("/handles/{first}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let query = json!({ "type": "activity", "scid": SCID, "owners": { "xuids": [ALICE.to_string(), BOB.to_string()] } });
    let results = json(h.post(ALICE, "/handles/query", query.clone()).await).await;
    assert_eq!(results["results"].as_array().unwrap().len(), 1);
    assert_eq!(results["results"][0]["id"], second);

    let bobs = id_of(&create(&h, BOB, activity("two")).await);
    assert_eq!(
        h.put(
            BOB,
            &session_path("two"),
            json!({ "members": { "me": null } })
        )
        .await
        .status(),
        StatusCode::OK
    );
    text_error(
        h.get(BOB, &format!("/handles/{bobs}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Alice's survives Bob leaving, and goes when the session is deleted by her leaving.
    assert_eq!(
        h.get(ALICE, &format!("/handles/{second}")).await.status(),
        StatusCode::OK
    );
    assert_empty(
        h.put(
            ALICE,
            &session_path("two"),
            json!({ "members": { "me": null } }),
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;
    text_error(
        h.get(ALICE, &format!("/handles/{second}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn activity_query_with_and_without_include() {
    let h = start().await;
    h.join(ALICE, "q").await;
    let body = json!({ "properties": { "custom": { "Map": "Helmand Valley" } } });
    h.put(ALICE, &session_path("q"), body).await;
    let id = id_of(&create(&h, ALICE, activity("q")).await);
    let query = json!({ "type": "activity", "scid": SCID.to_uppercase(), "owners": { "xuids": [ALICE.to_string()] } });
    let plain = json(h.post(BOB, "/handles/query", query.clone()).await).await;
    let result = &plain["results"][0];
    assert_eq!(result["id"], id);
    assert!(result.get("relatedInfo").is_none());
    assert!(result.get("customProperties").is_none());

    let rich = json(
        h.post(
            BOB,
            "/handles/query?include=relatedInfo,customProperties",
            query,
        )
        .await,
    )
    .await;
    let result = &rich["results"][0];
    assert_eq!(
        result["relatedInfo"],
        json!({ "visibility": "open", "joinRestriction": "none", "closed": false, "maxMembersCount": 100, "membersCount": 1 })
    );
    assert_eq!(
        result["customProperties"],
        json!({ "Map": "Helmand Valley" })
    );

    let people = json!({ "type": "activity", "scid": SCID, "owners": { "people": { "moniker": "people", "monikerXuid": ALICE.to_string() } } });
    assert_eq!(
        json(h.post(ALICE, "/handles/query", people).await).await,
        json!({ "results": [] })
    );
    let both = json!({ "type": "activity", "owners": { "xuids": [ALICE.to_string()], "people": { "moniker": "people" } } });
    text_error(
        h.post(ALICE, "/handles/query", both).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let bad = json!({ "type": "activity", "owners": { "xuids": [42] } });
    text_error(
        h.post(ALICE, "/handles/query", bad).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    text_error(
        h.post(ALICE, "/handles/query", json!({ "type": "session" }))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn invite_handle_lets_the_invitee_into_a_private_session() {
    let h = start().await;
    let mut body = join_body();
    body["constants"] = json!({ "system": { "visibility": "private", "inviteProtocol": "game" } });
    h.put(ALICE, &session_path("inv"), body).await;
    let doc = create(&h, ALICE, invite("inv", BOB)).await;
    assert_eq!(doc["type"], "invite");
    assert_eq!(doc["invitedXuid"], BOB.to_string());
    assert_eq!(doc["senderXuid"], ALICE.to_string());
    assert_eq!(doc["inviteProtocol"], "game");
    assert_eq!(
        doc["inviteAttributes"],
        json!({ "titleId": "1234", "context": "ctx" })
    );
    let expiration =
        chrono::DateTime::parse_from_rfc3339(doc["expiration"].as_str().unwrap()).unwrap();
    assert!(expiration > chrono::Utc::now());
    let id = id_of(&doc);
    let by_handle = format!("/handles/{id}/session");

    text_error(h.get(CAROL, &by_handle).await, StatusCode::FORBIDDEN).await;
    text_error(
        h.put(CAROL, &by_handle, join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let response = h.get(BOB, &by_handle).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-location"), session_path("inv"));
    let response = h
        .send(
            Method::PUT,
            BOB,
            &by_handle,
            Some(&join_body()),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-location"), session_path("inv"));
    assert!(!header(&response, "etag").is_empty());
    let doc = json(response).await;
    assert_eq!(
        doc["members"]["1"]["constants"]["system"]["xuid"],
        BOB.to_string()
    );

    // An invitee may also join by reference.
    text_error(
        h.put(DAVE, &session_path("inv"), join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    create(&h, BOB, invite("inv", DAVE)).await;
    assert_eq!(
        h.put(DAVE, &session_path("inv"), join_body())
            .await
            .status(),
        StatusCode::OK
    );

    // Only the sender deletes it.
    text_error(
        h.delete(BOB, &format!("/handles/{id}")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Bad invites.
    let mut missing = invite("inv", BOB);
    missing.as_object_mut().unwrap().remove("invitedXuid");
    let message = text_error(
        h.post(ALICE, "/handles", missing).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("invitedXuid"), "{message}");
    let mut numeric = invite("inv", BOB);
    numeric["invitedXuid"] = json!(BOB);
    text_error(
        h.post(ALICE, "/handles", numeric).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let mut version = invite("inv", BOB);
    version["version"] = json!(2);
    text_error(
        h.post(ALICE, "/handles", version).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    text_error(
        h.post(ALICE, "/handles", json!({ "type": "party", "version": 1 }))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn search_handles_one_per_session_and_query() {
    let h = start().await;
    let search = json!({ "type": "search", "version": 1, "sessionRef": session_ref("lfg"),
        "searchAttributes": { "tags": ["micsrequired"], "strings": { "Class": "A" }, "numbers": { "Skill": 10.5 } } });
    h.join(ALICE, "lfg").await;
    let message = text_error(
        h.post(ALICE, "/handles", search.clone()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("searchable"), "{message}");

    let mut body = join_body();
    body["constants"] =
        json!({ "system": { "capabilities": { "searchable": true, "hasOwners": true } } });
    body["properties"] = json!({ "system": { "owners": [0] }, "custom": { "GameMode": "ctf" } });
    body["roleTypes"] = json!({ "lfg": { "roles": { "friend": { "max": 5 } } } });
    h.put(ALICE, &session_path("lfg2"), body).await;
    let mut search = search;
    search["sessionRef"] = session_ref("lfg2");
    let doc = create(&h, ALICE, search.clone()).await;
    assert_eq!(doc["type"], "search");
    assert_eq!(doc["searchAttributes"]["numbers"]["Skill"], 10.5);
    text_error(
        h.post(ALICE, "/handles", search.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    let session = json(h.get(ALICE, &session_path("lfg2")).await).await;
    assert_eq!(session["searchHandle"], doc["id"]);

    let query = json!({ "type": "search", "scid": SCID, "templateName": TEMPLATE.to_uppercase() });
    let plain = json(h.post(BOB, "/handles/query", query.clone()).await).await;
    assert_eq!(plain["results"].as_array().unwrap().len(), 1);
    assert!(plain["results"][0].get("relatedInfo").is_none());
    let rich = json(
        h.post(
            BOB,
            "/handles/query?include=relatedInfo,roleInfo,customProperties",
            query,
        )
        .await,
    )
    .await;
    let result = &rich["results"][0];
    assert_eq!(
        result["relatedInfo"]["sessionOwners"],
        json!([ALICE.to_string()])
    );
    assert_eq!(result["relatedInfo"]["membersCount"], 1);
    assert_eq!(result["customProperties"], json!({ "GameMode": "ctf" }));
    assert_eq!(
        result["roleInfo"]["roleTypes"]["lfg"]["roles"]["friend"]["max"],
        5
    );

    // `sessionMembers.xuids`: only sessions with one of them as a member; a social group has no one here.
    for (members, expected) in [
        (json!({ "xuids": [BOB.to_string(), ALICE.to_string()] }), 1),
        (json!({ "xuids": [BOB.to_string()] }), 0),
        (
            json!({ "people": { "moniker": "friends", "monikerXuid": BOB.to_string() } }),
            0,
        ),
    ] {
        let query = json!({ "type": "search", "scid": SCID, "templateName": TEMPLATE, "sessionMembers": members });
        let found = json(h.post(BOB, "/handles/query", query).await).await;
        assert_eq!(
            found["results"].as_array().unwrap().len(),
            expected,
            "{members}"
        );
    }

    let filtered = json!({ "type": "search", "scid": SCID, "templateName": TEMPLATE, "filter": "tags/any(d:d eq 'x')" });
    let message = text_error(
        h.post(BOB, "/handles/query", filtered).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        message.contains("not supported by the emulator"),
        "{message}"
    );

    // Deleting frees the slot.
    let id = id_of(&doc);
    text_error(
        h.delete(BOB, &format!("/handles/{id}")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_empty(
        h.delete(ALICE, &format!("/handles/{id}")).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    create(&h, ALICE, search).await;
}

#[tokio::test]
async fn transfer_handle_extends_origin_members_access() {
    let h = start().await;
    h.join(ALICE, "lobby").await;
    h.join(BOB, "lobby").await;
    let transfer = json!({ "type": "transfer", "version": 1, "sessionRef": session_ref("game"), "originSessionRef": session_ref("lobby") });
    text_error(
        h.post(CAROL, "/handles", transfer.clone()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let doc = create(&h, ALICE, transfer.clone()).await;
    assert_eq!(doc["originSessionRef"], session_ref("lobby"));
    let by_handle = format!("/handles/{}/session", id_of(&doc));

    // The target does not exist yet: the first write through the handle creates it.
    assert_empty(h.get(ALICE, &by_handle).await, StatusCode::NO_CONTENT).await;
    let mut body = join_body();
    body["constants"] = json!({ "system": { "visibility": "private" } });
    let response = h.put(ALICE, &by_handle, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "content-location"), session_path("game"));
    assert_eq!(
        h.put(BOB, &by_handle, join_body()).await.status(),
        StatusCode::OK
    );
    text_error(
        h.put(CAROL, &by_handle, join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let mut missing = transfer;
    missing.as_object_mut().unwrap().remove("originSessionRef");
    let message = text_error(
        h.post(ALICE, "/handles", missing).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("originSessionRef"), "{message}");
}

#[tokio::test]
async fn session_by_handle_errors() {
    let h = start().await;
    let unknown = format!("/handles/{}/session", uuid::Uuid::new_v4());
    text_error(h.get(ALICE, &unknown).await, StatusCode::NOT_FOUND).await;
    text_error(
        h.put(ALICE, &unknown, join_body()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    text_error(
        h.get(ALICE, "/handles/not-a-guid").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    text_error(
        h.get(ALICE, "/handles/not-a-guid/session").await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // An invite outlives its session: reads answer 204, If-Match: * writes 404, plain writes re-create it.
    h.join(ALICE, "gone").await;
    let id = id_of(&create(&h, ALICE, invite("gone", BOB)).await);
    h.put(
        ALICE,
        &session_path("gone"),
        json!({ "members": { "me": null } }),
    )
    .await;
    let by_handle = format!("/handles/{id}/session");
    assert_empty(h.get(BOB, &by_handle).await, StatusCode::NO_CONTENT).await;
    let response = h
        .send(
            Method::PUT,
            BOB,
            &by_handle,
            Some(&join_body()),
            &[("If-Match", "*")],
        )
        .await;
    text_error(response, StatusCode::NOT_FOUND).await;
    let response = h
        .send(
            Method::PUT,
            BOB,
            &by_handle,
            Some(&join_body()),
            &[("If-Match", "0A")],
        )
        .await;
    assert_empty(response, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(
        h.put(BOB, &by_handle, join_body()).await.status(),
        StatusCode::CREATED
    );
}

/// Writes `properties.system` of `xuid`'s own member entry in session `name`.
async fn set_status(h: &Harness, xuid: u64, name: &str, system: Value) {
    let body = json!({ "members": { "me": { "properties": { "system": system } } } });
    assert_eq!(
        h.put(xuid, &session_path(name), body).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn activity_goes_when_its_owner_becomes_inactive() {
    let h = start().await;
    // Inactive members stay (the default inactiveRemovalTimeout, 0, would remove them at once).
    let mut first = join_body();
    first["constants"] = json!({ "system": { "inactiveRemovalTimeout": null } });
    assert_eq!(
        h.put(ALICE, &session_path("idle"), first).await.status(),
        StatusCode::CREATED
    );
    h.join(BOB, "idle").await;
    let alices = id_of(&create(&h, ALICE, activity("idle")).await);
    let bobs = id_of(&create(&h, BOB, activity("idle")).await);
    let get = |id: &str| format!("/handles/{id}");

    // Active → ready keeps it; someone else's writes keep it.
    set_status(&h, ALICE, "idle", json!({ "active": false, "ready": true })).await;
    set_status(&h, BOB, "idle", json!({ "active": true })).await;
    assert_eq!(h.get(ALICE, &get(&alices)).await.status(), StatusCode::OK);
    // Neither active nor ready (XSAPI's "inactive" write) ends Alice's activity, and only hers.
    set_status(
        &h,
        ALICE,
        "idle",
        json!({ "active": false, "ready": false }),
    )
    .await;
    text_error(h.get(ALICE, &get(&alices)).await, StatusCode::NOT_FOUND).await;
    assert_eq!(h.get(BOB, &get(&bobs)).await.status(), StatusCode::OK);
    // Deleting the flag (null) is inactive too.
    set_status(&h, BOB, "idle", json!({ "active": null })).await;
    text_error(h.get(BOB, &get(&bobs)).await, StatusCode::NOT_FOUND).await;
    // A nocommit write changes nothing.
    set_status(&h, ALICE, "idle", json!({ "active": true })).await;
    let again = id_of(&create(&h, ALICE, activity("idle")).await);
    let inactive =
        json!({ "members": { "me": { "properties": { "system": { "active": false } } } } });
    let path = format!("{}?nocommit=true", session_path("idle"));
    assert_eq!(h.put(ALICE, &path, inactive).await.status(), StatusCode::OK);
    assert_eq!(h.get(ALICE, &get(&again)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn search_handle_changes_bump_change_number_and_etag() {
    let h = start().await;
    let mut body = join_body();
    body["constants"] = json!({ "system": { "capabilities": { "searchable": true } } });
    let response = h.put(ALICE, &session_path("sh"), body).await;
    let etag = header(&response, "etag");
    assert_eq!(json(response).await["changeNumber"], 1);

    let search = json!({ "type": "search", "version": 1, "sessionRef": session_ref("sh") });
    let id = id_of(&create(&h, ALICE, search).await);
    let response = h.get(ALICE, &session_path("sh")).await;
    let etag2 = header(&response, "etag");
    let doc = json(response).await;
    assert_eq!(doc["searchHandle"], id);
    assert_eq!(doc["changeNumber"], 2);
    assert_ne!(etag2, etag);
    // The old ETag no longer matches: a read revalidates, a synchronized write fails.
    let stale = [("If-None-Match", etag.as_str())];
    let response = h
        .send(Method::GET, ALICE, &session_path("sh"), None, &stale)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let stale = [("If-Match", etag.as_str())];
    let response = h
        .send(
            Method::PUT,
            ALICE,
            &session_path("sh"),
            Some(&json!({})),
            &stale,
        )
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);

    assert_empty(
        h.delete(ALICE, &format!("/handles/{id}")).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    let response = h.get(ALICE, &session_path("sh")).await;
    assert_ne!(header(&response, "etag"), etag2);
    let doc = json(response).await;
    assert!(doc.get("searchHandle").is_none());
    assert_eq!(doc["changeNumber"], 3);
}
