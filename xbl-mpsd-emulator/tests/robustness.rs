//! Bad input, concurrent writers, and the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xbl_mpsd_emulator::EmulatorConfig;

/// Sends a raw body.
async fn put_raw(h: &Harness, path: &str, body: &'static str) -> reqwest::Response {
    h.client
        .put(format!("{}{path}", h.base))
        .header("Authorization", auth(ALICE))
        .header("x-xbl-contract-version", "107")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_the_server_keeps_serving() {
    let config = EmulatorConfig {
        max_body_bytes: 1024,
        ..EmulatorConfig::default()
    };
    let h = start_with(config).await;
    let path = session_path("bad");
    h.join(ALICE, "bad").await;

    for body in [
        "{",
        "",
        "[1,2]",
        "\"text\"",
        "{\"members\": {\"me\": }}",
        "nul",
    ] {
        let message = text_error(put_raw(&h, &path, body).await, StatusCode::BAD_REQUEST).await;
        assert!(
            message.contains("JSON") || message.contains("empty"),
            "{body}: {message}"
        );
    }
    let deep: &'static str =
        Box::leak(format!("{}{}", "[".repeat(200), "]".repeat(200)).into_boxed_str());
    text_error(put_raw(&h, &path, deep).await, StatusCode::BAD_REQUEST).await;
    for body in [
        json!({ "members": [] }),
        json!({ "constants": "x" }),
        json!({ "members": { "me": { "properties": { "system": [] } } } }),
        json!({ "members": { "me": { "roles": { "lfg": 3 } } } }),
    ] {
        text_error(h.put(ALICE, &path, body).await, StatusCode::BAD_REQUEST).await;
    }
    let handle_bodies = [
        json!([]),
        json!({ "type": "activity", "version": 1 }),
        json!({ "type": "activity", "version": 1, "sessionRef": { "scid": 5, "templateName": "t", "name": "n" } }),
        json!({ "type": "activity", "version": 1, "sessionRef": { "scid": "", "templateName": "t", "name": "n" } }),
        json!({ "type": "search", "version": 1, "sessionRef": { "scid": "s", "templateName": "t", "name": "n" }, "searchAttributes": { "tags": ["has space"] } }),
    ];
    for body in handle_bodies {
        text_error(
            h.post(ALICE, "/handles", body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }

    // Over the body limit.
    let big = json!({ "properties": { "custom": { "blob": "x".repeat(2048) } } });
    text_error(
        h.put(ALICE, &path, big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    // Bad GUIDs, unknown paths and wrong verbs.
    text_error(h.delete(ALICE, "/handles/zzz").await, StatusCode::NOT_FOUND).await;
    text_error(h.get(ALICE, "/nothing/here").await, StatusCode::NOT_FOUND).await;
    text_error(
        h.get(
            ALICE,
            &format!("/serviceconfigs/{SCID}/templates/t/sessions/n"),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    text_error(h.get(ALICE, "/").await, StatusCode::NOT_FOUND).await;
    text_error(h.delete(ALICE, &path).await, StatusCode::METHOD_NOT_ALLOWED).await;
    text_error(
        h.get(ALICE, "/handles").await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    text_error(
        h.send(Method::PATCH, ALICE, "/handles/query", None, &[])
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;

    // Still serving, and nothing was committed by the failures.
    let doc = json(h.get(ALICE, &path).await).await;
    assert_eq!(doc["changeNumber"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_read_modify_write_loses_nothing() {
    const TASKS: usize = 16;
    const UPDATES: usize = 20;
    let h = Arc::new(start().await);
    let path = session_path("race");
    h.join(ALICE, "race").await;

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let h = Arc::clone(&h);
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut commits = 0u64;
            for update in 0..UPDATES {
                let mut response = h.get(ALICE, &path).await;
                loop {
                    // A 200 read or a 412 both carry the current ETag.
                    let status = response.status();
                    assert!(status == StatusCode::OK || status == StatusCode::PRECONDITION_FAILED, "{status}");
                    let etag = header(&response, "etag");
                    let body = json!({ "properties": { "custom": { format!("t{task}u{update}"): task * 1000 + update } } });
                    let write = h.send(Method::PUT, ALICE, &path, Some(&body), &[("If-Match", &etag)]).await;
                    match write.status() {
                        StatusCode::OK => {
                            commits += 1;
                            break;
                        }
                        StatusCode::PRECONDITION_FAILED => response = write,
                        other => panic!("unexpected {other}"),
                    }
                }
            }
            commits
        }));
    }
    let mut commits = 0;
    for task in tasks {
        commits += task.await.unwrap();
    }
    assert_eq!(commits, (TASKS * UPDATES) as u64);
    let doc: Value = json(h.get(ALICE, &path).await).await;
    let custom = doc["properties"]["custom"].as_object().unwrap();
    assert_eq!(custom.len(), TASKS * UPDATES);
    for task in 0..TASKS {
        for update in 0..UPDATES {
            assert_eq!(
                custom[&format!("t{task}u{update}")],
                json!(task * 1000 + update)
            );
        }
    }
    assert_eq!(doc["changeNumber"], json!(1 + TASKS * UPDATES));
}

/// Kills the child on drop so a failing test leaves no process behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_url_and_serves() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_xbl-mpsd-emulator"))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let url = line.trim();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let response = reqwest::Client::new()
        .put(format!("{url}{}", session_path("bin")))
        .header("Authorization", auth(ALICE))
        .header("x-xbl-contract-version", "107")
        .json(&join_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json(response).await["membersInfo"]["count"], 1);
}

/// Every stored session must decode as the spec's document, so a typed field the spec sizes (`int64`,
/// `int32`, a string) is refused when it does not fit, also inside maps of typed objects. The first body is
/// the fuzz smoke's find (`emulator_merge_validate`: a 200-digit `ranking` was stored).
#[test]
fn typed_fields_that_do_not_fit_the_spec_are_refused() {
    use xbl_mpsd_emulator::{WriteCheck, check_writes};
    const CALLER: u64 = 2533274792693551;
    let member = |system: Value| json!({"members": {"me": {"properties": {"system": system}}}});
    let constants = |system: Value| json!({"constants": {"system": system}, "members": {"me": {}}});
    let huge: Value = serde_json::from_str(&format!("3{}", "8".repeat(200))).unwrap();
    let refused = [
        (
            member(
                json!({"arbitration": {"results": {"team1": {"outcome": "rank", "ranking": huge}}}}),
            ),
            "ranking",
        ),
        (
            member(json!({"arbitration": {"results": {"team1": {"ranking": 1u64 << 63}}}})),
            "ranking",
        ),
        (
            member(json!({"arbitration": {"results": {"team1": {"outcome": 1}}}})),
            "outcome",
        ),
        (
            member(json!({"RolePreference": {"host": 1i64 << 40}})),
            "RolePreference",
        ),
        (
            member(json!({"initializationGroup": [u64::MAX]})),
            "initializationGroup",
        ),
        (constants(json!({"version": 1i64 << 40})), "version"),
        (
            constants(json!({"memberInitialization": {"joinTimeout": u64::MAX}})),
            "joinTimeout",
        ),
        (
            constants(json!({"measurementServerAddresses": {"a": {"secureDeviceAddress": 5}}})),
            "secureDeviceAddress",
        ),
        (
            json!({"properties": {"system": {"matchmaking": {"clientResult": {"typicalWait": "soon"}}}},
                   "members": {"me": {}}}),
            "typicalWait",
        ),
        (
            json!({"properties": {"system": {"matchmaking": {"clientResult": {"targetSessionRef": {"scid": "s", "templateName": "t", "name": 7}}}}},
                   "members": {"me": {}}}),
            "name",
        ),
        (
            member(json!({"measurements": {"dev": {"latency": "fast"}}})),
            "latency",
        ),
        (
            member(json!({"subscriptions": {"a": {"profile": 1}}})),
            "profile",
        ),
    ];
    for (body, field) in refused {
        match check_writes(&[(CALLER, body.clone())]).as_slice() {
            [WriteCheck::Refused(400, message)] => {
                assert!(message.contains(field), "{body}: {message}");
            }
            other => panic!("{body}: expected a 400 naming {field}, got {other:?}"),
        }
    }
    // The largest values that fit are stored as sent.
    let fitting = [
        member(
            json!({"arbitration": {"results": {"team1": {"outcome": "rank", "ranking": i64::MAX}}}}),
        ),
        member(json!({"RolePreference": {"host": i32::MAX}})),
        // (`membersNeededToStart: 0`: the creating write adds no member to initialize.)
        constants(
            json!({"version": i32::MAX, "memberInitialization": {"joinTimeout": i64::MAX, "membersNeededToStart": 0}}),
        ),
        constants(json!({"measurementServerAddresses": {"a": {"secureDeviceAddress": "AQID"}}})),
        json!({"properties": {"system": {"matchmaking": {"clientResult": {"status": "searching", "typicalWait": 30}}}},
               "members": {"me": {}}}),
        member(
            json!({"measurements": {"dev": {"latency": 30, "bandwidthUp": 1000, "custom": {"x": 1}}}}),
        ),
        // `null` deletes a subscription of the docs' form.
        member(json!({"subscriptions": {"a": {"profile": "party"}, "b": null}})),
    ];
    for body in fitting {
        match check_writes(&[(CALLER, body.clone())]).as_slice() {
            [WriteCheck::Stored(_)] => {}
            other => panic!("{body}: expected it stored, got {other:?}"),
        }
    }
}
