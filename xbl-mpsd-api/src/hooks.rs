//! Request hooks: what every generated call does before it is sent.
//!
//! progenitor's `ClientHooks` can only be implemented in the crate that holds the generated `Client` (the
//! orphan rule), so it lives here. Each [`Client`] carries a [`Hooks`] value (its progenitor "inner type"),
//! which holds the optional [`Authorizer`] that supplies `Authorization` for every request, the optional
//! [`Observer`](crate::Observer) told of every HTTP exchange (for logs, metrics or a transcript), the limit on response
//! bodies (see [`crate::body_limit`]) and the optional [`ExecPolicy`] that may send a request again (retries,
//! a repeat after a token refresh), told whether the operation is safe to repeat.

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

/// The future an [`ExecPolicy`] and its `send` return: the answer of one request.
pub type ExecFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a>>;

/// One HTTP exchange as the client makes it (body limit, observer): what an [`ExecPolicy`] calls per attempt.
pub type SendOnce<'a> = dyn Fn(reqwest::Request) -> ExecFuture<'a> + Send + Sync + 'a;

/// Decides how a request of the generated client is sent: once, or again after a failure (retries, a repeat
/// with a refreshed token). The client's exec hook hands every request to it, with whether its operation is
/// idempotent (the generated [`Operation::is_idempotent`](crate::Operation::is_idempotent) of its builder,
/// which the spec's `x-idempotent` can set) and `send`, which makes one exchange. Without one, each request
/// is sent once.
pub trait ExecPolicy: Send + Sync {
    /// Sends `request` through `send` as many times as the policy wants and returns the answer to keep.
    /// `idempotent` false means the request must not be sent twice.
    fn execute<'a>(
        &'a self,
        request: reqwest::Request,
        idempotent: bool,
        send: &'a SendOnce<'a>,
    ) -> ExecFuture<'a>;
}

/// Per-client state used by the request hooks.
#[derive(Clone)]
pub struct Hooks {
    authorizer: Option<Arc<dyn Authorizer>>,
    observer: Option<Arc<dyn Observer>>,
    max_response_bytes: u64,
    exec_policy: Option<Arc<dyn ExecPolicy>>,
}

impl Default for Hooks {
    /// No authorizer, no observer, response bodies capped at [`DEFAULT_MAX_RESPONSE_BYTES`].
    fn default() -> Self {
        Self {
            authorizer: None,
            observer: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            exec_policy: None,
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

    /// These hooks, sending every request through `policy` (retries, a repeat after a token refresh).
    pub fn with_exec_policy(mut self, policy: Arc<dyn ExecPolicy>) -> Self {
        self.exec_policy = Some(policy);
        self
    }

    /// These hooks without an [`ExecPolicy`]: every request is sent once.
    pub fn without_exec_policy(mut self) -> Self {
        self.exec_policy = None;
        self
    }

    /// The exec policy, if any.
    pub fn exec_policy(&self) -> Option<&Arc<dyn ExecPolicy>> {
        self.exec_policy.as_ref()
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
            .field("exec_policy", &self.exec_policy.as_ref().map(|_| "<set>"))
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

    /// Sends the request through the [`ExecPolicy`], if any (told whether the operation is idempotent),
    /// else once. Each exchange caps the answer's body at the configured limit (whoever reads it,
    /// progenitor included, gets [`BodyTooLarge`](crate::BodyTooLarge) past it) and tells the
    /// [`Observer`], if any, what came back.
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner.exec_policy {
            None => self.exchange(request, info).await,
            Some(policy) => {
                let idempotent =
                    crate::generated_operations::is_idempotent_operation(info.operation_id);
                let send = |request| -> ExecFuture<'_> { Box::pin(self.exchange(request, info)) };
                policy.execute(request, idempotent, &send).await
            }
        }
    }
}

impl Client {
    /// One HTTP exchange: sends `request`, caps the answer's body and tells the observer.
    async fn exchange(
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
