//! The generated operation commands run through the SDK's call policy (`MpsdClient::api()`): a read is retried
//! after 503s like every SDK read, a write that is not idempotent is sent once. Against a scripted server on
//! loopback (the retries wait XSAPI's real backoff: 2 s, then 4 s).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const HANDLE: &str = "7a4d0a99-4e23-4eba-9894-5173cf123fb4";

fn handle_json() -> String {
    format!(
        r#"{{"id":"{HANDLE}","type":"activity","version":1,"sessionRef":{{"scid":"{SCID}","templateName":"lobby","name":"g"}}}}"#
    )
}

#[test]
fn a_generated_read_command_succeeds_after_two_503s() {
    let unavailable = answer(503, "retry-after: 1\r\n", "");
    let (url, seen) = scripted(vec![
        unavailable.clone(),
        unavailable,
        answer(200, "", &handle_json()),
    ]);
    let output = xbl()
        .args([
            "--endpoint",
            &url,
            "--token",
            HOST,
            "get-handle",
            "--handle-id",
            HANDLE,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout_json(&output)["id"], HANDLE);
    let path = format!("GET /handles/{HANDLE}");
    assert_eq!(*seen.lock().unwrap(), [path.as_str(); 3]);
}

#[test]
fn a_generated_write_command_that_is_not_idempotent_is_sent_once() {
    let (url, seen) = scripted(vec![answer(503, "", ""), answer(201, "", &handle_json())]);
    let (_dir, body) = file(&format!(
        r#"{{"type":"activity","version":1,"sessionRef":{{"scid":"{SCID}","templateName":"lobby","name":"g"}}}}"#
    ));
    let output = xbl()
        .args([
            "--endpoint",
            &url,
            "--token",
            HOST,
            "create-handle",
            "--json-body",
        ])
        .arg(&body)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(*seen.lock().unwrap(), ["POST /handles"]);
}
