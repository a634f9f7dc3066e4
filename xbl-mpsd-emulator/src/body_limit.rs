//! Reading request bodies within the size limit and the body-read timeout, with answers the client can read.
//!
//! A handler that stops reading an oversized body answers 413 while the client is still sending; hyper then
//! closes the connection with unread data, the kernel resets it, and the client sees "Broken pipe" or
//! "connection reset" instead of the 413 (issue #11, R11). This middleware reads every body first:
//!
//! * up to `max_body_bytes`, the body is buffered and handed on;
//! * past it (or when `Content-Length` already says so), the rest is read and discarded — up to
//!   [`DRAIN_LIMIT`] bytes within the body-read timeout — and the answer is **413** with a text body and
//!   `Connection: close`, so the client reads a clean 413;
//! * a body that does not arrive within `body_read_timeout` is answered **408** (text, `Connection: close`);
//! * a body that fails mid-stream (the client went away) is answered 400, which nobody reads.
//!
//! Only a client sending more than [`DRAIN_LIMIT`] bytes, or sending too slowly, can still see the connection
//! closed before it finished sending.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt as _;
use tokio::time::Instant;

use crate::response;

/// The most bytes of an oversized body read and discarded so that the client can read its 413.
pub(crate) const DRAIN_LIMIT: u64 = 1024 * 1024 * 1024;

/// The limits the middleware enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The largest body accepted.
    pub(crate) max_bytes: usize,
    /// How long the whole body may take to arrive.
    pub(crate) timeout: Duration,
}

/// How reading a body ended.
enum Outcome {
    /// The whole body, within the limit.
    Complete(Bytes),
    /// Over the limit (the rest was read and discarded as far as [`DRAIN_LIMIT`] and the deadline allow).
    TooLarge,
    /// Not complete within the timeout.
    TimedOut,
    /// The body stream failed.
    Failed(String),
}

/// The middleware: buffers the body within `limits`, or answers 413/408/400 itself.
pub(crate) async fn limit_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let max = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    let deadline = Instant::now() + limits.timeout;
    let outcome = if declared.is_some_and(|length| length > max) {
        drain(body, deadline).await
    } else {
        read(body, limits.max_bytes, deadline).await
    };
    match outcome {
        Outcome::Complete(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Outcome::TooLarge => closing(response::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is larger than the emulator accepts ({} bytes; --max-body-bytes)",
                limits.max_bytes
            ),
        )),
        Outcome::TimedOut => closing(response::text(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "The request body did not arrive within {} ms",
                limits.timeout.as_millis()
            ),
        )),
        Outcome::Failed(error) => closing(response::text(
            StatusCode::BAD_REQUEST,
            format!("The request body could not be read: {error}"),
        )),
    }
}

/// Marks a response as the last on its connection.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads `body` to the end if it fits in `max` bytes; drains it when it does not.
async fn read(mut body: Body, max: usize, deadline: Instant) -> Outcome {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Outcome::TimedOut,
            Ok(None) => return Outcome::Complete(Bytes::from(buffer)),
            Ok(Some(Err(error))) => return Outcome::Failed(error.to_string()),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if buffer.len().saturating_add(data.len()) > max {
            drop(buffer);
            return drain(body, deadline).await;
        }
        buffer.extend_from_slice(&data);
    }
}

/// Reads and discards the rest of `body`, at most [`DRAIN_LIMIT`] bytes, until `deadline`.
async fn drain(mut body: Body, deadline: Instant) -> Outcome {
    let mut drained: u64 = 0;
    while drained <= DRAIN_LIMIT {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            // Too slow to drain: the 413 is still the more useful answer.
            Err(_) | Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    drained = drained.saturating_add(data.len() as u64);
                }
            }
        }
    }
    Outcome::TooLarge
}
