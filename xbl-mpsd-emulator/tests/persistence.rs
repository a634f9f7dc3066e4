//! `--data-dir` survives `kill -9` under load (issue #11, R14).
//!
//! The emulator binary runs as a child process on an ephemeral port with a temporary data directory. Concurrent
//! writers create, update and delete sessions and create and delete handles, recording every acknowledged
//! answer (status, ETag, `changeNumber`, body). The child is killed with SIGKILL at a random moment under load,
//! restarted on the same directory, and every acknowledged session, handle, ETag and `changeNumber` must be
//! there. A write that was in flight at the kill may or may not be: each writer has at most one request in
//! flight, so a session may be exactly one committed change ahead of what was acknowledged, never behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SCID, TEMPLATE, auth, session_path};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Writers running at once.
const WRITERS: u64 = 8;
/// Kill-and-restart rounds.
const ROUNDS: usize = 3;

/// What the writers were told, per session and per handle.
#[derive(Debug, Default)]
struct Acknowledged {
    /// The last acknowledged state of each session: `None` after an acknowledged delete.
    sessions: HashMap<String, Option<SessionAck>>,
    /// Each handle: `Some(document)` when its creation was acknowledged, `None` after an acknowledged delete.
    handles: HashMap<String, Option<Value>>,
    /// Sessions and handles with a request in flight when the child died: either outcome is allowed.
    in_flight: Vec<String>,
    /// Acknowledged writes in total.
    writes: usize,
}

#[derive(Debug, Clone)]
struct SessionAck {
    xuid: u64,
    etag: String,
    change_number: u64,
    body: Value,
}

/// The emulator child process.
struct Emulator {
    child: Child,
    base: String,
}

impl Emulator {
    async fn start(dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xbl-mpsd-emulator"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the emulator prints its URL")
        .unwrap();
        let base = line.trim().to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Self { child, base }
    }

    /// SIGKILL, and wait for the process to be gone.
    async fn kill_9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// One writer: `xuid` works on its own sessions until `stop` (or the emulator dies).
async fn writer(base: String, xuid: u64, round: usize, acks: Arc<Mutex<Acknowledged>>) {
    let client = client();
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let mut mine: Vec<String> = Vec::new();
    let mut my_handles: Vec<String> = Vec::new();
    let mut counter = 0u64;
    loop {
        counter += 1;
        let choice = rng.random_range(0..10);
        // The target and request of this step.
        let (target, request) = if mine.is_empty() || choice < 3 {
            let name = format!("r{round}-w{xuid}-s{counter}");
            let body = json!({ "members": { "me": { "constants": { "system": { "initialize": false } },
                "properties": { "system": { "active": true } } } },
                "properties": { "custom": { "n": counter } } });
            let request = client
                .put(format!("{base}{}", session_path(&name)))
                .json(&body);
            (name, request)
        } else if choice < 7 {
            let name = mine[rng.random_range(0..mine.len())].clone();
            let body = json!({ "properties": { "custom": { format!("k{counter}"): counter } } });
            let request = client
                .put(format!("{base}{}", session_path(&name)))
                .json(&body);
            (name, request)
        } else if choice < 8 {
            let name = mine[rng.random_range(0..mine.len())].clone();
            let request = client
                .put(format!("{base}{}", session_path(&name)))
                .json(&json!({ "members": { "me": null } }));
            (name, request)
        } else if choice < 9 || my_handles.is_empty() {
            let name = mine[rng.random_range(0..mine.len())].clone();
            let body = json!({ "type": "invite", "version": 1, "invitedXuid": "2533274792693999",
                "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": name } });
            (
                format!("handle-of:{name}"),
                client.post(format!("{base}/handles")).json(&body),
            )
        } else {
            let id = my_handles.swap_remove(rng.random_range(0..my_handles.len()));
            (id.clone(), client.delete(format!("{base}/handles/{id}")))
        };
        let request = request
            .header("Authorization", auth(xuid))
            .header("x-xbl-contract-version", "107");
        acks.lock().unwrap().in_flight.push(target.clone());
        let Ok(response) = request.send().await else {
            return; // the emulator died: this request stays in flight
        };
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Ok(text) = response.text().await else {
            return;
        };
        let mut acks = acks.lock().unwrap();
        acks.in_flight.retain(|t| t != &target);
        match status {
            StatusCode::OK | StatusCode::CREATED if !target.starts_with("handle-of:") => {
                let body: Value = serde_json::from_str(&text).unwrap();
                let change_number = body["changeNumber"].as_u64().unwrap();
                let ack = SessionAck {
                    xuid,
                    etag: etag.unwrap(),
                    change_number,
                    body,
                };
                acks.sessions.insert(target.clone(), Some(ack));
                if !mine.contains(&target) {
                    mine.push(target);
                }
                acks.writes += 1;
            }
            StatusCode::NO_CONTENT if target.contains("-s") => {
                // The last member left: the session was deleted (and its activity/transfer/search handles).
                acks.sessions.insert(target.clone(), None);
                mine.retain(|name| name != &target);
                acks.writes += 1;
            }
            StatusCode::CREATED => {
                let doc: Value = serde_json::from_str(&text).unwrap();
                let id = doc["id"].as_str().unwrap().to_owned();
                acks.handles.insert(id.clone(), Some(doc));
                my_handles.push(id);
                acks.writes += 1;
            }
            StatusCode::NO_CONTENT => {
                acks.handles.insert(target, None);
                acks.writes += 1;
            }
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                // A step on a session this writer just left (invite for a deleted session, …): refused, fine.
            }
            other => panic!("{target}: unexpected {other}: {text}"),
        }
    }
}

/// Checks every acknowledged state against the restarted emulator; returns (sessions, handles) checked.
/// What a request in flight at the kill left behind is observed now, and becomes the expected state.
async fn verify(base: &str, acks: &mut Acknowledged) -> (usize, usize) {
    let client = client();
    let mut sessions = 0;
    let mut observed: Vec<(String, Option<SessionAck>)> = Vec::new();
    for (name, ack) in &acks.sessions {
        let uncertain = acks.in_flight.contains(name);
        let reader = ack.as_ref().map_or(2533274792693998, |ack| ack.xuid);
        let response = client
            .get(format!("{base}{}", session_path(name)))
            .header("Authorization", auth(reader))
            .header("x-xbl-contract-version", "107")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap();
        match ack {
            None => {
                // Deleted sessions are never written again (names are not reused).
                assert_eq!(
                    status,
                    StatusCode::NO_CONTENT,
                    "{name}: deleted, but {text}"
                );
            }
            Some(ack) => {
                if uncertain && status == StatusCode::NO_CONTENT {
                    observed.push((name.clone(), None)); // an unacknowledged leave committed
                    continue;
                }
                assert_eq!(status, StatusCode::OK, "{name}: acknowledged but {status}");
                let body: Value = serde_json::from_str(&text).unwrap();
                let found = body["changeNumber"].as_u64().unwrap();
                if found == ack.change_number {
                    assert_eq!(etag.as_deref(), Some(ack.etag.as_str()), "{name}: ETag");
                    assert_eq!(body, ack.body, "{name}: document");
                } else {
                    assert!(
                        uncertain && found == ack.change_number + 1,
                        "{name}: changeNumber {found}, acknowledged {}",
                        ack.change_number
                    );
                    let etag = etag.unwrap();
                    let now = SessionAck {
                        xuid: ack.xuid,
                        etag,
                        change_number: found,
                        body,
                    };
                    observed.push((name.clone(), Some(now)));
                }
            }
        }
        sessions += 1;
    }
    acks.sessions.extend(observed);
    let mut handles = 0;
    let mut gone: Vec<String> = Vec::new();
    for (id, doc) in &acks.handles {
        let uncertain = acks.in_flight.contains(id);
        let response = client
            .get(format!("{base}/handles/{id}"))
            .header("Authorization", auth(2533274792693998))
            .header("x-xbl-contract-version", "107")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        match doc {
            Some(doc) => {
                let session = doc["sessionRef"]["name"].as_str().unwrap();
                // Invites outlive their session, so an acknowledged invite is always there — unless its
                // deletion was in flight.
                if uncertain && status == StatusCode::NOT_FOUND {
                    gone.push(id.clone()); // the unacknowledged delete committed
                    continue;
                }
                assert_eq!(status, StatusCode::OK, "handle {id} of {session}: {text}");
                assert_eq!(
                    &serde_json::from_str::<Value>(&text).unwrap(),
                    doc,
                    "handle {id}"
                );
            }
            None => {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "handle {id} was deleted: {text}"
                );
            }
        }
        handles += 1;
    }
    for id in gone {
        acks.handles.insert(id, None);
    }
    acks.in_flight.clear();
    (sessions, handles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let acks = Arc::new(Mutex::new(Acknowledged::default()));
    let mut checked = (0, 0);
    for round in 0..=ROUNDS {
        let emulator = Emulator::start(dir.path()).await;
        // Everything acknowledged so far is there after the restart.
        let mut view = std::mem::take(&mut *acks.lock().unwrap());
        checked = verify(&emulator.base, &mut view).await;
        eprintln!(
            "restart {round}: {} acknowledged writes so far; verified {} sessions and {} handles",
            view.writes, checked.0, checked.1
        );
        *acks.lock().unwrap() = view;
        if round == ROUNDS {
            emulator.kill_9().await;
            break;
        }
        let tasks: Vec<_> = (0..WRITERS)
            .map(|index| {
                tokio::spawn(writer(
                    emulator.base.clone(),
                    2533274792600000 + index,
                    round,
                    Arc::clone(&acks),
                ))
            })
            .collect();
        let load = Duration::from_millis(rand::rng().random_range(300..1500));
        tokio::time::sleep(load).await;
        emulator.kill_9().await;
        for task in tasks {
            task.await.unwrap();
        }
        eprintln!("round {round}: SIGKILL after {load:?} of load");
    }
    let acks = acks.lock().unwrap();
    assert!(
        acks.writes > 0,
        "no write was acknowledged before the kills"
    );
    assert!(checked.0 > 0, "no session was verified");
}
