//! The hand-written core of the Xbox Live Multiplayer Session Directory (MPSD) SDK.
//!
//! * [`ids`]: [`Xuid`], [`HandleId`], [`Scid`], [`TitleId`].
//! * [`session_ref`]: [`SessionReference`] and `Content-Location` parsing.
//! * [`contract`]: the `x-xbl-contract-version` header ([`ContractVersion`]).
//! * [`auth`]: [`XblToken`] and the [`TokenProvider`] trait.
//! * [`retry`]: XSAPI's retry policy and a generic async executor ([`RetryPolicy::run`]).
//! * [`activation`]: protocol-activation URIs for invites and joins ([`Activation`]).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod activation;
pub mod auth;
pub mod contract;
pub mod ids;
pub mod retry;
pub mod session_ref;
#[cfg(test)]
mod test_support;

pub use activation::{Activation, ActivationError, ActivationKind, NonEmptyString};
pub use auth::{
    AuthError, FnTokenProvider, InvalidToken, StaticToken, TokenFuture, TokenProvider,
    TokenRequest, XblToken,
};
pub use contract::{ContractVersion, UnknownContractVersion};
pub use ids::{
    HandleId, HandleIdError, NameError, NameKind, Scid, TitleId, TitleIdError, Xuid, XuidError,
};
pub use retry::{Classification, Clock, FakeClock, RetryMode, RetryPolicy, TokioClock};
pub use session_ref::{SessionName, SessionRefError, SessionReference, SessionTemplateName};
