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

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use p256::EncodedPoint;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The device-code grant of RFC 8628; login.live.com also accepts the bare `device_code`.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The relying party whose XSTS tokens carry the XUID claim.
const XBOXLIVE_RP: &str = "http://xboxlive.com";
/// Windows FILETIME of the Unix epoch.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;
/// How far a signature's timestamp may be from the mock's clock.
const SIGNATURE_SKEW: Duration = Duration::from_secs(300);
/// Body bytes covered by the signature (policy 0).
const MAX_SIGNED_BODY: usize = 8192;

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

type FormFields = Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>;

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

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn live(expiries: &HashMap<String, SystemTime>, token: &str) -> bool {
    expiries.get(token).is_some_and(|t| SystemTime::now() < *t)
}

/// `POST /oauth20_connect.srf`.
async fn device_authorization(State(mock): State<SignInMock>, form: FormFields) -> Response {
    let mut state = mock.lock();
    if let Some(failure) = state.hit(MockEndpoint::DeviceAuthorization) {
        return failure_response(failure);
    }
    let Ok(Form(fields)) = form else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form",
        );
    };
    let (Some(client_id), Some(_scope)) = (field(&fields, "client_id"), field(&fields, "scope"))
    else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and scope are required",
        );
    };
    if field(&fields, "response_type").is_some_and(|t| t != "device_code") {
        return oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response_type must be device_code",
        );
    }
    let code = state.next("device-code");
    let script = state.script.clone();
    state.device_codes.insert(code.clone(), script);
    state.client_ids.insert(code.clone(), client_id.to_owned());
    let interval = state.interval;
    axum::Json(json!({
        "device_code": code,
        "user_code": "MOCK-CODE",
        "verification_uri": "https://www.microsoft.com/link",
        "expires_in": 900,
        "interval": interval,
    }))
    .into_response()
}

/// Issues an access token and a refresh token.
fn issue_msa(state: &mut MockState, client_id: &str) -> Response {
    let access = state.next("msa-at");
    let refresh = state.next("msa-rt");
    let lifetime = state.lifetimes.msa;
    state
        .access_tokens
        .insert(access.clone(), SystemTime::now() + lifetime);
    state
        .refresh_tokens
        .insert(refresh.clone(), client_id.to_owned());
    axum::Json(json!({
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
        "scope": "service::user.auth.xboxlive.com::MBI_SSL",
        "access_token": access,
        "refresh_token": refresh,
        "user_id": "mock-user",
    }))
    .into_response()
}

/// `POST /oauth20_token.srf`: device-code polls and refreshes.
async fn token(State(mock): State<SignInMock>, form: FormFields) -> Response {
    let mut state = mock.lock();
    let Ok(Form(fields)) = form else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form",
        );
    };
    let Some(client_id) = field(&fields, "client_id") else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required",
        );
    };
    match field(&fields, "grant_type") {
        Some(DEVICE_CODE_GRANT | "device_code") => {
            if let Some(failure) = state.hit(MockEndpoint::DeviceToken) {
                return failure_response(failure);
            }
            let Some(code) = field(&fields, "device_code") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "device_code is required",
                );
            };
            if state.client_ids.get(code).map(String::as_str) != Some(client_id) {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown device code for this client",
                );
            }
            let Some(script) = state.device_codes.get_mut(code) else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the device code was already used",
                );
            };
            match script.pop_front() {
                Some(PollAnswer::Pending) => oauth(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    "the user has not signed in yet",
                ),
                Some(PollAnswer::SlowDown) => {
                    oauth(StatusCode::BAD_REQUEST, "slow_down", "poll less often")
                }
                None => {
                    state.device_codes.remove(code);
                    issue_msa(&mut state, client_id)
                }
            }
        }
        Some("refresh_token") => {
            if let Some(failure) = state.hit(MockEndpoint::Refresh) {
                return failure_response(failure);
            }
            let Some(refresh) = field(&fields, "refresh_token") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            if field(&fields, "scope").is_none() {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "scope is required",
                );
            }
            match state.refresh_tokens.get(refresh) {
                Some(owner) if owner == client_id => {
                    // Rotation: the old refresh token stops working.
                    state.refresh_tokens.remove(refresh);
                    issue_msa(&mut state, client_id)
                }
                _ => oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is unknown, used or expired",
                ),
            }
        }
        _ => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is not supported",
        ),
    }
}

fn contract_v1(headers: &HeaderMap) -> bool {
    headers
        .get("x-xbl-contract-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1")
}

/// The start every Xbox token endpoint shares: an injected failure for `endpoint`, else
/// `x-xbl-contract-version: 1` and a JSON object body, or the refusal to answer.
fn xbox_request(
    state: &mut MockState,
    endpoint: MockEndpoint,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Box<Response>> {
    if let Some(failure) = state.hit(endpoint) {
        return Err(Box::new(failure_response(failure)));
    }
    if !contract_v1(headers) {
        return Err(Box::new(xbox_refusal(
            StatusCode::BAD_REQUEST,
            "x-xbl-contract-version: 1 is required",
        )));
    }
    json_body(body).ok_or_else(|| {
        Box::new(xbox_refusal(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        ))
    })
}

fn json_body(body: &Bytes) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn strip_ticket(ticket: &str) -> &str {
    ticket
        .strip_prefix("t=")
        .or_else(|| ticket.strip_prefix("d="))
        .unwrap_or(ticket)
}

fn token_answer(token: &str, not_after: SystemTime, claims: Value) -> Value {
    json!({
        "IssueInstant": rfc3339(SystemTime::now()),
        "NotAfter": rfc3339(not_after),
        "Token": token,
        "DisplayClaims": claims,
    })
}

/// `POST /user/authenticate`.
async fn user_authenticate(
    State(mock): State<SignInMock>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    let body = match xbox_request(&mut state, MockEndpoint::User, &headers, &body) {
        Ok(body) => body,
        Err(refusal) => return *refusal,
    };
    let props = &body["Properties"];
    if body["RelyingParty"] != "http://auth.xboxlive.com"
        || body["TokenType"] != "JWT"
        || props["AuthMethod"] != "RPS"
        || props["SiteName"] != "user.auth.xboxlive.com"
    {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "RelyingParty, TokenType, AuthMethod or SiteName is wrong",
        );
    }
    let ticket = props["RpsTicket"]
        .as_str()
        .map(strip_ticket)
        .unwrap_or_default();
    if !live(&state.access_tokens, ticket) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "the RPS ticket is unknown or expired",
        );
    }
    let token = state.next("xasu");
    let not_after = SystemTime::now() + state.lifetimes.user;
    state.user_tokens.insert(token.clone(), not_after);
    let uhs = state.account.user_hash.clone();
    axum::Json(token_answer(
        &token,
        not_after,
        json!({"xui": [{"uhs": uhs}]}),
    ))
    .into_response()
}

/// Issues an XSTS token for the account.
fn issue_xsts(state: &mut MockState, relying_party: &str) -> Value {
    let token = state.next("xsts");
    let not_after = SystemTime::now() + state.lifetimes.xsts;
    let account = state.account.clone();
    state.xsts_tokens.insert(
        token.clone(),
        (account.xuid, account.user_hash.clone(), not_after),
    );
    let mut claim = json!({
        "uhs": account.user_hash,
        "gtg": account.gamertag,
        "agg": account.age_group,
        "prv": "185 186 187 188 189 254",
        "usr": "195 189",
        "utr": "190",
    });
    if relying_party == XBOXLIVE_RP {
        claim["xid"] = json!(account.xuid.to_string());
    }
    token_answer(&token, not_after, json!({"xui": [claim]}))
}

/// `POST /xsts/authorize`.
async fn xsts_authorize(
    State(mock): State<SignInMock>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    let body = match xbox_request(&mut state, MockEndpoint::Xsts, &headers, &body) {
        Ok(body) => body,
        Err(refusal) => return *refusal,
    };
    let props = &body["Properties"];
    let Some(relying_party) = body["RelyingParty"].as_str().filter(|rp| !rp.is_empty()) else {
        return xbox_refusal(StatusCode::BAD_REQUEST, "RelyingParty is required");
    };
    if body["TokenType"] != "JWT" || props["SandboxId"] != "RETAIL" {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "TokenType must be JWT and SandboxId RETAIL",
        );
    }
    let user = props["UserTokens"][0].as_str().unwrap_or_default();
    if !live(&state.user_tokens, user) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "the user token is unknown or expired",
        );
    }
    if let Some(device) = props.get("DeviceToken") {
        let ok = device
            .as_str()
            .and_then(|d| state.device_tokens.get(d))
            .is_some_and(|(t, _, _)| SystemTime::now() < *t);
        if !ok {
            return xbox_refusal(
                StatusCode::UNAUTHORIZED,
                "the device token is unknown or expired",
            );
        }
    }
    if let Some(title) = props.get("TitleToken")
        && !title.as_str().is_some_and(|t| live(&state.title_tokens, t))
    {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "the title token is unknown or expired",
        );
    }
    let relying_party = relying_party.to_owned();
    axum::Json(issue_xsts(&mut state, &relying_party)).into_response()
}

/// The `(x, y)` of a `ProofKey` JWK, checked.
fn proof_key(jwk: &Value) -> Option<(String, String)> {
    let ok =
        jwk["kty"] == "EC" && jwk["alg"] == "ES256" && jwk["crv"] == "P-256" && jwk["use"] == "sig";
    ok.then(|| Some((jwk["x"].as_str()?.to_owned(), jwk["y"].as_str()?.to_owned())))
        .flatten()
}

/// Verifies the `Signature` header of a request by key `(x, y)`; the reason when it does not verify.
fn verify_signature(
    headers: &HeaderMap,
    path_and_query: &str,
    body: &[u8],
    (x, y): (&str, &str),
) -> Result<(), &'static str> {
    let header = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .ok_or("the Signature header is missing")?;
    let bytes = STANDARD
        .decode(header)
        .map_err(|_| "the Signature header is not base64")?;
    if bytes.len() != 76 {
        return Err("the Signature header is not 76 bytes");
    }
    let (version, rest) = bytes.split_at(4);
    let (filetime, signature) = rest.split_at(8);
    if version != [0, 0, 0, 1] {
        return Err("the signature policy version must be 1");
    }
    let ticks = u64::from_be_bytes(filetime.try_into().map_err(|_| "bad timestamp")?);
    let signed_at = UNIX_EPOCH
        + Duration::from_nanos(
            ticks
                .saturating_sub(FILETIME_UNIX_EPOCH)
                .saturating_mul(100),
        );
    let now = SystemTime::now();
    let skew = now
        .duration_since(signed_at)
        .or_else(|_| signed_at.duration_since(now))
        .unwrap_or(Duration::MAX);
    if skew > SIGNATURE_SKEW {
        return Err("the signature timestamp is more than five minutes off");
    }
    let coordinate = |c: &str| {
        URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(p256::FieldBytes::from)
    };
    let (Some(x), Some(y)) = (coordinate(x), coordinate(y)) else {
        return Err("the proof key coordinates are not 32 bytes of base64url");
    };
    let point = EncodedPoint::from_affine_coordinates(&x, &y, false);
    let key = VerifyingKey::from_encoded_point(&point)
        .map_err(|_| "the proof key is not a P-256 point")?;
    let signature = Signature::from_slice(signature).map_err(|_| "the signature is malformed")?;
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [
        version,
        filetime,
        b"POST".as_slice(),
        path_and_query.as_bytes(),
        authorization.as_bytes(),
        body.get(..MAX_SIGNED_BODY).unwrap_or(body),
    ] {
        hasher.update(part);
        hasher.update([0u8]);
    }
    key.verify_prehash(&hasher.finalize(), &signature)
        .map_err(|_| "the signature does not verify")
}

fn path_and_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}

/// `POST /device/authenticate` (signed by the proof key it carries).
async fn device_authenticate(
    State(mock): State<SignInMock>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    let json = match xbox_request(&mut state, MockEndpoint::Device, &headers, &body) {
        Ok(json) => json,
        Err(refusal) => return *refusal,
    };
    let props = &json["Properties"];
    if json["RelyingParty"] != "http://auth.xboxlive.com"
        || json["TokenType"] != "JWT"
        || props["AuthMethod"] != "ProofOfPossession"
        || !props["Id"].is_string()
        || !props["DeviceType"].is_string()
    {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "RelyingParty, TokenType, AuthMethod, Id or DeviceType is wrong",
        );
    }
    let Some((x, y)) = proof_key(&props["ProofKey"]) else {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "ProofKey must be an ES256 P-256 JWK",
        );
    };
    if let Err(reason) = verify_signature(&headers, &path_and_query(&uri), &body, (&x, &y)) {
        return xbox_refusal(StatusCode::UNAUTHORIZED, reason);
    }
    let token = state.next("xasd");
    let not_after = SystemTime::now() + state.lifetimes.user;
    state.device_tokens.insert(token.clone(), (not_after, x, y));
    let did = format!("{:016X}", state.serial);
    axum::Json(token_answer(
        &token,
        not_after,
        json!({"xdi": {"did": did, "dcs": "0"}}),
    ))
    .into_response()
}

/// `POST /authorize` (SISU; signed by the device token's key).
async fn sisu_authorize(
    State(mock): State<SignInMock>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    if let Some(failure) = state.hit(MockEndpoint::Sisu) {
        return failure_response(failure);
    }
    let Some(json) = json_body(&body) else {
        return xbox_refusal(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let Some(device) = json["DeviceToken"].as_str() else {
        return xbox_refusal(StatusCode::BAD_REQUEST, "DeviceToken is required");
    };
    let Some((not_after, x, y)) = state.device_tokens.get(device).cloned() else {
        return xbox_refusal(StatusCode::UNAUTHORIZED, "the device token is unknown");
    };
    if SystemTime::now() >= not_after {
        return xbox_refusal(StatusCode::UNAUTHORIZED, "the device token has expired");
    }
    if proof_key(&json["ProofKey"]) != Some((x.clone(), y.clone())) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "ProofKey is not the key the device token is bound to",
        );
    }
    if let Err(reason) = verify_signature(&headers, &path_and_query(&uri), &body, (&x, &y)) {
        return xbox_refusal(StatusCode::UNAUTHORIZED, reason);
    }
    if json["Sandbox"] != "RETAIL"
        || json["SiteName"] != "user.auth.xboxlive.com"
        || !json["AppId"].is_string()
    {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "AppId, Sandbox RETAIL and SiteName are required",
        );
    }
    let ticket = json["AccessToken"].as_str().unwrap_or_default();
    if !ticket.starts_with("t=") || !live(&state.access_tokens, strip_ticket(ticket)) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "AccessToken must be t=<live access token>",
        );
    }
    let relying_party = json["RelyingParty"]
        .as_str()
        .unwrap_or(XBOXLIVE_RP)
        .to_owned();
    let lifetime = state.lifetimes.user;
    let user = state.next("xasu");
    let title = state.next("xast");
    let expires = SystemTime::now() + lifetime;
    state.user_tokens.insert(user.clone(), expires);
    state.title_tokens.insert(title.clone(), expires);
    let uhs = state.account.user_hash.clone();
    let xsts = issue_xsts(&mut state, &relying_party);
    axum::Json(json!({
        "DeviceToken": device,
        "TitleToken": token_answer(&title, expires, json!({"xti": {"tid": "1016898439"}})),
        "UserToken": token_answer(&user, expires, json!({"xui": [{"uhs": uhs}]})),
        "AuthorizationToken": xsts,
        "WebPage": "https://sisu.xboxlive.com/client/v33/default/view/index.html",
        "Sandbox": "RETAIL",
        "UseModernGamertag": true,
    }))
    .into_response()
}
