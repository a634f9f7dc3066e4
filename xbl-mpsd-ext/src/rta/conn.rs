//! The connection task: owns the websocket, matches replies to requests by sequence number, routes events by
//! subscription id, reconnects with backoff and re-subscribes.

use std::collections::HashMap;
use std::time::Instant;

use futures::{SinkExt, StreamExt};
use reqwest::header::{AUTHORIZATION, HeaderValue, SEC_WEBSOCKET_PROTOCOL, USER_AGENT};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::frame::{self, Incoming, RtaStatus};
use super::types::{Config, ConnectionState, RtaError, SUBPROTOCOL, SubscriptionEvent};

/// The websocket's read buffer (see [`Actor::connect`]).
const READ_BUFFER: usize = 8 * 1024;

/// What the public handles ask of the task.
pub(crate) enum Command {
    /// Add a local subscription to `uri`.
    Subscribe {
        uri: String,
        client_id: u64,
        events: mpsc::UnboundedSender<SubscriptionEvent>,
        reply: oneshot::Sender<Result<Value, RtaError>>,
    },
    /// Remove a local subscription.
    Unsubscribe { client_id: u64 },
    /// Re-send a throttled subscribe.
    Retry { uri: String },
    /// Drop the socket and reconnect.
    Reconnect,
    /// Close for good.
    Close,
}

/// A local subscriber.
struct Local {
    events: mpsc::UnboundedSender<SubscriptionEvent>,
    /// Set until the first successful reply.
    reply: Option<oneshot::Sender<Result<Value, RtaError>>>,
}

/// Where a service subscription stands on the current socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not sent on this socket (yet).
    Inactive,
    /// Sent with this sequence number.
    Subscribing(u64),
    /// Active with the service's id.
    Active(u64),
    /// Refused with 1001/1002; a retry is scheduled.
    Throttled,
}

/// One URI's service subscription, shared by its local subscribers.
struct Wanted {
    locals: HashMap<u64, Local>,
    state: State,
    data: Value,
    throttled: u32,
}

/// Why the socket loop ended.
enum End {
    /// Reconnect.
    Dropped,
    /// Stop the task.
    Closed,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The connection task.
pub(crate) struct Actor {
    config: Config,
    rx: mpsc::UnboundedReceiver<Command>,
    me: mpsc::WeakUnboundedSender<Command>,
    state: watch::Sender<ConnectionState>,
    wanted: HashMap<String, Wanted>,
    by_client: HashMap<u64, String>,
    by_sub: HashMap<u64, String>,
    pending: HashMap<u64, String>,
    next_seq: u64,
}

impl Actor {
    pub(crate) fn new(
        config: Config,
        rx: mpsc::UnboundedReceiver<Command>,
        me: mpsc::WeakUnboundedSender<Command>,
        state: watch::Sender<ConnectionState>,
    ) -> Self {
        Self {
            config,
            rx,
            me,
            state,
            wanted: HashMap::new(),
            by_client: HashMap::new(),
            by_sub: HashMap::new(),
            pending: HashMap::new(),
            next_seq: 0,
        }
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }

    /// Runs until closed or every handle is gone.
    pub(crate) async fn run(mut self) {
        let mut failures: u32 = 0;
        let mut connected_once = false;
        loop {
            // Connect only when something is wanted.
            while self.wanted.is_empty() {
                self.set_state(ConnectionState::Idle);
                match self.rx.recv().await {
                    Some(command) => {
                        if !self.offline(command) {
                            return self.set_state(ConnectionState::Idle);
                        }
                    }
                    None => return self.set_state(ConnectionState::Idle),
                }
            }
            self.set_state(if failures >= self.config.lost_after {
                ConnectionState::Disconnected
            } else {
                ConnectionState::Connecting
            });
            let delay =
                self.config
                    .backoff
                    .delay(failures, !connected_once, self.config.jitter.sample());
            if !delay.is_zero() {
                let clock = self.config.clock.clone();
                let sleep = clock.sleep(delay);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        command = self.rx.recv() => {
                            let keep = match command {
                                Some(command) => self.offline(command),
                                None => false,
                            };
                            if !keep {
                                return self.set_state(ConnectionState::Idle);
                            }
                        }
                    }
                }
                if self.wanted.is_empty() {
                    continue;
                }
            }
            let socket = match self.connect().await {
                Ok(socket) => socket,
                Err(reason) => {
                    failures = failures.saturating_add(1);
                    tracing::debug!(attempt = failures, %reason, "RTA connect failed");
                    continue;
                }
            };
            failures = 0;
            connected_once = true;
            self.set_state(ConnectionState::Connected);
            tracing::debug!("RTA connected");
            let end = self.serve(socket).await;
            self.disconnected();
            if matches!(end, End::Closed) {
                return self.set_state(ConnectionState::Idle);
            }
        }
    }

    /// Opens the websocket with a fresh token.
    async fn connect(&self) -> Result<Socket, String> {
        let token = self
            .config
            .tokens
            .token()
            .await
            .map_err(|e| format!("no token: {e}"))?;
        let mut request = self
            .config
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| e.to_string())?;
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, token.authorization());
        headers.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        if let Ok(agent) = HeaderValue::from_str(&self.config.user_agent) {
            headers.insert(USER_AGENT, agent);
        }
        match tokio::time::timeout(
            self.config.connect_timeout,
            // Nagle off: a subscribe (or a pong) goes out at once. A read buffer of 8 KiB instead of
            // tungstenite's 128 KiB: it zero-fills the buffer's free part before every read (including the
            // poll that finds nothing), and RTA frames are a few hundred bytes; a larger frame grows it.
            tokio_tungstenite::connect_async_with_config(
                request,
                Some(WebSocketConfig::default().read_buffer_size(READ_BUFFER)),
                true,
            ),
        )
        .await
        {
            Ok(Ok((socket, _response))) => Ok(socket),
            // The error may echo the request; only its kind is reported, never the headers.
            Ok(Err(error)) => Err(describe(&error)),
            Err(_) => Err("timed out".to_owned()),
        }
    }

    /// Handles a command while not connected. False when the task must stop.
    fn offline(&mut self, command: Command) -> bool {
        match command {
            Command::Subscribe {
                uri,
                client_id,
                events,
                reply,
            } => {
                self.add_local(uri, client_id, events, reply);
            }
            Command::Unsubscribe { client_id } => {
                let _ = self.remove_local(client_id);
            }
            Command::Retry { uri } => {
                if let Some(wanted) = self.wanted.get_mut(&uri)
                    && wanted.state == State::Throttled
                {
                    wanted.state = State::Inactive;
                }
            }
            Command::Reconnect => {}
            Command::Close => return false,
        }
        true
    }

    /// Registers a local subscriber; returns the frame to send when the URI is new and the socket is up.
    fn add_local(
        &mut self,
        uri: String,
        client_id: u64,
        events: mpsc::UnboundedSender<SubscriptionEvent>,
        reply: oneshot::Sender<Result<Value, RtaError>>,
    ) {
        let wanted = self.wanted.entry(uri.clone()).or_insert_with(|| Wanted {
            locals: HashMap::new(),
            state: State::Inactive,
            data: Value::Null,
            throttled: 0,
        });
        let reply = if let State::Active(_) = wanted.state {
            let _ = reply.send(Ok(wanted.data.clone()));
            None
        } else {
            Some(reply)
        };
        wanted.locals.insert(client_id, Local { events, reply });
        self.by_client.insert(client_id, uri);
    }

    /// Removes a local subscriber; returns the unsubscribe frame when it was the URI's last one.
    fn remove_local(&mut self, client_id: u64) -> Option<String> {
        let uri = self.by_client.remove(&client_id)?;
        let wanted = self.wanted.get_mut(&uri)?;
        wanted.locals.remove(&client_id);
        if !wanted.locals.is_empty() {
            return None;
        }
        match wanted.state {
            // Wait for the reply, then unsubscribe (the protocol forbids unsubscribing a pending subscribe).
            State::Subscribing(_) => None,
            State::Active(sub_id) => {
                self.wanted.remove(&uri);
                // Stop routing before the unsubscribe goes out.
                self.by_sub.remove(&sub_id);
                Some(frame::unsubscribe(self.seq(), sub_id))
            }
            State::Inactive | State::Throttled => {
                self.wanted.remove(&uri);
                None
            }
        }
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Sends `[1, seq, uri]` for every wanted URI not yet sent on this socket.
    fn subscribe_frames(&mut self) -> Vec<String> {
        let uris: Vec<String> = self
            .wanted
            .iter()
            .filter(|(_, wanted)| wanted.state == State::Inactive)
            .map(|(uri, _)| uri.clone())
            .collect();
        let mut frames = Vec::with_capacity(uris.len());
        for uri in uris {
            let seq = self.seq();
            if let Some(wanted) = self.wanted.get_mut(&uri) {
                wanted.state = State::Subscribing(seq);
            }
            frames.push(frame::subscribe(seq, &uri));
            self.pending.insert(seq, uri);
        }
        frames
    }

    /// Serves one socket until it drops or the task is closed.
    async fn serve(&mut self, socket: Socket) -> End {
        let (mut sink, mut stream) = socket.split();
        let clock = self.config.clock.clone();
        let recycle_after = self.config.recycle_after;
        let recycle = async move {
            match recycle_after {
                Some(after) => clock.sleep(after).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(recycle);
        let connected_at = Instant::now();
        let mut out = self.subscribe_frames();
        loop {
            for text in out.drain(..) {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return End::Dropped;
                }
            }
            tokio::select! {
                command = self.rx.recv() => match command {
                    None | Some(Command::Close) => {
                        let _ = sink.close().await;
                        return End::Closed;
                    }
                    Some(Command::Reconnect) => {
                        let _ = sink.close().await;
                        return End::Dropped;
                    }
                    Some(Command::Subscribe { uri, client_id, events, reply }) => {
                        self.add_local(uri, client_id, events, reply);
                        out = self.subscribe_frames();
                    }
                    Some(Command::Unsubscribe { client_id }) => {
                        out.extend(self.remove_local(client_id));
                    }
                    Some(Command::Retry { uri }) => {
                        if let Some(wanted) = self.wanted.get_mut(&uri)
                            && wanted.state == State::Throttled
                        {
                            wanted.state = State::Inactive;
                        }
                        out = self.subscribe_frames();
                    }
                },
                message = stream.next() => match message {
                    Some(Ok(Message::Text(text))) => out = self.incoming(text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                        Ok(text) => out = self.incoming(text),
                        Err(_) => tracing::debug!("RTA: ignoring a binary frame that is not UTF-8"),
                    },
                    Some(Ok(Message::Ping(_))) => {
                        // The pong is queued by tungstenite; flushing sends it.
                        if sink.flush().await.is_err() {
                            return End::Dropped;
                        }
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        tracing::debug!(after = ?connected_at.elapsed(), "RTA socket closed");
                        return End::Dropped;
                    }
                    Some(Ok(_)) => {}
                },
                () = &mut recycle => {
                    tracing::debug!("RTA: recycling the connection before the service's 2-hour cut");
                    let _ = sink.close().await;
                    return End::Dropped;
                }
            }
        }
    }

    /// Handles a frame from the service; returns frames to send.
    fn incoming(&mut self, text: &str) -> Vec<String> {
        let Some(frame) = Incoming::parse(text) else {
            tracing::debug!("RTA: ignoring a malformed or unknown frame");
            return Vec::new();
        };
        match frame {
            Incoming::SubscribeReply {
                seq,
                status,
                sub_id,
                data,
            } => self.subscribe_reply(seq, status, sub_id, data),
            Incoming::UnsubscribeReply { seq, status } => {
                if status != RtaStatus::Success {
                    tracing::debug!(seq, %status, "RTA unsubscribe answered with an error");
                }
                Vec::new()
            }
            Incoming::Event { sub_id, data } => {
                // Unknown or unsubscribed ids are dropped.
                if let Some(wanted) = self
                    .by_sub
                    .get(&sub_id)
                    .and_then(|uri| self.wanted.get(uri))
                {
                    // The event is moved into the last local subscriber (usually the only one).
                    let mut locals = wanted.locals.values().peekable();
                    let mut data = Some(data);
                    while let Some(local) = locals.next() {
                        let event = if locals.peek().is_some() {
                            data.clone()
                        } else {
                            data.take()
                        };
                        if let Some(event) = event {
                            let _ = local.events.send(SubscriptionEvent::Event(event));
                        }
                    }
                }
                Vec::new()
            }
            Incoming::Resync => {
                for wanted in self.wanted.values() {
                    if matches!(wanted.state, State::Active(_)) {
                        for local in wanted.locals.values() {
                            let _ = local.events.send(SubscriptionEvent::Resync);
                        }
                    }
                }
                Vec::new()
            }
        }
    }

    fn subscribe_reply(
        &mut self,
        seq: u64,
        status: RtaStatus,
        sub_id: Option<u64>,
        data: Value,
    ) -> Vec<String> {
        let Some(uri) = self.pending.remove(&seq) else {
            tracing::debug!(seq, "RTA: ignoring a reply to no pending subscribe");
            return Vec::new();
        };
        let Some(wanted) = self.wanted.get_mut(&uri) else {
            return Vec::new();
        };
        match (status, sub_id) {
            (RtaStatus::Success, Some(sub_id)) => {
                if wanted.locals.is_empty() {
                    self.wanted.remove(&uri);
                    return vec![frame::unsubscribe(self.seq(), sub_id)];
                }
                wanted.state = State::Active(sub_id);
                wanted.throttled = 0;
                wanted.data = data.clone();
                for local in wanted.locals.values_mut() {
                    match local.reply.take() {
                        Some(reply) => {
                            let _ = reply.send(Ok(data.clone()));
                        }
                        None => {
                            let _ = local
                                .events
                                .send(SubscriptionEvent::Resubscribed(data.clone()));
                        }
                    }
                }
                self.by_sub.insert(sub_id, uri);
            }
            (status, _) if status.is_retryable() && !wanted.locals.is_empty() => {
                wanted.state = State::Throttled;
                wanted.throttled = wanted.throttled.saturating_add(1);
                let delay = self.config.backoff.throttle_delay(wanted.throttled);
                tracing::debug!(%uri, %status, ?delay, "RTA subscribe throttled; retrying");
                let me = self.me.clone();
                let clock = self.config.clock.clone();
                tokio::spawn(async move {
                    clock.sleep(delay).await;
                    if let Some(me) = me.upgrade() {
                        let _ = me.send(Command::Retry { uri });
                    }
                });
            }
            (status, _) => {
                let status = if status == RtaStatus::Success {
                    RtaStatus::Other(0)
                } else {
                    status
                };
                if let Some(wanted) = self.wanted.remove(&uri) {
                    for (client_id, local) in wanted.locals {
                        self.by_client.remove(&client_id);
                        match local.reply {
                            Some(reply) => {
                                let _ = reply.send(Err(RtaError::Refused {
                                    uri: uri.clone(),
                                    status,
                                }));
                            }
                            None => {
                                let _ = local.events.send(SubscriptionEvent::Ended(status));
                            }
                        }
                    }
                }
            }
        }
        Vec::new()
    }

    /// Forgets the socket's ids; every subscription is re-sent on the next socket.
    fn disconnected(&mut self) {
        self.by_sub.clear();
        self.pending.clear();
        for wanted in self.wanted.values_mut() {
            if wanted.state != State::Throttled {
                wanted.state = State::Inactive;
            }
        }
        self.wanted.retain(|_, wanted| !wanted.locals.is_empty());
    }
}

/// A connect error's kind, without anything the request carried.
fn describe(error: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match error {
        E::Http(response) => format!("HTTP {}", response.status()),
        E::Io(io) => format!("I/O: {}", io.kind()),
        E::Tls(_) => "TLS handshake failed".to_owned(),
        E::Protocol(p) => format!("protocol: {p}"),
        E::Url(u) => format!("URL: {u}"),
        other => format!("{other}"),
    }
    .chars()
    .take(200)
    .collect()
}
