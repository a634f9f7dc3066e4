//! Each operation command against an emulator started in the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use predicates::prelude::*;

fn write_session(served: &Served, xuid: &str, name: &str) -> assert_cmd::Command {
    let mut cmd = served.as_user(xuid);
    cmd.arg("write-session").args(session(name));
    cmd
}

/// The value of header `name` in the stderr of `output`.
fn header(output: &std::process::Output, name: &str) -> String {
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    stderr
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {stderr}"))
        .to_owned()
}

#[test]
fn write_modes_set_the_precondition_headers() {
    let served = emulator();
    let (_dir, join) = file(JOIN);
    // create: 201, JSON on stdout, status and headers on stderr.
    let created = write_session(&served, HOST, "modes")
        .arg("--json-body")
        .arg(&join)
        .args(["--mode", "create"])
        .assert()
        .success()
        .stderr(predicate::str::contains("HTTP 201 Created"))
        .get_output()
        .clone();
    assert_eq!(
        stdout_json(&created)["members"]["0"]["constants"]["system"]["xuid"],
        HOST
    );
    let etag = header(&created, "ETag");
    assert!(header(&created, "Content-Location").ends_with("/sessions/modes"));

    // create again: 412 with the current session shown; nothing on stdout.
    write_session(&served, HOST, "modes")
        .arg("--json-body")
        .arg(&join)
        .args(["--mode", "create"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("HTTP 412 Precondition Failed"))
        .stderr(predicate::str::contains(format!("ETag: {etag}")))
        .stderr(predicate::str::contains(format!("\"xuid\": \"{HOST}\"")));

    // update, body from stdin.
    write_session(&served, HOST, "modes")
        .args(["--json-body", "-", "--mode", "update"])
        .write_stdin(r#"{"properties":{"custom":{"map":"lava"}}}"#)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"map\": \"lava\""));
    // update of a session that does not exist: 412 by reference.
    write_session(&served, HOST, "nosuch")
        .args(["--json-body", "-", "--mode", "update"])
        .write_stdin(JOIN)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"));

    // sync with the stale ETag: 412; with the current one: 200.
    let stale = write_session(&served, HOST, "modes")
        .args(["--json-body", "-", "--mode", "sync", "--etag", &etag])
        .write_stdin(r#"{"properties":{"custom":{"round":1}}}"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"))
        .get_output()
        .clone();
    let current = header(&stale, "ETag");
    assert_ne!(current, etag);
    write_session(&served, HOST, "modes")
        .args(["--json-body", "-", "--mode", "sync", "--etag", &current])
        .write_stdin(r#"{"properties":{"custom":{"round":1}}}"#)
        .assert()
        .success()
        .stderr(predicate::str::contains("HTTP 200 OK"));
    // sync without an ETag only creates.
    write_session(&served, HOST, "modes")
        .args(["--json-body", "-", "--mode", "sync"])
        .write_stdin(JOIN)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"));
    write_session(&served, HOST, "fresh")
        .args(["--json-body", "-", "--mode", "sync"])
        .write_stdin(JOIN)
        .assert()
        .success()
        .stderr(predicate::str::contains("HTTP 201"));
    // upsert: no precondition.
    write_session(&served, GUEST, "modes")
        .args(["--json-body", "-", "--mode", "upsert"])
        .write_stdin(JOIN)
        .assert()
        .success();
}

#[test]
fn reads_handles_and_a_204() {
    let served = emulator();
    write_session(&served, HOST, "h")
        .args(["--json-body", "-"])
        .write_stdin(JOIN)
        .assert()
        .success();

    // A missing session: 204, nothing on stdout, exit 3 ("no session").
    served
        .as_user(HOST)
        .arg("get-session")
        .args(session("nosuch"))
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("HTTP 204 No Content"));
    let read = served
        .as_user(HOST)
        .arg("get-session")
        .args(session("h"))
        .assert()
        .success()
        .get_output()
        .clone();
    let etag = header(&read, "ETag");
    // If-None-Match with the current ETag: 304, exit 0.
    served
        .as_user(HOST)
        .arg("get-session")
        .args(session("h"))
        .args(["--if-none-match", &etag])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("HTTP 304"));

    // An activity handle: create, query, read, read its session, delete (204).
    let activity = format!(
        r#"{{"type":"activity","version":1,"sessionRef":{{"scid":"{SCID}","templateName":"{TEMPLATE}","name":"h"}}}}"#
    );
    let created = served
        .as_user(HOST)
        .args(["create-handle", "--json-body", "-"])
        .write_stdin(activity)
        .assert()
        .success()
        .get_output()
        .clone();
    let id = stdout_json(&created)["id"].as_str().unwrap().to_owned();
    let query = format!(r#"{{"type":"activity","scid":"{SCID}","owners":{{"xuids":["{HOST}"]}}}}"#);
    let found = served
        .as_user(GUEST)
        .args([
            "query-handles",
            "--include",
            "relatedInfo",
            "--json-body",
            "-",
        ])
        .write_stdin(query)
        .assert()
        .success()
        .get_output()
        .clone();
    let found = stdout_json(&found);
    assert_eq!(found["results"][0]["id"], id.as_str());
    assert_eq!(found["results"][0]["relatedInfo"]["membersCount"], 1);
    served
        .as_user(GUEST)
        .args(["get-handle", "--handle-id", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "\"ownerXuid\": \"{HOST}\""
        )));
    served
        .as_user(GUEST)
        .args(["get-session-by-handle", "--handle-id", &id])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Content-Location: /serviceconfigs/",
        ));
    // The guest joins through the handle.
    served
        .as_user(GUEST)
        .args([
            "write-session-by-handle",
            "--handle-id",
            &id,
            "--mode",
            "update",
        ])
        .args(["--json-body", "-"])
        .write_stdin(JOIN)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("\"xuid\": \"{GUEST}\"")));
    served
        .as_user(HOST)
        .args(["delete-handle", "--handle-id", &id])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("HTTP 204"));
    // Now it is gone: 404, the service's text on stderr, exit 1.
    served
        .as_user(HOST)
        .args(["get-handle", "--handle-id", &id])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("HTTP 404"));
}

#[test]
fn the_token_never_appears_in_any_output() {
    let served = emulator();
    let secret = "eyJhbGciOi.s3cr3t-t0ken";
    let outputs = [
        // Refused by the service (401).
        xbl()
            .args(["--endpoint", &served.url, "--token", secret])
            .arg("get-session")
            .args(session("x"))
            .assert()
            .code(1)
            .get_output()
            .clone(),
        // From the environment, with a transport failure.
        xbl()
            .env("XBL_MPSD_TOKEN", secret)
            .args(["--endpoint", "http://127.0.0.1:9", "get-session"])
            .args(session("x"))
            .assert()
            .code(1)
            .get_output()
            .clone(),
        // Help shows the variable, not its value.
        xbl()
            .env("XBL_MPSD_TOKEN", secret)
            .args(["get-session", "--help"])
            .assert()
            .success()
            .get_output()
            .clone(),
        // A usage error on the same command line.
        xbl()
            .args(["--token", secret, "get-session", "--scid", "x"])
            .assert()
            .code(2)
            .get_output()
            .clone(),
        // A token that is not a valid header value.
        xbl()
            .args(["--endpoint", &served.url, "--token", "s3cr3t t0ken"])
            .arg("get-session")
            .args(session("x"))
            .assert()
            .code(2)
            .get_output()
            .clone(),
    ];
    for output in outputs {
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains("s3cr3t"), "the token leaked: {text}");
        }
    }
}

#[test]
fn a_transport_failure_exits_1() {
    xbl()
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "--token",
            HOST,
            "get-session",
        ])
        .args(session("x"))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("error sending request"));
}

#[test]
fn empty_lists_and_nulls_in_a_body_reach_the_service() {
    // The generated command re-encodes the body through the typed request: `[]` clears, `null` deletes.
    let served = emulator();
    write_session(&served, HOST, "clears")
        .args(["--json-body", "-"])
        .write_stdin(
            r#"{"members":{"me":{"constants":{"system":{"initialize":true}},"properties":{"system":{"active":true}}}},
                "properties":{"system":{"keywords":["a","b"],"turn":[0],"matchmaking":{"serverConnectionString":"s1"}},
                              "custom":{"map":"lava","mode":"ctf"}}}"#,
        )
        .assert()
        .success();
    write_session(&served, HOST, "clears")
        .args(["--json-body", "-"])
        .write_stdin(
            r#"{"properties":{"system":{"keywords":[],"turn":[],"matchmaking":null},"custom":{"map":null}}}"#,
        )
        .assert()
        .success();
    let read = served
        .as_user(HOST)
        .arg("get-session")
        .args(session("clears"))
        .assert()
        .success()
        .get_output()
        .clone();
    let document = stdout_json(&read);
    let system = &document["properties"]["system"];
    assert_eq!(system["keywords"], serde_json::json!([]), "{document}");
    assert_eq!(system["turn"], serde_json::json!([]), "{document}");
    assert!(system.get("matchmaking").is_none(), "{document}");
    assert_eq!(
        document["properties"]["custom"],
        serde_json::json!({"mode": "ctf"}),
        "{document}"
    );
}
