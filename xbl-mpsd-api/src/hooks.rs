//! Request hooks: what every generated call does before it is sent.
//!
//! progenitor's `ClientHooks` can only be implemented in the crate that holds the generated `Client` (the
//! orphan rule), so it lives here. Each [`Client`] carries a [`Hooks`] value (its progenitor "inner type"),
//! which holds the optional [`Authorizer`] that supplies `Authorization` for every request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::{Client, Error};

/// The future an [`Authorizer`] returns.
pub type AuthorizationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HeaderValue, AuthorizationError>> + Send + 'a>>;

/// Supplies the `Authorization` header value of each request, e.g. `XBL3.0 x=<userhash>;<token>` from a
/// token that may be refreshed between requests.
pub trait Authorizer: Send + Sync {
    /// The header value for the next request. Mark it sensitive (`HeaderValue::set_sensitive`).
    fn authorization(&self) -> AuthorizationFuture<'_>;
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
#[derive(Clone, Default)]
pub struct Hooks {
    authorizer: Option<Arc<dyn Authorizer>>,
}

impl Hooks {
    /// Hooks that authorize every request with `authorizer`.
    pub fn with_authorizer(authorizer: Arc<dyn Authorizer>) -> Self {
        Self {
            authorizer: Some(authorizer),
        }
    }

    /// The authorizer, if any.
    pub fn authorizer(&self) -> Option<&Arc<dyn Authorizer>> {
        self.authorizer.as_ref()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorizer", &self.authorizer.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    /// Sets `Authorization` from the [`Authorizer`] (unless the request already has one) and removes
    /// progenitor's `api-version` header, which MPSD does not know (its version header is
    /// `X-Xbl-Contract-Version`): the client sends only what XSAPI sends.
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove("api-version");
        if let Some(authorizer) = &self.inner.authorizer
            && !request.headers().contains_key(AUTHORIZATION)
        {
            let value = authorizer
                .authorization()
                .await
                .map_err(|e| Error::Custom(format!("{AUTHORIZATION_FAILED}{e}")))?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Ok(())
    }
}
