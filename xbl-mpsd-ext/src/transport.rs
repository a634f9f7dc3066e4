//! What went wrong below HTTP: the cause of a `reqwest` error, found by walking its source chain.
//!
//! `reqwest::Error`'s own message names the step ("error sending request for url (…)"), not the cause;
//! the cause (refused, reset, timed out, DNS, a body cut short) is deeper in the chain, in a
//! `hyper::Error` or an `io::Error`. [`Cause`] names it for messages and decides whether a retry can help.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// Why a request got no complete answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The connect, the whole attempt or a body read took longer than allowed.
    TimedOut,
    /// Nobody listens at the address.
    Refused,
    /// The host name could not be resolved.
    Dns,
    /// The peer reset or aborted the connection.
    Reset,
    /// The connection closed before the answer was complete (truncated headers or body).
    Closed,
    /// Connecting failed otherwise (TLS handshake, unreachable network, …).
    Connect,
    /// Something else (an invalid header in the answer, a protocol error, …).
    Other,
}

impl Cause {
    /// The cause of `error`.
    pub(crate) fn of(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            return Self::TimedOut;
        }
        let mut found = None;
        let mut source: Option<&(dyn StdError + 'static)> = error.source();
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<io::Error>() {
                found = match io.kind() {
                    io::ErrorKind::TimedOut => Some(Self::TimedOut),
                    io::ErrorKind::ConnectionRefused => Some(Self::Refused),
                    io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe => Some(Self::Reset),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::NotConnected => {
                        Some(Self::Closed)
                    }
                    _ => found,
                };
                if found.is_some() {
                    break;
                }
            }
            if let Some(hyper) = err.downcast_ref::<hyper::Error>()
                && (hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled())
            {
                found = Some(Self::Closed);
            }
            source = err.source();
        }
        if let Some(cause) = found {
            return cause;
        }
        if error.is_dns() {
            Self::Dns
        } else if error.is_connect() {
            Self::Connect
        } else {
            Self::Other
        }
    }

    /// Whether sending the same request again may succeed: everything but [`Other`](Self::Other).
    pub(crate) fn is_transient(self) -> bool {
        !matches!(self, Self::Other)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TimedOut => "timed out",
            Self::Refused => "connection refused",
            Self::Dns => "DNS lookup failed",
            Self::Reset => "connection reset",
            Self::Closed => "connection closed before the answer was complete",
            Self::Connect => "connection failed",
            Self::Other => "request failed",
        })
    }
}

/// `error` and its sources on one line, each message once: `outer: inner: innermost`.
pub(crate) fn chain_text(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
