//! Real-Time Activity (RTA): the `/connect` websocket, MPSD shoulder taps and invite notifications.
//!
//! Frames are JSON arrays (XSAPI `real_time_activity_connection.cpp`, go-xsapi `rta/conn.go`; sources in
//! `docs/rta-notes.md`): `[1,seq,uri]` subscribe → `[1,seq,0,subId,data]`, `[2,seq,subId]` unsubscribe →
//! `[2,seq,code]`, `[3,subId,data]` events, `[4]` resync. The hub keeps every socket's subscriptions; the store
//! tells it of every commit ([`Committed`]) and it taps the members whose `properties.system.connection` is a
//! ConnectionId it issued and whose `subscription.changeTypes` match. When a socket closes, members holding one
//! of its ConnectionIds in a session with `connectionRequiredForActiveMembers` are made inactive (after
//! [`EmulatorConfig::rta_disconnect_delay`]).
//!
//! Events are only ever sent for a subscription id that is active on that socket: the hub's state and the
//! socket's outgoing queue are updated under one lock, and an unsubscribe's reply is queued after its routing
//! is gone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use uuid::{Builder, Uuid};

use crate::SignInMock;
use crate::auth::parse_authorization_with;
use crate::config::EmulatorConfig;
use crate::error::ApiError;
use crate::handles::Handle;
use crate::model::{SessionKey, timestamp};
use crate::session::{ChangeKinds, Member, Session, counterpart, system};
use crate::store::{Committed, Store, Writer};

/// The websocket subprotocol RTA clients offer.
pub(crate) const SUBPROTOCOL: &str = "rta.xboxlive.com.V2";
/// The MPSD resource whose subscribe reply carries a ConnectionId.
const CONNECTIONS: &str = "sessiondirectory.xboxlive.com/connections/";
/// The websocket's read buffer ([`connect`]).
const READ_BUFFER: usize = 8 * 1024;
/// Prefix of the game-invite notification resource.
const NOTIFY: &str = "notify.xboxlive.com/users/xuid(";

/// Status codes of subscribe/unsubscribe replies (XSAPI's `ErrorCode` in `real_time_activity_connection.cpp`,
/// go-xsapi `rta/op.go`).
mod code {
    pub(super) const SUCCESS: u64 = 0;
    pub(super) const UNKNOWN_RESOURCE: u64 = 1;
    pub(super) const SUBSCRIPTION_LIMIT_REACHED: u64 = 2;
    /// XSAPI's mock answers an unsubscribe of an unknown id with 5 (the service's value is unconfirmed).
    pub(super) const UNKNOWN_SUBSCRIPTION: u64 = 5;
}

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a socket's writer task sends.
#[derive(Debug)]
enum Outgoing {
    /// A text frame.
    Frame(String),
    /// Close the socket (code 1001, going away).
    Close,
}

/// A subscribed resource.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    /// `https://sessiondirectory.xboxlive.com/connections/` with the ConnectionId issued for it (lower case).
    Connections(String),
    /// `https://notify.xboxlive.com/users/xuid(X)/…`: game invites to `X`.
    Notify(u64),
}

/// One open socket.
#[derive(Debug)]
struct Socket {
    /// The authenticated user.
    xuid: u64,
    /// Its outgoing queue.
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Active subscriptions by id.
    subs: HashMap<u64, Resource>,
}

/// The hub's mutable state.
#[derive(Debug, Default)]
struct HubState {
    next_socket: u64,
    next_sub: u64,
    sockets: HashMap<u64, Socket>,
    /// ConnectionId (lower case) → (socket, subscription id).
    connection_ids: HashMap<String, (u64, u64)>,
    /// ConnectionId (lower case) → sessions a member holding it was last seen in.
    sessions_of: HashMap<String, HashSet<SessionKey>>,
}

/// The RTA side of an emulator: sockets, subscriptions and the test controls of [`RtaControl`].
#[derive(Debug)]
pub(crate) struct RtaHub {
    state: Mutex<HubState>,
    store: Weak<Store>,
    max_subscriptions: usize,
    disconnect_delay: Duration,
    require_capability: bool,
    /// The emulator's clock (tap timestamps).
    clock: crate::Clock,
}

/// Test and tooling controls of a running emulator's RTA endpoint.
///
/// Get it from [`RunningEmulator::rta`](crate::RunningEmulator::rta).
#[derive(Debug, Clone)]
pub struct RtaControl(pub(crate) Arc<RtaHub>);

impl RtaControl {
    /// Closes every open RTA socket (close code 1001), as the service's 2-hour cut or a network drop would.
    /// Returns how many were closed.
    pub fn disconnect_all(&self) -> usize {
        self.0.close_where(|_| true)
    }

    /// Closes the RTA sockets of `xuid`. Returns how many were closed.
    pub fn disconnect_user(&self, xuid: u64) -> usize {
        self.0.close_where(|socket| socket.xuid == xuid)
    }

    /// Closes the RTA socket holding the ConnectionId `connection_id` (any case), as a network drop would.
    /// Returns whether one was open.
    pub fn disconnect_connection(&self, connection_id: &str) -> bool {
        let cid = connection_id.to_lowercase();
        let state = lock(&self.0.state);
        state
            .connection_ids
            .get(&cid)
            .and_then(|(socket, _)| state.sockets.get(socket))
            .is_some_and(|socket| socket.tx.send(Outgoing::Close).is_ok())
    }

    /// Whether the ConnectionId `connection_id` (any case) belongs to an open RTA socket.
    pub fn is_connected(&self, connection_id: &str) -> bool {
        lock(&self.0.state)
            .connection_ids
            .contains_key(&connection_id.to_lowercase())
    }

    /// Sends a resync (`[4]`) on every open socket. Returns how many got it.
    pub fn resync_all(&self) -> usize {
        let state = lock(&self.0.state);
        state
            .sockets
            .values()
            .filter(|socket| socket.tx.send(Outgoing::Frame("[4]".to_owned())).is_ok())
            .count()
    }

    /// The number of open RTA sockets.
    pub fn socket_count(&self) -> usize {
        lock(&self.0.state).sockets.len()
    }

    /// The number of active subscriptions over all sockets.
    pub fn subscription_count(&self) -> usize {
        lock(&self.0.state)
            .sockets
            .values()
            .map(|socket| socket.subs.len())
            .sum()
    }
}

impl RtaHub {
    /// A hub for `store`, registered as its commit listener.
    pub(crate) fn attach(store: &Arc<Store>, config: &EmulatorConfig) -> Arc<Self> {
        let hub = Arc::new(Self {
            state: Mutex::new(HubState::default()),
            store: Arc::downgrade(store),
            max_subscriptions: config.rta_max_subscriptions,
            disconnect_delay: config.rta_disconnect_delay,
            require_capability: config.rta_require_connection_capability,
            clock: config.clock.clone(),
        });
        let weak = Arc::downgrade(&hub);
        store.set_listener(Arc::new(move |event| {
            if let Some(hub) = weak.upgrade() {
                hub.committed(event);
            }
        }));
        hub
    }

    /// Queues a close on every socket matching `which`.
    fn close_where(&self, which: impl Fn(&Socket) -> bool) -> usize {
        let state = lock(&self.state);
        state
            .sockets
            .values()
            .filter(|socket| which(socket))
            .filter(|socket| socket.tx.send(Outgoing::Close).is_ok())
            .count()
    }

    /// Registers a new socket of `xuid`.
    fn open(&self, xuid: u64, tx: mpsc::UnboundedSender<Outgoing>) -> u64 {
        let mut state = lock(&self.state);
        state.next_socket += 1;
        let id = state.next_socket;
        state.sockets.insert(
            id,
            Socket {
                xuid,
                tx,
                subs: HashMap::new(),
            },
        );
        id
    }

    /// Handles one text frame of socket `id`; the reply (if any) is queued on the socket.
    fn frame(&self, id: u64, text: &str) {
        let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(text) else {
            tracing::debug!(
                socket = id,
                "RTA: ignoring a frame that is not a JSON array"
            );
            return;
        };
        let kind = parts.first().and_then(Value::as_u64);
        let seq = parts.get(1).cloned().unwrap_or(Value::Null);
        let mut state = lock(&self.state);
        let state = &mut *state;
        let Some(socket) = state.sockets.get_mut(&id) else {
            return;
        };
        let reply = match (kind, parts.get(2)) {
            (Some(1), Some(Value::String(uri))) => {
                let resource = parse_resource(uri);
                match resource {
                    None => json!([1, seq, code::UNKNOWN_RESOURCE]),
                    Some(_) if socket.subs.len() >= self.max_subscriptions => {
                        json!([1, seq, code::SUBSCRIPTION_LIMIT_REACHED])
                    }
                    Some(resource) => {
                        state.next_sub += 1;
                        let sub = state.next_sub;
                        let (resource, data) = match resource {
                            Parsed::Connections => {
                                let cid = Uuid::new_v4().to_string();
                                state.connection_ids.insert(cid.clone(), (id, sub));
                                (
                                    Resource::Connections(cid.clone()),
                                    json!({ "ConnectionId": cid }),
                                )
                            }
                            Parsed::Notify(xuid) => (Resource::Notify(xuid), Value::Null),
                        };
                        socket.subs.insert(sub, resource);
                        json!([1, seq, code::SUCCESS, sub, data])
                    }
                }
            }
            (Some(2), Some(sub)) => match sub.as_u64().and_then(|sub| socket.subs.remove(&sub)) {
                Some(Resource::Connections(cid)) => {
                    state.connection_ids.remove(&cid);
                    let reply = json!([2, seq, code::SUCCESS]);
                    let _ = socket.tx.send(Outgoing::Frame(reply.to_string()));
                    self.connection_lost(state, vec![cid]);
                    return;
                }
                Some(Resource::Notify(_)) => json!([2, seq, code::SUCCESS]),
                None => json!([2, seq, code::UNKNOWN_SUBSCRIPTION]),
            },
            _ => {
                tracing::debug!(socket = id, "RTA: ignoring a malformed or unknown frame");
                return;
            }
        };
        let _ = socket.tx.send(Outgoing::Frame(reply.to_string()));
    }

    /// Forgets socket `id` and deactivates the members that held its ConnectionIds.
    fn close(&self, id: u64) {
        let mut state = lock(&self.state);
        let Some(socket) = state.sockets.remove(&id) else {
            return;
        };
        let lost: Vec<String> = socket
            .subs
            .into_values()
            .filter_map(|resource| match resource {
                Resource::Connections(cid) => Some(cid),
                Resource::Notify(_) => None,
            })
            .collect();
        for cid in &lost {
            state.connection_ids.remove(cid);
        }
        self.connection_lost(&mut state, lost);
    }

    /// Schedules the deactivation of members holding one of `lost` (after the detection delay).
    fn connection_lost(&self, state: &mut HubState, lost: Vec<String>) {
        let mut work: Vec<(String, Vec<SessionKey>)> = Vec::new();
        for cid in lost {
            if let Some(keys) = state.sessions_of.remove(&cid) {
                work.push((cid, keys.into_iter().collect()));
            }
        }
        if work.is_empty() {
            return;
        }
        let store = self.store.clone();
        let delay = self.disconnect_delay;
        let deactivate = move || {
            let Some(store) = store.upgrade() else {
                return;
            };
            for (cid, keys) in work {
                for key in keys {
                    store.change_session(&key, Writer::RtaDisconnect, |session| {
                        deactivate(session, &cid)
                    });
                }
            }
        };
        // Never run the store from under the hub's lock: the store calls back into the hub on commit.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    deactivate();
                });
            }
            Err(_) => tracing::warn!("RTA: no runtime to deactivate disconnected members on"),
        }
    }

    /// The store's commit listener.
    fn committed(&self, event: Committed<'_>) {
        match event {
            Committed::Session { before, after } => self.session_committed(before, after),
            Committed::Handle(handle) => self.invite_created(handle),
        }
    }

    /// Taps the members of `after` whose subscription matches what changed since `before`.
    fn session_committed(&self, before: Option<&Session>, after: &Session) {
        // Nothing to remember or tap unless a member (before or after) holds a ConnectionId.
        let connected = |s: &Session| s.members.values().any(|m| m.connection().is_some());
        if !connected(after) && !before.is_some_and(connected) {
            return;
        }
        // What changed is worked out only when a member is about to be tapped (most commits tap nobody).
        let mut changed: Option<ChangeSet> = None;
        let key = after.reference.key();
        let resource = format!(
            "{}~{}~{}",
            after.reference.scid().to_lowercase(),
            after.reference.template_name().to_lowercase(),
            after.reference.name().to_lowercase()
        );
        let capable =
            !self.require_capability || after.capability("connectionRequiredForActiveMembers");
        let mut state = lock(&self.state);
        let state = &mut *state;
        // Remember which sessions hold which ConnectionId, for the disconnect path (nothing is allocated for
        // a member already remembered: the usual write).
        for cid in after.members.values().filter_map(|m| m.connection()) {
            match state.sessions_of.get_mut(cid) {
                Some(keys) if keys.contains(&key) => {}
                Some(keys) => {
                    keys.insert(key.clone());
                }
                None => {
                    state
                        .sessions_of
                        .insert(cid.to_owned(), HashSet::from([key.clone()]));
                }
            }
        }
        if let Some(before) = before {
            for member in before.members.values() {
                let Some(cid) = member.connection() else {
                    continue;
                };
                let still = after
                    .member(member.xuid)
                    .and_then(|(_, m)| m.connection())
                    .is_some_and(|now| now == cid);
                if !still && let Some(keys) = state.sessions_of.get_mut(cid) {
                    keys.remove(&key);
                    if keys.is_empty() {
                        state.sessions_of.remove(cid);
                    }
                }
            }
        }
        if !capable {
            return;
        }
        let now = timestamp(self.clock.utc());
        let branch = after.branch.to_string();
        for member in after
            .members
            .values()
            .filter(|m| m.is_active() && !m.reserved)
        {
            // Both cached when the member's properties were set: nothing is parsed per member and commit.
            let (Some(cid), Some(subscription)) = (member.connection(), member.subscription())
            else {
                continue;
            };
            if !changed
                .get_or_insert_with(|| ChangeSet::between(before, after))
                .wanted_by(subscription.kinds)
            {
                continue;
            }
            let Some(&(socket_id, sub)) = state.connection_ids.get(cid) else {
                continue;
            };
            let Some(socket) = state.sockets.get(&socket_id) else {
                continue;
            };
            // The ConnectionId must belong to this member's own socket.
            if socket.xuid != member.xuid || !socket.subs.contains_key(&sub) {
                continue;
            }
            let tap = ShoulderTap {
                timestamp: &now,
                subscription: subscription.id.as_deref(),
                resource_type: "mpsd/session",
                resource: &resource,
                branch: &branch,
                change_number: after.change_number,
            };
            let frame = TapEvent {
                // From the thread-local generator: `new_v4` asks the OS for every id (a system call per tap).
                ncid: Builder::from_random_bytes(rand::random()).into_uuid(),
                shoulder_taps: [tap],
            };
            match serde_json::to_string(&(3, sub, frame)) {
                Ok(text) => {
                    let _ = socket.tx.send(Outgoing::Frame(text));
                }
                Err(error) => tracing::warn!(%error, "RTA: a shoulder tap could not be written"),
            }
        }
    }

    /// Notifies the invitee's `notify.xboxlive.com` subscriptions of a new invite handle.
    fn invite_created(&self, handle: &Handle) {
        let Some(invited) = handle.invited else {
            return;
        };
        let mut invite = handle.doc.clone();
        let sender = handle.creator.to_string();
        let gamertag = format!(
            "Player{}",
            sender
                .get(sender.len().saturating_sub(4)..)
                .unwrap_or(&sender)
        );
        invite.insert(
            "inviteInfo".to_owned(),
            json!({
                "sender": gamertag,
                "senderModernGamertag": gamertag,
                "senderModernGamertagSuffix": "",
                "senderUniqueModernGamertag": gamertag,
                "senderImageUrl": "",
            }),
        );
        if !invite.contains_key("inviteProtocol") {
            invite.insert("inviteProtocol".to_owned(), json!("game"));
        }
        let payload = json!({ "inviteHandle": Value::Object(invite) });
        let state = lock(&self.state);
        for socket in state.sockets.values().filter(|s| s.xuid == invited) {
            for (sub, resource) in &socket.subs {
                if *resource == Resource::Notify(invited) {
                    let event = json!([3, sub, payload]);
                    let _ = socket.tx.send(Outgoing::Frame(event.to_string()));
                }
            }
        }
    }
}

/// Makes the member holding `cid` inactive; true when something changed.
fn deactivate(session: &mut Session, cid: &str) -> bool {
    if !session.capability("connectionRequiredForActiveMembers") {
        return false;
    }
    let mut changed = false;
    for member in session.members.values_mut() {
        if !(member.connection().is_some_and(|held| held == cid) && member.is_active()) {
            continue;
        }
        let mut properties = member.properties().to_map();
        if let Some(Value::Object(sys)) = properties.get_mut("system") {
            sys.insert("active".to_owned(), Value::Bool(false));
            Member::make_mut(member).set_properties(&properties);
            changed = true;
        }
    }
    changed
}

/// The data of an MPSD event, `{ncid, shoulderTaps}` (fixture `rtaSessionUpdateJson`; `docs/rta-notes.md`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TapEvent<'a> {
    ncid: Uuid,
    shoulder_taps: [ShoulderTap<'a>; 1],
}

/// One shoulder tap, as XSAPI's `MultiplayerSubscription::OnEvent` and go-xsapi's `subscriptionEvent` read it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ShoulderTap<'a> {
    timestamp: &'a str,
    subscription: Option<&'a str>,
    resource_type: &'static str,
    resource: &'a str,
    branch: &'a str,
    change_number: u64,
}

/// A resource a subscribe names.
enum Parsed {
    Connections,
    Notify(u64),
}

/// Recognises the resources the emulator serves (`http` and `https` alike, host and path ignoring case).
fn parse_resource(uri: &str) -> Option<Parsed> {
    let lower = uri.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    if rest == CONNECTIONS || rest == CONNECTIONS.trim_end_matches('/') {
        return Some(Parsed::Connections);
    }
    let tail = rest.strip_prefix(NOTIFY)?;
    let (xuid, path) = tail.split_once(')')?;
    let xuid = crate::model::parse_xuid(xuid)?;
    // `/deviceId/current/titleId/{decimal}`: the title is not matched (no public source says how the service
    // matches it).
    let mut segments = path.trim_start_matches('/').split('/');
    let ok = segments.next() == Some("deviceid")
        && segments.next().is_some()
        && segments.next() == Some("titleid")
        && segments.next().is_some_and(|t| t.parse::<u32>().is_ok())
        && segments.next().is_none();
    ok.then_some(Parsed::Notify(xuid))
}

/// Which `changeTypes` categories a commit touches (XSAPI's `XblMultiplayerSessionChangeTypes` in
/// `multiplayer_c.h`; the mapping is the emulator's choice, `docs/rta-notes.md`).
#[derive(Debug, Default)]
struct ChangeSet(ChangeKinds);

impl ChangeSet {
    /// Compares the session before and after a commit. Members the commit did not touch are still shared
    /// between the two states and are skipped; property texts are parsed only when they differ.
    fn between(before: Option<&Session>, after: &Session) -> Self {
        let mut set = ChangeKinds::EVERYTHING;
        let empty = Session::new(&after.reference, after.start_time);
        let before = before.unwrap_or(&empty);
        if before.properties != after.properties {
            let (old, new) = (before.properties.to_map(), after.properties.to_map());
            let prop = |map: &Map<String, Value>, key: &str| {
                system(map).and_then(|sys| sys.get(key)).cloned()
            };
            if prop(&old, "host") != prop(&new, "host") {
                set = set.with(ChangeKinds::HOST);
            }
            if prop(&old, "matchmaking") != prop(&new, "matchmaking") {
                set = set.with(ChangeKinds::MATCHMAKING_STATUS);
            }
            let joinability = ["joinRestriction", "readRestriction", "closed", "locked"]
                .iter()
                .any(|key| prop(&old, key) != prop(&new, key));
            if joinability {
                set = set.with(ChangeKinds::JOINABILITY);
            }
            if old.get("custom") != new.get("custom") {
                set = set.with(ChangeKinds::CUSTOM_PROPERTY);
            }
        }
        let joined = after.members.iter().any(|(index, m)| {
            !m.reserved && counterpart(before, *index, m).is_none_or(|b| b.reserved)
        });
        if joined {
            set = set.with(ChangeKinds::MEMBERS_LIST);
        }
        let status = before
            .members
            .iter()
            .any(|(index, b)| match counterpart(after, *index, b) {
                None => true,
                Some(a) => a.is_active() != b.is_active() || a.is_present() != b.is_present(),
            });
        if status {
            set = set.with(ChangeKinds::MEMBERS_STATUS);
        }
        let custom = |m: &Member| m.properties().to_map().remove("custom");
        let member_custom =
            after
                .members
                .iter()
                .any(|(index, a)| match counterpart(before, *index, a) {
                    None => true,
                    Some(b) if Arc::ptr_eq(a, b) || a.properties() == b.properties() => false,
                    Some(b) => custom(b) != custom(a),
                });
        if member_custom {
            set = set.with(ChangeKinds::MEMBERS_CUSTOM_PROPERTY);
        }
        let member_initialization = after.members.iter().any(|(index, a)| {
            counterpart(before, *index, a)
                .is_some_and(|b| b.episode != a.episode || b.failure != a.failure)
        });
        if before.initializing() != after.initializing() || member_initialization {
            set = set.with(ChangeKinds::INITIALIZATION);
        }
        Self(set)
    }

    /// Whether a member subscribed to `kinds` wants this change.
    fn wanted_by(&self, kinds: ChangeKinds) -> bool {
        self.0.intersects(kinds)
    }
}

/// `GET /connect`: the RTA websocket upgrade.
pub(crate) async fn connect(
    State(hub): State<Arc<RtaHub>>,
    sign_in: Option<axum::Extension<SignInMock>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The same tokens as every MPSD request: the XUID shortcut, or an XSTS token the sign-in mock issued.
    let sign_in = sign_in.as_ref().map(|axum::Extension(mock)| mock);
    let xuid = match headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("The Authorization header is missing or not text"))
        .and_then(|value| parse_authorization_with(value, sign_in))
    {
        Ok(xuid) => xuid,
        Err(error) => return error.into_response(),
    };
    upgrade
        .protocols([SUBPROTOCOL])
        // axum's (tungstenite's) default is 128 KiB, zero-filled before every read and every poll that finds
        // nothing; RTA frames from clients are a few hundred bytes (a larger one grows the buffer).
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| run_socket(hub, xuid, socket))
}

/// Serves one socket until either side closes it.
async fn run_socket(hub: Arc<RtaHub>, xuid: u64, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = hub.open(xuid, tx);
    loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Frame(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let close = axum::extract::ws::CloseFrame { code: 1001, reason: "going away".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => hub.frame(id, text.as_str()),
                Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                    Ok(text) => hub.frame(id, text),
                    Err(_) => tracing::debug!(socket = id, "RTA: ignoring a binary frame that is not UTF-8"),
                },
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
        }
    }
    hub.close(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_recognised_ignoring_scheme_and_case() {
        assert!(matches!(
            parse_resource("https://sessiondirectory.xboxlive.com/connections/"),
            Some(Parsed::Connections)
        ));
        assert!(matches!(
            parse_resource("http://SessionDirectory.xboxlive.com/connections"),
            Some(Parsed::Connections)
        ));
        assert!(matches!(
            parse_resource(
                "https://notify.xboxlive.com/users/xuid(2533274792693551)/deviceId/current/titleId/1234"
            ),
            Some(Parsed::Notify(2533274792693551))
        ));
        for bad in [
            "",
            "https://userpresence.xboxlive.com/users/xuid(1)/devices",
            "https://notify.xboxlive.com/users/xuid(abc)/deviceId/current/titleId/1",
            "https://notify.xboxlive.com/users/xuid(1)/deviceId/current/titleId/x",
            "wss://sessiondirectory.xboxlive.com/connections/",
        ] {
            assert!(parse_resource(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn change_types_match_ignoring_case() {
        let set = ChangeSet(ChangeKinds::EVERYTHING.with(ChangeKinds::CUSTOM_PROPERTY));
        let kinds = |names: &[&str]| {
            names
                .iter()
                .map(|name| ChangeKinds::named(name))
                .fold(ChangeKinds::NONE, ChangeKinds::with)
        };
        assert!(set.wanted_by(kinds(&["CustomProperty"])));
        assert!(set.wanted_by(kinds(&["host", "EVERYTHING"])));
        assert!(!set.wanted_by(kinds(&["host"])));
        assert!(!set.wanted_by(kinds(&["noSuchChange"])));
        assert!(!set.wanted_by(kinds(&[])));
    }
}
