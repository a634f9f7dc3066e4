//! Session queries over HTTP: `GET …/sessions` (keyword or one XUID), `POST …/batch` (several XUIDs), with and
//! without a template; filters, order, `take`, access (403) and bad input (400 naming the parameter).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `/serviceconfigs/{SCID}[/sessiontemplates/{template}]/{sessions|batch}?{query}`.
fn query_path(template: Option<&str>, operation: &str, query: &str) -> String {
    let template = template
        .map(|t| format!("/sessiontemplates/{t}"))
        .unwrap_or_default();
    format!("/serviceconfigs/{SCID}{template}/{operation}?{query}")
}

/// `GET …/sessions?{query}` as `caller`: the results.
async fn get(h: &Harness, caller: u64, query: &str) -> Vec<Value> {
    results(h.get(caller, &query_path(None, "sessions", query)).await).await
}

/// `POST …/batch?{query}` for `xuids` as `caller`: the results.
async fn batch(h: &Harness, caller: u64, xuids: &[u64], query: &str) -> Vec<Value> {
    let xuids: Vec<String> = xuids.iter().map(u64::to_string).collect();
    let response = h
        .post(
            caller,
            &query_path(None, "batch", query),
            json!({ "xuids": xuids }),
        )
        .await;
    results(response).await
}

async fn results(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    body["results"].as_array().expect("results").clone()
}

/// The session names of results, in order.
fn names(results: &[Value]) -> Vec<&str> {
    results
        .iter()
        .map(|r| r["sessionRef"]["name"].as_str().expect("name"))
        .collect()
}

/// `xuid` creates or joins `name` of `template` with `extra` merged into the join body.
async fn join(h: &Harness, xuid: u64, template: &str, name: &str, extra: Value) {
    let mut body = join_body();
    for (key, value) in extra.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    let path = format!("/serviceconfigs/{SCID}/sessionTemplates/{template}/sessions/{name}");
    let response = h.put(xuid, &path, body).await;
    assert!(response.status().is_success(), "{}", response.status());
}

/// Sessions for the tests (in creation order, so oldest first):
/// * `lobby/a1`: open, keywords `ctf` and `Night`, members ALICE (active, whose turn it is) and BOB (active),
///   DAVE reserved, join restriction `followed`;
/// * `lobby/p1`: private, ALICE;
/// * `lobby/b2`: open, BOB ready but not active;
/// * `game/g1`: open, BOB, keyword `ctf`, full (one seat).
async fn directory() -> Harness {
    let h = start().await;
    let reserve =
        json!({ "reserve_0": { "constants": { "system": { "xuid": DAVE.to_string() } } } });
    let mut members = join_body()["members"].clone();
    members["reserve_0"] = reserve["reserve_0"].clone();
    join(
        &h,
        ALICE,
        TEMPLATE,
        "a1",
        json!({ "members": members, "properties": { "system": {
            "keywords": ["ctf", "Night"], "turn": [0], "joinRestriction": "followed" } } }),
    )
    .await;
    join(&h, BOB, TEMPLATE, "a1", json!({})).await;
    join(
        &h,
        ALICE,
        TEMPLATE,
        "p1",
        json!({ "constants": { "system": { "visibility": "private" } } }),
    )
    .await;
    join(
        &h,
        BOB,
        TEMPLATE,
        "b2",
        json!({ "members": { "me": { "constants": { "system": { "initialize": false } },
            "properties": { "system": { "active": false, "ready": true } } } } }),
    )
    .await;
    join(
        &h,
        BOB,
        "game",
        "g1",
        json!({ "constants": { "system": { "maxMembersCount": 1 } },
            "properties": { "system": { "keywords": ["ctf"] } } }),
    )
    .await;
    h
}

#[tokio::test]
async fn a_xuid_query_finds_the_sessions_the_player_is_active_in() {
    let h = directory().await;
    let found = get(&h, CAROL, &format!("xuid={BOB}")).await;
    assert_eq!(
        names(&found),
        ["a1", "g1"],
        "not b2: BOB is not active there"
    );
    let a1 = &found[0];
    assert_eq!(a1["xuid"], BOB.to_string());
    assert_eq!(a1["status"], "active");
    assert_eq!(a1["myTurn"], false);
    assert_eq!(a1["accepted"], 2, "DAVE is only reserved");
    assert_eq!(a1["visibility"], "open");
    assert_eq!(a1["joinRestriction"], "followed");
    assert_eq!(a1["keywords"], json!(["ctf", "Night"]));
    assert_eq!(
        a1["sessionRef"],
        json!({ "scid": SCID, "templateName": TEMPLATE, "name": "a1" })
    );
    assert!(a1["startTime"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(found[1]["visibility"], "full");
    // ALICE's turn in a1; private p1 is left out without private=true.
    let alice = get(&h, BOB, &format!("xuid={ALICE}")).await;
    assert_eq!(names(&alice), ["a1"]);
    assert_eq!(alice[0]["myTurn"], true);
    // Nobody: no results, not an error.
    assert!(get(&h, ALICE, &format!("xuid={CAROL}")).await.is_empty());
}

#[tokio::test]
async fn a_template_query_sees_only_that_template() {
    let h = directory().await;
    let path = query_path(Some("GAME"), "Sessions", &format!("xuid={BOB}"));
    let found = results(h.get(ALICE, &path).await).await;
    assert_eq!(names(&found), ["g1"]);
    let path = query_path(Some(TEMPLATE), "batch", "");
    let body = json!({ "xuids": [BOB.to_string()] });
    let found = results(h.post(ALICE, &path, body).await).await;
    assert_eq!(names(&found), ["a1"]);
}

#[tokio::test]
async fn a_keyword_query_finds_sessions_without_player_fields() {
    let h = directory().await;
    let found = get(&h, CAROL, "keyword=CTF").await;
    assert_eq!(names(&found), ["a1", "g1"]);
    for result in &found {
        for key in ["xuid", "status", "myTurn"] {
            assert!(result.get(key).is_none(), "{key} in {result}");
        }
    }
    // A keyword and a XUID: both must match.
    assert_eq!(
        names(&get(&h, CAROL, &format!("keyword=night&xuid={BOB}")).await),
        ["a1"]
    );
    assert!(get(&h, CAROL, "keyword=none").await.is_empty());
}

#[tokio::test]
async fn inactive_and_reserved_members_are_found_only_when_asked() {
    let h = directory().await;
    let found = get(&h, CAROL, &format!("xuid={BOB}&inactive=true")).await;
    assert_eq!(names(&found), ["a1", "b2", "g1"]);
    assert_eq!(found[1]["status"], "inactive", "ready but not active");
    assert!(get(&h, DAVE, &format!("xuid={DAVE}")).await.is_empty());
    let reserved = get(&h, DAVE, &format!("xuid={DAVE}&reservations=true")).await;
    assert_eq!(names(&reserved), ["a1"]);
    assert_eq!(reserved[0]["status"], "reserved");
}

#[tokio::test]
async fn private_and_reservations_need_the_callers_own_xuid() {
    let h = directory().await;
    let own = get(&h, ALICE, &format!("xuid={ALICE}&private=true")).await;
    assert_eq!(names(&own), ["a1", "p1"]);
    assert_eq!(own[1]["visibility"], "private");
    let only_private = get(
        &h,
        ALICE,
        &format!("xuid={ALICE}&private=true&visibility=private"),
    )
    .await;
    assert_eq!(names(&only_private), ["p1"]);
    for (caller, query) in [
        (BOB, format!("xuid={ALICE}&private=true")),
        (ALICE, format!("xuid={DAVE}&reservations=true")),
        (ALICE, "keyword=ctf&private=true".to_owned()),
    ] {
        let response = h.get(caller, &query_path(None, "sessions", &query)).await;
        let message = text_error(response, StatusCode::FORBIDDEN).await;
        assert!(message.contains("=true needs"), "{message}");
    }
    let path = query_path(None, "batch", "private=true");
    let body = json!({ "xuids": [ALICE.to_string(), BOB.to_string()] });
    text_error(h.post(ALICE, &path, body).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_batch_answers_per_xuid_in_order() {
    let h = directory().await;
    let found = batch(&h, CAROL, &[BOB, CAROL, ALICE], "").await;
    assert_eq!(names(&found), ["a1", "g1", "a1"], "a1 once per XUID");
    let xuids: Vec<&str> = found.iter().map(|r| r["xuid"].as_str().unwrap()).collect();
    assert_eq!(xuids, [BOB.to_string(), BOB.to_string(), ALICE.to_string()]);
    let ctf_only = batch(&h, CAROL, &[ALICE, BOB], "keyword=ctf&visibility=open").await;
    assert_eq!(names(&ctf_only), ["a1", "a1"]);
}

#[tokio::test]
async fn take_caps_the_results_and_version_filters() {
    let h = directory().await;
    assert_eq!(
        names(&get(&h, CAROL, &format!("xuid={BOB}&take=1")).await),
        ["a1"]
    );
    assert!(
        get(&h, CAROL, &format!("xuid={BOB}&take=0"))
            .await
            .is_empty()
    );
    assert_eq!(batch(&h, CAROL, &[BOB, ALICE], "take=2").await.len(), 2);
    assert_eq!(
        get(&h, CAROL, &format!("xuid={BOB}&version=1")).await.len(),
        2
    );
    assert_eq!(get(&h, CAROL, "keyword=ctf&visibility=full").await.len(), 1);
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_parameter() {
    let h = directory().await;
    for (query, named) in [
        ("visibility=secret&keyword=ctf".to_owned(), "visibility"),
        (format!("xuid={BOB}&take=500"), "take"),
        (format!("xuid={BOB}&take=ten"), "take"),
        (format!("xuid={BOB}&version=8"), "version"),
        (format!("xuid={BOB}&private=yes"), "private"),
        ("xuid=bob".to_owned(), "xuid"),
        (String::new(), "keyword, a xuid or both"),
        ("keyword=ctf&inactive=true".to_owned(), "inactive"),
        ("keyword=ctf&reservations=true".to_owned(), "reservations"),
        (format!("xuid={BOB}&xuid={ALICE}"), "xuid"),
    ] {
        let response = h.get(ALICE, &query_path(None, "sessions", &query)).await;
        let message = text_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(named), "{query}: {message}");
    }
    let path = query_path(None, "batch", "");
    let many: Vec<String> = (1..=101u64).map(|x| x.to_string()).collect();
    for (body, named) in [
        (json!({ "xuids": many }), "xuids holds 101"),
        (json!({ "xuids": [] }), "xuids holds 0"),
        (json!({ "xuids": [BOB] }), "xuids[0]"),
        (json!({}), "xuids is required"),
    ] {
        let message = text_error(h.post(ALICE, &path, body).await, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(named), "{message}");
    }
    let response = h
        .post(
            ALICE,
            &query_path(None, "batch", &format!("xuid={BOB}")),
            json!({ "xuids": ["1"] }),
        )
        .await;
    text_error(response, StatusCode::BAD_REQUEST).await;
    for scid in ["%01", &"s".repeat(100)] {
        let path = format!("/serviceconfigs/{scid}/sessions?keyword=ctf");
        let message = text_error(h.get(ALICE, &path).await, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("scid"), "{message}");
    }
    let path = format!("/serviceconfigs/{SCID}/sessiontemplates/%7F/sessions?keyword=ctf");
    let message = text_error(h.get(ALICE, &path).await, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("sessionTemplateName"), "{message}");
}

#[tokio::test]
async fn other_paths_are_404_and_other_verbs_405() {
    let h = directory().await;
    for path in [
        format!("/serviceconfigs/{SCID}/sessionz?keyword=ctf"),
        format!("/serviceconfig/{SCID}/sessions?keyword=ctf"),
        format!("/serviceconfigs/{SCID}/templates/lobby/sessions?keyword=ctf"),
        "/handles/x/y".to_owned(),
    ] {
        for method in [Method::GET, Method::POST, Method::PUT] {
            let response = h.send(method.clone(), ALICE, &path, None, &[]).await;
            text_error(response, StatusCode::NOT_FOUND).await;
        }
    }
    for (method, operation) in [
        (Method::POST, "sessions"),
        (Method::PUT, "sessions"),
        (Method::DELETE, "sessions"),
        (Method::GET, "batch"),
        (Method::PUT, "batch"),
    ] {
        for template in [None, Some(TEMPLATE)] {
            let path = query_path(template, operation, "keyword=ctf");
            let response = h
                .send(
                    method.clone(),
                    ALICE,
                    &path,
                    Some(&json!({ "xuids": ["1"] })),
                    &[],
                )
                .await;
            text_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
        }
    }
    // Unauthenticated: 401 before anything else.
    let response = reqwest::Client::new()
        .get(format!(
            "{}{}",
            h.base,
            query_path(None, "sessions", "keyword=ctf")
        ))
        .header("x-xbl-contract-version", "107")
        .send()
        .await
        .unwrap();
    text_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_unknown_template_is_404_when_the_emulator_has_a_template_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lobby.json"),
        json!({ "contractVersion": 107, "constants": { "system": {} } }).to_string(),
    )
    .unwrap();
    let h = start_with(xbl_mpsd_emulator::EmulatorConfig {
        templates: Some(dir.path().to_owned()),
        ..xbl_mpsd_emulator::EmulatorConfig::default()
    })
    .await;
    join(&h, ALICE, TEMPLATE, "t1", json!({})).await;
    let found = results(
        h.get(
            ALICE,
            &query_path(Some("Lobby"), "sessions", &format!("xuid={ALICE}")),
        )
        .await,
    )
    .await;
    assert_eq!(names(&found), ["t1"]);
    for (method, operation, query, body) in [
        (Method::GET, "sessions", format!("xuid={ALICE}"), None),
        (
            Method::POST,
            "batch",
            String::new(),
            Some(json!({ "xuids": [ALICE.to_string()] })),
        ),
    ] {
        let path = query_path(Some("nope"), operation, &query);
        let response = h.send(method, ALICE, &path, body.as_ref(), &[]).await;
        let message = text_error(response, StatusCode::NOT_FOUND).await;
        assert!(message.contains("nope"), "{message}");
    }
}

#[tokio::test]
async fn a_wrong_verb_is_405_with_the_methods_of_its_own_resource() {
    let h = common::start().await;
    // (method, path, Allow): the query, batch and template paths share routes, yet each names its own verbs.
    let cases = [
        (
            reqwest::Method::POST,
            "/serviceconfigs/MockScid/sessions?keyword=x",
            "GET,HEAD",
        ),
        (
            reqwest::Method::OPTIONS,
            "/serviceconfigs/MockScid/batch",
            "POST",
        ),
        (
            reqwest::Method::GET,
            "/serviceconfigs/MockScid/batch",
            "POST",
        ),
        (
            reqwest::Method::POST,
            "/serviceconfigs/MockScid/sessionTemplates",
            "GET,HEAD",
        ),
        (
            reqwest::Method::POST,
            "/serviceconfigs/MockScid/sessiontemplates/lobby/sessions?keyword=x",
            "GET,HEAD",
        ),
        (
            reqwest::Method::DELETE,
            "/serviceconfigs/MockScid/sessiontemplates/lobby/batch",
            "POST",
        ),
    ];
    for (method, path, allow) in cases {
        // A POST without a body is still 405 on a GET-only path (the verb is checked first).
        let response = h
            .send(method.clone(), 2533274792693551, path, None, &[])
            .await;
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
}
