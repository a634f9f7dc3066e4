//! An offline stand-in for the Xbox Live sign-in services: Microsoft account device-code and token
//! endpoints, user, device, SISU and XSTS tokens, served by the emulator next to MPSD.
//!
//! Paths are the real ones (`/oauth20_connect.srf`, `/oauth20_token.srf`, `/user/authenticate`,
//! `/device/authenticate`, `/authorize`, `/xsts/authorize`), so a client whose every sign-in endpoint
//! points at the emulator's base URL signs in offline. Requests are checked as the open-source clients send
//! them (xal-rs, go-xsapi, MinecraftAuth; `docs/signin-notes.md`):
//! fields, contract version, live input tokens, and the `Signature` of device and SISU requests (ECDSA
//! P-256 by the body's proof key, timestamp within five minutes). XSTS tokens it issues are then accepted
//! by the emulator's MPSD as their user (`XBL3.0 x=<uhs>;<token>`), alongside the XUID shortcut.
//!
//! Tests steer it through [`SignInMock`]: the signed-in account, the answers to the device-code polls,
//! token lifetimes, one-shot failures (each documented `XErr`, OAuth errors), revoking XSTS tokens.
//! The mock approves every device code by itself (after the scripted polls): there is no browser step.
//!
//! Files: this one holds the steering API ([`SignInMock`] and its settings), the router and the answers the
//! endpoints share; `oauth` the Microsoft account endpoints, `xbox` the Xbox token endpoints, `signature` the
//! checks of signed requests.

mod oauth;
mod signature;
mod xbox;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use self::oauth::{device_authorization, token};
use self::xbox::{device_authenticate, sisu_authorize, user_authenticate, xsts_authorize};

/// The user the mock signs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockAccount {
    /// The XUID (`xid` claim; what MPSD sees as the caller).
    pub xuid: u64,
    /// The gamertag (`gtg`).
    pub gamertag: String,
    /// The user hash (`uhs`).
    pub user_hash: String,
    /// The age group (`agg`).
    pub age_group: String,
}

impl Default for MockAccount {
    fn default() -> Self {
        Self {
            xuid: 2_535_428_670_010_001,
            gamertag: "MockGamer".to_owned(),
            user_hash: "3141592653589793".to_owned(),
            age_group: "Adult".to_owned(),
        }
    }
}

/// What a device-code poll answers before the sign-in succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollAnswer {
    /// 400 `authorization_pending`.
    Pending,
    /// 400 `slow_down`.
    SlowDown,
}

/// An endpoint of the mock, to inject a failure into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MockEndpoint {
    /// `POST /oauth20_connect.srf`.
    DeviceAuthorization,
    /// `POST /oauth20_token.srf` with the device-code grant.
    DeviceToken,
    /// `POST /oauth20_token.srf` with the refresh-token grant.
    Refresh,
    /// `POST /user/authenticate`.
    User,
    /// `POST /device/authenticate`.
    Device,
    /// `POST /authorize` (SISU).
    Sisu,
    /// `POST /xsts/authorize`.
    Xsts,
}

/// A failure to answer with, once.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockFailure {
    /// 400 with OAuth error `error` (`expired_token`, `access_denied`, `invalid_grant`, …).
    OAuth(String),
    /// 401 with `X-Err: code` and body `{"XErr": code, "Message": ""}`.
    XErr(u32),
    /// `status` with an empty JSON body and no code.
    Status(u16),
}

/// Token lifetimes of the mock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MockLifetimes {
    /// Microsoft account access tokens. Default 1 hour.
    pub msa: Duration,
    /// User, title and device tokens. Default 14 days.
    pub user: Duration,
    /// XSTS tokens. Default 16 hours.
    pub xsts: Duration,
}

impl Default for MockLifetimes {
    fn default() -> Self {
        Self {
            msa: Duration::from_secs(3600),
            user: Duration::from_secs(14 * 24 * 3600),
            xsts: Duration::from_secs(16 * 3600),
        }
    }
}

/// Issued tokens and the mock's settings.
#[derive(Default)]
struct MockState {
    account: MockAccount,
    script: VecDeque<PollAnswer>,
    interval: u64,
    lifetimes: MockLifetimes,
    failures: HashMap<MockEndpoint, VecDeque<MockFailure>>,
    counts: HashMap<MockEndpoint, usize>,
    serial: u64,
    client_ids: HashMap<String, String>,
    device_codes: HashMap<String, VecDeque<PollAnswer>>,
    access_tokens: HashMap<String, SystemTime>,
    refresh_tokens: HashMap<String, String>,
    user_tokens: HashMap<String, SystemTime>,
    title_tokens: HashMap<String, SystemTime>,
    device_tokens: HashMap<String, (SystemTime, String, String)>,
    xsts_tokens: HashMap<String, (u64, String, SystemTime)>,
    revoked_xsts_tokens: std::collections::HashSet<String>,
}

/// The sign-in mock's handle: cheap to clone, shared with the server it was given to (through
/// [`EmulatorConfig::sign_in`](crate::EmulatorConfig::sign_in)).
///
/// ```
/// use xbl_mpsd_emulator::{MockEndpoint, MockFailure, PollAnswer, SignInMock};
///
/// let mock = SignInMock::default();
/// mock.set_poll_script([PollAnswer::Pending, PollAnswer::SlowDown]);
/// mock.fail_next(MockEndpoint::Xsts, MockFailure::XErr(2_148_916_233)); // no Xbox profile
/// assert_eq!(mock.requests(MockEndpoint::Xsts), 0);
/// ```
#[derive(Clone, Default)]
pub struct SignInMock {
    state: Arc<Mutex<MockState>>,
}

impl PartialEq for SignInMock {
    /// Two handles are equal when they steer the same mock.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

impl Eq for SignInMock {}

impl fmt::Debug for SignInMock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SignInMock")
            .field("account", &state.account)
            .field("issued_xsts_tokens", &state.xsts_tokens.len())
            .finish_non_exhaustive()
    }
}

impl SignInMock {
    fn lock(&self) -> MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Signs in `account` from now on.
    pub fn set_account(&self, account: MockAccount) {
        self.lock().account = account;
    }

    /// The account signed in.
    pub fn account(&self) -> MockAccount {
        self.lock().account.clone()
    }

    /// The answers of the device-code polls of the next device codes issued, before success. Default:
    /// none (the first poll succeeds).
    pub fn set_poll_script(&self, answers: impl IntoIterator<Item = PollAnswer>) {
        self.lock().script = answers.into_iter().collect();
    }

    /// The polling interval announced with device codes, in seconds. Default 0.
    pub fn set_interval(&self, seconds: u64) {
        self.lock().interval = seconds;
    }

    /// Lifetimes of tokens issued from now on.
    pub fn set_lifetimes(&self, lifetimes: MockLifetimes) {
        self.lock().lifetimes = lifetimes;
    }

    /// Answers the next request to `endpoint` with `failure` (queued: several calls fail several requests).
    pub fn fail_next(&self, endpoint: MockEndpoint, failure: MockFailure) {
        self.lock()
            .failures
            .entry(endpoint)
            .or_default()
            .push_back(failure);
    }

    /// How many requests `endpoint` received (including refused ones).
    pub fn requests(&self, endpoint: MockEndpoint) -> usize {
        self.lock().counts.get(&endpoint).copied().unwrap_or(0)
    }

    /// Invalidates every XSTS token issued so far: MPSD answers 401 to them.
    pub fn revoke_xsts_tokens(&self) {
        let mut state = self.lock();
        let revoked: Vec<String> = state.xsts_tokens.drain().map(|(token, _)| token).collect();
        state.revoked_xsts_tokens.extend(revoked);
    }

    /// Invalidates every Microsoft account access token issued so far.
    pub fn revoke_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// The refresh tokens currently valid (rotation removes the old one).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.lock().refresh_tokens.keys().cloned().collect()
    }

    /// The XUID of a live XSTS token sent with user hash `user_hash`: `None` when the mock did not issue
    /// `token`, `Some(Err)` when it did but it expired, was revoked or goes with another user hash.
    pub(crate) fn caller(&self, user_hash: &str, token: &str) -> Option<Result<u64, &'static str>> {
        let state = self.lock();
        if state.revoked_xsts_tokens.contains(token) {
            return Some(Err("the XSTS token was revoked"));
        }
        let (xuid, uhs, not_after) = state.xsts_tokens.get(token)?;
        Some(if SystemTime::now() >= *not_after {
            Err("the XSTS token has expired")
        } else if uhs != user_hash {
            Err("the user hash does not match the XSTS token")
        } else {
            Ok(*xuid)
        })
    }

    /// Every XSTS, access, refresh and user token the mock issued (tests check none is ever printed).
    pub fn issued_secrets(&self) -> Vec<String> {
        let state = self.lock();
        state
            .xsts_tokens
            .keys()
            .chain(state.revoked_xsts_tokens.iter())
            .chain(state.access_tokens.keys())
            .chain(state.refresh_tokens.keys())
            .chain(state.user_tokens.keys())
            .cloned()
            .collect()
    }
}

impl MockState {
    fn next(&mut self, kind: &str) -> String {
        self.serial += 1;
        format!(
            "mock-{kind}-{}-{}",
            self.serial,
            uuid::Uuid::new_v4().simple()
        )
    }

    fn hit(&mut self, endpoint: MockEndpoint) -> Option<MockFailure> {
        *self.counts.entry(endpoint).or_default() += 1;
        self.failures.get_mut(&endpoint)?.pop_front()
    }
}

/// The mock's routes (at the root; merged into the emulator's router).
pub(crate) fn router(mock: SignInMock) -> Router {
    Router::new()
        .route("/oauth20_connect.srf", post(device_authorization))
        .route("/oauth20_token.srf", post(token))
        .route("/user/authenticate", post(user_authenticate))
        .route("/device/authenticate", post(device_authenticate))
        .route("/authorize", post(sisu_authorize))
        .route("/xsts/authorize", post(xsts_authorize))
        .with_state(mock)
}

fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn xbox_refusal(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"Message": message}))).into_response()
}

fn failure_response(failure: MockFailure) -> Response {
    match failure {
        MockFailure::OAuth(error) => oauth(StatusCode::BAD_REQUEST, &error, "injected by the test"),
        MockFailure::XErr(code) => (
            StatusCode::UNAUTHORIZED,
            [("x-err", code.to_string())],
            axum::Json(json!({"XErr": code, "Message": ""})),
        )
            .into_response(),
        MockFailure::Status(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({})),
        )
            .into_response(),
    }
}

fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn live(expiries: &HashMap<String, SystemTime>, token: &str) -> bool {
    expiries.get(token).is_some_and(|t| SystemTime::now() < *t)
}
