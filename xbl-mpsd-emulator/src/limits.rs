//! Per-user and per-session limits of the directory (issue #11, R9).
//!
//! MPSD itself bounds a session by its members (`maxMembersCount`: 100, or 1000 with `capabilities.large`,
//! enforced in `session::validate`); its reference documents no document-size limit and no per-user session
//! limit. Without limits one emulator user made 100k sessions (839 MiB), and 40 writes of 1 MB grew one session
//! to 40 MB. The emulator therefore sets its own, configurable in [`EmulatorConfig`]:
//!
//! * a session document may hold at most `max_session_bytes` of JSON — a write that would make it larger is
//!   **413** ("Payload Too Large", declared on both session writes) and changes nothing;
//! * a user may have created at most `max_sessions_per_user` sessions that still exist — creating another is
//!   **403**;
//! * a user may have created at most `max_handles_per_user` handles that still exist — creating another is
//!   **403**.

use std::collections::HashMap;
use std::io;

use serde::Serialize;

use crate::config::EmulatorConfig;
use crate::error::{ApiError, ApiResult};
use crate::session::Session;

/// How many existing sessions each user has created (each session names its own creator,
/// [`Session::creator`], so no map of every session is kept here).
#[derive(Debug, Default)]
pub(crate) struct SessionOwners {
    count: HashMap<u64, usize>,
}

impl SessionOwners {
    /// 403 when `user` may not create another session.
    pub(crate) fn check_room(&self, user: u64, config: &EmulatorConfig) -> ApiResult<()> {
        let owned = self.count.get(&user).copied().unwrap_or(0);
        if owned >= config.max_sessions_per_user {
            return Err(ApiError::forbidden(format!(
                "User {user} already has {owned} sessions, the emulator's limit (max_sessions_per_user); \
                 leave or delete one first"
            )));
        }
        Ok(())
    }

    /// Records that `user` created a session.
    pub(crate) fn created(&mut self, user: u64) {
        *self.count.entry(user).or_default() += 1;
    }

    /// Records that a session created by `creator` (if known) no longer exists.
    pub(crate) fn deleted(&mut self, creator: Option<u64>) {
        if let Some(user) = creator {
            self.release(user);
        }
    }

    fn release(&mut self, user: u64) {
        if let Some(count) = self.count.get_mut(&user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.count.remove(&user);
            }
        }
    }
}

/// How many handles each user has created (and that still exist).
#[derive(Debug, Default)]
pub(crate) struct HandleCounts(HashMap<u64, usize>);

impl HandleCounts {
    /// 403 when `user` may not create another handle.
    pub(crate) fn check_room(&self, user: u64, config: &EmulatorConfig) -> ApiResult<()> {
        let owned = self.0.get(&user).copied().unwrap_or(0);
        if owned >= config.max_handles_per_user {
            return Err(ApiError::forbidden(format!(
                "User {user} already has {owned} handles, the emulator's limit (max_handles_per_user); \
                 delete one first"
            )));
        }
        Ok(())
    }

    /// Counts a new handle of `user`.
    pub(crate) fn add(&mut self, user: u64) {
        *self.0.entry(user).or_default() += 1;
    }

    /// Uncounts a handle of `user`.
    pub(crate) fn remove(&mut self, user: u64) {
        if let Some(count) = self.0.get_mut(&user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.0.remove(&user);
            }
        }
    }
}

/// A `Write` that only counts bytes.
#[derive(Debug, Default)]
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The JSON size of `value`, without building the text.
fn json_size(value: &impl Serialize) -> usize {
    let mut counter = Counter::default();
    // Writing into a counter cannot fail, and `Value`s always serialise.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The size of a session document: the JSON of everything a writer controls (constants, properties, servers,
/// role types and every member's constants, properties and roles). Constants and properties are kept as their
/// compact JSON text, so their size is that text's length.
pub(crate) fn session_size(session: &Session) -> usize {
    let mut size = session.constants().len() + session.properties.len();
    for value in [&session.servers, &session.role_types]
        .into_iter()
        .flatten()
    {
        size += json_size(value);
    }
    for member in session.members.values() {
        size += member.constants.len() + member.properties().len();
        if let Some(roles) = &member.roles {
            size += json_size(roles);
        }
    }
    size
}

/// 413 when `session` is larger than `config.max_session_bytes`.
pub(crate) fn check_session_size(session: &Session, config: &EmulatorConfig) -> ApiResult<()> {
    let size = session_size(session);
    if size > config.max_session_bytes {
        return Err(ApiError::payload_too_large(format!(
            "The session document would be {size} bytes, over the emulator's limit of {} \
                 (max_session_bytes); nothing was written",
            config.max_session_bytes
        )));
    }
    Ok(())
}
