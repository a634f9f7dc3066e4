//! The commands that need no service: help, activation parsing, validation, usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use predicates::prelude::*;

/// The command names of the spec's operations: every operationId of `spec/openapi.yaml`, in kebab case.
fn spec_operations() -> Vec<String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/openapi.yaml"))
            .expect("spec/openapi.yaml");
    let spec: serde_json::Value = yaml_serde::from_str(&text).expect("the spec is YAML");
    let mut names: Vec<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().into_iter().flatten())
        .filter_map(|(_, op)| op.get("operationId")?.as_str())
        .map(|id| id.replace('_', "-"))
        .collect();
    names.sort();
    names
}

#[test]
fn help_lists_every_operation_of_the_spec_and_every_command() {
    let output = xbl().arg("--help").assert().success().get_output().clone();
    let help = String::from_utf8(output.stdout).unwrap();
    let operations = spec_operations();
    assert!(!operations.is_empty(), "the spec has operations");
    for name in
        operations
            .iter()
            .map(String::as_str)
            .chain(["activation", "validate", "emulator", "demo"])
    {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "{name} missing from:\n{help}"
        );
    }
    assert!(help.contains("XBL_MPSD_ENDPOINT"));
    assert!(help.contains("Exit codes"));
}

#[test]
fn the_session_writes_have_write_modes() {
    for name in ["write-session", "write-session-by-handle"] {
        xbl()
            .args([name, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("--mode").and(predicate::str::contains("--etag")))
            .stdout(predicate::str::contains("json-body-template").not());
    }
    xbl()
        .args(["get-session", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--mode").not());
}

#[test]
fn activation_parse_prints_one_json_object() {
    xbl()
        .args([
            "activation",
            "parse",
            "ms-xbl-7a970ea1://inviteHandleAccept/?invitedXuid=2814679796296491\
             &handle=%7B656F5F26-206E-4855-9887-6E4712A22500%7D&senderXuid=2533274792693551&context=level%3D3",
        ])
        .assert()
        .success()
        .stdout(
            "{\"kind\":\"inviteHandleAccept\",\"handleId\":\"656f5f26-206e-4855-9887-6e4712a22500\",\
             \"invitedXuid\":\"2814679796296491\",\"senderXuid\":\"2533274792693551\",\"joinerXuid\":null,\
             \"joineeXuid\":null,\"context\":\"level=3\",\"connectionString\":null,\"titleId\":2056720033,\
             \"uri\":\"ms-xbl-7a970ea1://inviteHandleAccept?handle=656f5f26-206e-4855-9887-6e4712a22500\
             &invitedXuid=2814679796296491&senderXuid=2533274792693551&context=level%3D3\"}\n",
        )
        .stderr("");
}

#[test]
fn a_bad_activation_uri_is_a_usage_error_on_one_line() {
    for uri in [
        "ms-xbl-multiplayer://activityHandleJoin?&handle=not-a-guid&joinerXuid=1",
        "https://example.com/",
        "not a uri",
    ] {
        let output = xbl()
            .args(["activation", "parse", uri])
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .clone();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("xbl-mpsd: invalid activation URI: "),
            "{stderr}"
        );
    }
}

const SESSION: &str = r#"{
  "contractVersion": 107,
  "constants": {"system": {"maxMembersCount": 4, "visibility": "open"}, "custom": {"z": [1, {"b": 2, "a": 1}], "a": null}},
  "members": {"0": {"constants": {"system": {"xuid": "2533274792693551", "index": 0}}}},
  "futureKey": {"kept": true}
}"#;

#[test]
fn validate_accepts_a_session_and_prints_it_unchanged() {
    let (_dir, path) = file(SESSION);
    // Strict (the default): the unknown top-level key is named; lenient: only the types' shape.
    xbl()
        .args(["validate", "session"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("futureKey: unknown key"));
    xbl()
        .args(["validate", "session", "--lenient"])
        .arg(&path)
        .assert()
        .success()
        .stdout("ok: session document (1 member)\n")
        .stderr("");
    let output = xbl()
        .args(["validate", "session", "--lenient", "--print"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    let printed = stdout_json(&output);
    let original: serde_json::Value = serde_json::from_str(SESSION).unwrap();
    assert_eq!(
        printed["constants"]["custom"],
        original["constants"]["custom"]
    );
    assert_eq!(
        serde_json::to_string(&printed["constants"]["custom"]).unwrap(),
        r#"{"z":[1,{"b":2,"a":1}],"a":null}"#
    );
    assert_eq!(printed["futureKey"], original["futureKey"]);
}

#[test]
fn validate_reads_standard_input() {
    xbl()
        .args(["validate", "handle", "-", "--print"])
        .write_stdin(
            r#"{"type":"activity","version":1,"id":"656f5f26-206e-4855-9887-6e4712a22500","sessionRef":{"scid":"00000000-0000-0000-0000-00007a5b8c9d","templateName":"lobby","name":"s1"}}"#,
        )
        .assert()
        .success()
        .stdout(predicate::str::contains("\"type\": \"activity\""));
}

#[test]
fn validate_reports_the_path_of_the_first_problem() {
    let (_dir, path) = file(r#"{"members":{"0":{"constants":{"system":{"xuid":true}}}}}"#);
    xbl()
        .args(["validate", "session"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "members.0.constants.system.xuid: invalid type: boolean `true`",
        ));
    xbl()
        .args(["validate", "handle", "-"])
        .write_stdin(r#"{"type":"activity","version":"1"}"#)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("version: "));
}

#[test]
fn validate_input_errors_exit_2() {
    let (_dir, path) = file(r#"{"members": "#);
    xbl()
        .args(["validate", "session"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not JSON"));
    xbl()
        .args(["validate", "handle", "-"])
        .write_stdin("{} trailing")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("standard input is not JSON"));
    xbl()
        .args(["validate", "session", "/nonexistent/session.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/session.json",
        ));
}

#[test]
fn usage_errors_exit_2() {
    // Unknown contract version: the message lists the known ones.
    xbl()
        .args(["--contract-version", "106", "get-handle", "--handle-id"])
        .arg("656f5f26-206e-4855-9887-6e4712a22500")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("known values are 104, 105, 107"));
    // --mode with an explicit precondition header.
    let (_dir, path) = file(JOIN);
    let mut args = vec!["write-session".to_owned()];
    args.extend(session("s"));
    xbl()
        .args(&args)
        .arg("--json-body")
        .arg(&path)
        .args(["--mode", "create", "--if-none-match", "*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    // --etag outside sync mode; a body file that is missing or not a session delta.
    xbl()
        .args(&args)
        .arg("--json-body")
        .arg(&path)
        .args(["--mode", "update", "--etag", "E1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--etag goes with --mode sync only",
        ));
    xbl()
        .args(&args)
        .args(["--json-body", "/nonexistent/body.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "failed to read /nonexistent/body.json",
        ));
    xbl()
        .args(&args)
        .args(["--json-body", "-"])
        .write_stdin(r#"{"members": 3}"#)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("failed to parse standard input"));
    // A bad endpoint.
    xbl()
        .args([
            "--endpoint",
            "ftp://example.com",
            "get-handle",
            "--handle-id",
        ])
        .arg("656f5f26-206e-4855-9887-6e4712a22500")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid base URL"));
}
