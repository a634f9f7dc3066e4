//! Emulator configuration.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

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
    /// The sign-in mock served next to MPSD (keep a clone to steer it from a test). Default: a fresh mock.
    pub sign_in: crate::SignInMock,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_body_bytes: 1024 * 1024,
            title_id: 1234,
            invite_expiration: Duration::from_secs(24 * 60 * 60),
            sign_in: crate::SignInMock::default(),
        }
    }
}
