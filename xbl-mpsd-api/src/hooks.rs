//! Request hooks: what every generated call does before it is sent.
//!
//! progenitor's `ClientHooks` can only be implemented in the crate that holds the generated `Client` (the
//! orphan rule), so it lives here. Each [`Client`] carries a [`Hooks`] value (its progenitor "inner type"),
//! which holds the optional [`Authorizer`] that supplies `Authorization` for every request, the optional
//! [`Observer`](crate::Observer) told of every HTTP exchange (for logs, metrics or a transcript) and the limit on response
//! bodies (see [`crate::body_limit`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::body_limit::{BodyTap, DEFAULT_MAX_RESPONSE_BYTES, limit_response};
use crate::observer::{Exchange, Observer};
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
