//! Request hooks: what every generated call does before it is sent.
//!
//! progenitor's `ClientHooks` can only be implemented in the crate that holds the generated `Client` (the
//! orphan rule), so it lives here. Each [`Client`] carries a [`Hooks`] value (its progenitor "inner type"),
//! which holds the optional [`Authorizer`] that supplies `Authorization` for every request, the optional
//! [`Observer`] told of every HTTP exchange (for logs, metrics or a transcript) and the limit on response
//! bodies (see [`crate::body_limit`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::body_limit::{BodyTap, DEFAULT_MAX_RESPONSE_BYTES, limit_response};
use crate::{Client, Error};

/// The future an [`Authorizer`] returns.
pub type AuthorizationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HeaderValue, AuthorizationError>> + Send + 'a>>;

/// Supplies the `Authorization` header value of each request, e.g. `XBL3.0 x=<userhash>;<token>` from a
/// token that may be refreshed between requests.
pub trait Authorizer: Send + Sync {
    /// The header value for the next request. Mark it sensitive (`HeaderValue::set_sensitive`).
    fn authorization(&self) -> AuthorizationFuture<'_>;

    /// The header value when it is at hand without waiting (a fixed token, a cached one still fresh);
    /// `None` (the default) when [`authorization`](Authorizer::authorization) has to be awaited. The
    /// client asks this first, and awaits `authorization` only on `None`.
    fn ready_authorization(&self) -> Option<Result<HeaderValue, AuthorizationError>> {
        None
    }
}

/// Why an [`Authorizer`] could not supply a header. Its message must not contain the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationError(pub String);

impl fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AuthorizationError {}

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

/// The message prefix of the [`Error::Custom`] returned when the [`Authorizer`] fails.
pub const AUTHORIZATION_FAILED: &str = "authorization failed: ";

/// Per-client state used by the request hooks.
#[derive(Clone)]
pub struct Hooks {
    authorizer: Option<Arc<dyn Authorizer>>,
    observer: Option<Arc<dyn Observer>>,
    max_response_bytes: u64,
}

impl Default for Hooks {
    /// No authorizer, no observer, response bodies capped at [`DEFAULT_MAX_RESPONSE_BYTES`].
    fn default() -> Self {
        Self {
            authorizer: None,
            observer: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl Hooks {
    /// These hooks, authorizing every request with `authorizer`.
    pub fn with_authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// These hooks, telling `observer` of every exchange.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// These hooks, failing every response body larger than `bytes` with
    /// [`BodyTooLarge`](crate::BodyTooLarge) (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn with_max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The limit on response bodies, in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// The authorizer, if any.
    pub fn authorizer(&self) -> Option<&Arc<dyn Authorizer>> {
        self.authorizer.as_ref()
    }

    /// The observer, if any.
    pub fn observer(&self) -> Option<&Arc<dyn Observer>> {
        self.observer.as_ref()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorizer", &self.authorizer.as_ref().map(|_| "<set>"))
            .field("observer", &self.observer.as_ref().map(|_| "<set>"))
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    /// Sets `Authorization` from the [`Authorizer`] (unless the request already has one). (progenitor's
    /// `api-version` header, which MPSD does not know, is not generated: see `xtask/src/postprocess.rs`.)
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Some(authorizer) = &self.inner.authorizer
            && !request.headers().contains_key(AUTHORIZATION)
        {
            let value = match authorizer.ready_authorization() {
                Some(ready) => ready,
                None => authorizer.authorization().await,
            }
            .map_err(|e| Error::Custom(format!("{AUTHORIZATION_FAILED}{e}")))?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Ok(())
    }

    /// Sends the request, caps the answer's body at the configured limit (whoever reads it, progenitor
    /// included, gets [`BodyTooLarge`](crate::BodyTooLarge) past it) and tells the [`Observer`], if any,
    /// what came back.
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let limit = self.inner.max_response_bytes;
        let Some(observer) = &self.inner.observer else {
            return self
                .client()
                .execute(request)
                .await
                .map(|response| limit_response(response, limit, None));
        };
        let tap = observer.wants_bodies().then(|| BodyTap {
            observer: Arc::clone(observer),
            operation_id: info.operation_id,
        });
        let method = request.method().clone();
        let url = request.url();
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let started = std::time::Instant::now();
        let result = self
            .client()
            .execute(request)
            .await
            .map(|response| limit_response(response, limit, tap));
        observer.observe(&Exchange {
            operation_id: info.operation_id,
            method: &method,
            path: &path,
            outcome: result.as_ref().map(|r| (r.status(), r.headers())),
            elapsed: started.elapsed(),
        });
        result
    }
}
