//! The error type of client calls, and how HTTP answers become errors.
//!
//! MPSD answers errors with a plain-text message (the `text/plain` error responses of `spec/openapi.yaml`). Every error keeps that message and the
//! status it came with; nothing the service said is dropped. Authorization tokens never appear in errors.

use std::time::Duration;

use reqwest::{StatusCode, header::HeaderMap};

use crate::retry::{Classification, RetryAfter};
use crate::transport::{Cause, chain_text};

/// The most of an error body kept in an error (longer messages are cut, with a marker).
pub(crate) const MAX_MESSAGE_BYTES: usize = 4096;

/// Why a client call failed.
///
/// Write outcomes that are not failures — 204 (session deleted) and 412 (out of sync) — are
/// [`WriteOutcome`](crate::WriteOutcome) variants, not errors.
///
/// Branch on what happened with the predicates — [`is_not_found`](Self::is_not_found),
/// [`is_conflict`](Self::is_conflict), [`is_throttled`](Self::is_throttled),
/// [`is_unauthorized`](Self::is_unauthorized), [`is_retryable`](Self::is_retryable) — or match the
/// variants (each struct variant is `#[non_exhaustive]`: match it with `..`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404 on a handle-addressed call: the handle does not exist (stale, or the joinee moved on), or the
    /// session does not exist and `If-Match: *` was sent.
    #[error("handle not found (HTTP 404): {message}")]
    #[non_exhaustive]
    HandleNotFound {
        /// The service's message.
        message: String,
    },
    /// 404 on a call by session reference: the SCID, template or session was not found.
    #[error("not found (HTTP 404): {message}")]
    #[non_exhaustive]
    NotFound {
        /// The service's message.
        message: String,
    },
    /// 401 or 403: the token was refused, or the user may not do this (e.g. join a private session).
    /// (XSAPI maps only 401 to AccessDenied and 403 to Unknown; both deny access.)
    #[error("access denied (HTTP {}): {message}", status.as_u16())]
    #[non_exhaustive]
    AccessDenied {
        /// 401 or 403.
        status: StatusCode,
        /// The service's message.
        message: String,
    },
    /// 409: the request is incompatible with the session (e.g. a constant changed after creation).
    #[error("conflict (HTTP 409): {message}")]
    #[non_exhaustive]
    Conflict {
        /// The service's message.
        message: String,
    },
    /// 400: invalid request, missing field or malformed JSON; also a join of a `visible` or `full` session.
    #[error("bad request (HTTP 400): {message}")]
    #[non_exhaustive]
    BadRequest {
        /// The service's message.
        message: String,
    },
    /// 429: throttled. Retried for reads by the retry policy; surfaced when retries are not allowed or
    /// have run out.
    #[error("throttled (HTTP 429){}: {message}", retry_after_text(*retry_after))]
    #[non_exhaustive]
    Throttled {
        /// The `Retry-After` the service asked for.
        retry_after: Option<RetryAfter>,
        /// The service's message.
        message: String,
    },
    /// 503: the service is overloaded.
    #[error("service unavailable (HTTP 503){}: {message}", retry_after_text(*retry_after))]
    #[non_exhaustive]
    Unavailable {
        /// The `Retry-After` the service asked for.
        retry_after: Option<RetryAfter>,
        /// The service's message (usually empty).
        message: String,
    },
    /// Any other status the call does not expect.
    #[error("unexpected HTTP {}: {message}", status.as_u16())]
    #[non_exhaustive]
    Service {
        /// The status.
        status: StatusCode,
        /// The service's message.
        message: String,
    },
    /// The request could not be sent or its answer not received (connection, TLS, timeout). The message
    /// names the cause (timed out, connection refused, connection reset, DNS lookup failed, …) and the
    /// whole source chain.
    #[error("transport error ({}): {}", Cause::of(.0), chain_text(.0))]
    Transport(#[source] reqwest::Error),
    /// An answer's body was larger than the client's limit
    /// ([`MpsdClientBuilder::max_response_bytes`](crate::MpsdClientBuilder::max_response_bytes));
    /// reading stopped at the limit. For a write, the change may have been committed.
    #[error("{0}")]
    ResponseTooLarge(xbl_mpsd_api::BodyTooLarge),
    /// The service answered with a redirect (3xx other than 304). MPSD never redirects, so the client
    /// does not follow: a redirected write could otherwise be replayed to another host.
    #[error("unexpected redirect (HTTP {}){}", status.as_u16(), location.as_ref().map(|l| format!(" to {l}")).unwrap_or_default())]
    #[non_exhaustive]
    Redirect {
        /// The 3xx status.
        status: StatusCode,
        /// The `Location` header, when present (lossy UTF-8, cut at a few KiB).
        location: Option<String>,
    },
    /// The request could not be built (e.g. a header value that is not valid HTTP).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The token provider could not supply a token. The message never contains a token.
    #[error("authorization failed: {0}")]
    Authorization(String),
    /// A success answer whose body is not what the spec describes. For a write, the change may have
    /// been committed; `body` is what the service sent.
    #[error("invalid response{}: {reason}", status.map(|s| format!(" (HTTP {})", s.as_u16())).unwrap_or_default())]
    #[non_exhaustive]
    InvalidResponse {
        /// The status, when known.
        status: Option<StatusCode>,
        /// What is wrong.
        reason: String,
        /// The body as received (lossy UTF-8, cut at a few KiB).
        body: String,
    },
    /// [`MpsdClient::synchronized_update`](crate::MpsdClient::synchronized_update) lost the race every time.
    #[error("synchronized update gave up after {attempts} attempts: the session kept changing")]
    #[non_exhaustive]
    SyncAttemptsExhausted {
        /// How many writes were tried.
        attempts: u32,
    },
    /// The change function of [`MpsdClient::synchronized_update`](crate::MpsdClient::synchronized_update)
    /// refused to produce a delta; nothing was written in that attempt. The source is its error.
    #[error("synchronized update aborted: {0}")]
    UpdateAborted(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The activation carries no handle to join through (`inviteAccept` comes from the Multiplayer
    /// Activity service and carries a connection string instead).
    #[error("the `{action}` activation has no handle to join through")]
    #[non_exhaustive]
    ActivationWithoutHandle {
        /// The activation's action.
        action: &'static str,
    },
}

fn retry_after_text(retry_after: Option<RetryAfter>) -> String {
    match retry_after {
        Some(RetryAfter::Delay(d)) => format!(", retry after {}s", d.as_secs()),
        Some(RetryAfter::At(at)) => format!(", retry after {}", httpdate::fmt_http_date(at)),
        None => String::new(),
    }
}

impl Error {
    /// The HTTP status behind this error, if the service answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::HandleNotFound { .. } | Self::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Self::AccessDenied { status, .. } | Self::Service { status, .. } => Some(*status),
            Self::Conflict { .. } => Some(StatusCode::CONFLICT),
            Self::BadRequest { .. } => Some(StatusCode::BAD_REQUEST),
            Self::Throttled { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Self::Unavailable { .. } => Some(StatusCode::SERVICE_UNAVAILABLE),
            Self::InvalidResponse { status, .. } => *status,
            Self::Transport(e) => e.status(),
            Self::ResponseTooLarge(e) => Some(e.status),
            Self::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The delay the service asked for with `Retry-After` (429, 503), measured from now.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                retry_after.map(|r| r.delay_from(std::time::SystemTime::now()))
            }
            _ => None,
        }
    }

    /// Whether what was addressed does not exist: [`NotFound`](Self::NotFound) (a session by reference,
    /// its template or SCID) or [`HandleNotFound`](Self::HandleNotFound) (a handle, or the session behind
    /// it). A read of a session that does not exist is not an error (`None`, [`Read::NoSession`](crate::Read::NoSession)).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::HandleNotFound { .. })
    }

    /// Whether the request conflicts with the session (409, [`Conflict`](Self::Conflict)), e.g. a
    /// constant changed after creation. A lost write race is not an error but
    /// [`WriteOutcome::OutOfSync`](crate::WriteOutcome::OutOfSync).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Whether the service throttled the caller (429, [`Throttled`](Self::Throttled)); see
    /// [`retry_after`](Self::retry_after).
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Throttled { .. })
    }

    /// Whether access was refused: the service answered 401 or 403 ([`AccessDenied`](Self::AccessDenied)),
    /// or no usable token could be had ([`Authorization`](Self::Authorization): the token provider
    /// failed, or refreshing a refused token did). Signing in again may help with a 401; a 403 means the
    /// user may not do this.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::AccessDenied { .. } | Self::Authorization(_))
    }

    /// Whether the same request may succeed later: 408, 429, 500, 502, 503, 504 and connection failures
    /// or timeouts, as the retry policy sees them ([`classification`](Self::classification)). Such a
    /// call was already retried per the policy when it is safe to repeat; a session write was not,
    /// unless it opted in.
    pub fn is_retryable(&self) -> bool {
        self.classification().is_retryable()
    }

    /// How the retry policy sees this error.
    pub fn classification(&self) -> Classification {
        match self {
            Self::Throttled { retry_after, .. } => Classification::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: *retry_after,
            },
            Self::Unavailable { retry_after, .. } => Classification::Status {
                status: StatusCode::SERVICE_UNAVAILABLE,
                retry_after: *retry_after,
            },
            Self::Service { status, .. } => Classification::Status {
                status: *status,
                retry_after: None,
            },
            Self::Transport(e) => Classification::from_reqwest_error(e),
            _ => Classification::Permanent,
        }
    }

    /// The error for a failure of the HTTP layer: [`Error::ResponseTooLarge`] when the body limit
    /// stopped the read, else [`Error::Transport`].
    pub(crate) fn transport(error: reqwest::Error) -> Self {
        match xbl_mpsd_api::BodyTooLarge::find(&error) {
            Some(too_large) => Self::ResponseTooLarge(too_large.clone()),
            None => Self::Transport(error),
        }
    }

    /// Builds the error for a non-success answer. `by_handle` picks [`Error::HandleNotFound`] over
    /// [`Error::NotFound`] for a 404.
    pub(crate) fn from_status(
        status: StatusCode,
        headers: &HeaderMap,
        message: String,
        by_handle: bool,
    ) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest { message },
            401 | 403 => Self::AccessDenied { status, message },
            404 if by_handle => Self::HandleNotFound { message },
            404 => Self::NotFound { message },
            409 => Self::Conflict { message },
            429 => Self::Throttled {
                retry_after: RetryAfter::from_headers(headers),
                message,
            },
            503 => Self::Unavailable {
                retry_after: RetryAfter::from_headers(headers),
                message,
            },
            300..=399 if status != StatusCode::NOT_MODIFIED => Self::Redirect {
                status,
                location: headers
                    .get(reqwest::header::LOCATION)
                    .map(|v| message_text(v.as_bytes())),
            },
            _ => Self::Service { status, message },
        }
    }
}

/// Text of a body for an error message: lossy UTF-8, trimmed, cut at [`MAX_MESSAGE_BYTES`].
pub(crate) fn message_text(body: &[u8]) -> String {
    let cut = body.len().min(MAX_MESSAGE_BYTES);
    let mut text = String::from_utf8_lossy(&body[..cut]).trim().to_owned();
    if body.len() > MAX_MESSAGE_BYTES {
        text.push_str(" …(truncated)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    fn err(code: u16, by_handle: bool) -> Error {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        Error::from_status(
            StatusCode::from_u16(code).unwrap(),
            &headers,
            "msg".into(),
            by_handle,
        )
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        assert!(matches!(err(400, false), Error::BadRequest { .. }));
        assert!(matches!(err(401, false), Error::AccessDenied { status, .. } if status == 401));
        assert!(matches!(err(403, false), Error::AccessDenied { status, .. } if status == 403));
        assert!(matches!(err(404, true), Error::HandleNotFound { .. }));
        assert!(matches!(err(404, false), Error::NotFound { .. }));
        assert!(matches!(err(409, false), Error::Conflict { .. }));
        assert!(matches!(
            err(429, false),
            Error::Throttled { retry_after: Some(RetryAfter::Delay(d)), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            err(503, false),
            Error::Unavailable {
                retry_after: Some(_),
                ..
            }
        ));
        assert!(matches!(err(418, false), Error::Service { status, .. } if status == 418));
        for code in [400, 401, 403, 404, 409, 429, 503, 418] {
            assert_eq!(err(code, false).status().map(|s| s.as_u16()), Some(code));
        }
    }

    #[test]
    fn messages_keep_the_service_text_and_retry_after() {
        assert_eq!(
            err(429, false).to_string(),
            "throttled (HTTP 429), retry after 7s: msg"
        );
        assert_eq!(
            err(404, true).to_string(),
            "handle not found (HTTP 404): msg"
        );
        assert_eq!(err(429, false).retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn only_retryable_statuses_classify_as_retryable() {
        assert!(err(429, false).classification().is_retryable());
        assert!(err(503, false).classification().is_retryable());
        assert!(!err(409, false).classification().is_retryable());
        assert!(!err(401, false).classification().is_retryable());
        let server = Error::Service {
            status: StatusCode::BAD_GATEWAY,
            message: String::new(),
        };
        assert!(server.classification().is_retryable());
    }

    #[test]
    fn predicates_say_what_happened() {
        let predicates = |e: &Error| {
            [
                e.is_not_found(),
                e.is_conflict(),
                e.is_throttled(),
                e.is_unauthorized(),
                e.is_retryable(),
            ]
        };
        //                                         found  confl  thrott unauth retry
        assert_eq!(
            predicates(&err(404, false)),
            [true, false, false, false, false]
        );
        assert_eq!(
            predicates(&err(404, true)),
            [true, false, false, false, false]
        );
        assert_eq!(
            predicates(&err(409, false)),
            [false, true, false, false, false]
        );
        assert_eq!(
            predicates(&err(429, false)),
            [false, false, true, false, true]
        );
        assert_eq!(
            predicates(&err(401, false)),
            [false, false, false, true, false]
        );
        assert_eq!(
            predicates(&err(403, false)),
            [false, false, false, true, false]
        );
        assert_eq!(
            predicates(&err(503, false)),
            [false, false, false, false, true]
        );
        assert_eq!(
            predicates(&err(500, false)),
            [false, false, false, false, true]
        );
        assert_eq!(predicates(&err(400, false)), [false; 5]);
        assert_eq!(predicates(&err(418, false)), [false; 5]);
        let token = Error::Authorization("the provider failed".into());
        assert_eq!(predicates(&token), [false, false, false, true, false]);
        let exhausted = Error::SyncAttemptsExhausted { attempts: 8 };
        assert_eq!(predicates(&exhausted), [false; 5]);
    }

    #[test]
    fn long_bodies_are_cut_and_bad_utf8_is_kept_lossily() {
        let long = vec![b'a'; MAX_MESSAGE_BYTES + 10];
        let text = message_text(&long);
        assert!(text.ends_with("…(truncated)"));
        assert_eq!(message_text(b"  bad \xff byte \n"), "bad \u{fffd} byte");
    }
}
