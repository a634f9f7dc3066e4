//! The session explorer over HTTP (`/explorer`): the pages, escaping, bad input, the live feed, and the
//! development actions (off by default: refused, nothing changes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xbl_mpsd_emulator::EmulatorConfig;

/// `GET {base}{path}` without any MPSD header: the status, content type and body.
async fn page(harness: &Harness, path: &str) -> (StatusCode, String, String) {
    let response = harness
        .client
        .get(format!("{}{path}", harness.base))
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let content_type = header(&response, "content-type");
    (status, content_type, response.text().await.expect("body"))
}

/// A form POST to an explorer action; redirects are not followed.
async fn post_form(harness: &Harness, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}{path}", harness.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .expect("answered")
}

/// `application/x-www-form-urlencoded` of `form`.
fn encode(form: &[(&str, &str)]) -> String {
    let escape = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn explorer_session(name: &str) -> String {
    format!("/explorer/sessions/{SCID}/{TEMPLATE}/{name}")
}

#[tokio::test]
async fn the_list_filters_by_scid_template_and_member() {
    let harness = start().await;
    let (status, content_type, body) = page(&harness, "/explorer").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("0 sessions"), "{body}");
    harness.join(ALICE, "lobby-a").await;
    harness.join(BOB, "lobby-b").await;
    harness.join(CAROL, "lobby-b").await;
    let (_, _, body) = page(&harness, "/explorer").await;
    assert!(body.contains("2 sessions") && body.contains("lobby-a") && body.contains("lobby-b"));
    assert!(
        body.contains("<th scope=\"col\">Next timer</th>"),
        "a table with headers"
    );
    let (_, _, body) = page(&harness, &format!("/explorer?scid=&template=&xuid={CAROL}")).await;
    assert!(
        body.contains("1 session match") && body.contains("lobby-b") && !body.contains(">lobby-a<")
    );
    let (_, _, body) = page(
        &harness,
        &format!("/explorer?scid={SCID}&template=LOBBY&xuid="),
    )
    .await;
    assert!(
        body.contains("2 sessions match"),
        "template matched ignoring case"
    );
    let (_, _, body) = page(&harness, "/explorer?scid=other&template=&xuid=").await;
    assert!(body.contains("0 sessions match"));
    let (status, content_type, body) = page(&harness, "/explorer?xuid=12abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(content_type.starts_with("text/html"));
    assert!(
        body.contains("&#39;12abc&#39; is not a XUID") || body.contains("'12abc' is not a XUID"),
        "{body}"
    );
}

#[tokio::test]
async fn a_session_page_shows_members_history_handles_and_escapes_what_clients_wrote() {
    let harness = start().await;
    harness.join(ALICE, "game").await;
    let evil = json!({ "members": { "me": { "properties": { "custom": {
        "note": "<script>window.__xss=1</script>", "img": "<img src=x onerror=alert(1)>" } } } },
        "properties": { "custom": { "title": "\"quoted\" & <b>bold</b>" } } });
    assert_eq!(
        harness
            .put(ALICE, &session_path("game"), evil)
            .await
            .status(),
        StatusCode::OK
    );
    harness.join(BOB, "game").await;
    let (status, _, body) = page(&harness, &explorer_session("game")).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        &ALICE.to_string(),
        &BOB.to_string(),
        "active",
        "Recent changes",
        &format!("XUID {BOB}"),
        "session created",
        "members.1",
        "Raw JSON",
    ] {
        assert!(body.contains(expected), "{expected} missing");
    }
    assert!(
        !body.contains("<script>window"),
        "a client's text is escaped"
    );
    assert!(!body.contains("<img src=x"), "a client's text is escaped");
    assert!(body.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"));
    assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(body.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(
        !body.contains("Development actions"),
        "actions are off by default"
    );

    let (status, content_type, raw) =
        page(&harness, &format!("{}/raw", explorer_session("game"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/json"));
    let raw: Value = serde_json::from_str(&raw).expect("JSON");
    assert_eq!(
        raw["members"]["1"]["constants"]["system"]["xuid"],
        json!(BOB.to_string())
    );

    let handle = harness
        .post(
            ALICE,
            "/handles",
            json!({ "version": 1, "type": "invite", "invitedXuid": CAROL.to_string(),
            "inviteAttributes": { "titleId": "1234" },
            "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "game" } }),
        )
        .await;
    assert_eq!(handle.status(), StatusCode::CREATED);
    let (_, _, body) = page(&harness, &explorer_session("game")).await;
    assert!(body.contains(">invite<") && body.contains(&CAROL.to_string()));
    let (_, _, handles) = page(&harness, "/explorer/handles").await;
    assert!(handles.contains("1 handle") && handles.contains(">invite<"));
    let (status, _, templates) = page(&harness, "/explorer/templates").await;
    assert_eq!(status, StatusCode::OK);
    assert!(templates.contains("No --templates directory"));
}

#[tokio::test]
async fn bad_addresses_are_html_404_and_400_pages() {
    let harness = start().await;
    for path in [
        explorer_session("nobody"),
        format!("{}/raw", explorer_session("nobody")),
        "/explorer/nothing/here".to_owned(),
    ] {
        let (status, content_type, body) = page(&harness, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}");
        assert!(body.contains("<main"), "{path}");
    }
    let long = "x".repeat(200);
    let (status, _, _) = page(&harness, &explorer_session(&long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = page(&harness, "/explorer/sessions/a/b/%00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn actions_are_refused_and_change_nothing_when_off() {
    let harness = start().await;
    harness.join(ALICE, "keep").await;
    harness.join(BOB, "keep").await;
    let before = harness.read(ALICE, "keep").await;
    let session = [("scid", SCID), ("template", TEMPLATE), ("name", "keep")];
    let bob = BOB.to_string();
    let with_member: Vec<(&str, &str)> = session
        .iter()
        .copied()
        .chain([("xuid", bob.as_str())])
        .collect();
    let with_connection: Vec<(&str, &str)> = session
        .iter()
        .copied()
        .chain([("connection", "00000000-0000-0000-0000-000000000001")])
        .collect();
    for (path, form) in [
        ("/explorer/actions/delete-session", session.to_vec()),
        ("/explorer/actions/remove-member", with_member),
        ("/explorer/actions/disconnect", with_connection),
        ("/explorer/actions/advance-clock", vec![("seconds", "60")]),
    ] {
        let response = post_form(&harness, path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("--explorer-actions")
        );
    }
    assert_eq!(harness.read(ALICE, "keep").await, before, "nothing changed");
    // GET on an action is no action either.
    let (status, _, _) = page(&harness, "/explorer/actions/delete-session").await;
    assert!(status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn actions_remove_a_member_and_delete_a_session_when_on() {
    let harness = start_manual_with(EmulatorConfig {
        explorer_actions: true,
        ..EmulatorConfig::default()
    })
    .await;
    harness.join(ALICE, "act").await;
    harness.join(BOB, "act").await;
    let session = [("scid", SCID), ("template", TEMPLATE), ("name", "act")];
    let (_, _, body) = page(&harness, &explorer_session("act")).await;
    assert!(body.contains("Development actions") && body.contains(&format!("remove-{BOB}")));

    let bob = BOB.to_string();
    let mut form = session.to_vec();
    form.push(("xuid", &bob));
    let response = post_form(&harness, "/explorer/actions/remove-member", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&response, "location"), explorer_session("act"));
    let document = harness.read(ALICE, "act").await;
    assert_eq!(document["members"].as_object().map(|m| m.len()), Some(1));
    let (_, _, body) = page(&harness, &explorer_session("act")).await;
    assert!(
        body.contains("explorer action"),
        "the history names the explorer"
    );

    // A page of another site cannot post an action.
    let cross = reqwest::Client::new()
        .post(format!("{}/explorer/actions/delete-session", harness.base))
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&session))
        .send()
        .await
        .expect("answered");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let (_, _, list) = page(&harness, "/explorer").await;
    assert!(list.contains("Manual clock") && list.contains("advance-seconds"));
    let before = harness.now();
    let response = post_form(
        &harness,
        "/explorer/actions/advance-clock",
        &[("seconds", "90")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        harness.now().duration_since(before).ok(),
        Some(Duration::from_secs(90))
    );
    let response = post_form(
        &harness,
        "/explorer/actions/advance-clock",
        &[("seconds", "soon")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = post_form(&harness, "/explorer/actions/delete-session", &session).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(harness.read(ALICE, "act").await, Value::Null);
    assert_eq!(harness.emulator.session_count(), 0);
    let response = post_form(&harness, "/explorer/actions/delete-session", &session).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_live_feed_sends_an_event_after_a_change() {
    let harness = start().await;
    let mut events = harness
        .client
        .get(format!("{}/explorer/events", harness.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(events.status(), StatusCode::OK);
    assert!(header(&events, "content-type").starts_with("text/event-stream"));
    harness.join(ALICE, "live").await;
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = events.chunk().await.expect("stream") {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: change") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found.ok(), Some(true), "{seen}");
}

#[tokio::test]
async fn the_explorer_needs_no_token_and_serves_its_assets() {
    let harness = start().await;
    for (path, kind) in [
        ("/explorer/assets/explorer.css", "text/css"),
        ("/explorer/assets/explorer.js", "text/javascript"),
    ] {
        let (status, content_type, body) = page(&harness, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with(kind));
        assert!(!body.is_empty());
    }
    let response = harness
        .client
        .get(format!("{}/explorer", harness.base))
        .send()
        .await
        .expect("answered");
    let csp = header(&response, "content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
}

#[tokio::test]
async fn an_open_live_feed_does_not_hold_up_shutdown() {
    let Harness {
        emulator,
        client,
        base,
    } = start().await;
    let events = client
        .get(format!("{base}/explorer/events"))
        .send()
        .await
        .expect("answered");
    assert_eq!(events.status(), StatusCode::OK);
    let stopped = tokio::time::timeout(Duration::from_secs(3), emulator.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown waited for the feed");
    drop(events);
}

#[tokio::test]
async fn the_templates_page_shows_the_templates_directory() {
    let dir = tempfile::tempdir().expect("a directory");
    let template = json!({ "contractVersion": 107,
        "constants": { "system": { "maxMembersCount": 4, "visibility": "open" }, "custom": { "mode": "<b>ffa</b>" } } });
    std::fs::write(
        dir.path().join("lobby.json"),
        serde_json::to_vec(&template).expect("JSON"),
    )
    .expect("written");
    let harness = start_with(EmulatorConfig {
        templates: Some(dir.path().to_owned()),
        ..EmulatorConfig::default()
    })
    .await;
    let (status, _, body) = page(&harness, "/explorer/templates").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(": 1 template."), "{body}");
    assert!(body.contains("lobby") && body.contains("maxMembersCount"));
    assert!(body.contains("&lt;b&gt;ffa&lt;/b&gt;"), "escaped");
}

#[tokio::test]
async fn rta_subscribers_are_listed_and_a_connection_can_be_dropped() {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let harness = start_with(EmulatorConfig {
        explorer_actions: true,
        ..EmulatorConfig::default()
    })
    .await;
    harness.join(ALICE, "rta").await;
    let mut request = harness
        .emulator
        .rta_url()
        .into_client_request()
        .expect("a request");
    let headers = request.headers_mut();
    headers.insert("authorization", auth(ALICE).parse().expect("header"));
    headers.insert(
        "sec-websocket-protocol",
        "rta.xboxlive.com.V2".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("RTA connects");
    socket
        .send(Message::text(
            r#"[1,1,"https://sessiondirectory.xboxlive.com/connections/"]"#,
        ))
        .await
        .expect("subscribed");
    let reply = loop {
        match socket.next().await.expect("a frame").expect("a frame") {
            Message::Text(text) => break serde_json::from_str::<Value>(&text).expect("JSON"),
            _ => continue,
        }
    };
    let connection = reply[4]["ConnectionId"]
        .as_str()
        .expect("a ConnectionId")
        .to_owned();
    let subscribe = json!({ "members": { "me": { "properties": { "system": { "active": true,
        "connection": connection, "subscription": { "id": "961D3AF1-7B8C-4C7E-9A4B-0F3C1E2D5A60",
        "changeTypes": ["everything"] } } } } } });
    assert_eq!(
        harness
            .put(ALICE, &session_path("rta"), subscribe)
            .await
            .status(),
        StatusCode::OK
    );

    let (_, _, body) = page(&harness, &explorer_session("rta")).await;
    assert!(body.contains(&connection), "the ConnectionId is listed");
    assert!(body.contains("<td>open</td>") && body.contains("everything"));
    assert!(body.contains("Drop connection"));

    let form = [
        ("scid", SCID),
        ("template", TEMPLATE),
        ("name", "rta"),
        ("connection", connection.as_str()),
    ];
    let response = post_form(&harness, "/explorer/actions/disconnect", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while harness.emulator.rta().socket_count() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket was closed");
    let (_, _, body) = page(&harness, &explorer_session("rta")).await;
    assert!(
        body.contains("<td>closed</td>"),
        "the connection shows closed"
    );
    let response = post_form(&harness, "/explorer/actions/disconnect", &form).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
