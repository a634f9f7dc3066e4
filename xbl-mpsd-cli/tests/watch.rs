//! `xbl-mpsd watch` against an in-process emulator: one JSON line per tap (or per invite).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, TitleId, XblToken, handles};

mod common;
use common::{GUEST, HOST, xbl_process};

const GUARD: Duration = Duration::from_secs(20);

fn client(emulator: &RunningEmulator, xuid: &str) -> MpsdClient {
    MpsdClient::builder()
        .base_url(emulator.base_url())
        .token(XblToken::new("-", xuid).unwrap())
        .build()
        .unwrap()
}

/// Starts `xbl-mpsd --endpoint <emulator> --token <xuid> watch <args…>` with piped stdout.
fn spawn_watch(emulator: &RunningEmulator, xuid: &str, args: &[&str]) -> Child {
    xbl_process()
        .args(["--endpoint", &emulator.base_url(), "--token", xuid, "watch"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Reads the first stdout line of `child` (on a blocking thread) and waits for it to exit.
async fn first_line(mut child: Child) -> Value {
    let stdout = child.stdout.take().unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let status = child.wait().unwrap();
        (line, status)
    });
    let (line, status) = tokio::time::timeout(GUARD, read).await.unwrap().unwrap();
    assert!(status.success(), "{status}");
    serde_json::from_str(&line).unwrap()
}

/// Waits until the emulator's RTA endpoint holds `count` subscriptions.
async fn subscriptions(emulator: &RunningEmulator, count: usize) {
    tokio::time::timeout(GUARD, async {
        while emulator.rta().subscription_count() < count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn watch_prints_a_json_line_per_tap() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (host, guest) = (client(&emulator, HOST), client(&emulator, GUEST));
    let path = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/cli-watch";
    let reference: SessionReference = path.parse().unwrap();
    host.write(&reference, SessionDelta::new().join(HOST.parse().unwrap()))
        .send()
        .await
        .unwrap();

    let child = spawn_watch(
        &emulator,
        HOST,
        &[path, "--changes", "membersList", "--count", "1"],
    );
    // The watcher's subscribing write is visible once its member holds a subscription.
    tokio::time::timeout(GUARD, async {
        loop {
            let session = host.get_session(&reference).send().await.unwrap().unwrap();
            let doc = serde_json::to_value(&session.document).unwrap();
            if doc["members"]["0"]["properties"]["system"]["subscription"].is_object() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let joined = guest
        .write(&reference, SessionDelta::new().join(GUEST.parse().unwrap()))
        .send()
        .await
        .unwrap();
    let line = first_line(child).await;
    assert_eq!(
        line["changeNumber"],
        json!(joined.session().unwrap().document.change_number)
    );
    assert_eq!(line["session"], json!(path));
    assert_eq!(line["changeTypes"], json!(["membersList"]));
}

#[tokio::test]
async fn watch_invites_prints_the_invite() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let host = client(&emulator, HOST);
    let reference: SessionReference =
        "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/cli-invite"
            .parse()
            .unwrap();
    host.write(&reference, SessionDelta::new().join(HOST.parse().unwrap()))
        .send()
        .await
        .unwrap();

    let child = spawn_watch(&emulator, GUEST, &["--invites", "--count", "1"]);
    subscriptions(&emulator, 1).await;
    let request =
        handles::invite_request(&reference, GUEST.parse().unwrap(), TitleId::new(1234), None);
    let handle = host.create_handle(request).send().await.unwrap();
    let line = first_line(child).await;
    assert_eq!(line["handleId"], json!(handle.id().unwrap()));
    assert_eq!(line["invitedXuid"], json!(GUEST));
    assert_eq!(line["senderXuid"], json!(HOST));
}

#[test]
fn watch_refuses_a_target_that_is_neither_a_handle_nor_a_path() {
    let output = xbl_process()
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "--token",
            HOST,
            "watch",
            "not-a-session",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
