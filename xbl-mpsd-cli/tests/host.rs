//! `xbl-mpsd host` against an emulator: the session published with its activity handle, a friend's join
//! printed as a JSON line, and the session closed (left, handles deleted) when the command stops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{GUEST, HOST, SCID, emulator, xbl_process};
use serde_json::{Value, json};
use xbl_mpsd_ext::{HandleId, MpsdClient, SessionDelta, SessionReference, XblToken, handles};

fn client(url: &str, xuid: &str) -> MpsdClient {
    MpsdClient::builder()
        .base_url(url)
        .token(XblToken::new("-", xuid).unwrap())
        .build()
        .unwrap()
}

#[test]
fn host_prints_events_as_json_lines_and_closes_the_session() {
    let served = emulator();
    let path = format!("/serviceconfigs/{SCID}/sessionTemplates/lobby/sessions/cli-host");
    let mut child = xbl_process()
        .args(["--endpoint", &served.url, "--token", HOST, "host", &path])
        .args(["--max-members", "4", "--keyword", "ctf", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line =
        move || -> Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };

    let started = next_line();
    assert_eq!(started["event"], "started", "{started}");
    assert_eq!(started["session"], path.as_str());
    let handle: HandleId = started["handles"][0].as_str().unwrap().parse().unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (host, guest) = (client(&served.url, HOST), client(&served.url, GUEST));
    runtime.block_on(async {
        let joined = guest
            .write(handle, SessionDelta::new().join(GUEST.parse().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(joined.session().unwrap().keywords(), ["ctf"]);
    });

    let changed = next_line();
    assert_eq!(changed["event"], "changed", "{changed}");
    assert!(
        changed["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({"change": "memberJoined", "xuid": GUEST})),
        "{changed}"
    );
    assert_eq!(next_line()["event"], "closed");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");

    // The host left and its activity handle is gone; the guest is still there.
    runtime.block_on(async {
        let reference: SessionReference = path.parse().unwrap();
        let session = host.get_session(&reference).send().await.unwrap().unwrap();
        assert_eq!(session.member_xuids(), [GUEST.parse().unwrap()]);
        let activities = host
            .query_handles(handles::activities_query(
                &SCID.parse().unwrap(),
                &[HOST.parse().unwrap()],
            ))
            .send()
            .await
            .unwrap();
        assert!(activities.is_empty(), "{activities:?}");
    });
}

#[test]
fn host_refuses_a_bad_session_path_as_a_usage_error() {
    let served = emulator();
    common::xbl()
        .args([
            "--endpoint",
            &served.url,
            "--token",
            HOST,
            "host",
            "/not/a/session",
        ])
        .assert()
        .code(2);
}
