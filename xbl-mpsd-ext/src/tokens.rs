//! The client's tokens: the provider, the token that replaced a rejected one after a refresh, and the
//! [`Authorizer`] that gives the generated client the `Authorization` of each request from them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::HeaderValue;
use xbl_mpsd_api::{AuthorizationError, AuthorizationFuture, Authorizer};

use crate::auth::{AuthError, TokenProvider, XblToken};

/// The client's tokens: the provider, and the token that replaced a rejected one.
pub(crate) struct Tokens {
    pub(crate) provider: Arc<dyn TokenProvider>,
    /// After a refresh: (the provider's token that was rejected, the token `refresh` returned). While the
    /// provider's `token()` still returns the rejected token (a provider that does not cache what it
    /// refreshed), the replacement is sent instead.
    replaced: Mutex<Option<(XblToken, XblToken)>>,
    /// Whether `replaced` has ever been set: until a refresh, the lock is not taken per request.
    any_replaced: AtomicBool,
}

impl Tokens {
    /// Tokens from `provider`, none replaced yet.
    pub(crate) fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self {
            provider,
            replaced: Mutex::new(None),
            any_replaced: AtomicBool::new(false),
        }
    }

    fn replacement_for(&self, token: &XblToken) -> Option<XblToken> {
        if !self.any_replaced.load(Ordering::Acquire) {
            return None;
        }
        let replaced = self.replaced.lock().unwrap_or_else(PoisonError::into_inner);
        match &*replaced {
            Some((rejected, fresh)) if rejected == token => Some(fresh.clone()),
            _ => None,
        }
    }

    /// The token to send when the provider has it at hand ([`TokenProvider::token_ready`]).
    fn current_ready(&self) -> Option<XblToken> {
        let token = self.provider.token_ready()?;
        Some(self.replacement_for(&token).unwrap_or(token))
    }

    /// The provider's token: the one at hand, else the awaited one.
    async fn provided(&self) -> Result<XblToken, AuthError> {
        match self.provider.token_ready() {
            Some(token) => Ok(token),
            None => self.provider.token().await,
        }
    }

    /// The token to send: the provider's, unless it is one a refresh replaced.
    pub(crate) async fn current(&self) -> Result<XblToken, AuthError> {
        let token = self.provided().await?;
        Ok(self.replacement_for(&token).unwrap_or(token))
    }

    /// Asks the provider for a new token after a 401 and keeps it for the next requests. `Ok(false)`
    /// when the provider cannot refresh.
    pub(crate) async fn refresh(&self) -> Result<bool, AuthError> {
        let provided = self.provided().await?;
        let rejected = self
            .replacement_for(&provided)
            .unwrap_or_else(|| provided.clone());
        match self.provider.refresh(&rejected).await {
            Ok(fresh) => {
                let mut replaced = self.replaced.lock().unwrap_or_else(PoisonError::into_inner);
                *replaced = (fresh != provided).then_some((provided, fresh));
                if replaced.is_some() {
                    self.any_replaced.store(true, Ordering::Release);
                }
                Ok(true)
            }
            Err(AuthError::RefreshUnsupported) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Supplies `Authorization` to the generated client from the client's [`Tokens`].
pub(crate) struct TokenAuthorizer(pub(crate) Arc<Tokens>);

impl Authorizer for TokenAuthorizer {
    fn authorization(&self) -> AuthorizationFuture<'_> {
        Box::pin(async move {
            self.0
                .current()
                .await
                .map(|token| token.into_authorization())
                .map_err(|e| AuthorizationError(e.to_string()))
        })
    }

    fn ready_authorization(&self) -> Option<Result<HeaderValue, AuthorizationError>> {
        self.0
            .current_ready()
            .map(|token| Ok(token.into_authorization()))
    }
}
