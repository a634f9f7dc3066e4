//! The RTA client: one websocket per token shared by every subscription, its builder, and subscriptions.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use url::Url;

use super::conn::{Actor, Command};
use super::types::{
    Config, ConnectionState, ReconnectBackoff, RtaBuildError, RtaError, SubscriptionEvent,
};
use crate::auth::TokenProvider;
use crate::client::{DEFAULT_BASE_URL, MpsdClient};
use crate::time::{Clock, Jitter, RandomJitter, TokioClock};

/// The public RTA endpoint.
pub const DEFAULT_RTA_URL: &str = "wss://rta.xboxlive.com/connect";

/// Builds an [`RtaClient`]; from scratch with [`RtaClient::builder`] or from an MPSD client with
/// [`MpsdClient::rta`].
pub struct RtaClientBuilder {
    url: String,
    tokens: Option<Arc<dyn TokenProvider>>,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
    backoff: ReconnectBackoff,
    recycle_after: Option<Duration>,
    subscribe_timeout: Duration,
    connect_timeout: Duration,
    lost_after: u32,
    user_agent: String,
}

impl Default for RtaClientBuilder {
    fn default() -> Self {
        Self {
            url: DEFAULT_RTA_URL.to_owned(),
            tokens: None,
            clock: Arc::new(TokioClock),
            jitter: Arc::new(RandomJitter),
            backoff: ReconnectBackoff::default(),
            recycle_after: Some(Duration::from_secs(90 * 60)),
            subscribe_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(15),
            lost_after: 4,
            user_agent: crate::client::DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

impl fmt::Debug for RtaClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtaClientBuilder")
            .field("url", &self.url)
            .field("tokens", &self.tokens.as_ref().map(|_| "<provider>"))
            .field("backoff", &self.backoff)
            .field("recycle_after", &self.recycle_after)
            .finish_non_exhaustive()
    }
}

impl RtaClientBuilder {
    /// The websocket URL (default [`DEFAULT_RTA_URL`]); e.g. an emulator's `ws://127.0.0.1:PORT/connect`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Where the `Authorization` of each (re)connect comes from; asked anew on every connect.
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// The clock reconnect waits sleep on (default tokio's). Tests pass a `FakeClock` (feature `test-util`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The jitter source of the reconnect backoff (default random). Tests pass a `FixedJitter` or `SeededJitter` (feature `test-util`).
    pub fn jitter(mut self, jitter: impl Jitter + 'static) -> Self {
        self.jitter = Arc::new(jitter);
        self
    }

    /// The reconnect schedule (default XSAPI's).
    pub fn backoff(mut self, backoff: ReconnectBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Closes and reopens the connection this long after each connect, before the service's ~2 h cut
    /// (default 90 minutes, as XSAPI; `None` never).
    pub fn recycle_after(mut self, after: Option<Duration>) -> Self {
        self.recycle_after = after;
        self
    }

    /// How long [`RtaClient::subscribe`] waits for a successful reply, connecting included (default 30 s).
    pub fn subscribe_timeout(mut self, timeout: Duration) -> Self {
        self.subscribe_timeout = timeout;
        self
    }

    /// Time limit of one connection attempt (default 15 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// After this many consecutive failed attempts the state becomes [`ConnectionState::Disconnected`]
    /// (default 4, as XSAPI). Retries continue.
    pub fn disconnected_after(mut self, failures: u32) -> Self {
        self.lost_after = failures.max(1);
        self
    }

    /// Starts the client's connection task (it connects on the first subscription).
    pub fn build(self) -> Result<RtaClient, RtaBuildError> {
        let invalid = |reason: &str| RtaBuildError::InvalidUrl {
            input: self.url.clone(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(&self.url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(invalid("the scheme must be ws or wss"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it must not carry credentials"));
        }
        let tokens = self.tokens.ok_or(RtaBuildError::NoToken)?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RtaBuildError::NoRuntime)?;
        let (cmd, rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(ConnectionState::Idle);
        let config = Config {
            url,
            tokens,
            clock: self.clock,
            jitter: self.jitter,
            backoff: self.backoff,
            recycle_after: self.recycle_after,
            connect_timeout: self.connect_timeout,
            lost_after: self.lost_after,
            user_agent: self.user_agent,
        };
        runtime.spawn(Actor::new(config, rx, cmd.downgrade(), state_tx).run());
        Ok(RtaClient {
            inner: Arc::new(Shared {
                cmd,
                state,
                next_client: AtomicU64::new(1),
                subscribe_timeout: self.subscribe_timeout,
            }),
        })
    }
}

/// A Real-Time Activity client: one websocket for all its subscriptions. Cheap to clone (shared).
///
/// It connects on the first subscription, re-subscribes everything after a reconnect (XSAPI's backoff and
/// jitter), recycles the connection before the service's 2-hour cut, and shares one service subscription
/// between all local subscriptions to the same URI. Events for a subscription id it does not hold are dropped.
#[derive(Clone)]
pub struct RtaClient {
    inner: Arc<Shared>,
}

struct Shared {
    cmd: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<ConnectionState>,
    next_client: AtomicU64,
    subscribe_timeout: Duration,
}

impl fmt::Debug for RtaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtaClient")
            .field("state", &*self.inner.state.borrow())
            .finish_non_exhaustive()
    }
}

impl RtaClient {
    /// Starts building a client; see [`RtaClientBuilder`].
    pub fn builder() -> RtaClientBuilder {
        RtaClientBuilder::default()
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        *self.inner.state.borrow()
    }

    /// The connection state as it changes.
    pub fn states(&self) -> watch::Receiver<ConnectionState> {
        self.inner.state.clone()
    }

    /// Subscribes to `uri` and waits for the service's first successful reply (connecting if needed).
    ///
    /// Throttled (1001) and unavailable (1002) replies are retried after XSAPI's `min(n², 60)` s; other
    /// refusals fail with [`RtaError::Refused`]. After a reconnect the subscription is renewed and its new
    /// data arrives as [`SubscriptionEvent::Resubscribed`].
    pub fn subscribe(
        &self,
        uri: impl Into<String>,
    ) -> impl Future<Output = Result<Subscription, RtaError>> + Send + '_ {
        self.subscribe_uri(uri.into())
    }

    /// [`subscribe`](Self::subscribe) after the conversion: not generic, so its body is compiled here once.
    fn subscribe_uri(
        &self,
        uri: String,
    ) -> crate::sending::Sending<'_, Result<Subscription, RtaError>> {
        crate::sending::boxed(async move {
            let client_id = self.inner.next_client.fetch_add(1, Ordering::Relaxed);
            let (events_tx, events) = mpsc::unbounded_channel();
            let (reply_tx, reply) = oneshot::channel();
            self.inner
                .cmd
                .send(Command::Subscribe {
                    uri: uri.clone(),
                    client_id,
                    events: events_tx,
                    reply: reply_tx,
                })
                .map_err(|_| RtaError::Closed)?;
            let subscription = |data| Subscription {
                uri: uri.clone(),
                client_id,
                data,
                events,
                cmd: self.inner.cmd.clone(),
            };
            match tokio::time::timeout(self.inner.subscribe_timeout, reply).await {
                Ok(Ok(Ok(data))) => Ok(subscription(data)),
                Ok(Ok(Err(error))) => Err(error),
                Ok(Err(_)) => Err(RtaError::Closed),
                Err(_) => {
                    let _ = self.inner.cmd.send(Command::Unsubscribe { client_id });
                    Err(RtaError::SubscribeTimedOut {
                        uri,
                        timeout: self.inner.subscribe_timeout,
                    })
                }
            }
        })
    }

    /// Closes the connection and ends every subscription's stream.
    pub fn close(&self) {
        let _ = self.inner.cmd.send(Command::Close);
    }

    /// Closes the socket now (as a network drop would); the client reconnects and re-subscribes. For tests
    /// and for an application that knows its network changed.
    pub fn reconnect(&self) {
        let _ = self.inner.cmd.send(Command::Reconnect);
    }
}

impl MpsdClient {
    /// An [`RtaClientBuilder`] authorized like this client (its token provider), pointed at the RTA endpoint
    /// that goes with its base URL: [`DEFAULT_RTA_URL`] for the public service, otherwise `ws(s)://<same host
    /// and port>/connect` (the emulator serves RTA on its HTTP port).
    pub fn rta(&self) -> RtaClientBuilder {
        let mut builder = RtaClient::builder().url(rta_url_for(self.base_url()));
        builder.tokens = self.token_provider();
        builder
    }
}

/// The RTA URL that goes with an MPSD base URL.
pub fn rta_url_for(mpsd_base_url: &str) -> String {
    if mpsd_base_url.trim_end_matches('/') == DEFAULT_BASE_URL {
        return DEFAULT_RTA_URL.to_owned();
    }
    match Url::parse(mpsd_base_url) {
        Ok(mut url) => {
            let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
            if url.set_scheme(scheme).is_err() {
                return DEFAULT_RTA_URL.to_owned();
            }
            url.set_path("/connect");
            url.set_query(None);
            url.to_string()
        }
        Err(_) => DEFAULT_RTA_URL.to_owned(),
    }
}

/// One subscription: a stream of [`SubscriptionEvent`]s. Dropping it unsubscribes.
pub struct Subscription {
    uri: String,
    client_id: u64,
    data: Value,
    events: mpsc::UnboundedReceiver<SubscriptionEvent>,
    cmd: mpsc::UnboundedSender<Command>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("uri", &self.uri)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The resource URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The data of the subscribe reply that completed [`RtaClient::subscribe`] (`null` for most resources).
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The next event; `None` once the client is closed.
    pub async fn next_event(&mut self) -> Option<SubscriptionEvent> {
        self.events.recv().await
    }
}

impl Stream for Subscription {
    type Item = SubscriptionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.cmd.send(Command::Unsubscribe {
            client_id: self.client_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_xsapi() {
        let backoff = ReconnectBackoff::default();
        let delays: Vec<u64> = (0..10)
            .map(|n| backoff.delay(n, true, 0.9).as_secs())
            .collect();
        assert_eq!(delays, [0, 1, 4, 9, 16, 25, 36, 49, 60, 60]);
        assert_eq!(backoff.delay(1, false, 0.0), Duration::from_secs(1));
        assert_eq!(backoff.delay(1, false, 1.0), Duration::from_secs(6));
        assert_eq!(backoff.delay(1, false, f64::NAN), Duration::from_secs(1));
        assert_eq!(backoff.delay(u32::MAX, false, 2.0), Duration::from_secs(65));
        assert_eq!(backoff.throttle_delay(3), Duration::from_secs(9));
    }

    #[test]
    fn rta_url_follows_the_mpsd_base_url() {
        assert_eq!(
            rta_url_for("https://sessiondirectory.xboxlive.com"),
            DEFAULT_RTA_URL
        );
        assert_eq!(
            rta_url_for("http://127.0.0.1:4000"),
            "ws://127.0.0.1:4000/connect"
        );
        assert_eq!(
            rta_url_for("https://mpsd.example/base"),
            "wss://mpsd.example/connect"
        );
    }

    #[tokio::test]
    async fn builder_checks_its_inputs() {
        let token = crate::StaticToken(crate::XblToken::new("-", "1").unwrap());
        let bad = RtaClient::builder()
            .url("http://x/connect")
            .token_provider(token.clone())
            .build();
        assert!(matches!(bad, Err(RtaBuildError::InvalidUrl { .. })));
        assert!(matches!(
            RtaClient::builder().build(),
            Err(RtaBuildError::NoToken)
        ));
        let client = RtaClient::builder().token_provider(token).build().unwrap();
        assert_eq!(client.state(), ConnectionState::Idle);
    }
}
