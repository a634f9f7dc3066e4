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
//! XUID. Every request needs `X-Xbl-Contract-Version` of 104 or later.
//!
//! Start one with [`Emulator::start`] (tests), embed it with [`router`] or [`serve`], or run the
//! `xbl-mpsd-emulator` binary. With [`EmulatorConfig::data_dir`] (`--data-dir`) the directory is kept in a redb
//! database and survives restarts and `kill -9`; the limits on connections, bodies, sessions and handles are
//! fields of [`EmulatorConfig`] (see the crate README and `RELIABILITY.md`).

mod auth;
mod body;
mod body_limit;
mod config;
mod connections;
mod error;
mod explain;
mod handles;
mod limits;
mod model;
mod persist;
mod response;
mod routes;
mod server;
mod session;
mod store;

pub use config::EmulatorConfig;
pub use explain::banner;
pub use server::{
    Emulator, RunningEmulator, router, serve, serve_router, serve_with_shutdown, shutdown_signal,
    try_router,
};
