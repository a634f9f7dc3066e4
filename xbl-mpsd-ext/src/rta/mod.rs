//! Real-Time Activity (RTA): session-change notifications ("shoulder taps") and game-invite notifications
//! over one websocket per user (feature `rta`).
//!
//! * [`RtaClient`]: the connection — `wss://rta.xboxlive.com/connect` (or an emulator's
//!   `ws://…/connect`, see [`MpsdClient::rta`](crate::MpsdClient::rta)), subprotocol
//!   `rta.xboxlive.com.V2`, `Authorization` from a [`TokenProvider`](crate::TokenProvider) on every connect;
//!   subscribe/unsubscribe matched to replies by sequence number, typed [`RtaStatus`] codes, reconnect with
//!   XSAPI's backoff and jitter ([`ReconnectBackoff`]) and re-subscription, a recycle before the service's
//!   2-hour cut, resyncs as [`SubscriptionEvent::Resync`]. Events for ids it does not hold are dropped.
//! * [`SessionSubscriptions`]: MPSD on top — the `connections/` ConnectionId, [`SessionSubscriptions::watch`]
//!   writes `connection` and `subscription` and yields [`WatchEvent`]s ([`SessionTap`]s);
//!   [`SessionWatch::next_session`] turns taps into fresh sessions, [`SessionWatch::next_update`] into fresh
//!   sessions with what changed ([`crate::diff`]).
//! * [`InviteStream`] / [`InviteNotification`]: game invites; join one with
//!   [`MpsdClient::join_from_invite`](crate::MpsdClient::join_from_invite).
//!
//! What it leaves to others: presence, social and achievement subscriptions (subscribe to their URIs with
//! [`RtaClient::subscribe`] and read the raw events).

mod client;
mod conn;
mod frame;
mod invite;
mod routing;
mod sessions;
mod types;

/// The change types a session watch asks for (defined at the crate root: a delta's subscription names them too).
pub use crate::changes::{ChangeTypes, UnknownChangeType};
pub use client::{DEFAULT_RTA_URL, RtaClient, RtaClientBuilder, Subscription, rta_url_for};
pub use frame::RtaStatus;
pub use invite::{InvalidInvite, InviteInfo, InviteNotification, InviteStream, invite_uri};
pub use sessions::{
    CONNECTIONS_URI, SessionSubscriptions, SessionUpdate, SessionWatch, WatchError,
};
pub use types::{
    ConnectionState, ReconnectBackoff, RtaBuildError, RtaError, SUBPROTOCOL, SessionTap,
    SubscriptionEvent, WatchEvent,
};
