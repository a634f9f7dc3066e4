//! What a command prints: response bodies as pretty JSON on stdout; status and headers on stderr, so
//! stdout stays pipeable JSON.
//!
//! A failed write to stdout (a full disk, `> /dev/full`, an I/O error) is remembered and makes the command
//! fail (exit 1, see [`stdout_error`]): output that was not written must not look like success. A closed
//! pipe is the exception — a reader that stopped reading (`| head`) chose to — and so are write errors on
//! stderr, which have nowhere to be reported.

use std::io::{self, Write as _};
use std::sync::{Mutex, OnceLock, PoisonError};

use clap::ValueEnum;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LOCATION, ETAG, HeaderMap};
use serde::Serialize;
use serde_json::{Map, Value};

/// What goes to stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputMode {
    /// The JSON body alone (status and headers on stderr)
    #[default]
    Body,
    /// One JSON object: `status`, `etag`, `contentLocation` and `body` (for scripts; printed for error
    /// statuses too)
    Envelope,
}

static MODE: OnceLock<OutputMode> = OnceLock::new();

/// Sets the output mode for this process (the first call wins).
pub fn set_mode(mode: OutputMode) {
    let _ = MODE.set(mode);
}

/// The output mode.
pub fn mode() -> OutputMode {
    MODE.get().copied().unwrap_or_default()
}

/// A header as text (lossy UTF-8).
fn header(headers: &HeaderMap, name: &reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Prints one answer as an envelope on stdout: `{"status", "etag", "contentLocation", "body"}`; `body` is
/// the JSON body, the text of a non-JSON body, or `null`.
pub fn envelope(status: StatusCode, headers: &HeaderMap, body: Value) {
    let mut object = Map::new();
    object.insert("status".to_owned(), Value::from(status.as_u16()));
    object.insert(
        "etag".to_owned(),
        header(headers, &ETAG).map_or(Value::Null, Value::String),
    );
    object.insert(
        "contentLocation".to_owned(),
        header(headers, &CONTENT_LOCATION).map_or(Value::Null, Value::String),
    );
    object.insert("body".to_owned(), body);
    json(&Value::Object(object));
}

/// A body as a JSON value: the parsed JSON (key order kept), else the text, else `null` when empty.
pub fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).trim_end().to_owned()))
}

/// The CLI's [`Observer`](xbl_mpsd_ext::Observer), on every client it builds: with `--verbose`, one stderr
/// line per HTTP exchange (method, path, status, duration, ETag; requests carry no header here, so never
/// the token); always, a copy of the last response body, so that documents print as the service sent them
/// (key order kept) rather than re-encoded from the typed values (see [`document`]).
pub struct CliObserver {
    /// Print the transcript.
    pub verbose: bool,
}

/// The body of the last exchange, once read to its end; cleared when the next exchange's headers arrive,
/// so it never belongs to an earlier request.
static LAST_BODY: Mutex<Option<Vec<u8>>> = Mutex::new(None);

impl xbl_mpsd_ext::Observer for CliObserver {
    fn observe(&self, exchange: &xbl_mpsd_ext::Exchange<'_>) {
        *LAST_BODY.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if !self.verbose {
            return;
        }
        let millis = exchange.elapsed.as_secs_f64() * 1000.0;
        let line = match exchange.outcome {
            Ok((status, headers)) => {
                let etag = header(headers, &ETAG)
                    .map(|etag| format!(" ETag: {etag}"))
                    .unwrap_or_default();
                format!(
                    "> {} {} -> {} {} ({millis:.0} ms){etag}",
                    exchange.method,
                    exchange.path,
                    status.as_u16(),
                    status.canonical_reason().unwrap_or(""),
                )
            }
            Err(error) => format!(
                "> {} {} -> failed ({millis:.0} ms): {}",
                exchange.method,
                exchange.path,
                crate::error::chain(error)
            ),
        };
        stderr_line(&line);
    }

    fn wants_bodies(&self) -> bool {
        true
    }

    fn observe_body(&self, body: &xbl_mpsd_ext::ResponseBody<'_>) {
        *LAST_BODY.lock().unwrap_or_else(PoisonError::into_inner) = Some(body.bytes.to_vec());
    }
}

/// The last exchange's body as JSON (key order kept), if it was read and is JSON.
fn last_body() -> Option<Value> {
    let body = LAST_BODY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()?;
    serde_json::from_slice(&body).ok()
}

/// `typed`, the document the last exchange answered, as JSON: the body as the service sent it (every key,
/// in its order) when it was read, else `typed` re-encoded.
pub fn document_value(typed: &impl Serialize) -> Value {
    last_body()
        .or_else(|| serde_json::to_value(typed).ok())
        .unwrap_or(Value::Null)
}

/// Prints [`document_value`] as pretty JSON on stdout.
pub fn document(typed: &impl Serialize) {
    json(&document_value(typed));
}

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
    if mode() == OutputMode::Envelope {
        return;
    }
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
