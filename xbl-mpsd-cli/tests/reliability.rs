//! The command under failure: answers larger than the limit, stdout that cannot be written, a base URL
//! with a password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::*;

const HANDLE: &str = "7a4d0a99-4e23-4eba-9894-5173cf123fb4";

/// Serves every connection on a background thread: reads the request head, then writes `head` and
/// `body_chunk` `chunks` times (`None`: until the client goes away). Returns the base URL.
fn serve(head: String, body_chunk: Vec<u8>, chunks: Option<usize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let head = head.clone();
            let body_chunk = body_chunk.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let mut sent = 0;
                while chunks.is_none_or(|n| sent < n) {
                    if stream.write_all(&body_chunk).is_err() {
                        return;
                    }
                    sent += 1;
                }
            });
        }
    });
    url
}

#[test]
fn an_answer_over_the_16_mib_limit_fails_the_command() {
    // A valid handle document of 17 MiB (an unknown key is kept as extra data): read whole, it would
    // decode and print.
    let prefix = format!(
        r#"{{"id":"{HANDLE}","type":"activity","version":1,"sessionRef":{{"scid":"s","templateName":"t","name":"n"}},"pad":""#
    );
    let pad = 17usize << 20;
    let suffix = "\"}";
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{prefix}",
        prefix.len() + pad + suffix.len()
    );
    let url = serve(head, vec![b'a'; 1 << 20], Some(17));
    let output = xbl()
        .args(["--endpoint", &url, "--token", HOST])
        .args(["get-handle", "--handle-id", HANDLE])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("is larger than the limit of 16777216 bytes"),
        "{stderr}"
    );
}

#[test]
fn an_endless_answer_stops_at_the_limit() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n".to_owned();
    let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
    chunk.extend_from_slice(b"\r\n");
    let url = serve(head, chunk, None);
    let output = xbl()
        .args(["--endpoint", &url, "--token", HOST])
        .args(["get-handle", "--handle-id", HANDLE])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("is larger than the limit"), "{stderr}");
}

#[test]
fn a_failed_write_to_stdout_fails_the_command() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full (Linux)");
    let uri = format!(
        "ms-xbl-multiplayer://inviteHandleAccept?handle={HANDLE}&invitedXuid={GUEST}&senderXuid={HOST}&context="
    );
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin!("xbl-mpsd"))
        .args(["activation", "parse", &uri])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot write to standard output") && stderr.contains("No space left"),
        "{stderr}"
    );
}

#[test]
fn a_closed_pipe_on_stdout_is_not_reported() {
    let uri = format!(
        "ms-xbl-multiplayer://inviteHandleAccept?handle={HANDLE}&invitedXuid={GUEST}&senderXuid={HOST}&context="
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("xbl-mpsd"))
        .args(["activation", "parse", &uri])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn a_password_in_the_endpoint_is_never_printed() {
    let output = xbl()
        .args([
            "--endpoint",
            "https://player:hunter2-secret@sessiondirectory.example",
            "--token",
            HOST,
        ])
        .args(["get-handle", "--handle-id", HANDLE])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.contains("must not carry credentials"), "{stderr}");
    assert!(
        stderr.contains("https://***@sessiondirectory.example"),
        "{stderr}"
    );
}
