//! A cap on the size of every response body.
//!
//! progenitor's `ResponseValue::from_response` reads a success body whole (`Response::bytes`), so a
//! server that streams without end would grow the client without bound. The `exec` hook therefore wraps
//! every response body whose size is not already bounded (no `Content-Length`, or one above the limit; a
//! declared length within the limit is all hyper will read) in a counting body: it passes frames through
//! until `limit` bytes have arrived and then fails with [`BodyTooLarge`] without reading more; a `Content-Length` above the limit fails at the
//! first read, before any byte is taken. The error reaches the caller inside the `reqwest::Error` of
//! whoever reads the body (`Error::ResponseBodyError` from a generated call, `Response::bytes`/`chunk` on
//! a raw answer); [`BodyTooLarge::find`] digs it out of the source chain. At most `limit` bytes plus one
//! network chunk are ever held.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body as HttpBody, Frame, SizeHint};
use reqwest::header::CONTENT_LENGTH;
use reqwest::{ResponseBuilderExt as _, StatusCode};
use std::sync::Arc;

use crate::observer::{Observer, ResponseBody};

/// The default limit on a response body: 16 MiB. MPSD documents are a few KiB to a few hundred KiB (a
/// large session shows only the caller; a handle query answers at most 100 handles), so this is far above
/// any real answer while still bounding what a broken or hostile server can make the client hold.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A response body was larger than the client's limit; reading stopped at the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The answer's status.
    pub status: StatusCode,
    /// The limit, in bytes.
    pub limit: u64,
    /// The `Content-Length` the server declared, when it declared one above the limit.
    pub declared: Option<u64>,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body (HTTP {}) is larger than the limit of {} bytes",
            self.status.as_u16(),
            self.limit
        )?;
        if let Some(declared) = self.declared {
            write!(f, " (Content-Length: {declared})")?;
        }
        Ok(())
    }
}

impl StdError for BodyTooLarge {}

impl BodyTooLarge {
    /// The [`BodyTooLarge`] in `error` or its source chain, if any.
    pub fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Self> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(found) = error.downcast_ref::<Self>() {
                return Some(found);
            }
            current = error.source();
        }
        None
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// Where a copy of the body goes once it has been read to its end (see [`crate::Observer::wants_bodies`]).
pub(crate) struct BodyTap {
    /// Told of the body.
    pub(crate) observer: Arc<dyn Observer>,
    /// The operation the body answers.
    pub(crate) operation_id: &'static str,
}

/// A [`BodyTap`] with the bytes received so far.
struct Tapping {
    tap: BodyTap,
    received: Vec<u8>,
}

/// A body that fails with [`BodyTooLarge`] once more than `limit` bytes have arrived.
struct LimitedBody {
    inner: reqwest::Body,
    received: u64,
    /// Set once the error was returned: the body then ends.
    failed: bool,
    error: BodyTooLarge,
    /// The observer's copy, when it wants bodies; taken when the body ends.
    tap: Option<Tapping>,
}

impl LimitedBody {
    fn fail(&mut self) -> Poll<Option<Result<Frame<bytes::Bytes>, BoxError>>> {
        self.failed = true;
        self.tap = None;
        Poll::Ready(Some(Err(Box::new(self.error.clone()))))
    }
}

impl HttpBody for LimitedBody {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        if this.error.declared.is_some() {
            return this.fail();
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    if this.received > this.error.limit {
                        return this.fail();
                    }
                    if let Some(tapping) = &mut this.tap {
                        tapping.received.extend_from_slice(data);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.tap = None;
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Ready(None) => {
                if let Some(tapping) = this.tap.take() {
                    tapping.tap.observer.observe_body(&ResponseBody {
                        operation_id: tapping.tap.operation_id,
                        status: this.error.status,
                        bytes: &tapping.received,
                    });
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.error.declared.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.error.declared.is_some() {
            return SizeHint::default();
        }
        self.inner.size_hint()
    }
}

/// `response` with its body capped at `limit` bytes (see the module docs), and copied to `tap` when one
/// is given.
pub(crate) fn limit_response(
    response: reqwest::Response,
    limit: u64,
    tap: Option<BodyTap>,
) -> reqwest::Response {
    let status = response.status();
    let length = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // A declared length within the limit bounds the body already: hyper reads no more than it declares. Such
    // a response passes through as it is (no wrapper to allocate and poll through), unless its body is tapped.
    if tap.is_none() && length.is_some_and(|length| length <= limit) {
        return response;
    }
    let declared = length.filter(|&length| length > limit);
    let url = response.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    // Keep the URL (`Response::url`), which the conversion to `http::Response` drops.
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    let limited = LimitedBody {
        inner: body,
        received: 0,
        failed: false,
        error: BodyTooLarge {
            status,
            limit,
            declared,
        },
        tap: tap.map(|tap| Tapping {
            tap,
            received: Vec::new(),
        }),
    };
    reqwest::Response::from(http::Response::from_parts(
        parts,
        reqwest::Body::wrap(limited),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: reqwest::Body, content_length: Option<u64>) -> reqwest::Response {
        let mut builder = http::Response::builder()
            .status(200)
            .url("http://127.0.0.1/x".parse().unwrap());
        if let Some(length) = content_length {
            builder = builder.header(CONTENT_LENGTH, length);
        }
        reqwest::Response::from(builder.body(body).unwrap())
    }

    fn chunks(n: usize, size: usize) -> reqwest::Body {
        let stream = futures::stream::iter(
            (0..n).map(move |_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; size]))),
        );
        reqwest::Body::wrap_stream(stream)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::FutureExt::now_or_never(f).expect("ready")
    }

    #[test]
    fn a_body_within_the_limit_passes_whole_and_keeps_the_url() {
        let limited = limit_response(response(chunks(4, 256), None), 1024, None);
        assert_eq!(limited.url().as_str(), "http://127.0.0.1/x");
        assert_eq!(block_on(limited.bytes()).unwrap().len(), 1024);
    }

    #[test]
    fn a_declared_length_within_the_limit_is_passed_through_unwrapped() {
        // hyper never reads past a declared length; this synthetic body does, which shows no wrapper counts it.
        let passed = limit_response(response(chunks(5, 256), Some(1000)), 1024, None);
        assert_eq!(block_on(passed.bytes()).unwrap().len(), 1280);
    }

    #[test]
    fn a_body_over_the_limit_fails_with_body_too_large_in_the_chain() {
        let limited = limit_response(response(chunks(5, 256), None), 1024, None);
        let error = block_on(limited.bytes()).unwrap_err();
        let found = BodyTooLarge::find(&error).expect("BodyTooLarge in the chain");
        assert_eq!(found.limit, 1024);
        assert_eq!(found.declared, None);
        assert_eq!(
            found.to_string(),
            "the response body (HTTP 200) is larger than the limit of 1024 bytes"
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_fails_before_reading() {
        // The stream would panic if polled.
        let stream =
            futures::stream::poll_fn(|_| -> Poll<Option<Result<bytes::Bytes, std::io::Error>>> {
                panic!("polled")
            });
        let limited = limit_response(
            response(reqwest::Body::wrap_stream(stream), Some(5 << 30)),
            1024,
            None,
        );
        let error = block_on(limited.bytes()).unwrap_err();
        let found = BodyTooLarge::find(&error).expect("BodyTooLarge in the chain");
        assert_eq!(found.declared, Some(5 << 30));
    }

    #[test]
    fn chunk_by_chunk_reading_stops_at_the_limit() {
        let mut limited = limit_response(response(chunks(1000, 1024), None), 4096, None);
        let mut read = 0;
        let error = loop {
            match block_on(limited.chunk()) {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) => panic!("the body ended"),
                Err(e) => break e,
            }
        };
        assert_eq!(read, 4096);
        assert!(BodyTooLarge::find(&error).is_some(), "{error:?}");
    }

    /// Keeps every body it is shown.
    #[derive(Default)]
    struct Keeper(std::sync::Mutex<Vec<(StatusCode, Vec<u8>)>>);

    impl Observer for Keeper {
        fn observe(&self, _: &crate::Exchange<'_>) {}
        fn wants_bodies(&self) -> bool {
            true
        }
        fn observe_body(&self, body: &ResponseBody<'_>) {
            assert_eq!(body.operation_id, "op");
            self.0
                .lock()
                .unwrap()
                .push((body.status, body.bytes.to_vec()));
        }
    }

    fn tapped(body: reqwest::Body, limit: u64) -> (reqwest::Response, Arc<Keeper>) {
        let keeper = Arc::new(Keeper::default());
        let tap = BodyTap {
            observer: Arc::clone(&keeper) as Arc<dyn Observer>,
            operation_id: "op",
        };
        (
            limit_response(response(body, None), limit, Some(tap)),
            keeper,
        )
    }

    #[test]
    fn a_tap_sees_the_whole_body_byte_for_byte_once_it_ends() {
        let (limited, keeper) = tapped(reqwest::Body::from(r#"{"z":1,"a":2}"#), 1024);
        assert!(
            keeper.0.lock().unwrap().is_empty(),
            "nothing before reading"
        );
        assert_eq!(block_on(limited.bytes()).unwrap(), r#"{"z":1,"a":2}"#);
        assert_eq!(
            *keeper.0.lock().unwrap(),
            vec![(StatusCode::OK, br#"{"z":1,"a":2}"#.to_vec())]
        );
    }

    #[test]
    fn a_tap_sees_nothing_of_a_body_over_the_limit() {
        let (limited, keeper) = tapped(chunks(5, 256), 1024);
        assert!(block_on(limited.bytes()).is_err());
        assert!(keeper.0.lock().unwrap().is_empty());
    }

    #[test]
    fn a_tap_sees_nothing_of_a_body_cut_short() {
        let stream = futures::stream::iter(vec![
            Ok(bytes::Bytes::from_static(b"{\"a\":")),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "reset",
            )),
        ]);
        let (limited, keeper) = tapped(reqwest::Body::wrap_stream(stream), 1024);
        assert!(block_on(limited.bytes()).is_err());
        assert!(keeper.0.lock().unwrap().is_empty());
    }
}
