//! Set-up the integration tests share: a client for an emulator user, a client for a mock server with a
//! fake clock and no jitter, and the handle ID the mock-server tests use. Each test crate uses a part.
#![allow(dead_code)]

use std::sync::Arc;

use xbl_mpsd_emulator::RunningEmulator;
use xbl_mpsd_ext::retry::FixedJitter;
use xbl_mpsd_ext::{FakeClock, MpsdClient, RetryPolicy, XblToken};

/// The handle the mock-server tests address.
pub const HANDLE: &str = "7a4d0a99-4e23-4eba-9894-5173cf123fb4";

/// The SCID of the session [`HANDLE`] points at in the mock-server tests.
pub const MOCK_SCID: &str = "00000000-0000-0000-0000-000076029b4d";

/// The activity handle document a mock MPSD answers for [`HANDLE`] (session `lobby/game-1` in [`MOCK_SCID`]).
pub fn handle_json() -> serde_json::Value {
    serde_json::json!({
        "id": HANDLE, "type": "activity", "version": 1,
        "sessionRef": {"scid": MOCK_SCID, "templateName": "lobby", "name": "game-1"}
    })
}

/// A client acting as `user` (in the emulator the token is the caller's XUID).
pub fn client_for(emulator: &RunningEmulator, user: &str) -> MpsdClient {
    MpsdClient::builder()
        .base_url(emulator.base_url())
        .token(XblToken::new("-", user).unwrap())
        .build()
        .unwrap()
}

/// A client for the mock server at `base_url` with the token `(1234, token)`, XSAPI's retry policy without
/// jitter, and a fake clock (returned) so retries wait no real time.
pub fn mock_client(base_url: &str, token: &str) -> (MpsdClient, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::default());
    let client = MpsdClient::builder()
        .base_url(base_url)
        .token(XblToken::new("1234", token).unwrap())
        .retry_policy(RetryPolicy::default().with_jitter(FixedJitter(0.0)))
        .clock(clock.clone())
        .build()
        .unwrap();
    (client, clock)
}

/// The URL of a loopback port that refuses connections (a listener bound and dropped), without a path.
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}
