//! The Xbox Live Multiplayer Session Directory (MPSD) SDK: the crate to depend on.
//!
//! It wraps the client generated from `spec/openapi.yaml` (re-exported as [`mod@api`]) with what a generator
//! cannot know: the contract-version default, `XBL3.0` authorization, XSAPI's write modes with typed
//! outcomes, retries, and the invite/activity activation URIs a title receives.
//!
//! From an accepted invite to a joined session:
//!
//! ```
//! use xbl_mpsd_ext::{Activation, MpsdClient, Session, XblToken};
//!
//! /// Joins the session behind an activation URI (an accepted invite or a "join game" on an activity)
//! /// as the signed-in user, and returns it.
//! async fn join(base_url: &str, token: XblToken, uri: &str) -> Result<Session, Box<dyn std::error::Error>> {
//!     let activation: Activation = uri.parse()?;
//!     let client = MpsdClient::builder().base_url(base_url).token(token).build()?;
//!     let joined = client.join_from_activation(&activation).await?;
//!     Ok(joined.into_session().ok_or("the session was deleted")?)
//! }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use xbl_mpsd_ext::{TitleId, handles, SessionDelta};
//! # // A local emulator stands in for the service; the host creates a session and invites the user.
//! # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
//! # let host = MpsdClient::builder().base_url(emulator.base_url())
//! #     .token(XblToken::new("-", "2814679796296491")?).build()?;
//! # let session = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/party".parse()?;
//! # host.write(&session, SessionDelta::new().join("2814679796296491".parse()?)).send().await?;
//! # let invite = handles::invite_request(&session, "2533274792693551".parse()?, TitleId::new(1234), None);
//! # let handle = host.create_handle(invite).send().await?.id().ok_or("no invite")?;
//! # let uri = format!("ms-xbl-multiplayer://inviteHandleAccept?handle={handle}\
//! #                  &invitedXuid=2533274792693551&senderXuid=2814679796296491&context=");
//! # let session = join(&emulator.base_url(), XblToken::new("-", "2533274792693551")?, &uri).await?;
//! # assert_eq!(session.member_xuids(), ["2814679796296491".parse()?, "2533274792693551".parse()?]);
//! # Ok(()) }
//! ```
//!
//! Every operation has one shape: `client.<operation>(…)` prepares it, its options are methods, and
//! `.send().await` performs it — `client.get_session(&session).if_none_match(&etag).send()`,
//! `client.write(&session, delta).mode(WriteMode::CreateNew).send()`,
//! `client.query_handles(query).include(Include::RelatedInfo).send()`. Errors say what the service said
//! ([`Error`]) and can be branched on ([`Error::is_not_found`], [`Error::is_retryable`], …).
//!
//! The wire types are generated from the spec and re-exported here as [`types`]: documents and requests
//! (`#[non_exhaustive]`: build requests with [`SessionDelta`] and the [`handles`] functions, parts of them with
//! `X::default()` and their public fields),
//! and open enumerations (`Visibility`, `HandleType`, …) that keep any value the service sends and give a
//! `.kind()` to `match` on. The identifier types ([`Xuid`], [`HandleId`], [`Scid`], [`TitleId`],
//! [`SessionReference`]) are shared with the generated layer; document fields holding them are [`Lenient`].
//!
//! Modules, one per concern:
//!
//! * [`client`]: [`MpsdClient`] and its builder (base URL, contract version, token, timeouts, retries).
//! * [`write`](mod@write): [`WriteMode`], [`WriteOutcome`], reads ([`MpsdClient::get_session`]),
//!   [`MpsdClient::synchronized_update`].
//! * [`delta`]: [`SessionDelta`], session writes (join, leave, custom properties, settings) without literals.
//! * [`handles`]: typed handle requests and the handle operations.
//! * [`operation`](mod@operation): any generated operation ([`MpsdClient::operation`]) with retries and typed errors.
//! * [`query`]: session queries ([`MpsdClient::query_sessions`]), clearing an activity, invites to several players.
//! * [`join`]: [`MpsdClient::join_from_activation`] and the join/leave deltas.
//! * [`session`]: [`Session`] (a document with its ETag, reference and date; typed custom properties),
//!   [`SessionTarget`].
//! * [`error`]: [`Error`], typed by what the service said.
//! * `response` (private): how answers the generated client does not type (204, 304, 412, errors) are read.
//! * [`ids`]: [`Xuid`], [`HandleId`], [`Scid`], [`TitleId`] (from `xbl-mpsd-api`).
//! * [`session_ref`]: [`SessionReference`] and `Content-Location` parsing (from `xbl-mpsd-api`).
//! * [`types`]: the generated documents, requests and open enumerations (from `xbl-mpsd-api`).
//! * [`contract`]: the `x-xbl-contract-version` header ([`ContractVersion`]).
//! * [`auth`]: [`XblToken`] and the [`TokenProvider`] trait.
//! * [`retry`]: XSAPI's retry policy and a generic async executor ([`RetryPolicy::run`]).
//! * `call_policy` (private): that policy with one token refresh after a 401, run by every helper per
//!   attempt and by [`MpsdClient::api`]'s generated client per request.
//! * `tokens` (private): the provider's token and the one a refresh replaced it with.
//! * [`customize`]: the `customize` hook of the helpers: the generated request builder before it is sent.
//! * [`activation`]: protocol-activation URIs for invites and joins ([`Activation`]).
//! * `rta` (feature `rta`): Real-Time Activity — session-change taps, the ConnectionId, game-invite
//!   notifications.
//! * `signin` (feature `signin`): Xbox Live sign-in, a [`TokenProvider`] from a Microsoft account to XSTS, and its token cache.
//!
//! Test helpers are behind the `test-util` feature (smithy-rs's convention), so a production build does not
//! carry them: `FakeClock` (a virtual [`Clock`]: sleeps return at once and are recorded, for retry schedules
//! in tests), `retry::FixedJitter` and `retry::SeededJitter` (deterministic [`Jitter`](retry::Jitter)).
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! xbl-mpsd-ext = { version = "0.1", features = ["test-util"] }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod activation;
pub mod auth;
mod build_error;
mod call_policy;
pub mod changes;
pub mod client;
pub mod contract;
pub mod customize;
pub mod delta;
pub mod diff;
pub mod error;
pub mod handles;
#[cfg(feature = "rta")]
pub mod hosted;
pub mod join;
pub mod operation;
pub mod query;
mod response;
pub mod retry;
#[cfg(feature = "rta")]
pub mod rta;
mod sending;
pub mod session;
#[cfg(feature = "signin")]
pub mod signin;
pub mod templates;
mod text;
mod time;
mod tls;
mod tokens;
mod transport;
pub mod write;

/// The generated wire-level client and types (`xbl-mpsd-api`).
pub use xbl_mpsd_api as api;
#[doc(inline)]
pub use xbl_mpsd_api::Lenient;
/// Why a [`Timestamp`] is not a date-time (feature `chrono`).
#[cfg(feature = "chrono")]
#[doc(inline)]
pub use xbl_mpsd_api::TimestampError;
/// The session and handle documents, requests and open enumerations, generated from the spec.
#[doc(inline)]
pub use xbl_mpsd_api::types;
pub use xbl_mpsd_api::{
    BodyTooLarge, DEFAULT_MAX_RESPONSE_BYTES, Exchange, Observer, ResponseBody,
};
/// The lossless document types (an optional field that may be `null`, a timestamp kept as its text, a member
/// key) and the RTA connection id, shared with the generated layer.
#[doc(inline)]
pub use xbl_mpsd_api::{ConnectionId, ConnectionIdError, MemberKey, Nullable, Timestamp};
/// The identifier types, shared with the generated layer.
#[doc(inline)]
pub use xbl_mpsd_api::{ids, session_ref};
#[cfg(test)]
mod test_support;

pub use activation::{Activation, ActivationError, ActivationKind, NonEmptyString};
pub use auth::{
    AuthError, FnTokenProvider, InvalidToken, StaticToken, TokenFuture, TokenProvider,
    TokenRequest, XblToken,
};
pub use changes::{ChangeTypes, UnknownChangeType};
pub use client::{BuildError, DEFAULT_BASE_URL, DEFAULT_USER_AGENT, MpsdClient, MpsdClientBuilder};
pub use contract::{ContractVersion, UnknownContractVersion};
pub use delta::{CustomPropertyError, SessionDelta};
pub use diff::SessionChange;
pub use error::Error;
pub use handles::{
    CreateHandle, CreatedHandle, DeleteHandle, GetHandle, HandleQuery, HandleRequest, Include,
    QueryHandles,
};
pub use ids::{
    HandleId, HandleIdError, NameError, NameKind, Scid, TitleId, TitleIdError, Xuid, XuidError,
};
pub use operation::{OperationCall, Reply};
pub use query::{FoundSession, QueryError, QueryRule, SessionQuery};
#[cfg(any(test, feature = "test-util"))]
pub use retry::FakeClock;
pub use retry::{Classification, Clock, RetryMode, RetryPolicy, TokioClock};
pub use session::{CustomReadError, ETag, InvalidETag, MemberStatus, Session, SessionTarget};
pub use session_ref::{SessionName, SessionRefError, SessionReference, SessionTemplateName};
pub use write::{
    DEFAULT_SYNC_ATTEMPTS, GetSession, GetSessionIfNoneMatch, Read, SyncOutcome,
    SynchronizedUpdate, Write, WriteMode, WriteOutcome,
};

/// The repository README's Rust examples, compiled as doctests ("Use it in your project", "A hosted session
/// that stays alive"; the second needs `rta`, which `cargo test --workspace` enables through the CLI).
#[cfg(all(doctest, feature = "rta"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
