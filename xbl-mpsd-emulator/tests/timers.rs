//! Session and member timers (contract 107) against a manual clock: each timer at its exact boundary, lazy
//! application, `nextTimer`/`Expires`/`Date`, the sweep, restarts, and the clock endpoint. No test sleeps for a
//! timeout: the clock is moved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xbl_mpsd_emulator::{Clock, EmulatorConfig};

/// A manual-clock emulator whose timers apply only when a request reads or writes a session.
async fn lazy() -> Harness {
    start_manual_with(EmulatorConfig {
        sweep_timers: false,
        ..EmulatorConfig::default()
    })
    .await
}

fn time(text: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .into()
}

fn at(time: SystemTime) -> DateTime<Utc> {
    time.into()
}

/// Alice creates `name`, joined and active, with `constants` and `members` merged into the body.
async fn create(h: &Harness, name: &str, constants: Value, members: Value) -> Value {
    let mut body = join_body();
    body["constants"] = json!({ "system": constants });
    for (key, value) in members.as_object().into_iter().flatten() {
        body["members"][key] = value.clone();
    }
    let response = h.put(ALICE, &session_path(name), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

fn reserve(xuid: u64) -> Value {
    json!({ "constants": { "system": { "xuid": xuid.to_string() } } })
}

fn member_xuids(doc: &Value) -> Vec<String> {
    doc["members"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, member)| {
            member["constants"]["system"]["xuid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_reservation_is_removed_at_exactly_reserved_removal_timeout() {
    for sweep in [false, true] {
        let h = start_manual_with(EmulatorConfig {
            sweep_timers: sweep,
            ..EmulatorConfig::default()
        })
        .await;
        let created = create(&h, "r", json!({}), json!({ "reserve_0": reserve(BOB) })).await;
        let reserved_at = time(&created["members"]["1"]["joinTime"]);
        assert_eq!(reserved_at, at(h.now()));
        let expected = reserved_at + chrono::TimeDelta::milliseconds(30_000);
        assert_eq!(time(&created["nextTimer"]), expected);
        let number = created["changeNumber"].as_u64().unwrap();

        h.advance(29_999);
        let doc = h.read(ALICE, "r").await;
        assert_eq!(member_xuids(&doc), [ALICE.to_string(), BOB.to_string()]);
        assert_eq!(
            doc["changeNumber"], number,
            "nothing is due yet (sweep {sweep})"
        );

        h.advance(1);
        let doc = h.read(ALICE, "r").await;
        assert_eq!(member_xuids(&doc), [ALICE.to_string()], "sweep {sweep}");
        assert_eq!(doc["changeNumber"], number + 1, "one commit for the timer");
        assert!(doc.get("nextTimer").is_none(), "no timer left: {doc}");
        assert_eq!(doc["membersInfo"]["count"], 1);
        let again = h.read(ALICE, "r").await;
        assert_eq!(again["changeNumber"], number + 1, "applied once");
    }
}

#[tokio::test]
async fn next_timer_expires_and_date_agree() {
    let h = lazy().await;
    h.advance(1_250);
    let response = h
        .put(
            ALICE,
            &session_path("t"),
            json!({ "members": { "me": { "properties": { "system": { "active": true } } },
                                 "reserve_0": reserve(BOB) } }),
        )
        .await;
    let date = httpdate::parse_http_date(&header(&response, "date")).unwrap();
    let expires = httpdate::parse_http_date(&header(&response, "expires")).unwrap();
    let doc = json(response).await;
    let now = h.now();
    // `Date` is the manual clock's (to the second), `nextTimer` the reservation's deadline, and `Expires` that
    // instant as an HTTP date, rounded up to the second.
    assert_eq!(
        date,
        SystemTime::UNIX_EPOCH + Duration::from_secs(at(now).timestamp() as u64)
    );
    let next: SystemTime = time(&doc["nextTimer"]).into();
    assert_eq!(next, now + Duration::from_millis(30_000));
    assert_eq!(
        expires,
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(time(&doc["nextTimer"]).timestamp() as u64 + 1)
    );
    assert!(expires >= next && expires.duration_since(next).unwrap() < Duration::from_secs(1));
    // The startTime, joinTime and Date all come from the clock.
    assert_eq!(time(&doc["startTime"]), at(now));
    // XSAPI's interval until the next poll: nextTimer − Date.
    h.advance(10_000);
    let response = h.get(ALICE, &session_path("t")).await;
    let date = httpdate::parse_http_date(&header(&response, "date")).unwrap();
    assert_eq!(
        next.duration_since(date).unwrap(),
        Duration::from_millis(20_250)
    );
    // Without a pending timer, neither `nextTimer` nor `Expires`.
    h.put(BOB, &session_path("t"), join_body()).await;
    let response = h.get(ALICE, &session_path("t")).await;
    assert_eq!(header(&response, "expires"), "");
    assert!(json(response).await.get("nextTimer").is_none());
}

#[tokio::test]
async fn a_ready_member_becomes_inactive_then_is_removed() {
    let h = lazy().await;
    create(&h, "ready", json!({}), json!({})).await;
    let ready = json!({ "members": { "me": { "properties": { "system": { "ready": true } } } } });
    let doc = json(h.put(BOB, &session_path("ready"), ready).await).await;
    let became_ready = at(h.now());
    assert_eq!(
        time(&doc["nextTimer"]),
        became_ready + chrono::TimeDelta::milliseconds(180_000)
    );
    h.advance(179_999);
    let doc = h.read(ALICE, "ready").await;
    assert_eq!(doc["members"]["1"]["properties"]["system"]["ready"], true);
    let number = doc["changeNumber"].as_u64().unwrap();

    // At the deadline, one transition: ready → inactive. Its inactiveRemovalTimeout (0) is due at once, and
    // applied on the next access ("not stacked").
    h.advance(1);
    let doc = h.read(ALICE, "ready").await;
    assert_eq!(doc["members"]["1"]["properties"]["system"]["ready"], false);
    assert_eq!(doc["changeNumber"], number + 1);
    assert_eq!(time(&doc["nextTimer"]), at(h.now()));
    let doc = h.read(ALICE, "ready").await;
    assert_eq!(member_xuids(&doc), [ALICE.to_string()]);
    assert_eq!(doc["changeNumber"], number + 2);

    // With the sweep, advancing the clock applies the whole chain.
    let h = start_manual().await;
    create(&h, "ready", json!({}), json!({})).await;
    let ready = json!({ "members": { "me": { "properties": { "system": { "ready": true } } } } });
    h.put(BOB, &session_path("ready"), ready).await;
    h.advance(180_000);
    assert_eq!(
        member_xuids(&h.read(ALICE, "ready").await),
        [ALICE.to_string()]
    );
}

#[tokio::test]
async fn an_empty_session_lives_until_session_empty_timeout_then_goes_with_its_handles() {
    let h = start_manual().await;
    let capabilities =
        json!({ "sessionEmptyTimeout": 60_000, "capabilities": { "searchable": true } });
    create(&h, "empty", capabilities, json!({})).await;
    let search = json!({ "type": "search", "version": 1,
        "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "empty" } });
    let search = json(h.post(ALICE, "/handles", search).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = json!({ "type": "transfer", "version": 1,
        "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "elsewhere" },
        "originSessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "empty" } });
    // A transfer handle's session is its target: it goes with "elsewhere", not with "empty".
    let response = h.post(ALICE, "/handles", transfer).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(h.emulator.session_count(), 1);

    let response = h
        .put(
            ALICE,
            &session_path("empty"),
            json!({ "members": { "me": null } }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json(response).await;
    assert_eq!(doc["membersInfo"]["count"], 0);
    assert_eq!(
        time(&doc["nextTimer"]),
        at(h.now()) + chrono::TimeDelta::milliseconds(60_000)
    );
    h.advance(59_999);
    let doc = h.read(ALICE, "empty").await;
    assert_eq!(doc["membersInfo"]["count"], 0);
    assert_eq!(
        h.get(ALICE, &format!("/handles/{search}")).await.status(),
        StatusCode::OK
    );

    h.advance(1);
    assert_eq!(h.read(ALICE, "empty").await, Value::Null);
    text_error(
        h.get(ALICE, &format!("/handles/{search}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(h.emulator.session_count(), 0);
    assert_eq!(h.emulator.next_timer(), None);
}

#[tokio::test]
async fn a_join_stops_the_empty_timer() {
    let h = lazy().await;
    create(
        &h,
        "rejoin",
        json!({ "sessionEmptyTimeout": 60_000 }),
        json!({}),
    )
    .await;
    h.put(
        ALICE,
        &session_path("rejoin"),
        json!({ "members": { "me": null } }),
    )
    .await;
    h.advance(30_000);
    let doc = json(h.put(BOB, &session_path("rejoin"), join_body()).await).await;
    assert!(doc.get("nextTimer").is_none());
    h.advance(60_000);
    assert_eq!(
        member_xuids(&h.read(BOB, "rejoin").await),
        [BOB.to_string()]
    );
}

#[tokio::test]
async fn null_timeouts_never_fire_and_are_left_out_of_the_document() {
    let h = start_manual().await;
    let never = json!({ "reservedRemovalTimeout": null, "readyRemovalTimeout": null });
    let doc = create(&h, "never", never, json!({ "reserve_0": reserve(BOB) })).await;
    let system = doc["constants"]["system"].as_object().unwrap();
    assert!(!system.contains_key("reservedRemovalTimeout"), "{doc}");
    assert!(!system.contains_key("readyRemovalTimeout"));
    assert_eq!(system["inactiveRemovalTimeout"], 0);
    assert!(doc.get("nextTimer").is_none());
    h.advance(10 * 24 * 60 * 60 * 1000);
    let response = h.get(ALICE, &session_path("never")).await;
    assert_eq!(header(&response, "expires"), "");
    let doc = json(response).await;
    assert_eq!(member_xuids(&doc), [ALICE.to_string(), BOB.to_string()]);
    // `null` is still a constant: restating it is fine, changing it is 409.
    let restate = json!({ "constants": { "system": { "reservedRemovalTimeout": null } } });
    assert_eq!(
        h.put(ALICE, &session_path("never"), restate).await.status(),
        StatusCode::OK
    );
    let change = json!({ "constants": { "system": { "reservedRemovalTimeout": 5 } } });
    text_error(
        h.put(ALICE, &session_path("never"), change).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn an_inactive_member_is_removed_by_inactive_removal_timeout() {
    let h = lazy().await;
    create(
        &h,
        "idle",
        json!({ "inactiveRemovalTimeout": 5_000 }),
        json!({}),
    )
    .await;
    h.put(BOB, &session_path("idle"), join_body()).await;
    let inactive =
        json!({ "members": { "me": { "properties": { "system": { "active": false } } } } });
    h.put(BOB, &session_path("idle"), inactive).await;
    h.advance(4_999);
    assert_eq!(member_xuids(&h.read(ALICE, "idle").await).len(), 2);
    // Becoming active again stops the timer.
    h.put(BOB, &session_path("idle"), join_body()).await;
    h.advance(10_000);
    assert_eq!(member_xuids(&h.read(ALICE, "idle").await).len(), 2);
    let inactive =
        json!({ "members": { "me": { "properties": { "system": { "active": false } } } } });
    h.put(BOB, &session_path("idle"), inactive).await;
    h.advance(5_000);
    // A write applies due timers first too: Bob is gone before Alice's write is merged.
    let doc = json(
        h.put(
            ALICE,
            &session_path("idle"),
            json!({ "properties": { "custom": { "k": 1 } } }),
        )
        .await,
    )
    .await;
    assert_eq!(member_xuids(&doc), [ALICE.to_string()]);
    // With the default inactiveRemovalTimeout (0), an inactive member goes on the next access.
    create(&h, "zero", json!({}), json!({})).await;
    h.put(BOB, &session_path("zero"), join_body()).await;
    let inactive =
        json!({ "members": { "me": { "properties": { "system": { "active": false } } } } });
    let doc = json(h.put(BOB, &session_path("zero"), inactive).await).await;
    assert_eq!(time(&doc["nextTimer"]), at(h.now()));
    assert_eq!(
        member_xuids(&h.read(ALICE, "zero").await),
        [ALICE.to_string()]
    );
}

#[tokio::test]
async fn the_sweep_removes_sessions_nobody_reads() {
    let h = start_manual().await;
    for name in ["a", "b", "c"] {
        let ready =
            json!({ "members": { "me": { "properties": { "system": { "ready": true } } } } });
        let response = h.put(ALICE, &session_path(name), ready).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // One that never expires.
    create(&h, "kept", json!({}), json!({})).await;
    assert_eq!(h.emulator.session_count(), 4);
    let first = at(h.emulator.next_timer().unwrap());
    assert_eq!(
        first,
        at(h.now()) + chrono::TimeDelta::milliseconds(180_000)
    );
    h.advance(179_999);
    assert_eq!(h.emulator.session_count(), 4);
    // Ready → inactive → removed → empty → deleted, without a single read.
    h.advance(1);
    assert_eq!(h.emulator.session_count(), 1);
    assert_eq!(h.emulator.next_timer(), None);
    assert_eq!(h.read(ALICE, "a").await, Value::Null);
}

#[tokio::test]
async fn the_system_clock_sweep_runs_in_the_background() {
    let h = start().await;
    // An inactive member with inactiveRemovalTimeout 0 is due at once: the sweep task removes it, and with it
    // the session, without any request.
    let inactive =
        json!({ "members": { "me": { "properties": { "system": { "active": false } } } } });
    assert_eq!(
        h.put(ALICE, &session_path("gone"), inactive).await.status(),
        StatusCode::CREATED
    );
    for _ in 0..500 {
        if h.emulator.session_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the sweep did not remove the session");
}

#[tokio::test]
async fn timers_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual();
    let config = EmulatorConfig {
        data_dir: Some(dir.path().to_owned()),
        clock: clock.clone(),
        ..EmulatorConfig::default()
    };
    let h = start_with(config.clone()).await;
    let created = create(&h, "kept", json!({}), json!({ "reserve_0": reserve(BOB) })).await;
    let ready = json!({ "members": { "me": { "properties": { "system": { "ready": true } } } } });
    h.put(CAROL, &session_path("kept"), ready).await;
    create(
        &h,
        "empty",
        json!({ "sessionEmptyTimeout": 40_000 }),
        json!({}),
    )
    .await;
    h.put(
        ALICE,
        &session_path("empty"),
        json!({ "members": { "me": null } }),
    )
    .await;
    h.emulator.shutdown().await;

    clock.advance(Duration::from_millis(20_000));
    let client = start_with(config).await;
    let doc = client.read(ALICE, "kept").await;
    assert_eq!(
        doc["nextTimer"], created["nextTimer"],
        "the reservation's deadline survived"
    );
    clock.advance(Duration::from_millis(10_000));
    let doc = client.read(ALICE, "kept").await;
    assert_eq!(member_xuids(&doc), [ALICE.to_string(), CAROL.to_string()]);
    clock.advance(Duration::from_millis(10_000));
    assert_eq!(client.read(ALICE, "empty").await, Value::Null);
    clock.advance(Duration::from_millis(140_000));
    assert_eq!(
        member_xuids(&client.read(ALICE, "kept").await),
        [ALICE.to_string()]
    );
}

#[tokio::test]
async fn the_clock_endpoint_needs_a_manual_clock_and_a_good_body() {
    let h = start().await;
    let response = h
        .post(ALICE, "/_emulator/clock", json!({ "advanceMs": 1 }))
        .await;
    text_error(response, StatusCode::NOT_FOUND).await;

    let h = start_manual().await;
    let before = at(h.now());
    let response = h
        .post(ALICE, "/_emulator/clock", json!({ "advanceMs": 1500 }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json(response).await;
    assert_eq!(
        time(&doc["now"]),
        before + chrono::TimeDelta::milliseconds(1500)
    );
    assert_eq!(at(h.now()), time(&doc["now"]));
    let doc = json(h.get(ALICE, "/_emulator/clock").await).await;
    assert_eq!(
        time(&doc["now"]),
        before + chrono::TimeDelta::milliseconds(1500)
    );
    for (body, problem) in [
        (json!({}), "advanceMs is required"),
        (json!({ "advanceMs": -1 }), "non-negative integer"),
        (json!({ "advanceMs": 1.5 }), "non-negative integer"),
        (json!({ "advanceMs": "10" }), "non-negative integer"),
        (
            json!({ "advanceMs": 1, "at": 2 }),
            "'at' is not a clock field",
        ),
        (json!([1]), "JSON object"),
    ] {
        let message = text_error(
            h.post(ALICE, "/_emulator/clock", body.clone()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains(problem), "{body}: {message}");
    }
    assert_eq!(
        time(&doc["now"]),
        at(h.now()),
        "a refused body does not move the clock"
    );
    let response = h.put(ALICE, "/_emulator/clock", json!({})).await;
    text_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn the_binary_serves_the_clock_with_manual_clock() {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_xbl-mpsd-emulator"))
        .args(["--listen", "127.0.0.1:0", "--manual-clock"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    let base = line.trim().to_owned();
    let client = reqwest::Client::new();
    let reserve = json!({ "members": { "me": { "properties": { "system": { "active": true } } },
                                       "reserve_0": reserve(BOB) } });
    let url = format!("{base}{}", session_path("bin"));
    let send = |request: reqwest::RequestBuilder| {
        request
            .header("Authorization", auth(ALICE))
            .header("x-xbl-contract-version", "107")
            .send()
    };
    let created = send(client.put(&url).json(&reserve)).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let clock = format!("{base}/_emulator/clock");
    let moved = client
        .post(&clock)
        .json(&json!({ "advanceMs": 30_000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let now = moved.json::<Value>().await.unwrap()["now"].clone();
    let response = send(client.get(&url)).await.unwrap();
    let date = httpdate::parse_http_date(response.headers()["date"].to_str().unwrap()).unwrap();
    assert_eq!(SystemTime::from(time(&now)), date);
    let doc = response.json::<Value>().await.unwrap();
    assert_eq!(member_xuids(&doc), [ALICE.to_string()]);
    child.kill().await.unwrap();
}
