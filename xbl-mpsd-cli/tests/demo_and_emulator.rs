//! `xbl-mpsd demo` and `xbl-mpsd emulator`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use common::*;
use predicates::prelude::*;

#[test]
fn the_demo_tells_the_whole_story() {
    let output = xbl().arg("demo").assert().success().get_output().clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("demo: ") && last.ends_with(
            "requests, invite → join → sync conflict recovered → activity found → session deleted: OK"
        ),
        "{stdout}"
    );
    for expected in [
        "guest receives ms-xbl-000004d2://inviteHandleAccept?handle=",
        "guest PUT    /handles/",
        "  412  ETag ",
        "/handles/query?include=relatedInfo  200",
        "  204  ETag -",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
}

#[test]
fn the_demo_runs_against_a_given_endpoint() {
    let served = emulator();
    xbl()
        .args(["demo", "--endpoint", &served.url])
        .args(["--host-token", HOST, "--host-xuid", HOST])
        .args(["--guest-token", GUEST, "--guest-xuid", GUEST])
        .args(["--scid", SCID, "--title-id", "1234"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "demo: MPSD at {}\n",
            served.url
        )))
        .stdout(predicate::str::contains("session deleted: OK"));
}

#[test]
fn the_demo_needs_every_real_service_option() {
    xbl()
        .args(["demo", "--endpoint", "http://127.0.0.1:9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--host-token"));
    xbl()
        .args(["demo", "--host-token", "t"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("required"));
}

/// Starts `xbl-mpsd emulator <args…>` and reads the URL it prints.
fn spawn_emulator(args: &[&str]) -> (std::process::Child, String) {
    let mut child = common::xbl_process()
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

#[test]
fn the_emulator_command_prints_its_url_and_serves() {
    let (mut child, url) = spawn_emulator(&[]);
    let result = std::panic::catch_unwind(|| {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        xbl()
            .args(["--endpoint", &url, "--token", HOST, "write-session"])
            .args(session("e"))
            .args(["--json-body", "-"])
            .write_stdin(JOIN)
            .assert()
            .success()
            .stderr(predicate::str::contains("HTTP 201"));
    });
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_emulator_command_takes_a_manual_clock() {
    let (mut child, url) = spawn_emulator(&["--manual-clock"]);
    let result = std::panic::catch_unwind(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let http = reqwest::Client::new();
            let before: serde_json::Value = http
                .post(format!("{url}/_emulator/clock"))
                .json(&serde_json::json!({"advanceMs": 0}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let after: serde_json::Value = http
                .post(format!("{url}/_emulator/clock"))
                .json(&serde_json::json!({"advanceMs": 3_600_000}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let at = |v: &serde_json::Value| {
                chrono::DateTime::parse_from_rfc3339(v["now"].as_str().unwrap()).unwrap()
            };
            assert_eq!((at(&after) - at(&before)).num_seconds(), 3600);
        });
    });
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
