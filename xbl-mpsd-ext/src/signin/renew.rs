//! Keeping the XSTS token fresh: renewal before it expires and once after a 401 (the user path and the
//! title path with its device token and SISU), storing whatever was obtained in the cache.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};

use super::cache::{self, Credentials, DeviceCredentials, MsaTokens, XstsCredentials};
use super::{CacheError, CachedSignIn, ProofKey, SignInError, XErr, XboxSignIn, wire};
use crate::auth::{AuthError, TokenFuture, TokenProvider, XblToken};

/// Tokens are renewed this long before `NotAfter` (go-xsapi uses one minute).
const RENEW_MARGIN: TimeDelta = TimeDelta::seconds(60);

impl XboxSignIn {
    /// The current XSTS token, renewed when it expires within a minute.
    ///
    /// # Errors
    ///
    /// [`SignInError::SignInRequired`] when there is no sign-in or it can no longer be refreshed, an Xbox
    /// Live refusal, a transport or cache error.
    pub fn xsts_token(&self) -> impl Future<Output = Result<XblToken, SignInError>> + Send + '_ {
        crate::sending::boxed(async move {
            let mut state = self.inner.state.lock().await;
            let now = self.now();
            if let Some(x) = &state.xsts
                && valid(&x.token, now)
            {
                return header(x);
            }
            self.renew(&mut state).await
        })
    }

    /// A new XSTS token, unless the current one already differs from `rejected` (another task renewed it).
    ///
    /// # Errors
    ///
    /// As [`xsts_token`](Self::xsts_token).
    pub fn renew_after_rejection<'a>(
        &'a self,
        rejected: &'a XblToken,
    ) -> impl Future<Output = Result<XblToken, SignInError>> + Send + 'a {
        crate::sending::boxed(async move {
            let mut state = self.inner.state.lock().await;
            if let Some(x) = &state.xsts {
                let current = header(x)?;
                if current != *rejected && valid(&x.token, self.now()) {
                    return Ok(current);
                }
            }
            state.xsts = None;
            tracing::debug!("renewing the XSTS token after the service rejected it");
            self.renew(&mut state).await
        })
    }

    /// Gets a new XSTS token (and whatever it needs), stores the result, returns the header.
    pub(super) async fn renew(&self, state: &mut Credentials) -> Result<XblToken, SignInError> {
        let result = if self.inner.config.title.is_some() {
            self.renew_title(state).await
        } else {
            self.renew_user(state).await
        };
        // Store whatever was obtained (a rotated refresh token above all), even when a later step failed.
        self.save(state)?;
        let xsts = result?;
        header(&xsts)
    }

    fn save(&self, state: &Credentials) -> Result<(), SignInError> {
        if let Some(cache) = &self.inner.cache
            && state.msa.is_some()
        {
            cache.save(&CachedSignIn {
                config: self.inner.config.clone(),
                credentials: state.clone(),
            })?;
        }
        Ok(())
    }

    /// A valid Microsoft account access token, refreshing it (and storing the rotated refresh token).
    async fn msa_access_token(
        &self,
        state: &mut Credentials,
        force: bool,
    ) -> Result<String, SignInError> {
        let msa = state
            .msa
            .as_ref()
            .ok_or_else(|| SignInError::SignInRequired {
                reason: "no Microsoft account sign-in".to_owned(),
            })?;
        if !force && msa.expires_at - RENEW_MARGIN > self.now() {
            return Ok(msa.access_token.clone());
        }
        let refresh_token =
            msa.refresh_token
                .clone()
                .ok_or_else(|| SignInError::SignInRequired {
                    reason: "the Microsoft account token expired and there is no refresh token"
                        .to_owned(),
                })?;
        let config = &self.inner.config;
        let answer = wire::post_form(
            &self.inner.http,
            "token",
            &config.endpoints.msa,
            "/oauth20_token.srf",
            &[
                ("client_id", config.client_id.as_str()),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
                ("scope", config.scope.as_str()),
            ],
        )
        .await?;
        if answer.status != 200 {
            let e = wire::oauth_error("token", &answer)?;
            if e.error == "invalid_grant" {
                state.msa = None;
                return Err(SignInError::SignInRequired {
                    reason: "the Microsoft account refresh token was rejected".to_owned(),
                });
            }
            return Err(SignInError::OAuth {
                error: e.error,
                description: e.error_description,
            });
        }
        let tokens: wire::TokenAnswer = wire::parse("token", &answer)?;
        let access = tokens.access_token.clone();
        state.msa = Some(MsaTokens {
            access_token: tokens.access_token,
            expires_at: wire::expiry(self.now(), tokens.expires_in),
            // Refresh tokens rotate: keep the newest; keep the old one if none came back.
            refresh_token: tokens.refresh_token.or(Some(refresh_token)),
        });
        self.save(state)?;
        Ok(access)
    }

    /// A valid user token: the cached one, or a new one (refreshing the account token once if the
    /// service rejects it).
    async fn user_token(&self, state: &mut Credentials) -> Result<String, SignInError> {
        if let Some(user) = &state.user_token
            && valid(user, self.now())
        {
            return Ok(user.token.clone());
        }
        let access = self.msa_access_token(state, false).await?;
        let user = match wire::user_token(&self.inner.http, &self.inner.config, &access).await {
            Err(e) if is_stale(&e) => {
                let access = self.msa_access_token(state, true).await?;
                wire::user_token(&self.inner.http, &self.inner.config, &access).await?
            }
            other => other?,
        };
        let token = user.token.clone();
        state.user_token = Some(user);
        Ok(token)
    }

    async fn renew_user(&self, state: &mut Credentials) -> Result<XstsCredentials, SignInError> {
        let cached_user = state
            .user_token
            .as_ref()
            .is_some_and(|u| valid(u, self.now()));
        let user = self.user_token(state).await?;
        let xsts = match wire::xsts_token(&self.inner.http, &self.inner.config, &user, None, None)
            .await
        {
            Err(e) if cached_user && is_stale(&e) => {
                state.user_token = None;
                let user = self.user_token(state).await?;
                wire::xsts_token(&self.inner.http, &self.inner.config, &user, None, None).await?
            }
            other => other?,
        };
        state.xsts = Some(xsts.clone());
        Ok(xsts)
    }

    /// The device key and a valid device token bound to it (a new key only when none is stored).
    async fn device(&self, state: &mut Credentials) -> Result<(ProofKey, String), SignInError> {
        let stored = state.device.as_ref();
        let key = match stored.and_then(|d| URL_SAFE_NO_PAD.decode(&d.proof_key).ok()) {
            Some(bytes) => ProofKey::from_secret_bytes(&bytes).map_err(|e| {
                SignInError::Cache(CacheError::Corrupt {
                    path: self
                        .inner
                        .cache
                        .as_ref()
                        .map(|c| c.path().to_path_buf())
                        .unwrap_or_default(),
                    reason: e.to_string(),
                })
            })?,
            None => ProofKey::generate(),
        };
        if let Some(token) = stored.and_then(|d| d.token.as_ref())
            && valid(token, self.now())
        {
            return Ok((key, token.token.clone()));
        }
        let token = wire::device_token(
            &self.inner.http,
            &self.inner.config,
            &key,
            // Signatures carry the real time: the service checks it against its clock.
            SystemTime::now(),
        )
        .await?;
        let value = token.token.clone();
        state.device = Some(DeviceCredentials {
            proof_key: URL_SAFE_NO_PAD.encode(key.secret_bytes()),
            token: Some(token),
        });
        Ok((key, value))
    }

    async fn renew_title(&self, state: &mut Credentials) -> Result<XstsCredentials, SignInError> {
        let (key, device) = self.device(state).await?;
        let now = self.now();
        // With valid user and title tokens, XSTS alone is renewed.
        if let (Some(user), Some(title)) = (&state.user_token, &state.title_token)
            && valid(user, now)
            && valid(title, now)
        {
            let (user, title) = (user.token.clone(), title.token.clone());
            match wire::xsts_token(
                &self.inner.http,
                &self.inner.config,
                &user,
                Some(device.as_str()),
                Some(title.as_str()),
            )
            .await
            {
                Ok(xsts) => {
                    state.xsts = Some(xsts.clone());
                    return Ok(xsts);
                }
                Err(e) if is_stale(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let access = self.msa_access_token(state, false).await?;
        let sisu = wire::sisu_authorize(
            &self.inner.http,
            &self.inner.config,
            &access,
            &device,
            &key,
            // Signatures carry the real time: the service checks it against its clock.
            SystemTime::now(),
        )
        .await?;
        state.user_token = Some(sisu.user);
        state.title_token = Some(sisu.title);
        state.xsts = Some(sisu.xsts.clone());
        Ok(sisu.xsts)
    }
}

/// Valid for at least [`RENEW_MARGIN`] more.
fn valid(token: &cache::XToken, now: DateTime<Utc>) -> bool {
    token.not_after - RENEW_MARGIN > now
}

/// A refusal that a fresh input token may fix: 401 without a code, or an expired/invalid token code.
fn is_stale(e: &SignInError) -> bool {
    match e {
        SignInError::Refused { status, .. } => *status == 401,
        SignInError::Xbox { xerr, .. } => matches!(xerr, XErr::StaleToken(_)),
        _ => false,
    }
}

fn header(x: &XstsCredentials) -> Result<XblToken, SignInError> {
    XblToken::new(x.user_hash.clone(), &x.token.token).map_err(|e| SignInError::InvalidResponse {
        endpoint: "xsts",
        reason: e.to_string(),
    })
}

impl TokenProvider for XboxSignIn {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move { self.xsts_token().await.map_err(AuthError::provider) })
    }

    fn refresh<'a>(&'a self, rejected: &'a XblToken) -> TokenFuture<'a> {
        Box::pin(async move {
            self.renew_after_rejection(rejected)
                .await
                .map_err(AuthError::provider)
        })
    }
}
