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
use axum::extract::Request;
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

/// Buffers the body within `limits` and runs `next`, or answers 413/408/400 itself (run by the router's one
/// middleware, `routes::front`).
pub(crate) async fn limit_body(limits: BodyLimits, request: Request, next: Next) -> Response {
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

/// Reads `body` to the end if it fits in `max` bytes; drains it when it does not. A body that arrives as
/// one frame (most do) is handed on as that frame's bytes, without a copy.
async fn read(mut body: Body, max: usize, deadline: Instant) -> Outcome {
    let mut first: Option<Bytes> = None;
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Outcome::TimedOut,
            Ok(None) => {
                return Outcome::Complete(match first {
                    Some(bytes) if buffer.is_empty() => bytes,
                    _ => Bytes::from(buffer),
                });
            }
            Ok(Some(Err(error))) => return Outcome::Failed(error.to_string()),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let held = first.as_ref().map_or(0, Bytes::len) + buffer.len();
        if held.saturating_add(data.len()) > max {
            drop((first, buffer));
            return drain(body, deadline).await;
        }
        if first.is_none() && buffer.is_empty() {
            first = Some(data);
        } else {
            if let Some(bytes) = first.take() {
                buffer.extend_from_slice(&bytes);
            }
            buffer.extend_from_slice(&data);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> = chunks
            .iter()
            .map(|chunk| Ok(Bytes::from_static(chunk)))
            .collect();
        Body::from_stream(futures::stream::iter(frames))
    }

    async fn read_all(chunks: &[&'static [u8]], max: usize) -> Outcome {
        read(
            body_of(chunks),
            max,
            Instant::now() + Duration::from_secs(5),
        )
        .await
    }

    #[tokio::test]
    async fn bodies_of_one_or_many_frames_arrive_whole_and_over_the_limit_is_too_large() {
        for (chunks, expected) in [
            (&[][..], &b""[..]),
            (&[&b"{\"a\":1}"[..]][..], &b"{\"a\":1}"[..]),
            (
                &[&b"{\"a\""[..], &b":"[..], &b"1}"[..]][..],
                &b"{\"a\":1}"[..],
            ),
            (&[&b""[..], &b"{}"[..]][..], &b"{}"[..]),
        ] {
            match read_all(chunks, 7).await {
                Outcome::Complete(bytes) => assert_eq!(&bytes[..], expected, "{chunks:?}"),
                _ => panic!("{chunks:?} was not read whole"),
            }
        }
        for chunks in [&[&b"12345678"[..]][..], &[&b"1234"[..], &b"5678"[..]][..]] {
            assert!(
                matches!(read_all(chunks, 7).await, Outcome::TooLarge),
                "{chunks:?}"
            );
        }
    }
}
