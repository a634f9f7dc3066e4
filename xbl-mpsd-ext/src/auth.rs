//! Xbox Live authorization: the `XBL3.0` token and where it comes from.
//!
//! The token is a bearer secret. [`XblToken`] never shows it through `Debug`,
//! `Display` or an error message, and the header value it produces is marked
//! sensitive so HTTP-layer logging skips it.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use reqwest::header::HeaderValue;

/// The placeholder printed instead of the token.
const REDACTED: &str = "<redacted>";

/// The user hash sent when a token carries no user claim.
const NO_USER_HASH: &str = "-";

/// An XSTS token and its user hash, ready for the `Authorization` header.
///
/// The header value is `XBL3.0 x=<userhash>;<token>`, with `-` as the user
/// hash when the token has no user claim.
///
/// ```
/// use xbl_mpsd_ext::XblToken;
///
/// let token = XblToken::new("2553948354698", "eyJhbGciOi.secret")?;
/// let header = token.authorization();
/// assert_eq!(header, "XBL3.0 x=2553948354698;eyJhbGciOi.secret");
/// assert!(header.is_sensitive());
/// // Neither Debug nor Display shows the token.
/// assert_eq!(token.to_string(), "XBL3.0 x=2553948354698;<redacted>");
/// assert!(!format!("{token:?}").contains("secret"));
///
/// let service = XblToken::without_user_hash("eyJhbGciOi.secret")?;
/// assert_eq!(service.authorization(), "XBL3.0 x=-;eyJhbGciOi.secret");
/// # Ok::<(), xbl_mpsd_ext::InvalidToken>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct XblToken {
    user_hash: Option<String>,
    /// The full, pre-built, sensitive `Authorization` value.
    header: HeaderValue,
}

/// Why a token or user hash cannot be used. Never contains the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidToken {
    /// The token is empty.
    #[error("the Xbox Live token is empty")]
    EmptyToken,
    /// The token contains characters other than visible ASCII.
    #[error("the Xbox Live token contains characters other than visible ASCII")]
    TokenNotVisibleAscii,
    /// The user hash is empty or contains `;`, whitespace or non-ASCII.
    #[error("user hash {user_hash:?} must be non-empty visible ASCII without ';'")]
    InvalidUserHash {
        /// The offending user hash (not secret).
        user_hash: String,
    },
}

fn is_visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

impl XblToken {
    /// A token with a user claim. A user hash of `-` means "no user claim".
    pub fn new(user_hash: impl Into<String>, token: impl AsRef<str>) -> Result<Self, InvalidToken> {
        let user_hash = user_hash.into();
        if user_hash.is_empty() || !is_visible_ascii(&user_hash) || user_hash.contains(';') {
            return Err(InvalidToken::InvalidUserHash { user_hash });
        }
        let user_hash = (user_hash != NO_USER_HASH).then_some(user_hash);
        Self::build(user_hash, token.as_ref())
    }

    /// A token without a user claim (sent as `x=-;<token>`).
    pub fn without_user_hash(token: impl AsRef<str>) -> Result<Self, InvalidToken> {
        Self::build(None, token.as_ref())
    }

    fn build(user_hash: Option<String>, token: &str) -> Result<Self, InvalidToken> {
        if token.is_empty() {
            return Err(InvalidToken::EmptyToken);
        }
        if !is_visible_ascii(token) {
            return Err(InvalidToken::TokenNotVisibleAscii);
        }
        let hash = user_hash.as_deref().unwrap_or(NO_USER_HASH);
        let mut header = HeaderValue::try_from(format!("XBL3.0 x={hash};{token}"))
            .map_err(|_| InvalidToken::TokenNotVisibleAscii)?;
        header.set_sensitive(true);
        Ok(Self { user_hash, header })
    }

    /// The user hash, or `None` when the token has no user claim.
    pub fn user_hash(&self) -> Option<&str> {
        self.user_hash.as_deref()
    }

    /// The `Authorization` header value, marked sensitive.
    pub fn authorization(&self) -> HeaderValue {
        self.header.clone()
    }

    /// [`authorization`](Self::authorization), taking the token (no copy of the value).
    pub(crate) fn into_authorization(self) -> HeaderValue {
        self.header
    }
}

impl fmt::Debug for XblToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XblToken")
            .field("user_hash", &self.user_hash())
            .field("token", &format_args!("{REDACTED}"))
            .finish()
    }
}

impl fmt::Display for XblToken {
    /// `XBL3.0 x=<userhash>;<redacted>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = self.user_hash().unwrap_or(NO_USER_HASH);
        write!(f, "XBL3.0 x={hash};{REDACTED}")
    }
}

/// Why a [`TokenProvider`] could not produce a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The provider produced an unusable token.
    #[error(transparent)]
    InvalidToken(#[from] InvalidToken),
    /// The provider has a fixed token and cannot get a new one.
    #[error("the token provider cannot refresh its token")]
    RefreshUnsupported,
    /// The provider failed (network, user sign-out, …).
    #[error("the token provider failed: {0}")]
    Provider(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AuthError {
    /// Wraps a provider failure.
    pub fn provider(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Provider(error.into())
    }
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<XblToken, AuthError>> + Send + 'a>>;

/// A source of Xbox Live tokens. Object-safe: use it as `Arc<dyn TokenProvider>`.
///
/// The client calls [`token`](TokenProvider::token) before every request. When
/// the service answers 401 it calls [`refresh`](TokenProvider::refresh) with the
/// rejected token and, where retries are allowed, repeats the request once with
/// the new token (XSAPI does the same).
pub trait TokenProvider: Send + Sync {
    /// The current token; may be cached.
    fn token(&self) -> TokenFuture<'_>;

    /// Called after `rejected` got a 401: return a fresh token. A provider
    /// shared between tasks can compare `rejected` with its cache to refresh
    /// only once. The default calls [`token`](TokenProvider::token).
    fn refresh<'a>(&'a self, rejected: &'a XblToken) -> TokenFuture<'a> {
        let _ = rejected;
        self.token()
    }

    /// The current token when it is at hand without waiting (e.g. a fixed one); `None` (the default)
    /// when [`token`](TokenProvider::token) has to be awaited. The client asks this first before every
    /// request, so a provider that knows its token saves an asynchronous call per request.
    fn token_ready(&self) -> Option<XblToken> {
        None
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token(&self) -> TokenFuture<'_> {
        (**self).token()
    }

    fn refresh<'a>(&'a self, rejected: &'a XblToken) -> TokenFuture<'a> {
        (**self).refresh(rejected)
    }

    fn token_ready(&self) -> Option<XblToken> {
        (**self).token_ready()
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Box<T> {
    fn token(&self) -> TokenFuture<'_> {
        (**self).token()
    }

    fn refresh<'a>(&'a self, rejected: &'a XblToken) -> TokenFuture<'a> {
        (**self).refresh(rejected)
    }

    fn token_ready(&self) -> Option<XblToken> {
        (**self).token_ready()
    }
}

/// A fixed token; [`refresh`](TokenProvider::refresh) fails with
/// [`AuthError::RefreshUnsupported`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticToken(pub XblToken);

impl TokenProvider for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn refresh<'a>(&'a self, _rejected: &'a XblToken) -> TokenFuture<'a> {
        Box::pin(async { Err(AuthError::RefreshUnsupported) })
    }

    fn token_ready(&self) -> Option<XblToken> {
        Some(self.0.clone())
    }
}

/// What a [`FnTokenProvider`] closure is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRequest {
    /// The current token (a cached one is fine).
    Current,
    /// A new token: the service rejected `rejected` with 401.
    Refresh {
        /// The token that was rejected.
        rejected: XblToken,
    },
}

/// Adapts an async closure `Fn(TokenRequest) -> impl Future<Output = Result<XblToken, AuthError>>`
/// into a [`TokenProvider`].
///
/// ```
/// use xbl_mpsd_ext::{FnTokenProvider, TokenProvider, TokenRequest, XblToken};
///
/// let provider = FnTokenProvider::new(|request: TokenRequest| async move {
///     let token = match request {
///         TokenRequest::Refresh { .. } => "fresh-token",
///         _ => "cached-token", // `Current`, and any request kind added later
///     };
///     Ok(XblToken::new("123", token)?)
/// });
/// let token = futures::executor::block_on(provider.token())?;
/// assert_eq!(token.authorization(), "XBL3.0 x=123;cached-token");
/// let fresh = futures::executor::block_on(provider.refresh(&token))?;
/// assert_eq!(fresh.authorization(), "XBL3.0 x=123;fresh-token");
/// # Ok::<(), xbl_mpsd_ext::AuthError>(())
/// ```
pub struct FnTokenProvider<F>(F);

impl<F> FnTokenProvider<F> {
    /// Wraps `f`.
    pub const fn new(f: F) -> Self {
        Self(f)
    }
}

impl<F> fmt::Debug for FnTokenProvider<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnTokenProvider(..)")
    }
}

impl<F, Fut> TokenProvider for FnTokenProvider<F>
where
    F: Fn(TokenRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<XblToken, AuthError>> + Send + 'static,
{
    fn token(&self) -> TokenFuture<'_> {
        Box::pin((self.0)(TokenRequest::Current))
    }

    fn refresh<'a>(&'a self, rejected: &'a XblToken) -> TokenFuture<'a> {
        tracing::debug!(token = %rejected, "refreshing the Xbox Live token after a 401");
        Box::pin((self.0)(TokenRequest::Refresh {
            rejected: rejected.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::capture_logs;
    use futures::executor::block_on;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SECRET: &str = "eyJTOP.SECRET_value-123";

    #[test]
    fn header_forms() {
        let t = XblToken::new("42", SECRET).unwrap();
        assert_eq!(t.authorization(), format!("XBL3.0 x=42;{SECRET}").as_str());
        assert_eq!(t.user_hash(), Some("42"));
        let anon = XblToken::without_user_hash(SECRET).unwrap();
        assert_eq!(
            anon.authorization(),
            format!("XBL3.0 x=-;{SECRET}").as_str()
        );
        assert_eq!(XblToken::new("-", SECRET).unwrap(), anon);
        assert_eq!(anon.user_hash(), None);
        assert!(anon.authorization().is_sensitive());
    }

    #[test]
    fn rejects_bad_input_without_echoing_the_token() {
        assert_eq!(
            XblToken::without_user_hash(""),
            Err(InvalidToken::EmptyToken)
        );
        for bad in ["a b", "a\nb", "tök", "a\u{7f}"] {
            let err = XblToken::new("1", bad).unwrap_err();
            assert_eq!(err, InvalidToken::TokenNotVisibleAscii);
            assert!(!err.to_string().contains(bad));
        }
        for bad in ["", "1;2", "1 2"] {
            assert_eq!(
                XblToken::new(bad, SECRET),
                Err(InvalidToken::InvalidUserHash {
                    user_hash: bad.into()
                })
            );
        }
    }

    #[test]
    fn debug_display_and_errors_never_show_the_token() {
        let t = XblToken::new("42", SECRET).unwrap();
        let request = TokenRequest::Refresh {
            rejected: t.clone(),
        };
        let rendered = [
            format!("{t:?}"),
            format!("{t:#?}"),
            t.to_string(),
            format!("{:?}", t.authorization()),
            format!("{request:?}"),
            format!("{:?}", StaticToken(t.clone())),
        ];
        for r in &rendered {
            assert!(!r.contains(SECRET), "{r}");
            assert!(!r.contains("SECRET"), "{r}");
        }
        assert_eq!(
            rendered[0],
            r#"XblToken { user_hash: Some("42"), token: <redacted> }"#
        );
        assert_eq!(rendered[2], "XBL3.0 x=42;<redacted>");

        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, t.authorization());
        assert!(!format!("{headers:?}").contains("SECRET"));
    }

    #[test]
    fn tracing_output_never_contains_the_token() {
        let t = XblToken::new("42", SECRET).unwrap();
        let provider = FnTokenProvider::new(|_req: TokenRequest| async {
            Err::<XblToken, _>(AuthError::provider("sign-in required"))
        });
        let logs = capture_logs(|| {
            tracing::info!(token = ?t, "debug field");
            tracing::info!(token = %t, "display field");
            tracing::info!(header = ?t.authorization(), "header field");
            let err = block_on(provider.refresh(&t)).unwrap_err();
            tracing::error!(error = %err, "provider error");
        });
        assert!(logs.contains("refreshing the Xbox Live token"), "{logs}");
        assert!(logs.contains("sign-in required"), "{logs}");
        assert!(logs.contains("<redacted>"), "{logs}");
        assert!(!logs.contains("SECRET"), "{logs}");
    }

    #[test]
    fn static_token_cannot_refresh() {
        let t = XblToken::new("42", SECRET).unwrap();
        let p: Arc<dyn TokenProvider> = Arc::new(StaticToken(t.clone()));
        assert_eq!(block_on(p.token()).unwrap(), t);
        assert!(matches!(
            block_on(p.refresh(&t)),
            Err(AuthError::RefreshUnsupported)
        ));
    }

    #[test]
    fn fn_provider_passes_the_request_through() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let provider = FnTokenProvider::new(move |req: TokenRequest| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let hash = match req {
                    TokenRequest::Current => "current".to_owned(),
                    TokenRequest::Refresh { rejected } => {
                        format!("after-{}", rejected.user_hash().unwrap_or("none"))
                    }
                };
                Ok(XblToken::new(hash, format!("t{n}"))?)
            }
        });
        let boxed: Box<dyn TokenProvider> = Box::new(provider);
        let first = block_on(boxed.token()).unwrap();
        assert_eq!(first.authorization(), "XBL3.0 x=current;t0");
        let second = block_on(boxed.refresh(&first)).unwrap();
        assert_eq!(second.authorization(), "XBL3.0 x=after-current;t1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn default_refresh_calls_token() {
        struct Counting(AtomicUsize);
        impl TokenProvider for Counting {
            fn token(&self) -> TokenFuture<'_> {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move { Ok(XblToken::without_user_hash(format!("t{n}"))?) })
            }
        }
        let p = Counting(AtomicUsize::new(0));
        let t = block_on(p.token()).unwrap();
        assert_eq!(
            block_on(p.refresh(&t)).unwrap().authorization(),
            "XBL3.0 x=-;t1"
        );
    }
}
