//! The configured client: one obvious way to build it, and the call machinery every operation shares
//! (contract-version header, authorization, retries, a token refresh after a 401).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap, HeaderName, HeaderValue};
use url::Url;
use xbl_mpsd_api::{DEFAULT_MAX_RESPONSE_BYTES, Hooks, Observer};

use crate::auth::{StaticToken, TokenProvider, XblToken};
pub use crate::build_error::BuildError;
use crate::call_policy::CallPolicy;
use crate::contract::{self, ContractVersion, UnknownContractVersion};
use crate::error::Error;
use crate::retry::{RetryMode, RetryPolicy};
use crate::time::{Clock, TokioClock};
use crate::tokens::{TokenAuthorizer, Tokens};

/// The public MPSD host.
pub const DEFAULT_BASE_URL: &str = "https://sessiondirectory.xboxlive.com";

/// The default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("xbl-mpsd/", env!("CARGO_PKG_VERSION"));

/// Builds an [`MpsdClient`]. Every setting has a default; see [`MpsdClient::builder`].
pub struct MpsdClientBuilder {
    base_url: String,
    contract: Result<ContractVersion, UnknownContractVersion>,
    user_agent: String,
    accept_language: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    tokens: Option<Arc<dyn TokenProvider>>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn Observer>>,
    max_response_bytes: u64,
}

impl Default for MpsdClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            contract: Ok(ContractVersion::default()),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            accept_language: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            tokens: None,
            retry: RetryPolicy::default(),
            clock: Arc::new(TokioClock),
            observer: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl fmt::Debug for MpsdClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpsdClientBuilder")
            .field("base_url", &redact_userinfo(&self.base_url))
            .field("contract", &self.contract)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("tokens", &self.tokens.as_ref().map(|_| "<provider>"))
            .field("retry", &self.retry)
            .field("observer", &self.observer.as_ref().map(|_| "<observer>"))
            .finish_non_exhaustive()
    }
}

impl MpsdClientBuilder {
    /// The service's base URL (default [`DEFAULT_BASE_URL`]); e.g. a local emulator's URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The contract version sent as `X-Xbl-Contract-Version` on every request (default 107).
    pub fn contract_version(mut self, version: ContractVersion) -> Self {
        self.contract = Ok(version);
        self
    }

    /// The contract version as a number; an unknown one fails [`build`](Self::build) with an error
    /// that lists the known ones.
    pub fn contract_version_number(mut self, version: u16) -> Self {
        self.contract = ContractVersion::try_from(version);
        self
    }

    /// The `User-Agent` (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// `Accept-Language`, the locales for service strings (not sent by default).
    pub fn accept_language(mut self, locales: impl Into<String>) -> Self {
        self.accept_language = Some(locales.into());
        self
    }

    /// Time limit of one HTTP attempt, connection included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit for connecting (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Authorize every request with a fixed token.
    pub fn token(self, token: XblToken) -> Self {
        self.token_provider(StaticToken(token))
    }

    /// Authorize every request with tokens from `provider`, which may refresh them (after a 401 the
    /// client asks it for a new token once).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// The retry policy of the calls that may be retried (default: XSAPI's).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock retries sleep on (default: tokio's). Tests pass a `FakeClock` (feature `test-util`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Tells `observer` of every HTTP exchange (method, path, status, response headers — never request
    /// headers, so never the token), retries included: for logs, metrics or a transcript.
    pub fn observer(mut self, observer: impl Observer + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The most bytes of an answer's body the client reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 16 MiB — far above any MPSD document). A longer body fails the
    /// call with [`Error::ResponseTooLarge`] as soon as the limit is passed (at once when
    /// `Content-Length` declares more); the rest is never read, so a broken or hostile server cannot make
    /// the client allocate without bound. Applies to every call, [`MpsdClient::api`] included.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Builds the client. Redirects are never followed: MPSD does not redirect, and a followed redirect
    /// could replay a write to another host; a 3xx answer is [`Error::Redirect`].
    pub fn build(self) -> Result<MpsdClient, BuildError> {
        let contract = self.contract?;
        let base_url = normalize_base_url(&self.base_url)?;

        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(contract::HEADER),
            contract.header_value(),
        );
        if let Some(locales) = &self.accept_language {
            let value = HeaderValue::from_str(locales).map_err(|_| BuildError::InvalidHeader {
                name: "Accept-Language",
                value: locales.clone(),
            })?;
            headers.insert(ACCEPT_LANGUAGE, value);
        }
        HeaderValue::from_str(&self.user_agent).map_err(|_| BuildError::InvalidHeader {
            name: "User-Agent",
            value: self.user_agent.clone(),
        })?;
        let http = crate::tls::client_builder()?
            .default_headers(headers)
            .user_agent(self.user_agent)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(BuildError::Http)?;
        let tokens = self.tokens.map(|provider| Arc::new(Tokens::new(provider)));
        let mut hooks = Hooks::default().with_max_response_bytes(self.max_response_bytes);
        if let Some(tokens) = &tokens {
            hooks = hooks.with_authorizer(Arc::new(TokenAuthorizer(tokens.clone())));
        }
        if let Some(observer) = self.observer {
            hooks = hooks.with_observer(observer);
        }
        let policy = Arc::new(CallPolicy {
            retry: self.retry,
            clock: self.clock,
            tokens: tokens.clone(),
        });
        // `api()` runs each request through the call policy; the helpers, which run whole attempts through
        // it themselves, use `wire`, which sends each request once.
        let api = xbl_mpsd_api::Client::new_with_client(
            &base_url,
            http.clone(),
            hooks.clone().with_exec_policy(policy.clone()),
        );
        let wire = xbl_mpsd_api::Client::new_with_client(&base_url, http, hooks);
        Ok(MpsdClient {
            inner: Arc::new(Inner {
                api,
                wire,
                base_url,
                contract,
                tokens,
                policy,
            }),
        })
    }
}

fn normalize_base_url(input: &str) -> Result<String, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidBaseUrl {
        input: redact_userinfo(input),
        reason: reason.to_owned(),
    };
    let url = Url::parse(input).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `input` with the user information of a URL (`user:password@`) replaced by `***`, for messages. Works
/// on text that does not parse as a URL too: everything between the scheme's `:` (and any slashes) and
/// the last `@` of the authority goes.
fn redact_userinfo(input: &str) -> String {
    let Some(colon) = input.find(':') else {
        return input.to_owned();
    };
    let after_scheme = &input[colon + 1..];
    let authority_start =
        colon + 1 + (after_scheme.len() - after_scheme.trim_start_matches(['/', '\\']).len());
    let rest = &input[authority_start..];
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &input[..authority_start], &rest[at..]),
        None => input.to_owned(),
    }
}

/// A configured MPSD client. Cheap to clone (shared state).
///
/// Every request carries `X-Xbl-Contract-Version` and, when a token is configured,
/// `Authorization: XBL3.0 x=<userhash>;<token>`. Reads, queries and `DELETE` are retried per the
/// [`RetryPolicy`]; session writes and handle creation only when the call opts in.
///
/// ```
/// use xbl_mpsd_ext::{ContractVersion, MpsdClient, XblToken};
///
/// let client = MpsdClient::builder()
///     .base_url("http://127.0.0.1:8080")          // e.g. a local emulator
///     .contract_version(ContractVersion::V107)
///     .token(XblToken::new("-", "2533274792693551")?)
///     .build()?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MpsdClient {
    inner: Arc<Inner>,
}

struct Inner {
    api: xbl_mpsd_api::Client,
    wire: xbl_mpsd_api::Client,
    base_url: String,
    contract: ContractVersion,
    tokens: Option<Arc<Tokens>>,
    policy: Arc<CallPolicy>,
}

impl fmt::Debug for MpsdClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpsdClient")
            .field("base_url", &self.inner.base_url)
            .field("contract", &self.inner.contract)
            .field("authorized", &self.inner.tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl MpsdClient {
    /// Starts building a client; see [`MpsdClientBuilder`].
    pub fn builder() -> MpsdClientBuilder {
        MpsdClientBuilder::default()
    }

    /// The base URL requests go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The contract version sent on every request.
    pub fn contract_version(&self) -> ContractVersion {
        self.inner.contract
    }

    /// The generated wire-level client, configured like this one (contract version, authorization),
    /// for operations this crate does not wrap. Each of its requests goes through this client's call
    /// policy: an idempotent operation (`GET`, `DELETE`, one the spec marks `x-idempotent: true`) is retried
    /// per the [`RetryPolicy`] (honoring `Retry-After`) and repeated once with a refreshed token after a
    /// 401; any other is sent once (after a 401 the token is refreshed for the next request). Error
    /// statuses arrive as the generated client's errors; [`operation`](Self::operation) types them.
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, Scid, XblToken};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// // A read: retried on 503, with the client's headers.
    /// let scid: Scid = "MockScid".parse()?;
    /// let templates = client.api().list_session_templates().scid(scid).send().await?;
    /// assert_eq!(templates.status(), 200);
    /// # Ok(()) }
    /// ```
    pub fn api(&self) -> &xbl_mpsd_api::Client {
        &self.inner.api
    }

    /// The generated client without the call policy, for calls that run their attempts through
    /// [`call`](Self::call) (so no request is retried twice over).
    pub(crate) fn wire(&self) -> &xbl_mpsd_api::Client {
        &self.inner.wire
    }

    /// The token provider, for other connections of the same user (RTA).
    #[cfg_attr(not(feature = "rta"), allow(dead_code))]
    pub(crate) fn token_provider(&self) -> Option<Arc<dyn TokenProvider>> {
        self.inner
            .tokens
            .as_ref()
            .map(|tokens| Arc::clone(&tokens.provider))
    }

    /// Runs one logical call: `attempt` builds and sends the request anew each time. Retries per the
    /// policy when `mode` allows; after a 401 asks the token provider for a fresh token and, when
    /// `mode` allows retries, repeats the request once with it.
    pub(crate) async fn call<T, F, Fut>(&self, mode: RetryMode, attempt: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.inner.policy.run(mode, |_| attempt()).await
    }

    /// Waits before retrying a synchronized update that lost a race: a random time in
    /// `[0, 5 ms × 2^conflicts)`, at most 250 ms, so that writers contending for one session spread out
    /// instead of colliding again at once.
    pub(crate) async fn conflict_backoff(&self, conflicts: u32) {
        const BASE: Duration = Duration::from_millis(5);
        const MAX: Duration = Duration::from_millis(250);
        let ceiling = BASE.saturating_mul(1 << conflicts.min(6)).min(MAX);
        let delay = ceiling.mul_f64(self.inner.policy.jitter_sample());
        if !delay.is_zero() {
            self.inner.policy.clock.sleep(delay).await;
        }
    }
}
