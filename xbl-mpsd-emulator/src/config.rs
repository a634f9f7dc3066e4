//! Emulator configuration.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::Clock;

/// Configuration of an emulator instance.
///
/// Every field has a sensible default (see [`EmulatorConfig::default`]), so the usual way to build one is
/// `EmulatorConfig { max_body_bytes: 4096, ..EmulatorConfig::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// The address [`Emulator::start`](crate::Emulator::start) binds. Default `127.0.0.1:0` (an ephemeral loopback port).
    pub bind_addr: SocketAddr,
    /// The largest request body accepted, in bytes; larger bodies are refused with 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// The title ID reported as `titleId` of activity handles and `activeTitleId` of members. Default `1234`.
    pub title_id: u32,
    /// How long after creation an invite handle's `expiration` lies. Default 24 hours.
    ///
    /// The emulator only reports the time; it does not delete expired invites.
    pub invite_expiration: Duration,

    // Resource limits (issue #11: R8, R9, R11). Each is answered with a typed status and a text body.
    /// The most connections served at once. Further connections wait in the listen backlog until one closes
    /// (they are not accepted, so they hold no file descriptor). Default 1024.
    pub max_connections: usize,
    /// How long a client has to send a complete request head (and, on a kept-alive connection, the next one);
    /// after that the connection is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a client has to send a whole request body once the head arrived; after that the answer is
    /// 408 and the connection is closed. Default 30 s.
    pub body_read_timeout: Duration,
    /// The most sessions one user (the creator) may have at once; creating another is 403. Default 1000.
    pub max_sessions_per_user: usize,
    /// The most handles one user (the creator) may have at once; creating another is 403. Default 1000.
    pub max_handles_per_user: usize,
    /// The largest session document, in bytes of its stored JSON; a write that would make it larger is 413.
    /// Default 1 MiB.
    pub max_session_bytes: usize,

    /// Where to keep the directory across restarts (`--data-dir`); `None` (the default) keeps it in memory only.
    ///
    /// With a directory, every session and handle write is committed durably (fsync) before it is answered,
    /// and the directory is restored from it on start.
    pub data_dir: Option<PathBuf>,
    /// The most subscriptions one RTA socket may hold; more are refused with status 2
    /// (SubscriptionLimitReached). Default 1000 (the service's limit is not published).
    pub rta_max_subscriptions: usize,
    /// How long after an RTA socket closes the members holding its ConnectionId are made inactive (sessions
    /// with `connectionRequiredForActiveMembers` only), on tokio's clock. Default 0: at once.
    pub rta_disconnect_delay: Duration,
    /// Whether shoulder taps are sent only for sessions with `connectionRequiredForActiveMembers`, as the docs
    /// describe. Default `false`: any session taps its subscribed, connected, active members.
    pub rta_require_connection_capability: bool,
    /// The sign-in mock served next to MPSD (keep a clone to steer it from a test). Default: a fresh mock.
    pub sign_in: crate::SignInMock,
    /// The session templates (`--templates DIR`): `DIR/<template>.json` is that template under every SCID,
    /// `DIR/<scid>/<template>.json` under one SCID (and wins). Each file is `{"contractVersion": 107, "constants":
    /// {"system": …, "custom": …}, "roleTypes": …}`, checked when the emulator starts (a bad file stops it, naming
    /// the file and the JSON path); a session of a name the directory lacks is 404. `None` (the default): every
    /// template name exists and is empty, so sessions get the contract-107 defaults and their creator's constants.
    /// Used by [`Emulator::start`](crate::Emulator::start) and [`try_router`](crate::try_router), not by
    /// [`router`](crate::router).
    pub templates: Option<PathBuf>,
    /// Where the emulator's time comes from: `joinTime`, `startTime`, `stageStartTime`, `nextTimer`, handle
    /// times, the `Date` and `Expires` headers, tap timestamps, and every timer. Default [`Clock::system`].
    ///
    /// With a [`Clock::manual`] (`--manual-clock`), time stands still until the clock is advanced (by the test
    /// that keeps a clone of it, or by `POST /_emulator/clock`), every response's `Date` comes from it, and the
    /// timer sweep runs when it is advanced.
    pub clock: Clock,
    /// Whether a sweep applies due timers to sessions nobody reads (so they expire and leave memory): a task
    /// that sleeps until the next deadline with the system clock, a step of every advance with a manual clock.
    /// Default `true`. Without it timers are applied only when a request reads or writes the session, as the
    /// service documents.
    pub sweep_timers: bool,
    /// Whether the explorer (`/explorer`) offers its development actions (`--explorer-actions`): delete a
    /// session, remove a member, drop a member's RTA connection, advance a manual clock. Default `false`: the
    /// explorer only reads, and its action routes answer 403 and change nothing.
    pub explorer_actions: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_body_bytes: 1024 * 1024,
            title_id: 1234,
            invite_expiration: Duration::from_secs(24 * 60 * 60),
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_sessions_per_user: 1000,
            max_handles_per_user: 1000,
            max_session_bytes: 1024 * 1024,
            data_dir: None,
            rta_max_subscriptions: 1000,
            rta_disconnect_delay: Duration::ZERO,
            rta_require_connection_capability: false,
            sign_in: crate::SignInMock::default(),
            templates: None,
            clock: Clock::system(),
            sweep_timers: true,
            explorer_actions: false,
        }
    }
}
