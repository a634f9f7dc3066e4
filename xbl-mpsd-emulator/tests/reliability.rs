//! Reliability of the emulator's HTTP surface (issue #11, R8–R12): strict `nocommit`, the spec's request
//! constraints, oversized bodies, slow and half-sent requests, and the per-user and per-session limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use xbl_mpsd_emulator::EmulatorConfig;

/// R10: `nocommit` is a strict boolean. A typo or `1` used to commit the write.
#[tokio::test]
async fn nocommit_is_a_strict_boolean() {
    let h = start().await;
    let path = session_path("dry");
    h.join(ALICE, "dry").await;
    let write = |query: &'static str| {
        let h = &h;
        let path = path.clone();
        async move {
            h.client
                .put(format!("{}{path}{query}", h.base))
                .header("Authorization", auth(ALICE))
                .header("x-xbl-contract-version", "107")
                .json(&json!({ "properties": { "custom": { "k": query } } }))
                .send()
                .await
                .unwrap()
        }
    };
    for bad in [
        "?nocommit=ture",
        "?nocommit=1",
        "?nocommit=0",
        "?nocommit=yes",
        "?nocommit=",
        "?nocommit",
        "?nocommit=true&nocommit=true",
        "?nocommit=true%00",
    ] {
        let message = text_error(write(bad).await, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("nocommit"), "{bad}: {message}");
    }
    // Nothing above was committed.
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["changeNumber"], 1, "{doc}");

    for dry in ["?nocommit=true", "?nocommit=TRUE", "?nocommit=True"] {
        let response = write(dry).await;
        assert_eq!(response.status(), StatusCode::OK, "{dry}");
        assert_eq!(json(response).await["changeNumber"], 2, "{dry}");
    }
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["changeNumber"], 1, "a dry run committed: {doc}");

    for real in ["?nocommit=false", "?nocommit=False", ""] {
        assert_eq!(write(real).await.status(), StatusCode::OK, "{real}");
    }
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["changeNumber"], 4, "{doc}");
}

/// R12: what the spec now refuses, the emulator refuses (400), and what it allows is served — in particular
/// an empty `sessionRef.name` in a create-handle request, which MPSD fills in with a GUID.
#[tokio::test]
async fn requests_the_spec_refuses_are_400_and_an_empty_handle_session_name_gets_a_guid() {
    let h = start().await;
    h.join(ALICE, "r12").await;
    let reference = json!({ "scid": SCID, "templateName": TEMPLATE, "name": "r12" });
    for body in [
        json!({ "type": "", "version": 1, "sessionRef": reference }),
        json!({ "type": "activity", "version": 0, "sessionRef": reference }),
        json!({ "type": "activity", "version": 2, "sessionRef": reference }),
        json!({ "type": "activity", "version": 1,
            "sessionRef": { "scid": SCID, "templateName": "lob\u{1}by", "name": "r12" } }),
        json!({ "type": "activity", "version": 1,
            "sessionRef": { "scid": SCID, "templateName": "", "name": "r12" } }),
        json!({ "type": "activity", "version": 1,
            "sessionRef": { "scid": SCID, "templateName": "t".repeat(100), "name": "r12" } }),
    ] {
        text_error(
            h.post(ALICE, "/handles", body.clone()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    for body in [
        json!({ "type": "" }),
        json!({ "type": "", "scid": SCID, "owners": { "xuids": [ALICE.to_string()] } }),
    ] {
        text_error(
            h.post(ALICE, "/handles/query", body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    // Values beyond the spec's integer ranges.
    let response = h
        .client
        .get(format!("{}{}", h.base, session_path("r12")))
        .header("Authorization", auth(ALICE))
        .header("x-xbl-contract-version", "2147483648")
        .send()
        .await
        .unwrap();
    text_error(response, StatusCode::BAD_REQUEST).await;
    let huge = json!({ "roleTypes": { "lfg": { "roles": { "friend": { "max": 9_223_372_036_854_775_808_u64 } } } } });
    text_error(
        h.put(ALICE, &session_path("r12"), huge).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    // Non-printable template and session names in the path.
    for path in [
        format!("/serviceconfigs/{SCID}/sessionTemplates/lob%01by/sessions/n"),
        format!("/serviceconfigs/{SCID}/sessionTemplates/lobby/sessions/n%7F"),
        format!("/serviceconfigs/{SCID}/sessionTemplates/lobby/sessions/n%C2%85"),
    ] {
        text_error(h.get(ALICE, &path).await, StatusCode::BAD_REQUEST).await;
    }
    // An empty session name in a transfer handle's sessionRef: the service picks a GUID.
    let response = h
        .post(
            ALICE,
            "/handles",
            json!({ "type": "transfer", "version": 1,
                "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "" },
                "originSessionRef": reference }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let doc = json(response).await;
    let name = doc["sessionRef"]["name"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(name).is_ok(), "{doc}");
}

/// Opens a raw connection to the emulator.
async fn connect(h: &Harness) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(h.emulator.local_addr())
        .await
        .unwrap()
}

/// Reads the whole answer on `stream` until the server closes it (or `limit` passes) and returns it as text.
async fn read_answer(stream: &mut tokio::net::TcpStream, limit: Duration) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The head of a PUT of a session with `extra` header lines.
fn put_head(name: &str, extra: &str) -> String {
    format!(
        "PUT {} HTTP/1.1\r\nHost: emulator\r\nAuthorization: {}\r\nX-Xbl-Contract-Version: 107\r\n\
         Content-Type: application/json\r\n{extra}\r\n",
        session_path(name),
        auth(ALICE)
    )
}

/// R11: a body far over the limit is read to the end and answered 413 with a text body — not a reset
/// connection ("Broken pipe") while the client is still sending.
#[tokio::test]
async fn an_oversized_body_is_answered_413_with_text_not_a_cut_connection() {
    let h = start_with(EmulatorConfig {
        max_body_bytes: 1024,
        ..EmulatorConfig::default()
    })
    .await;
    const SIZE: usize = 200 * 1024 * 1024;
    let mut stream = connect(&h).await;
    stream
        .write_all(put_head("big", &format!("Content-Length: {SIZE}\r\n")).as_bytes())
        .await
        .unwrap();
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..SIZE / chunk.len() {
        // Fails with "Broken pipe"/"Connection reset" when the server stops reading early.
        stream.write_all(&chunk).await.unwrap();
    }
    let answer = read_answer(&mut stream, Duration::from_secs(30)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("text/plain"), "{answer}");
    assert!(
        answer.contains("larger than the emulator accepts"),
        "{answer}"
    );

    // Chunked, without a Content-Length: the limit is found while reading.
    let mut stream = connect(&h).await;
    stream
        .write_all(put_head("big", "Transfer-Encoding: chunked\r\n").as_bytes())
        .await
        .unwrap();
    let piece = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
    for _ in 0..256 {
        stream.write_all(piece.as_bytes()).await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(30)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("text/plain"), "{answer}");

    // Still serving.
    assert_eq!(
        h.put(ALICE, &session_path("ok"), join_body())
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// R8: many half-sent requests neither exhaust the server nor stay open: a normal request is answered while
/// they hang, and each of them is closed once the header-read timeout passes.
#[tokio::test]
async fn half_sent_requests_are_closed_and_do_not_stop_the_server() {
    let h = start_with(EmulatorConfig {
        header_read_timeout: Duration::from_millis(500),
        ..EmulatorConfig::default()
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut stream = connect(&h).await;
        stream
            .write_all(b"PUT /handles HTTP/1.1\r\nHost: emulator\r\nContent-")
            .await
            .unwrap();
        slow.push(stream);
    }
    let response = h.put(ALICE, &session_path("alive"), join_body()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for (index, stream) in slow.iter_mut().enumerate() {
        // Closed by the server: end of stream (possibly after hyper's 408) or a reset.
        let mut buffer = [0u8; 256];
        let mut closed = false;
        for _ in 0..8 {
            match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
        assert!(closed, "half-sent connection {index} is still open");
    }
}

/// R8: the connection cap holds excess clients back, and slots come back as slow clients are timed out, so a
/// normal request is still answered once the cap is full of idle connections.
#[tokio::test]
async fn the_connection_cap_is_released_by_the_header_timeout() {
    const CAP: usize = 8;
    let h = start_with(EmulatorConfig {
        max_connections: CAP,
        header_read_timeout: Duration::from_millis(700),
        ..EmulatorConfig::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..CAP {
        let mut stream = connect(&h).await;
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        idle.push(stream);
    }
    // Served only once a slot is free, i.e. after the idle connections were closed.
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        h.put(ALICE, &session_path("capped"), join_body()),
    )
    .await
    .expect("a request is answered once the idle connections time out");
    assert_eq!(response.status(), StatusCode::CREATED);
    for (index, stream) in idle.iter_mut().enumerate() {
        let answer = read_answer(stream, Duration::from_millis(100)).await;
        // Already closed before the normal request got its slot: the read ends at once.
        assert!(!answer.starts_with("HTTP/1.1 2"), "{index}: {answer}");
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "idle connection {index} was still open when the capped request was served"
        );
    }
}

/// R8: a body that trickles in too slowly is answered 408 and the connection is closed.
#[tokio::test]
async fn a_slow_body_is_answered_408_and_closed() {
    let h = start_with(EmulatorConfig {
        body_read_timeout: Duration::from_millis(500),
        ..EmulatorConfig::default()
    })
    .await;
    let mut stream = connect(&h).await;
    stream
        .write_all(put_head("slow", "Content-Length: 100\r\n").as_bytes())
        .await
        .unwrap();
    stream.write_all(b"{\"members\"").await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(30)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("text/plain"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

/// R9: one user cannot create sessions or handles without bound, and a session cannot grow without bound;
/// each refusal is typed (403, 413) and changes nothing.
#[tokio::test]
async fn per_user_and_per_session_limits_are_typed_refusals() {
    let h = start_with(EmulatorConfig {
        max_sessions_per_user: 3,
        max_handles_per_user: 2,
        max_session_bytes: 4096,
        ..EmulatorConfig::default()
    })
    .await;
    for n in 0..3 {
        h.join(ALICE, &format!("mine{n}")).await;
    }
    let message = text_error(
        h.put(ALICE, &session_path("mine3"), join_body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(message.contains("max_sessions_per_user"), "{message}");
    // Others are not affected, and joining someone else's session does not count.
    h.join(BOB, "bobs").await;
    h.join(ALICE, "bobs").await;
    // Deleting a session gives the room back.
    let left = h
        .put(
            ALICE,
            &session_path("mine0"),
            json!({ "members": { "me": null } }),
        )
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    h.join(ALICE, "mine3").await;

    // Handles.
    let invite = |to: u64| {
        json!({ "type": "invite", "version": 1, "invitedXuid": to.to_string(),
            "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "mine1" } })
    };
    let first = json(h.post(ALICE, "/handles", invite(BOB)).await).await;
    assert_eq!(
        h.post(ALICE, "/handles", invite(CAROL)).await.status(),
        StatusCode::CREATED
    );
    let message = text_error(
        h.post(ALICE, "/handles", invite(DAVE)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(message.contains("max_handles_per_user"), "{message}");
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        h.delete(ALICE, &format!("/handles/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.post(ALICE, "/handles", invite(DAVE)).await.status(),
        StatusCode::CREATED
    );

    // Document size: each write fits the body limit, but the session may not grow past max_session_bytes.
    let path = session_path("mine1");
    let blob = "x".repeat(1500);
    for key in ["a", "b"] {
        let body = json!({ "properties": { "custom": { key: blob } } });
        assert_eq!(h.put(ALICE, &path, body).await.status(), StatusCode::OK);
    }
    let before = json(h.get(ALICE, &path).await).await;
    let body = json!({ "properties": { "custom": { "c": blob } } });
    let message = text_error(
        h.put(ALICE, &path, body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(message.contains("max_session_bytes"), "{message}");
    assert_eq!(
        json(h.get(ALICE, &path).await).await,
        before,
        "a refused write changed the session"
    );
    // Shrinking is always allowed.
    let body = json!({ "properties": { "custom": { "a": null } } });
    assert_eq!(h.put(ALICE, &path, body).await.status(), StatusCode::OK);
}

/// Found by the `emulator_merge_validate` fuzz target: a system field the spec types (here
/// `peerToHostRequirements`, an object) was stored as whatever was sent, so the session no longer decoded
/// as the spec's document. Every typed system field is now checked, nested ones included.
#[tokio::test]
async fn system_fields_of_the_wrong_json_type_are_400_and_nothing_is_stored() {
    let h = start().await;
    let join = json!({ "members": { "me": {
        "constants": { "system": { "initialize": true } },
        "properties": { "system": { "active": true } } } } });
    for (name, body) in [
        (
            "p2h",
            json!({ "constants": { "system": { "peerToHostRequirements": 3_001_000 } } }),
        ),
        (
            "p2h-nested",
            json!({ "constants": { "system": { "peerToHostRequirements": { "latencyMaximum": "fast" } } } }),
        ),
        (
            "metrics",
            json!({ "constants": { "system": { "metrics": { "latency": 1 } } } }),
        ),
        (
            "init",
            json!({ "constants": { "system": { "memberInitialization": { "joinTimeout": true } } } }),
        ),
        (
            "servers",
            json!({ "constants": { "system": { "measurementServerAddresses": { "east": 1 } } } }),
        ),
        (
            "viewers",
            json!({ "constants": { "system": { "broadcastViewerTitleIds": [1] } } }),
        ),
        (
            "policies",
            json!({ "constants": { "system": { "ownershipPolicies": { "migration": 1 } } } }),
        ),
        (
            "matchmaking",
            json!({ "properties": { "system": { "matchmaking": [] } } }),
        ),
        (
            "team",
            json!({ "members": { "me": { "constants": { "system": { "initialize": true, "team": 7 } } } } }),
        ),
        (
            "groups",
            json!({ "members": { "me": { "properties": { "system": { "groups": [1, 2] } } } } }),
        ),
        (
            "sub",
            json!({ "members": { "me": { "properties": { "system": { "subscription": { "id": 5 } } } } } }),
        ),
        (
            "roles",
            json!({ "members": { "me": { "properties": { "system": { "RolePreference": { "a": "b" } } } } } }),
        ),
    ] {
        let mut body = body;
        if body.get("members").is_none() {
            body["members"] = join["members"].clone();
        }
        let message = text_error(
            h.put(ALICE, &session_path(name), body.clone()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains("must be"), "{name}: {message}");
        let read = h.get(ALICE, &session_path(name)).await;
        assert_eq!(
            read.status(),
            StatusCode::NO_CONTENT,
            "{name}: nothing was stored"
        );
    }
}
