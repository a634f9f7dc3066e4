//! `xbl-mpsd sessions query`, `activity clear` and `handle invite` to several players, against an in-process
//! emulator: JSON on stdout, the exit codes of the README (0, 1 for the service's refusals, 2 for bad input).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use xbl_mpsd_emulator::EmulatorConfig;

const OTHER: &str = "2814679796296492";

fn reference(template: &str, name: &str) -> String {
    format!("/serviceconfigs/{SCID}/sessionTemplates/{template}/sessions/{name}")
}

/// `xuid` creates or joins `name` of `template` with `body`.
fn write(served: &Served, xuid: &str, template: &str, name: &str, body: &str) {
    served
        .as_user(xuid)
        .args([
            "write-session",
            "--scid",
            SCID,
            "--session-template-name",
            template,
            "--session-name",
            name,
            "--json-body",
            "-",
        ])
        .write_stdin(body.to_owned())
        .assert()
        .success();
}

/// The guest plays in `lobby/open-1` (keyword `ctf`) and `game/g-1`, and alone in the private `lobby/secret`.
fn world() -> Served {
    let served = emulator();
    write(
        &served,
        GUEST,
        TEMPLATE,
        "open-1",
        r#"{"members":{"me":{"constants":{"system":{"initialize":true}},"properties":{"system":{"active":true}}}},"properties":{"system":{"keywords":["ctf"]}}}"#,
    );
    write(&served, GUEST, "game", "g-1", JOIN);
    write(
        &served,
        GUEST,
        TEMPLATE,
        "secret",
        r#"{"members":{"me":{"properties":{"system":{"active":true}}}},"constants":{"system":{"visibility":"private"}}}"#,
    );
    served
}

fn names(results: &Value) -> Vec<&str> {
    results
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|r| r["sessionRef"]["name"].as_str().unwrap())
        .collect()
}

#[test]
fn sessions_query_prints_the_results_as_a_json_array() {
    let served = world();
    let output = served
        .as_user(HOST)
        .args(["sessions", "query", "--scid", SCID, "--xuid", GUEST])
        .assert()
        .success()
        .get_output()
        .clone();
    let results = stdout_json(&output);
    assert_eq!(names(&results), ["open-1", "g-1"]);
    assert_eq!(results[0]["xuid"], GUEST);
    assert_eq!(results[0]["status"], "active");
    // Several players (a batch), a template, a keyword and a visibility.
    let output = served
        .as_user(HOST)
        .args(["--verbose", "sessions", "query", "--scid", SCID])
        .args(["--xuid", &format!("{HOST},{GUEST}"), "--template", TEMPLATE])
        .args(["--keyword", "CTF", "--visibility", "open", "--take", "10"])
        .assert()
        .success()
        .stderr(predicate::str::contains("POST /serviceconfigs/"))
        .get_output()
        .clone();
    assert_eq!(names(&stdout_json(&output)), ["open-1"]);
    // Your own private sessions.
    let output = served
        .as_user(GUEST)
        .args(["sessions", "query", "--scid", SCID, "--xuid", GUEST])
        .args(["--private", "--visibility", "private"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(names(&stdout_json(&output)), ["secret"]);
    // Nothing found: an empty array, exit 0.
    served
        .as_user(HOST)
        .args(["sessions", "query", "--scid", SCID, "--keyword", "none"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[test]
fn sessions_query_refuses_bad_input_with_exit_2_and_the_service_with_exit_1() {
    let served = world();
    for (args, message) in [
        (vec![], "needs a XUID, a keyword or both"),
        (
            vec!["--keyword", "ctf", "--inactive"],
            "inactive sessions needs a XUID",
        ),
        (vec!["--keyword", "ctf", "--take", "500"], "500"),
        (vec!["--keyword", "ctf", "--visibility", "secret"], "secret"),
        (
            vec!["--xuid", GUEST, "--visibility", "private"],
            "needs private(true)",
        ),
        (vec!["--xuid", "not-a-xuid"], "not-a-xuid"),
    ] {
        served
            .as_user(HOST)
            .args(["sessions", "query", "--scid", SCID])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    let many: Vec<String> = (1..=101).map(|n: u64| n.to_string()).collect();
    served
        .as_user(HOST)
        .args([
            "sessions",
            "query",
            "--scid",
            SCID,
            "--xuid",
            &many.join(","),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("101 XUIDs"));
    // Somebody else's private sessions: the service's 403, with a hint.
    served
        .as_user(HOST)
        .args([
            "sessions",
            "query",
            "--scid",
            SCID,
            "--xuid",
            GUEST,
            "--private",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("HTTP 403").and(predicate::str::contains("hint:")));
}

#[test]
fn activity_clear_deletes_the_callers_activity_and_is_fine_without_one() {
    let served = world();
    let created = served
        .as_user(GUEST)
        .args([
            "handle",
            "activity",
            "--session",
            &reference(TEMPLATE, "open-1"),
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let id = stdout_json(&created)["id"].as_str().unwrap().to_owned();
    let cleared = served
        .as_user(GUEST)
        .args(["activity", "clear", "--scid", SCID])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("cleared activity {id}")))
        .get_output()
        .clone();
    assert_eq!(stdout_json(&cleared)["cleared"], serde_json::json!([id]));
    served
        .as_user(GUEST)
        .args(["activity", "clear", "--scid", SCID, "--xuid", GUEST])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""cleared": []"#))
        .stderr(predicate::str::contains("no activity"));
    // A token that is not a XUID and no --xuid: whose activity is unknown.
    xbl()
        .args(["--endpoint", &served.url, "--token", "opaque-xsts"])
        .args(["activity", "clear", "--scid", SCID])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give --xuid"));
}

#[test]
fn handle_invite_to_several_prints_one_line_per_invitee() {
    // Three handles per user: the fourth invite is refused.
    let served = emulator_with(EmulatorConfig {
        max_handles_per_user: 3,
        ..EmulatorConfig::default()
    });
    write(&served, HOST, TEMPLATE, "party", JOIN);
    // One invitee: the handle document, as before.
    let output = served
        .as_user(HOST)
        .args([
            "handle",
            "invite",
            "--session",
            &reference(TEMPLATE, "party"),
        ])
        .args(["--to", "2814679796296499"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_json(&output)["type"], "invite");
    let third = "2814679796296493";
    let output = served
        .as_user(HOST)
        .args([
            "handle",
            "invite",
            "--session",
            &reference(TEMPLATE, "party"),
        ])
        .args(["--to", &format!("{GUEST},{OTHER}"), "--to", third])
        .args(["--context", "level=3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "the invite to {third} failed"
        )))
        .get_output()
        .clone();
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, invitee) in lines.iter().zip([GUEST, OTHER, third]) {
        assert_eq!(line["invitee"], invitee);
    }
    for line in &lines[..2] {
        assert_eq!(line["handle"]["invitedXuid"], line["invitee"]);
        assert_eq!(line["handle"]["id"], line["id"]);
    }
    assert_eq!(lines[2]["status"], 403);
    assert!(lines[2]["error"].as_str().unwrap().contains("403"));
}
