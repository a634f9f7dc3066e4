//! Managed member initialization (`constants.system.memberInitialization`) against a manual clock: the stages
//! `joining` → `measuring` → `evaluating` → done or `failed`, their timeouts, and the creation rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Alice creates `name` with `memberInitialization` (and `more` system constants), initializing herself, and
/// reserves Bob for the same episode.
async fn create(h: &Harness, name: &str, init: Value, more: Value) -> Value {
    let mut system = json!({ "memberInitialization": init });
    for (key, value) in more.as_object().into_iter().flatten() {
        system[key] = value.clone();
    }
    let body = json!({
        "constants": { "system": system },
        "members": {
            "me": { "constants": { "system": { "initialize": true } },
                    "properties": { "system": { "active": true } } },
            "reserve_0": { "constants": { "system": { "xuid": BOB.to_string(), "initialize": true } } }
        }
    });
    let response = h.put(ALICE, &session_path(name), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

fn stage(doc: &Value) -> Value {
    doc["initializing"]["stage"].clone()
}

async fn bob_joins(h: &Harness, name: &str) -> Value {
    let body = json!({ "members": { "me": { "properties": { "system": { "active": true } } } } });
    let response = h.put(BOB, &session_path(name), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

#[tokio::test]
async fn an_episode_ends_when_everyone_joined() {
    let h = start_manual().await;
    let doc = create(&h, "i", json!({ "membersNeededToStart": 2 }), json!({})).await;
    assert_eq!(stage(&doc), "joining");
    assert_eq!(doc["initializing"]["episode"], 1);
    assert_eq!(doc["initializing"]["stageStartTime"], doc["startTime"]);
    assert_eq!(doc["members"]["0"]["initializationEpisode"], 1);
    assert_eq!(doc["members"]["1"]["initializationEpisode"], 1);
    // The join timeout (10000 by default) is the next timer, not the reservation's 30000.
    let start = chrono::DateTime::parse_from_rfc3339(doc["startTime"].as_str().unwrap()).unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(doc["nextTimer"].as_str().unwrap()).unwrap();
    assert_eq!((next - start).num_milliseconds(), 10_000);
    h.advance(4_000);
    // No QoS and no external evaluation: once Bob joined, the episode succeeded.
    let doc = bob_joins(&h, "i").await;
    assert!(doc.get("initializing").is_none(), "{doc}");
    for index in ["0", "1"] {
        assert!(doc["members"][index].get("initializationEpisode").is_none());
        assert!(doc["members"][index].get("initializationFailure").is_none());
    }
}

#[tokio::test]
async fn a_join_timeout_fails_episode_one() {
    let h = start_manual().await;
    create(&h, "late", json!({ "membersNeededToStart": 2 }), json!({})).await;
    h.advance(9_999);
    let doc = h.read(ALICE, "late").await;
    assert_eq!(stage(&doc), "joining");
    assert_eq!(doc["membersInfo"]["count"], 2);
    let number = doc["changeNumber"].as_u64().unwrap();
    h.advance(1);
    let doc = h.read(ALICE, "late").await;
    // Bob never joined: his reservation is removed, one member is fewer than the two needed, and the stage stays
    // `failed`.
    assert_eq!(doc["membersInfo"]["count"], 1, "{doc}");
    assert_eq!(stage(&doc), "failed");
    assert_eq!(doc["members"]["0"]["initializationFailure"], "episode");
    assert_eq!(doc["changeNumber"], number + 1);
    assert!(doc.get("nextTimer").is_none());
    // Failed is terminal for the episode: nothing more happens.
    h.advance(600_000);
    assert_eq!(stage(&h.read(ALICE, "late").await), "failed");
}

#[tokio::test]
async fn measuring_and_external_evaluation() {
    let h = start_manual().await;
    let qos =
        json!({ "peerToPeerRequirements": { "latencyMaximum": 250, "bandwidthMinimum": 10000 } });
    let init = json!({ "membersNeededToStart": 1, "measurementTimeout": 15_000,
                       "externalEvaluation": true, "evaluationTimeout": 5_000 });
    create(&h, "qos", init, qos).await;
    let doc = bob_joins(&h, "qos").await;
    assert_eq!(stage(&doc), "measuring");
    // Alice uploads her measurements; Bob does not, and fails with `timeout` when measuring times out.
    let measured = json!({ "members": { "me": { "properties": { "system": {
        "measurements": { "dev": { "latency": 30, "bandwidthDown": 20000, "bandwidthUp": 20000 } } } } } } });
    let doc = json(h.put(ALICE, &session_path("qos"), measured).await).await;
    assert_eq!(stage(&doc), "measuring");
    h.advance(15_000);
    let doc = h.read(ALICE, "qos").await;
    assert_eq!(stage(&doc), "evaluating");
    assert_eq!(doc["members"]["1"]["initializationFailure"], "timeout");
    assert!(doc["members"]["0"].get("initializationFailure").is_none());
    // The title's decision ends the stage at once, and the field is removed.
    let decided = json!({ "properties": { "system": { "initializationSucceeded": true } } });
    let doc = json(h.put(ALICE, &session_path("qos"), decided).await).await;
    assert!(doc.get("initializing").is_none(), "{doc}");
    assert!(
        doc["properties"]["system"]
            .get("initializationSucceeded")
            .is_none()
    );
    assert_eq!(doc["members"]["1"]["initializationFailure"], "timeout");
}

#[tokio::test]
async fn no_evaluation_in_time_fails_the_episode() {
    let h = start_manual().await;
    let init = json!({ "membersNeededToStart": 1, "externalEvaluation": true, "evaluationTimeout": 5_000 });
    create(&h, "eval", init, json!({})).await;
    assert_eq!(stage(&bob_joins(&h, "eval").await), "evaluating");
    h.advance(4_999);
    assert_eq!(stage(&h.read(ALICE, "eval").await), "evaluating");
    h.advance(1);
    let doc = h.read(ALICE, "eval").await;
    assert_eq!(stage(&doc), "failed");
    assert_eq!(doc["members"]["0"]["initializationFailure"], "episode");
    assert_eq!(doc["members"]["1"]["initializationFailure"], "episode");
}

#[tokio::test]
async fn members_added_during_an_episode_wait_for_the_next() {
    let h = start_manual().await;
    create(&h, "next", json!({}), json!({})).await;
    let carol = json!({ "members": { "me": { "constants": { "system": { "initialize": true } },
                                               "properties": { "system": { "active": true } } } } });
    let doc = json(h.put(CAROL, &session_path("next"), carol).await).await;
    assert_eq!(doc["members"]["2"]["initializationEpisode"], 2);
    assert_eq!(doc["initializing"]["episode"], 1);
    // Episode 1 ends when Bob joins; episode 2 starts at once with Carol, who has joined: it ends too.
    let doc = bob_joins(&h, "next").await;
    assert!(doc.get("initializing").is_none(), "{doc}");
    assert!(doc["members"]["2"].get("initializationEpisode").is_none());
}

#[tokio::test]
async fn creating_with_too_few_initializing_members_is_400() {
    let h = start_manual().await;
    let body = json!({
        "constants": { "system": { "memberInitialization": { "membersNeededToStart": 2 } } },
        "members": { "me": { "constants": { "system": { "initialize": true } },
                              "properties": { "system": { "active": true } } } }
    });
    let message = text_error(
        h.put(ALICE, &session_path("few"), body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        message.contains("managed initialization requiring at least 2 members to start"),
        "{message}"
    );
    assert_eq!(h.read(ALICE, "few").await, Value::Null);
    // membersNeededToStart 0 and nobody to initialize: no episode.
    let body = json!({
        "constants": { "system": { "memberInitialization": { "membersNeededToStart": 0 } } },
        "members": { "me": { "properties": { "system": { "active": true } } } }
    });
    let doc = json(h.put(ALICE, &session_path("none"), body).await).await;
    assert!(doc.get("initializing").is_none());
    // evaluationTimeout without externalEvaluation, and a negative timeout, are 400.
    for init in [
        json!({ "evaluationTimeout": 5 }),
        json!({ "joinTimeout": -1 }),
    ] {
        let body = json!({ "constants": { "system": { "memberInitialization": init } },
                           "members": { "me": {} } });
        text_error(
            h.put(ALICE, &session_path("bad"), body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}
