//! Session templates (`--templates DIR`): merging with the creator's constants, conflicts, unknown templates,
//! files refused at start, and the two template operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xbl_mpsd_emulator::{Emulator, EmulatorConfig};

const OTHER_SCID: &str = "00000000-0000-0000-0000-0000000000aa";

fn write(dir: &Path, file: &str, document: &Value) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(document).unwrap()).unwrap();
}

/// A directory with `lobby` under every SCID (and a SCID-specific `lobby` and `game` under [`SCID`]), and an old
/// contract-104 template.
fn templates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "lobby.json",
        &json!({ "contractVersion": 107,
            "constants": {
                "system": { "version": 1, "maxMembersCount": 8, "sessionEmptyTimeout": 60_000,
                            "readyRemovalTimeout": null, "capabilities": { "connectivity": true } },
                "custom": { "map": "lava" } },
            "roleTypes": { "lfg": { "roles": { "friend": { "max": 4, "target": 2 } } } } }),
    );
    write(
        dir.path(),
        &format!("{SCID}/Lobby.json"),
        &json!({ "contractVersion": 107, "constants": { "system": { "maxMembersCount": 4 } } }),
    );
    write(
        dir.path(),
        &format!("{SCID}/game.json"),
        &json!({ "contractVersion": 107, "constants": { "system": { "visibility": "private" } } }),
    );
    write(
        dir.path(),
        "old.json",
        &json!({ "contractVersion": 104, "constants": { "system": {
            "timeouts": { "reserved": 5000 },
            "managedInitialization": { "autoEvaluate": true, "membersNeededToStart": 0 } } } }),
    );
    std::fs::write(dir.path().join("README.txt"), "not a template").unwrap();
    dir
}

async fn start_in(dir: &Path) -> Harness {
    start_with(EmulatorConfig {
        templates: Some(dir.to_owned()),
        ..EmulatorConfig::default()
    })
    .await
}

fn path_in(scid: &str, template: &str, name: &str) -> String {
    format!("/serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}")
}

fn with_constants(system: Value, custom: Value) -> Value {
    let mut body = join_body();
    body["constants"] = json!({ "system": system, "custom": custom });
    body
}

#[tokio::test]
async fn a_session_starts_as_a_copy_of_its_template() {
    let dir = templates();
    let h = start_in(dir.path()).await;
    // XSAPI restates `version: 1`; the creator adds what the template leaves unset.
    let body = with_constants(
        json!({ "version": 1, "visibility": "visible", "reservedRemovalTimeout": 1000 }),
        json!({ "mode": "ctf", "map": "lava" }),
    );
    let response = h.put(ALICE, &path_in(OTHER_SCID, "LOBBY", "a"), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let doc = json(response).await;
    let system = &doc["constants"]["system"];
    assert_eq!(system["maxMembersCount"], 8);
    assert_eq!(system["visibility"], "visible");
    assert_eq!(system["sessionEmptyTimeout"], 60_000);
    assert_eq!(system["reservedRemovalTimeout"], 1000);
    assert_eq!(system["inactiveRemovalTimeout"], 0, "the 107 default");
    assert!(
        system.get("readyRemovalTimeout").is_none(),
        "null (infinite) is left out"
    );
    assert_eq!(system["capabilities"], json!({ "connectivity": true }));
    assert_eq!(
        doc["constants"]["custom"],
        json!({ "map": "lava", "mode": "ctf" })
    );
    assert_eq!(doc["roleTypes"]["lfg"]["roles"]["friend"]["max"], 4);
    // The template's sessionEmptyTimeout applies: the session outlives its last member.
    let response = h
        .put(
            ALICE,
            &path_in(OTHER_SCID, "lobby", "a"),
            json!({ "members": { "me": null } }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Under SCID, the SCID's own lobby wins.
    let doc = json(h.put(ALICE, &session_path("b"), join_body()).await).await;
    assert_eq!(doc["constants"]["system"]["maxMembersCount"], 4);
    assert!(doc.get("roleTypes").is_none());
    assert_eq!(doc["constants"]["system"]["sessionEmptyTimeout"], 0);
    // A contract-104 template is read in 107 terms.
    let doc = json(
        h.put(ALICE, &path_in(OTHER_SCID, "old", "c"), join_body())
            .await,
    )
    .await;
    let system = &doc["constants"]["system"];
    assert_eq!(system["reservedRemovalTimeout"], 5000);
    assert_eq!(system["inactiveRemovalTimeout"], 7_200_000);
    assert_eq!(system["memberInitialization"]["externalEvaluation"], false);
    assert!(system.get("timeouts").is_none());
}

#[tokio::test]
async fn a_constant_that_contradicts_the_template_is_409() {
    let dir = templates();
    let h = start_in(dir.path()).await;
    for (system, custom, path) in [
        (
            json!({ "maxMembersCount": 9 }),
            json!({}),
            "constants.system.maxMembersCount",
        ),
        (
            json!({ "capabilities": { "crossPlay": true } }),
            json!({}),
            "constants.system.capabilities.crossPlay",
        ),
        (
            json!({ "readyRemovalTimeout": 1000 }),
            json!({}),
            "constants.system.readyRemovalTimeout",
        ),
        (json!({}), json!({ "map": "ice" }), "constants.custom.map"),
    ] {
        let body = with_constants(system, custom);
        let message = text_error(
            h.put(ALICE, &path_in(OTHER_SCID, "lobby", "x"), body).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(message.starts_with(path), "{message}");
        assert!(message.contains("template"), "{message}");
    }
    assert_eq!(
        h.get(ALICE, &path_in(OTHER_SCID, "lobby", "x"))
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "nothing was created"
    );
    // The same values restated are fine.
    let body = with_constants(
        json!({ "maxMembersCount": 8, "readyRemovalTimeout": null,
                "capabilities": { "connectivity": true } }),
        json!({ "map": "lava" }),
    );
    assert_eq!(
        h.put(ALICE, &path_in(OTHER_SCID, "lobby", "x"), body)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_unknown_template_is_404_once_a_directory_is_configured() {
    let dir = templates();
    let h = start_in(dir.path()).await;
    for response in [
        h.get(ALICE, &path_in(OTHER_SCID, "nope", "s")).await,
        h.put(ALICE, &path_in(OTHER_SCID, "nope", "s"), join_body())
            .await,
        // `game` exists under SCID only.
        h.put(ALICE, &path_in(OTHER_SCID, "game", "s"), join_body())
            .await,
        h.get(
            ALICE,
            &format!("/serviceconfigs/{OTHER_SCID}/sessiontemplates/game"),
        )
        .await,
    ] {
        let message = text_error(response, StatusCode::NOT_FOUND).await;
        assert!(
            message.contains("session template was not found"),
            "{message}"
        );
    }
    assert_eq!(
        h.put(ALICE, &path_in(SCID, "GAME", "s"), join_body())
            .await
            .status(),
        StatusCode::CREATED
    );
    // Without a directory every name exists.
    let h = start().await;
    assert_eq!(
        h.put(ALICE, &path_in(OTHER_SCID, "nope", "s"), join_body())
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_template_operations_list_and_read_templates() {
    let dir = templates();
    let h = start_in(dir.path()).await;
    let list = |scid: &str| format!("/serviceconfigs/{scid}/sessionTemplates");
    let doc = json(h.get(ALICE, &list(SCID)).await).await;
    assert_eq!(
        doc,
        json!({ "results": [
            { "name": "Lobby", "contractVersion": 107 },
            { "name": "game", "contractVersion": 107 },
            { "name": "old", "contractVersion": 104 },
        ] })
    );
    let doc = json(h.get(ALICE, &list(OTHER_SCID)).await).await;
    let names: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lobby", "old"]);
    let one = format!("/SERVICECONFIGS/{OTHER_SCID}/SessionTemplates/LOBBY");
    let doc = json(h.get(ALICE, &one).await).await;
    assert_eq!(doc["constants"]["custom"], json!({ "map": "lava" }));
    assert_eq!(doc["contractVersion"], 107);
    assert_eq!(doc["roleTypes"]["lfg"]["roles"]["friend"]["target"], 2);

    // Without a directory: no named templates, and every name reads as the 107 defaults.
    let h = start().await;
    assert_eq!(
        json(h.get(ALICE, &list(SCID)).await).await,
        json!({ "results": [] })
    );
    let doc = json(
        h.get(
            ALICE,
            &format!("/serviceconfigs/{SCID}/sessiontemplates/any"),
        )
        .await,
    )
    .await;
    assert_eq!(doc["contractVersion"], 107);
    assert_eq!(doc["constants"]["system"]["reservedRemovalTimeout"], 30_000);
    assert_eq!(doc["constants"]["custom"], json!({}));
}

#[tokio::test]
async fn a_bad_template_file_stops_the_emulator_naming_file_and_path() {
    for (file, text, expected) in [
        (
            "lobby.json".to_owned(),
            json!({ "constants": { "system": { "maxMembersCount": 0 } } }).to_string(),
            "$.constants.system.maxMembersCount",
        ),
        (
            format!("{SCID}/game.json"),
            json!({ "contractVersion": 107, "members": {} }).to_string(),
            "$.members",
        ),
        (
            "broken.json".to_owned(),
            "{\"constants\": ".to_owned(),
            "$: not valid JSON",
        ),
        (
            "roles.json".to_owned(),
            json!({ "roleTypes": { "lfg": { "roles": { "friend": { "max": -1 } } } } }).to_string(),
            "$.roleTypes",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let error = Emulator::start(EmulatorConfig {
            templates: Some(dir.path().to_owned()),
            ..EmulatorConfig::default()
        })
        .await
        .expect_err("a bad template refuses to start");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(expected), "{message}");
    }
    // The binary says so and exits with a failure.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lobby.json"), "[]").unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_xbl-mpsd-emulator"))
        .args(["--listen", "127.0.0.1:0", "--templates"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lobby.json"), "{stderr}");
    assert!(
        stderr.contains("$: a template must be a JSON object"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no URL is printed");
}
