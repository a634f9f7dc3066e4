//! The Xbox Live Multiplayer Session Directory (MPSD) SDK: the crate to depend on.
//!
//! It wraps the client generated from `spec/openapi.yaml` (re-exported as [`api`]) with what a generator
//! cannot know: the contract-version default, `XBL3.0` authorization, XSAPI's write modes with typed
//! outcomes, retries, and the invite/activity activation URIs a title receives.
//!
//! From an activation URI to a joined session:
//!
//! ```
//! use xbl_mpsd_ext::{Activation, MpsdClient, XblToken};
//! # use xbl_mpsd_ext::{TitleId, handles, join_delta};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A local emulator stands in for the service; the host creates a session and invites the user.
//! # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
//! # let host = MpsdClient::builder().base_url(emulator.base_url())
//! #     .token(XblToken::new("-", "2814679796296491")?).build()?;
//! # let session = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/party".parse()?;
//! # host.write(&session, join_delta("2814679796296491".parse()?)).send().await?;
//! # let invite = handles::invite_request(&session, "2533274792693551".parse()?, TitleId::new(1234), None);
//! # let handle = host.create_handle(invite).send().await?.and_then(|h| h.id).ok_or("no invite")?;
//! // What the title received when the user accepted the invite.
//! let uri = format!("ms-xbl-multiplayer://inviteHandleAccept?handle={handle}\
//!                    &invitedXuid=2533274792693551&senderXuid=2814679796296491&context=");
//! let activation: Activation = uri.parse()?;
//!
//! let client = MpsdClient::builder()
//! #   .base_url(emulator.base_url())
//!     .token(XblToken::new("-", "2533274792693551")?) // the invitee's token
//!     .build()?;
//! let joined = client.join_from_activation(&activation).await?;
//! let session = joined.session().ok_or("not joined")?;
//! assert_eq!(session.member_xuids(), ["2814679796296491", "2533274792693551"]);
//! println!("joined {:?}", session.reference);
//! # Ok(()) }
//! ```
//!
//! Modules, one per concern:
//!
//! * [`client`]: [`MpsdClient`] and its builder (base URL, contract version, token, timeouts, retries).
//! * [`write`](mod@write): [`WriteMode`], [`WriteOutcome`], reads, [`MpsdClient::synchronized_update`].
//! * [`handles`]: typed handle requests and the handle operations.
//! * [`join`]: [`MpsdClient::join_from_activation`] and the join/leave deltas.
//! * [`session`]: [`Session`] (a document with its ETag, reference and date), [`SessionTarget`].
//! * [`error`]: [`Error`], typed by what the service said.
//! * `response` (private): how answers the generated client does not type (204, 304, 412, errors) are read.
//! * [`ids`]: [`Xuid`], [`HandleId`], [`Scid`], [`TitleId`].
//! * [`session_ref`]: [`SessionReference`] and `Content-Location` parsing.
//! * [`contract`]: the `x-xbl-contract-version` header ([`ContractVersion`]).
//! * [`auth`]: [`XblToken`] and the [`TokenProvider`] trait.
//! * [`retry`]: XSAPI's retry policy and a generic async executor ([`RetryPolicy::run`]).
//! * [`activation`]: protocol-activation URIs for invites and joins ([`Activation`]).
//! * `signin` (feature `signin`): Xbox Live sign-in, a [`TokenProvider`] from a Microsoft account to XSTS, and its token cache.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod activation;
pub mod auth;
pub mod client;
pub mod contract;
pub mod error;
pub mod handles;
pub mod ids;
pub mod join;
mod response;
pub mod retry;
pub mod session;
pub mod session_ref;
#[cfg(feature = "signin")]
pub mod signin;
pub mod write;

/// The generated wire-level client and types (`xbl-mpsd-api`).
pub use xbl_mpsd_api as api;
pub use xbl_mpsd_api::{Exchange, Observer};
#[cfg(test)]
mod test_support;

pub use activation::{Activation, ActivationError, ActivationKind, NonEmptyString};
pub use auth::{
    AuthError, FnTokenProvider, InvalidToken, StaticToken, TokenFuture, TokenProvider,
    TokenRequest, XblToken,
};
pub use client::{BuildError, DEFAULT_BASE_URL, DEFAULT_USER_AGENT, MpsdClient, MpsdClientBuilder};
pub use contract::{ContractVersion, UnknownContractVersion};
pub use error::Error;
pub use handles::{CreateHandle, Include};
pub use ids::{
    HandleId, HandleIdError, NameError, NameKind, Scid, TitleId, TitleIdError, Xuid, XuidError,
};
pub use join::{join_delta, leave_delta};
pub use retry::{Classification, Clock, FakeClock, RetryMode, RetryPolicy, TokioClock};
pub use session::{ETag, InvalidETag, Session, SessionTarget};
pub use session_ref::{SessionName, SessionRefError, SessionReference, SessionTemplateName};
pub use write::{DEFAULT_SYNC_ATTEMPTS, Read, Write, WriteMode, WriteOutcome};
