//! A local, in-memory Xbox Live Multiplayer Session Directory (MPSD) for offline development and end-to-end tests.
//!
//! The emulator speaks the MPSD REST API of `sessiondirectory.xboxlive.com` (contract 104–107):
//!
//! * `GET`/`PUT /serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`: read and write sessions,
//!   with the service's merge semantics, membership rules, constants, ETags and `If-Match`/`If-None-Match`;
//! * `POST /handles`, `GET`/`DELETE /handles/{handleId}`, `POST /handles/query`: activity, invite, search and
//!   transfer handles;
//! * `GET`/`PUT /handles/{handleId}/session`: read and write a session through a handle.
//!
//! Callers authenticate with `Authorization: XBL3.0 x=<userhash>;<xuid>`: the "token" is the caller's decimal
//! XUID. Every request needs `X-Xbl-Contract-Version` of 104 or later. An XSTS token issued by the built-in
//! sign-in mock ([`SignInMock`]: device code, user, device, SISU and XSTS endpoints at the real paths) is
//! accepted too, as its user.
//!
//! Start one with [`Emulator::start`] (tests), embed it with [`router`] or [`serve`], or run the
//! `xbl-mpsd-emulator` binary.

mod auth;
mod body;
mod config;
mod error;
mod handles;
mod model;
mod response;
mod routes;
mod server;
mod session;
mod signin_mock;
mod store;

pub use config::EmulatorConfig;
pub use server::{Emulator, RunningEmulator, router, serve, serve_with_shutdown, shutdown_signal};
pub use signin_mock::{
    MockAccount, MockEndpoint, MockFailure, MockLifetimes, PollAnswer, SignInMock,
};
