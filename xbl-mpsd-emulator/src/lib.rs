//! A local, in-memory Xbox Live Multiplayer Session Directory (MPSD) for offline development and end-to-end tests.
//!
//! The emulator speaks the MPSD REST API of `sessiondirectory.xboxlive.com` (contract 104–107):
//!
//! * `GET`/`PUT /serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`: read and write sessions,
//!   with the service's merge semantics, membership rules, constants, ETags and `If-Match`/`If-None-Match`;
//! * `POST /handles`, `GET`/`DELETE /handles/{handleId}`, `POST /handles/query`: activity, invite, search and
//!   transfer handles;
//! * `GET`/`PUT /handles/{handleId}/session`: read and write a session through a handle;
//! * `GET /serviceconfigs/{scid}[/sessiontemplates/{template}]/sessions` and `POST …/batch`: session queries by
//!   keyword or player;
//! * `GET /connect`: the Real-Time Activity (RTA) websocket — MPSD shoulder taps and game-invite
//!   notifications ([`RtaControl`] drops sockets and sends resyncs in tests).
//!
//! Callers authenticate with `Authorization: XBL3.0 x=<userhash>;<xuid>`: the "token" is the caller's decimal
//! XUID. Every request needs `X-Xbl-Contract-Version` of 104 or later. An XSTS token issued by the built-in
//! sign-in mock ([`SignInMock`]: device code, user, device, SISU and XSTS endpoints at the real paths) is
//! accepted too, as its user.
//!
//! Start one with [`Emulator::start`] (tests), embed it with [`router`] or [`serve`], or run the
//! `xbl-mpsd-emulator` binary. With [`EmulatorConfig::data_dir`] (`--data-dir`) the directory is kept in a redb
//! database and survives restarts and `kill -9`; the limits on connections, bodies, sessions and handles are
//! fields of [`EmulatorConfig`] (see the crate README and `RELIABILITY.md`).

mod auth;
mod body;
mod body_limit;
mod clock;
mod config;
mod connections;
mod error;
mod explain;
mod explorer;
mod handles;
mod limits;
mod model;
mod persist;
mod queries;
mod query_string;
mod response;
mod routes;
mod rta;
mod server;
mod session;
mod signin_mock;
mod store;
mod templates;
mod time;

pub use clock::Clock;
pub use config::EmulatorConfig;
pub use explain::banner;
pub use rta::RtaControl;
pub use server::{
    Emulator, RunningEmulator, router, serve, serve_router, serve_with_shutdown, shutdown_signal,
    try_router,
};
pub use signin_mock::{
    MockAccount, MockEndpoint, MockFailure, MockLifetimes, PollAnswer, SignInMock,
};
/// What one write did in [`check_writes`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteCheck {
    /// Accepted: the session as its writer would read it (contract 107).
    Stored(serde_json::Value),
    /// Accepted, and the session does not exist afterwards (emptied, or a create without a member).
    Deleted,
    /// Refused: the status and the text the service would answer.
    Refused(u16, String),
}

/// The emulator's session merge and validation without HTTP or the store: applies each `(caller XUID,
/// PUT body)` in order to one session that does not exist at first, as `PUT …/sessions/{name}` without
/// preconditions would, and reports each outcome. A body that is not a JSON object is refused (400) as by
/// the server. For fuzzing (`fuzz/fuzz_targets/emulator_merge_validate.rs`) and property tests.
pub fn check_writes(writes: &[(u64, serde_json::Value)]) -> Vec<WriteCheck> {
    let Ok(reference) = model::SessionRef::new(
        "00000000-0000-0000-0000-00007a5b8c9d",
        "lobby",
        "fuzz",
        "sessionRef",
    ) else {
        return Vec::new();
    };
    let start = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
    let mut current: Option<session::Session> = None;
    let mut outcomes = Vec::with_capacity(writes.len());
    for (step, (caller, body)) in (0i64..).zip(writes) {
        let Some(body) = body.as_object() else {
            outcomes.push(WriteCheck::Refused(
                400,
                "the body must be a JSON object".to_owned(),
            ));
            continue;
        };
        let ctx = session::write::WriteContext {
            caller: *caller,
            now: start + chrono::Duration::seconds(step),
            title_id: EmulatorConfig::default().title_id,
            granted: false,
        };
        outcomes.push(
            match session::write::apply(
                current.as_ref(),
                &reference,
                body,
                &ctx,
                &templates::Template::empty(),
            ) {
                Ok(session::write::Applied::Stored { session, .. }) => {
                    let rendered = session.render(107, *caller);
                    current = Some(*session);
                    WriteCheck::Stored(rendered)
                }
                Ok(session::write::Applied::Deleted { .. }) => {
                    current = None;
                    WriteCheck::Deleted
                }
                Err(error::ApiError::Text(status, message)) => WriteCheck::Refused(status, message),
                Err(error::ApiError::PreconditionFailed(_)) => {
                    WriteCheck::Refused(412, String::new())
                }
            },
        );
    }
    outcomes
}
