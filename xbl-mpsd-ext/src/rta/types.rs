//! The types the RTA client and its connection task share: the connection's state, the task's settings, what a
//! subscription receives, and why a call failed.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use url::Url;
use xbl_mpsd_api::ConnectionId;

use super::frame::RtaStatus;
use crate::auth::TokenProvider;
use crate::changes::ChangeTypes;
use crate::session_ref::SessionReference;
use crate::time::{Clock, Jitter};

/// The websocket subprotocol offered on connect.
pub const SUBPROTOCOL: &str = "rta.xboxlive.com.V2";

/// Why an RTA call failed. Never contains the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtaError {
    /// The service refused the subscription with a status that is not retried.
    #[error("RTA refused the subscription to {uri}: status {status}")]
    Refused {
        /// The resource URI.
        uri: String,
        /// The status of the reply.
        status: RtaStatus,
    },
    /// No successful subscribe reply arrived in time (the subscription is withdrawn).
    #[error("no RTA subscribe reply for {uri} within {timeout:?}")]
    SubscribeTimedOut {
        /// The resource URI.
        uri: String,
        /// The time waited.
        timeout: Duration,
    },
    /// The client was closed.
    #[error("the RTA client is closed")]
    Closed,
    /// The service answered something the client cannot use (e.g. a subscribe reply without a ConnectionId).
    #[error("unexpected RTA answer: {0}")]
    InvalidResponse(String),
}

/// Why an [`RtaClient`](super::RtaClient) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtaBuildError {
    /// The URL is not an absolute `ws`/`wss` URL.
    #[error("invalid RTA URL {input:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// No token provider was given.
    #[error("an RTA client needs a token provider")]
    NoToken,
    /// `build` was called outside a Tokio runtime (the connection runs on a task).
    #[error("an RTA client must be built inside a Tokio runtime")]
    NoRuntime,
}

/// The connection's state, as XSAPI reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected and not trying: no subscription wants a connection yet, or the client is closed.
    Idle,
    /// Connecting or reconnecting.
    Connecting,
    /// Connected; subscriptions are (re)sent.
    Connected,
    /// Several consecutive connection attempts failed (XSAPI: the 4th); the client keeps retrying.
    Disconnected,
}

/// XSAPI's reconnect schedule: `min(attempt², max_delay)` seconds, plus a uniform jitter of up to
/// `max_jitter` on every connection but the client's first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectBackoff {
    /// The longest delay before the jitter (XSAPI: 60 s).
    pub max_delay: Duration,
    /// The largest jitter (XSAPI: 5 s).
    pub max_jitter: Duration,
}

impl Default for ReconnectBackoff {
    fn default() -> Self {
        Self {
            max_delay: Duration::from_secs(60),
            max_jitter: Duration::from_secs(5),
        }
    }
}

impl ReconnectBackoff {
    /// The wait before connection attempt `attempt` (0 after a successful connection), with `sample` in `[0, 1)`
    /// drawn for the jitter; `first_connection` is true until the client has connected once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use xbl_mpsd_ext::rta::ReconnectBackoff;
    /// let backoff = ReconnectBackoff::default();
    /// let secs = |attempt| backoff.delay(attempt, true, 0.0).as_secs();
    /// assert_eq!([0, 1, 2, 3, 4, 8, 9].map(secs), [0, 1, 4, 9, 16, 60, 60]);
    /// assert_eq!(backoff.delay(0, false, 0.5), Duration::from_millis(2500));
    /// ```
    pub fn delay(&self, attempt: u32, first_connection: bool, sample: f64) -> Duration {
        let squared = u64::from(attempt).saturating_mul(u64::from(attempt));
        let base = Duration::from_secs(squared).min(self.max_delay);
        if first_connection {
            return base;
        }
        let sample = if sample.is_finite() {
            sample.clamp(0.0, 1.0)
        } else {
            0.0
        };
        base.saturating_add(self.max_jitter.mul_f64(sample))
    }

    /// XSAPI's wait before re-sending a subscribe refused with 1001 or 1002: `min(n², 60)` seconds.
    pub fn throttle_delay(&self, retries: u32) -> Duration {
        let squared = u64::from(retries).saturating_mul(u64::from(retries));
        Duration::from_secs(squared).min(self.max_delay)
    }
}

/// Settings of the connection task.
pub(crate) struct Config {
    pub(crate) url: Url,
    pub(crate) tokens: Arc<dyn TokenProvider>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) jitter: Arc<dyn Jitter>,
    pub(crate) backoff: ReconnectBackoff,
    pub(crate) recycle_after: Option<Duration>,
    pub(crate) connect_timeout: Duration,
    pub(crate) lost_after: u32,
    pub(crate) user_agent: String,
}

/// What a subscription receives.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SubscriptionEvent {
    /// An event (`[3, subId, data]`) for this subscription.
    Event(Value),
    /// The subscription was renewed after a reconnect; `data` is the new subscribe reply's (for MPSD: the new
    /// ConnectionId).
    Resubscribed(Value),
    /// The service may have dropped events (`[4]`): re-read the state of the resource.
    Resync,
    /// A renewal after a reconnect was refused; the subscription has ended.
    Ended(RtaStatus),
}

/// A shoulder tap: the session changed. It carries no session data; see [`SessionWatch::next_session`](crate::rta::SessionWatch::next_session).
///
/// Its strings are shared (`Arc`) with the tap as it arrived and with every other watch of the session on the
/// same connection, so yielding one allocates nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionTap {
    /// The watched session (as the watch named it; the tap's `resource` matched it ignoring case).
    #[serde(serialize_with = "serialize_display")]
    pub session: Arc<SessionReference>,
    /// The session's `branch` (a `changeNumber` restarts with a new branch).
    pub branch: Arc<str>,
    /// The session's `changeNumber` after the change.
    pub change_number: u64,
    /// The change types the watch subscribed to (the tap does not say which of them fired).
    pub change_types: ChangeTypes,
    /// The tap's `subscription` (the member's `subscription.id`), when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Arc<str>>,
    /// The tap's `timestamp`, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Arc<str>>,
}

fn serialize_display<S: serde::Serializer>(
    value: &Arc<SessionReference>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_uri_path())
}

/// What a [`SessionWatch`](crate::rta::SessionWatch) yields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchEvent {
    /// The session changed; only taps newer than the last one seen for their branch are delivered.
    Tap(SessionTap),
    /// The service may have dropped taps: re-read the session.
    Resync,
    /// The connection was re-established and `connection` rewritten with the new ConnectionId.
    Reconnected {
        /// The new ConnectionId.
        connection_id: ConnectionId,
    },
    /// Rewriting `connection` after a reconnect failed: the session will not tap this member until it writes
    /// again.
    RewriteFailed {
        /// What went wrong.
        message: String,
    },
    /// The RTA subscription ended (client closed, or renewal refused).
    Ended,
}
