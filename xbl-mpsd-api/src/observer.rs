//! [`Observer`]: told of every HTTP exchange a client makes (for logs, metrics or a transcript), and the
//! views of an exchange it gets. The request hooks ([`Hooks`](crate::Hooks)) call it for each answer's head;
//! the response-body limit (`body_limit`) for each body read to its end.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

/// One HTTP exchange, as an [`Observer`] sees it: what was asked and what came back. It carries no request
/// header, so no token.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The operation (the spec's operationId).
    pub operation_id: &'static str,
    /// The request method.
    pub method: &'a Method,
    /// The request path and query, e.g. `/handles/{id}/session`.
    pub path: &'a str,
    /// The answer's status and headers, or why there was none.
    pub outcome: Result<(StatusCode, &'a HeaderMap), &'a reqwest::Error>,
    /// From sending the request to the answer's headers (or the failure).
    pub elapsed: std::time::Duration,
}

/// A response body read to its end, as an [`Observer`] that [wants bodies](Observer::wants_bodies) sees it.
#[derive(Debug)]
pub struct ResponseBody<'a> {
    /// The operation (the spec's operationId).
    pub operation_id: &'static str,
    /// The answer's status.
    pub status: StatusCode,
    /// The body, byte for byte as received (never more than the client's response-body limit).
    pub bytes: &'a [u8],
}

/// Told of every HTTP exchange a client makes, retries included, once the answer's headers are in.
pub trait Observer: Send + Sync {
    /// One exchange.
    fn observe(&self, exchange: &Exchange<'_>);

    /// Whether [`observe_body`](Observer::observe_body) should be called. The client then keeps a copy of
    /// each body as it is read, so the default is `false`.
    fn wants_bodies(&self) -> bool {
        false
    }

    /// A response body, byte for byte, once whoever reads it (the generated client or the caller) has read
    /// it to its end within the limit. Bodies never read, or cut short by an error, are not reported. Use it
    /// to record or print the body as the server sent it (key order included), which a decoded typed value
    /// does not keep.
    fn observe_body(&self, _body: &ResponseBody<'_>) {}
}
