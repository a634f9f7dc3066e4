//! The new user's story, each step's stdout parsed (as `jq` would) into the next step's arguments, and
//! the scripting contract: envelopes, exit codes, hints, validated options, strict validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;

/// Runs `cmd`, expects success, returns stdout as JSON.
fn json_of(cmd: &mut assert_cmd::Command) -> Value {
    let output = cmd.assert().success().get_output().clone();
    stdout_json(&output)
}

fn string(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
        .to_owned()
}

#[test]
fn create_invite_parse_join_query_leave_without_writing_json() {
    let served = emulator();

    // 1. The host creates the session (a small body) and reads its reference from the envelope.
    let created = json_of(
        served
            .as_user(HOST)
            .arg("write-session")
            .args(session("story"))
            .args([
                "--json-body",
                "-",
                "--mode",
                "create",
                "--output",
                "envelope",
            ])
            .write_stdin(JOIN),
    );
    assert_eq!(created["status"], 201, "{created}");
    assert!(created["etag"].is_string(), "{created}");
    let reference = string(&created, "/contentLocation");
    assert!(reference.ends_with("/sessions/story"), "{reference}");

    // 2. The host invites the guest: the handle document on stdout.
    let invite = json_of(
        served
            .as_user(HOST)
            .args(["handle", "invite", "--session", &reference, "--to", GUEST])
            .args(["--context", "level=3"]),
    );
    assert_eq!(invite["type"], "invite", "{invite}");
    let handle = string(&invite, "/id");

    // 3. What the guest's title receives, parsed; its `uri` feeds `join`.
    let uri = format!(
        "ms-xbl-multiplayer://inviteHandleAccept?handle={handle}&invitedXuid={GUEST}&senderXuid={HOST}&context=level%3D3"
    );
    let activation = json_of(xbl().args(["activation", "parse", &uri]));
    assert_eq!(activation["handleId"], handle.as_str(), "{activation}");
    let uri = string(&activation, "/uri");

    // 4. The guest joins through the invite.
    let joined = json_of(
        served
            .as_user(GUEST)
            .args(["join", &uri, "--output", "envelope"]),
    );
    assert_eq!(joined["status"], 200, "{joined}");
    let members = joined["body"]["members"].as_object().unwrap();
    assert_eq!(members.len(), 2, "{joined}");
    let joined_reference = string(&joined, "/contentLocation");
    assert!(
        joined_reference.eq_ignore_ascii_case(&reference),
        "{joined_reference} vs {reference}"
    );

    // 5. The host publishes an activity; the guest finds it with a query.
    served
        .as_user(HOST)
        .args(["handle", "activity", "--session", &reference])
        .assert()
        .success();
    let found = json_of(served.as_user(GUEST).args([
        "handle",
        "query",
        "--scid",
        SCID,
        "--owner",
        HOST,
        "--include",
        "relatedInfo",
    ]));
    let found = found.as_array().expect("an array of handles");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["type"], "activity");
    assert_eq!(found[0]["sessionRef"]["name"], "story");
    let activity = string(&found[0], "/id");

    // 6. The guest leaves by reference; the host leaves through the activity handle.
    let left =
        json_of(
            served
                .as_user(GUEST)
                .args(["leave", &joined_reference, "--output", "envelope"]),
        );
    assert_eq!(left["status"], 200, "{left}");
    assert_eq!(
        left["body"]["members"].as_object().unwrap().len(),
        1,
        "{left}"
    );
    served
        .as_user(HOST)
        .args(["leave", &activity])
        .assert()
        .success();

    // 7. The session is gone: a read says so with exit code 3 and nothing on stdout.
    served
        .as_user(HOST)
        .arg("get-session")
        .args(session("story"))
        .assert()
        .code(3)
        .stdout("");
}

#[test]
fn envelopes_hints_and_etag_current() {
    let served = emulator();
    served
        .as_user(HOST)
        .arg("write-session")
        .args(session("e"))
        .args(["--json-body", "-"])
        .write_stdin(JOIN)
        .assert()
        .success();

    // A 412 in envelope mode: the current session in `body`, the hint on stderr, exit 1.
    let output = served
        .as_user(HOST)
        .arg("write-session")
        .args(session("e"))
        .args(["--json-body", "-", "--mode", "sync", "--etag", "stale"])
        .args(["--output", "envelope"])
        .write_stdin(JOIN)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("hint: "))
        .get_output()
        .clone();
    let envelope = stdout_json(&output);
    assert_eq!(envelope["status"], 412, "{envelope}");
    assert!(envelope["body"]["members"].is_object(), "{envelope}");

    // `--etag current` reads the ETag first: the write goes through.
    served
        .as_user(HOST)
        .arg("write-session")
        .args(session("e"))
        .args(["--json-body", "-", "--mode", "sync", "--etag", "current"])
        .write_stdin(r#"{"properties":{"custom":{"round":2}}}"#)
        .assert()
        .success()
        .stderr(predicate::str::contains("HTTP 200"));

    // `--nocommit` is a flag: the merge is shown, not stored.
    let preview = json_of(
        served
            .as_user(HOST)
            .arg("write-session")
            .args(session("e"))
            .args(["--json-body", "-", "--nocommit"])
            .write_stdin(r#"{"properties":{"custom":{"round":3}}}"#),
    );
    assert_eq!(preview["properties"]["custom"]["round"], 3);
    let stored = json_of(served.as_user(HOST).arg("get-session").args(session("e")));
    assert_eq!(stored["properties"]["custom"]["round"], 2);

    // 404 through a handle: a hint that says what to check.
    served
        .as_user(HOST)
        .args(["handle", "get", "656f5f26-206e-4855-9887-6e4712a22500"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("hint: nothing at that address"));
}

#[test]
fn verbose_prints_each_exchange_without_the_token() {
    let served = emulator();
    let output = served
        .as_user(HOST)
        .arg("--verbose")
        .arg("get-session")
        .args(session("nobody"))
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let line = stderr
        .lines()
        .find(|l| l.starts_with("> GET /serviceconfigs/"))
        .unwrap_or_else(|| panic!("no exchange line in {stderr}"));
    assert!(line.contains("-> 204 No Content ("), "{line}");
    assert!(line.contains(" ms)"), "{line}");
    assert!(!stderr.contains(HOST), "the token leaked: {stderr}");
}

#[test]
fn options_are_validated_before_anything_is_sent() {
    // No emulator: each of these must fail as a usage error (2) with a readable message.
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "get-session",
                "--scid",
                "bad/scid",
                "--session-template-name",
                "t",
                "--session-name",
                "n",
            ],
            "not a valid SCID",
        ),
        (
            &["get-handle", "--handle-id", "not-a-guid"],
            "a handle ID is a GUID",
        ),
        (
            &[
                "query-handles",
                "--json-body",
                "/dev/null",
                "--include",
                "bogus",
            ],
            "unknown section \"bogus\"",
        ),
        (
            &[
                "handle",
                "query",
                "--scid",
                SCID,
                "--owner",
                HOST,
                "--include",
                "bogus",
            ],
            "bogus",
        ),
        (
            &["validate", "session", "-", "--endpoint", "http://x"],
            "does not apply",
        ),
    ];
    for (args, message) in cases {
        xbl()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn raw_commands_show_the_body_and_lose_the_version_collision() {
    let help = xbl()
        .args(["create-handle", "--help"])
        .assert()
        .success()
        .get_output()
        .clone();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("Example:"), "{help}");
    assert!(help.contains("\"sessionRef\""), "{help}");
    assert!(!help.contains("--version <"), "{help}");
    assert!(!help.contains("--invited-xuid"), "{help}");
    // The global -V/--version works, and the body file alone is enough.
    xbl().arg("--version").assert().success();
}

#[test]
fn schema_completions_and_man_page() {
    let schema = json_of(xbl().args(["schema", "session"]));
    assert!(schema["properties"]["constants"].is_object(), "{schema}");
    let handle = json_of(xbl().args(["schema", "create-handle"]));
    assert!(handle["properties"]["sessionRef"].is_object(), "{handle}");
    for shell in ["bash", "zsh", "fish"] {
        xbl()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("xbl-mpsd"));
    }
    xbl()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH xbl-mpsd"));
}

#[test]
fn validate_rejects_each_wrong_document_with_a_json_path() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "handle",
            "{}",
            ".: an empty object is not a handle document",
        ),
        (
            "handle",
            r#"{"type":"nonsense","version":1,"sessionRef":{"scid":"s","templateName":"t","name":"n"}}"#,
            "type: \"nonsense\" is not one of activity, invite, search, transfer",
        ),
        (
            "session",
            r#"{"constants":{"system":{"visibility":"banana"}}}"#,
            "constants.system.visibility: \"banana\" is not one of",
        ),
        (
            "session",
            r#"{"constants":{"system":{"maxMembersCount":0}}}"#,
            "constants.system.maxMembersCount: 0 is not an integer from 1 to 100",
        ),
        (
            "session",
            r#"{"type":"activity","version":1,"sessionRef":{"scid":"s","templateName":"t","name":"n"}}"#,
            ".: this is a handle document",
        ),
        (
            "session",
            r#"{"propertie":{"system":{}}}"#,
            "propertie: unknown key \"propertie\" (did you mean \"properties\"?)",
        ),
        (
            "session",
            r#"{"constants":{"system":{"maxMembersCount":"four"}}}"#,
            "constants.system.maxMembersCount: \"four\" is not an integer from 1 to 100",
        ),
    ];
    for (kind, document, message) in cases {
        let output = xbl()
            .args(["validate", kind, "-"])
            .write_stdin(document)
            .assert()
            .code(1)
            .stdout("")
            .get_output()
            .clone();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{kind} {document}: {stderr}");
        assert!(
            !stderr.contains("i32") && !stderr.contains("struct "),
            "{stderr}"
        );
    }
    // Known values in any case pass, with a summary line.
    xbl()
        .args(["validate", "session", "-"])
        .write_stdin(r#"{"constants":{"system":{"visibility":"Open","maxMembersCount":4}},"members":{"0":{"constants":{"system":{"xuid":"2533274792693551"}}}}}"#)
        .assert()
        .success()
        .stdout("ok: session document (1 member)\n");
    // A type error deep inside is reported in JSON terms.
    xbl()
        .args(["validate", "handle", "-"])
        .write_stdin(r#"{"type":"invite","version":1,"sessionRef":{"scid":"s","templateName":"t","name":"n"},"inviteAttributes":{"titleId":true}}"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("inviteAttributes.titleId"));
}

/// The keys of every object in `value`, depth first, in the order they appear.
fn key_order(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                out.push(key.clone());
                key_order(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| key_order(item, out)),
        _ => {}
    }
}

/// The body of `GET path` as the emulator sends it, read with a plain HTTP client (key order kept).
fn raw_get(served: &Served, path: &str) -> Value {
    let url = format!("{}{path}", served.url);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let body = reqwest::Client::new()
            .get(url)
            .header("Authorization", format!("XBL3.0 x=0;{HOST}"))
            .header("X-Xbl-Contract-Version", "107")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    })
}

#[test]
fn success_bodies_keep_the_service_key_order() {
    let served = emulator();
    served
        .as_user(HOST)
        .arg("write-session")
        .args(session("order"))
        .args(["--json-body", "-"])
        .write_stdin(
            r#"{"members":{"me":{"constants":{"system":{"initialize":true}},"properties":{"system":{"active":true}}}},
                "properties":{"custom":{"zebra":1,"apple":2}}}"#,
        )
        .assert()
        .success();
    let path = format!("/serviceconfigs/{SCID}/sessionTemplates/{TEMPLATE}/sessions/order");
    let mut expected = Vec::new();
    key_order(&raw_get(&served, &path), &mut expected);
    assert!(expected.len() > 10, "{expected:?}");
    // The typed struct would print its fields alphabetically; the service does not send them so.
    let mut sorted = expected.clone();
    sorted.sort();
    assert_ne!(
        expected, sorted,
        "the emulator's order must not be alphabetical"
    );

    let printed = json_of(
        served
            .as_user(HOST)
            .arg("get-session")
            .args(session("order")),
    );
    let mut keys = Vec::new();
    key_order(&printed, &mut keys);
    assert_eq!(keys, expected, "get-session");

    let envelope = json_of(
        served
            .as_user(HOST)
            .arg("get-session")
            .args(session("order"))
            .args(["--output", "envelope"]),
    );
    let mut keys = Vec::new();
    key_order(&envelope["body"], &mut keys);
    assert_eq!(keys, expected, "get-session --output envelope");

    // A typed command too: the handle document as the service sent it.
    let invite =
        json_of(
            served
                .as_user(HOST)
                .args(["handle", "invite", "--session", &path, "--to", GUEST]),
        );
    let handle = string(&invite, "/id");
    let mut expected = Vec::new();
    key_order(
        &raw_get(&served, &format!("/handles/{handle}")),
        &mut expected,
    );
    let printed = json_of(served.as_user(HOST).args(["handle", "get", &handle]));
    let mut keys = Vec::new();
    key_order(&printed, &mut keys);
    assert_eq!(keys, expected, "handle get");
}
