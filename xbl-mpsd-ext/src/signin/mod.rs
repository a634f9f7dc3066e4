//! Xbox Live sign-in (feature `signin`): a [`TokenProvider`](crate::auth::TokenProvider) that signs a user in
//! with the Microsoft account device-code flow and keeps an XSTS token fresh.
//!
//! The user-only path: device code → Microsoft account token → user token (`user/authenticate`) → XSTS
//! (`xsts/authorize`, relying party `http://xboxlive.com`, sandbox `RETAIL`). The title path
//! ([`SignInConfig::title_auth`]) adds a device token bound to a persisted P-256 key and SISU authorize,
//! with signed requests ([`signing`]). Tokens are renewed before they expire and once after the service
//! answers 401; the Microsoft account refresh token rotates and the newest one is stored in the
//! [`TokenCache`]. Every endpoint is configurable ([`Endpoints`]), so the emulator's sign-in mock can
//! stand in for the real services.
//!
//! What it leaves to others: the browser (authorization-code) flow, clock-skew correction from `Date`
//! headers, and signing MPSD calls (not needed by the service in practice).
//!
//! ```
//! use xbl_mpsd_ext::MpsdClient;
//! use xbl_mpsd_ext::signin::{Endpoints, SignInConfig, TokenCache, XboxSignIn};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
//! # let mock_url = emulator.base_url();
//! # let dir = tempfile::tempdir()?;
//! # let cache_path = dir.path().join("signin.json");
//! // The emulator's sign-in mock stands in for login.live.com and the Xbox auth services.
//! let config = SignInConfig::new("000000004c20a908").endpoints(Endpoints::all_at(&mock_url));
//! let sign_in = XboxSignIn::builder(config).cache(TokenCache::new(&cache_path)).build()?;
//! let account = sign_in
//!     .sign_in(|code| println!("Open {} and enter {}", code.verification_uri(), code.user_code()))
//!     .await?;
//! println!("signed in as {:?}", account.gamertag);
//!
//! let client = MpsdClient::builder().base_url(&mock_url).token_provider(sign_in).build()?;
//! # let _ = client;
//! # Ok(()) }
//! ```

mod cache;
mod config;
mod error;
mod renew;
pub mod signing;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

pub use cache::{CACHE_VERSION, CachedSignIn, TokenCache};
pub use config::{
    DEFAULT_CLIENT_ID, DEFAULT_RELYING_PARTY, DEFAULT_SANDBOX, Endpoints,
    MINECRAFT_ANDROID_CLIENT_ID, SCOPE_MBI_SSL, SCOPE_XBOXLIVE_SIGNIN, SignInConfig, TicketPrefix,
    TitleAuth,
};
pub use error::{CacheError, SignInError, XErr};
pub use signing::ProofKey;

use crate::time::{Clock, TokioClock};
use cache::{Credentials, MsaTokens, XstsCredentials};
use wire::DEVICE_CODE_GRANT;

/// How much `slow_down` adds to the polling interval (RFC 8628 §3.5).
const SLOW_DOWN: Duration = Duration::from_secs(5);

/// The signed-in user, from the XSTS token's display claims. Holds no token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The XUID (`xid`; present for relying party `http://xboxlive.com`).
    pub xuid: Option<crate::Xuid>,
    /// The gamertag (`gtg`).
    pub gamertag: Option<String>,
    /// The user hash (`uhs`) sent in `XBL3.0 x=<uhs>;…`.
    pub user_hash: String,
    /// The age group (`agg`): `Adult`, `Teen`, `Child`.
    pub age_group: Option<String>,
    /// Privilege IDs (`prv`), e.g. 254 multiplayer.
    pub privileges: Vec<u32>,
    /// When the XSTS token expires (it is renewed automatically before then).
    pub expires: DateTime<Utc>,
}

impl Account {
    fn from_xsts(x: &XstsCredentials) -> Self {
        Self {
            xuid: x.xuid.as_deref().and_then(|x| x.parse().ok()),
            gamertag: x.gamertag.clone(),
            user_hash: x.user_hash.clone(),
            age_group: x.age_group.clone(),
            privileges: x
                .privileges
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect(),
            expires: x.token.not_after,
        }
    }
}

/// A started device-code sign-in: show [`verification_uri`](Self::verification_uri) and
/// [`user_code`](Self::user_code) to the user, then pass it to [`XboxSignIn::complete`].
#[derive(Clone)]
pub struct DeviceCode {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_at: DateTime<Utc>,
    interval: Duration,
}

impl DeviceCode {
    /// Where the user signs in.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// The code the user enters there.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// When the code stops working.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The polling interval the service asked for.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCode")
            .field("verification_uri", &self.verification_uri)
            .field("user_code", &self.user_code)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .field("device_code", &format_args!("<redacted>"))
            .finish()
    }
}

/// Builds an [`XboxSignIn`].
pub struct XboxSignInBuilder {
    config: SignInConfig,
    cache: Option<TokenCache>,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
}

impl XboxSignInBuilder {
    /// Persists the sign-in in `cache` and resumes the one stored there when it was made with the same
    /// configuration.
    pub fn cache(mut self, cache: TokenCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The clock used for expiry and polling (tests pass a `FakeClock`, feature `test-util`). Request
    /// signatures always carry the system time, which the service checks.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client (default: reqwest on rustls, 30 s timeout).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the provider, reading the cache.
    ///
    /// # Errors
    ///
    /// An invalid configuration, or a cache file that cannot be read or is not a token cache.
    pub fn build(self) -> Result<XboxSignIn, SignInError> {
        self.config.validate()?;
        let credentials = match &self.cache {
            Some(cache) => cache
                .load()?
                .filter(|stored| stored.config == self.config)
                .map(|stored| stored.credentials)
                .unwrap_or_default(),
            None => Credentials::default(),
        };
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .connect_timeout(Duration::from_secs(10))
                .user_agent(crate::DEFAULT_USER_AGENT)
                .build()
                .map_err(|e| SignInError::Config(format!("HTTP client: {e}")))?,
        };
        Ok(XboxSignIn {
            inner: Arc::new(Inner {
                config: self.config,
                cache: self.cache,
                clock: self.clock,
                http,
                state: Mutex::new(credentials),
            }),
        })
    }
}

/// Signs a user in to Xbox Live and supplies fresh XSTS tokens: a [`TokenProvider`](crate::auth::TokenProvider) for
/// [`MpsdClient`](crate::MpsdClient). Cheap to clone (shared state); `Debug` shows no token.
///
/// [`token`](crate::auth::TokenProvider::token) returns the cached XSTS token, renewing it (and, as needed, the user
/// token and the Microsoft account token) when it expires within a minute.
/// [`refresh`](crate::auth::TokenProvider::refresh), called after a 401, renews it once even if it looks valid.
#[derive(Clone)]
pub struct XboxSignIn {
    inner: Arc<Inner>,
}

struct Inner {
    config: SignInConfig,
    cache: Option<TokenCache>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    state: Mutex<Credentials>,
}

impl fmt::Debug for XboxSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XboxSignIn")
            .field("config", &self.inner.config)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

impl XboxSignIn {
    /// A builder for `config`.
    pub fn builder(config: SignInConfig) -> XboxSignInBuilder {
        XboxSignInBuilder {
            config,
            cache: None,
            clock: Arc::new(TokioClock),
            http: None,
        }
    }

    /// The sign-in stored in `cache`, with the configuration it was made with; `None` when the file does
    /// not exist.
    ///
    /// # Errors
    ///
    /// The file cannot be read or is not a token cache.
    pub fn from_cache(cache: TokenCache) -> Result<Option<Self>, SignInError> {
        let Some(stored) = cache.load()? else {
            return Ok(None);
        };
        Self::builder(stored.config).cache(cache).build().map(Some)
    }

    /// The configuration.
    pub fn config(&self) -> &SignInConfig {
        &self.inner.config
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(self.inner.clock.system_time())
    }

    /// The signed-in account, if a sign-in completed (its token may need renewing).
    pub fn account(&self) -> impl Future<Output = Option<Account>> + Send + '_ {
        crate::sending::boxed(async move {
            self.inner
                .state
                .lock()
                .await
                .xsts
                .as_ref()
                .map(Account::from_xsts)
        })
    }

    /// Starts a device-code sign-in.
    ///
    /// # Errors
    ///
    /// The Microsoft account service refused the client ID or scope, or could not be reached.
    pub fn start(&self) -> impl Future<Output = Result<DeviceCode, SignInError>> + Send + '_ {
        crate::sending::boxed(async move {
            let config = &self.inner.config;
            let answer = wire::post_form(
                &self.inner.http,
                "device authorization",
                &config.endpoints.msa,
                "/oauth20_connect.srf",
                &[
                    ("client_id", config.client_id.as_str()),
                    ("scope", config.scope.as_str()),
                    ("response_type", "device_code"),
                ],
            )
            .await?;
            if answer.status != 200 {
                let e = wire::oauth_error("device authorization", &answer)?;
                return Err(SignInError::OAuth {
                    error: e.error,
                    description: e.error_description,
                });
            }
            let auth: wire::DeviceAuthorization = wire::parse("device authorization", &answer)?;
            Ok(DeviceCode {
                device_code: auth.device_code,
                user_code: auth.user_code,
                verification_uri: auth.verification_uri,
                expires_at: wire::expiry(self.now(), auth.expires_in),
                interval: wire::interval(auth.interval),
            })
        })
    }

    /// Waits for the user to enter `code`, then gets the Xbox Live tokens and stores the sign-in.
    ///
    /// Polls at the interval the service asked for, waiting 5 s longer after each `slow_down`.
    ///
    /// # Errors
    ///
    /// [`SignInError::DeviceCodeExpired`], [`SignInError::Declined`], an Xbox Live refusal
    /// ([`SignInError::Xbox`] with the [`XErr`] and what to do), a transport or cache error.
    pub fn complete<'a>(
        &'a self,
        code: &'a DeviceCode,
    ) -> impl Future<Output = Result<Account, SignInError>> + Send + 'a {
        crate::sending::boxed(async move {
            let config = &self.inner.config;
            let mut interval = code.interval;
            let tokens = loop {
                if self.now() >= code.expires_at {
                    return Err(SignInError::DeviceCodeExpired);
                }
                let answer = wire::post_form(
                    &self.inner.http,
                    "token",
                    &config.endpoints.msa,
                    "/oauth20_token.srf",
                    &[
                        ("client_id", config.client_id.as_str()),
                        ("grant_type", DEVICE_CODE_GRANT),
                        ("device_code", code.device_code.as_str()),
                    ],
                )
                .await?;
                if answer.status == 200 {
                    break wire::parse::<wire::TokenAnswer>("token", &answer)?;
                }
                let e = wire::oauth_error("token", &answer)?;
                match e.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" => interval = interval.saturating_add(SLOW_DOWN),
                    "expired_token" => return Err(SignInError::DeviceCodeExpired),
                    "access_denied" | "authorization_declined" => {
                        return Err(SignInError::Declined);
                    }
                    _ => {
                        return Err(SignInError::OAuth {
                            error: e.error,
                            description: e.error_description,
                        });
                    }
                }
                tracing::debug!(error = %e.error, ?interval, "waiting for the user to sign in");
                self.inner.clock.sleep(interval).await;
            };
            let mut state = self.inner.state.lock().await;
            // A new sign-in replaces everything but the device key (the device token stays bound to it).
            let device = state.device.take();
            *state = Credentials {
                msa: Some(MsaTokens {
                    access_token: tokens.access_token,
                    expires_at: wire::expiry(self.now(), tokens.expires_in),
                    refresh_token: tokens.refresh_token,
                }),
                device,
                ..Credentials::default()
            };
            self.renew(&mut state).await?;
            state
                .xsts
                .as_ref()
                .map(Account::from_xsts)
                .ok_or_else(|| SignInError::SignInRequired {
                    reason: "no XSTS token after sign-in".to_owned(),
                })
        })
    }

    /// [`start`](Self::start), `show(code)`, then [`complete`](Self::complete).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start) and [`complete`](Self::complete).
    pub async fn sign_in(&self, show: impl FnOnce(&DeviceCode)) -> Result<Account, SignInError> {
        let code = self.start().await?;
        show(&code);
        self.complete(&code).await
    }

    /// Forgets the sign-in and deletes the cache file. `Ok(false)` when there was no file.
    ///
    /// # Errors
    ///
    /// The cache file is not a token cache (it is left as it is) or cannot be removed.
    pub fn sign_out(&self) -> impl Future<Output = Result<bool, SignInError>> + Send + '_ {
        crate::sending::boxed(async move {
            *self.inner.state.lock().await = Credentials::default();
            match &self.inner.cache {
                Some(cache) => Ok(cache.remove()?),
                None => Ok(false),
            }
        })
    }
}
