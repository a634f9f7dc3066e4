//! The one call policy of a client: retries per the [`RetryPolicy`] when the [`RetryMode`] allows, and after a
//! 401 one token refresh, then one repeat when the mode allows retries. It runs in two places, with one
//! implementation ([`CallPolicy::run`]):
//!
//! * the typed helpers and [`MpsdClient::operation`](crate::MpsdClient::operation) run each attempt (request and
//!   decoding) through it, with the mode the call chose (a write only on opt-in);
//! * the generated client that [`MpsdClient::api`](crate::MpsdClient::api) returns — and so the CLI's generated
//!   commands — runs each request through it as its [`ExecPolicy`]: the mode comes from the operation's
//!   generated idempotency (`GET`, `DELETE`, `x-idempotent: true` are retried; a write is sent once).
//!
//! The helpers use a generated client without the exec policy, so a request is never retried twice over.

use std::future::Future;
use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use xbl_mpsd_api::{ExecFuture, ExecPolicy, SendOnce};

use crate::auth::AuthError;
use crate::error::Error;
use crate::retry::{Classification, RetryMode, RetryPolicy};
use crate::time::Clock;
use crate::tokens::Tokens;

/// What one attempt gave, as far as the policy is concerned.
pub(crate) trait Outcome: Sized {
    /// `None` for a success; else what kind of failure it is (retried if the policy retries it).
    fn failure(&self) -> Option<Classification>;
    /// Whether the service refused the token (401).
    fn is_unauthorized(&self) -> bool;
    /// This outcome, when refreshing the token after it failed with `error`.
    fn refresh_failed(self, error: AuthError) -> Self;
}

impl<T> Outcome for Result<T, Error> {
    fn failure(&self) -> Option<Classification> {
        self.as_ref().err().map(Error::classification)
    }

    fn is_unauthorized(&self) -> bool {
        matches!(self, Err(Error::AccessDenied { status, .. }) if *status == StatusCode::UNAUTHORIZED)
    }

    fn refresh_failed(self, error: AuthError) -> Self {
        match self {
            Err(Error::AccessDenied { message, .. }) => Err(Error::Authorization(format!(
                "the service refused the token ({message}) and refreshing it failed: {error}"
            ))),
            other => other,
        }
    }
}

/// One HTTP exchange of the generated client: an error status is a failure too.
impl Outcome for reqwest::Result<reqwest::Response> {
    fn failure(&self) -> Option<Classification> {
        match self {
            Err(error) => Some(Classification::from_reqwest_error(error)),
            Ok(response)
                if response.status().is_client_error() || response.status().is_server_error() =>
            {
                Some(Classification::from_response(
                    response.status(),
                    response.headers(),
                ))
            }
            Ok(_) => None,
        }
    }

    fn is_unauthorized(&self) -> bool {
        matches!(self, Ok(response) if response.status() == StatusCode::UNAUTHORIZED)
    }

    /// The 401 stays the answer (the caller reads the service's message from it).
    fn refresh_failed(self, error: AuthError) -> Self {
        tracing::debug!(%error, "refreshing the token after a 401 failed");
        self
    }
}

/// A client's retry policy, clock and tokens.
pub(crate) struct CallPolicy {
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: Option<Arc<Tokens>>,
}

impl CallPolicy {
    /// Runs one logical call: `attempt(after_refresh)` makes one attempt anew each time (`after_refresh`:
    /// the token was just refreshed). Retries per the policy when `mode` allows; after a 401 asks the token
    /// provider for a fresh token and, when `mode` allows retries, repeats the attempt once with it.
    pub(crate) async fn run<O, F, Fut>(&self, mode: RetryMode, attempt: F) -> O
    where
        O: Outcome,
        F: Fn(bool) -> Fut,
        Fut: Future<Output = O>,
    {
        let with_refresh = || async {
            let outcome = attempt(false).await;
            if !outcome.is_unauthorized() {
                return outcome;
            }
            match self.refresh_after_401(outcome, mode).await {
                Ok(done) => done,
                Err(_) => attempt(true).await,
            }
        };
        let result = self
            .retry
            .run(
                &*self.clock,
                mode,
                || async {
                    let outcome = with_refresh().await;
                    match outcome.failure() {
                        Some(_) => Err(outcome),
                        None => Ok(outcome),
                    }
                },
                |outcome: &O| outcome.failure().unwrap_or(Classification::Permanent),
            )
            .await;
        match result {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    /// After `outcome`, a 401: refreshes the token. `Err` when the call may be repeated with the new token
    /// (`mode` allows it and the provider gave one), `Ok` with what the call ends with otherwise.
    async fn refresh_after_401<O: Outcome>(&self, outcome: O, mode: RetryMode) -> Result<O, O> {
        match self.refresh_token().await {
            Ok(true) if mode.allows_retry() => Err(outcome),
            Ok(_) => Ok(outcome),
            Err(e) => Ok(outcome.refresh_failed(e)),
        }
    }

    /// Asks the provider for a new token after a 401; the next requests (the repeat included) send the
    /// token `refresh` returned. `Ok(false)` when there is no provider or it cannot refresh.
    pub(crate) async fn refresh_token(&self) -> Result<bool, AuthError> {
        match &self.tokens {
            Some(tokens) => tokens.refresh().await,
            None => Ok(false),
        }
    }

    /// A random sample in `[0, 1)` from the policy's jitter.
    pub(crate) fn jitter_sample(&self) -> f64 {
        self.retry.jitter_sample()
    }
}

/// The generated client's requests through the same policy: retried when their operation is idempotent,
/// repeated once with a refreshed token after a 401 when so, sent once otherwise.
impl ExecPolicy for CallPolicy {
    fn execute<'a>(
        &'a self,
        request: reqwest::Request,
        idempotent: bool,
        send: &'a SendOnce<'a>,
    ) -> ExecFuture<'a> {
        Box::pin(async move {
            if !idempotent {
                // Sent once (repeating a write could apply it twice), so there is nothing to copy for a
                // repeat; a 401 still refreshes the token for the next requests.
                let outcome = send(request).await;
                if !outcome.is_unauthorized() {
                    return outcome;
                }
                let (Ok(outcome) | Err(outcome)) = self
                    .refresh_after_401(outcome, RetryMode::NonIdempotent)
                    .await;
                return outcome;
            }
            // A body that is not in memory (a stream) cannot be sent again.
            let Some(template) = Template::of(&request) else {
                return send(request).await;
            };
            drop(request);
            let template = &template;
            self.run(RetryMode::Idempotent, |after_refresh| async move {
                let mut copy = template.request();
                if after_refresh
                    && copy.headers().contains_key(AUTHORIZATION)
                    && let Some(tokens) = &self.tokens
                    && let Ok(token) = tokens.current().await
                {
                    copy.headers_mut()
                        .insert(AUTHORIZATION, token.into_authorization());
                }
                send(copy).await
            })
            .await
        })
    }
}

/// What a request is made of, to make it again for each attempt.
struct Template {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    timeout: Option<std::time::Duration>,
    version: reqwest::Version,
    body: Option<bytes::Bytes>,
}

impl Template {
    /// `request`'s parts; `None` when its body is not in memory.
    fn of(request: &reqwest::Request) -> Option<Self> {
        let body = match request.body() {
            None => None,
            Some(body) => Some(bytes::Bytes::copy_from_slice(body.as_bytes()?)),
        };
        Some(Self {
            method: request.method().clone(),
            url: request.url().clone(),
            headers: request.headers().clone(),
            timeout: request.timeout().copied(),
            version: request.version(),
            body,
        })
    }

    /// A new request with these parts (the body shared, not copied).
    fn request(&self) -> reqwest::Request {
        let mut request = reqwest::Request::new(self.method.clone(), self.url.clone());
        *request.headers_mut() = self.headers.clone();
        *request.timeout_mut() = self.timeout;
        *request.version_mut() = self.version;
        *request.body_mut() = self.body.clone().map(reqwest::Body::from);
        request
    }
}
