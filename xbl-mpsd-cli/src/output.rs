//! What a command prints: response bodies as pretty JSON on stdout; status and headers on stderr, so
//! stdout stays pipeable JSON.
//!
//! A failed write to stdout (a full disk, `> /dev/full`, an I/O error) is remembered and makes the command
//! fail (exit 1, see [`stdout_error`]): output that was not written must not look like success. A closed
//! pipe is the exception — a reader that stopped reading (`| head`) chose to — and so are write errors on
//! stderr, which have nowhere to be reported.

use std::io::{self, Write as _};
use std::sync::{Mutex, PoisonError};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LOCATION, ETAG, HeaderMap};
use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => stdout_line(&text),
        Err(error) => stderr_line(&format!("xbl-mpsd: cannot encode the answer: {error}")),
    }
}

/// The first error writing to stdout, other than a closed pipe.
static STDOUT_ERROR: Mutex<Option<io::Error>> = Mutex::new(None);

/// Prints one line on stdout; a failure is remembered for [`stdout_error`].
pub fn stdout_line(text: &str) {
    let mut out = io::stdout().lock();
    let written = writeln!(out, "{text}").and_then(|()| out.flush());
    if let Err(error) = written
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        let mut first = STDOUT_ERROR.lock().unwrap_or_else(PoisonError::into_inner);
        first.get_or_insert(error);
    }
}

/// Why writing to stdout failed, if it did (a closed pipe does not count).
pub fn stdout_error() -> Option<String> {
    let first = STDOUT_ERROR.lock().unwrap_or_else(PoisonError::into_inner);
    first.as_ref().map(ToString::to_string)
}

/// Prints one line on stderr.
pub fn stderr_line(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Prints the status and the `ETag` and `Content-Location` headers on stderr.
pub fn meta(status: StatusCode, headers: &HeaderMap) {
    stderr_line(&format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    ));
    for (label, name) in [("ETag", ETAG), ("Content-Location", CONTENT_LOCATION)] {
        if let Some(value) = headers.get(&name) {
            stderr_line(&format!(
                "{label}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
}

/// A body for people: pretty JSON when it is JSON, else the text as received (lossy UTF-8).
pub fn readable_body(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).trim_end().to_owned())
}

/// Prints an answer the generated client does not type (204, 304, 412, every error status) and
/// returns whether it is a success: status and headers on stderr; the body on stdout for a 2xx, on
/// stderr otherwise (a 412 shows the current session there).
pub async fn raw_response(response: reqwest::Response) -> Result<bool, reqwest::Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    meta(status, &headers);
    let success = status.is_success() || status == StatusCode::NOT_MODIFIED;
    if !body.is_empty() {
        let text = readable_body(&body);
        if success {
            stdout_line(&text);
        } else {
            stderr_line(&text);
        }
    }
    Ok(success)
}
