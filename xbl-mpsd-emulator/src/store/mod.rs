//! The in-memory directory: sessions (each behind its own lock) and handles, and the operations that span both.
//!
//! Locking: the session map and the handle map are each locked only briefly. A session's own lock is held for
//! the whole read-modify-write of that session, so writes to one session are serialised and readers only ever
//! see committed states. When both are needed, a session lock is taken before the handle lock, never the reverse,
//! and no two session locks are ever held at once.
//!
//! A stored session is immutable behind an `Arc`: a write builds the next state on a copy (sharing the members
//! it does not change) and swaps it in, so reads and writes take a snapshot under the lock and render the
//! response document from it after the lock is released.
//!
//! One `Store`, its `impl` split by concern: `sessions` (reads, writes, preconditions, commits of a session),
//! `handles` (the handle indexes and operations), `sweep` (timer deadlines, settling due timers, the sweep task),
//! `listener` (the commit listener), `open` (in memory or loaded from `--data-dir`); this file holds the type,
//! the session slots and the durable commit.

mod handles;
mod history;
mod inspect;
mod listener;
mod open;
mod sessions;
mod sweep;

pub(crate) use self::history::{ChangeRecord, Writer};
pub(crate) use self::inspect::Inspected;
pub(crate) use self::listener::Committed;
pub(crate) use self::sessions::{Preconditions, WriteReply, WriteRequest, etag_listed};
pub(crate) use self::sweep::spawn_sweeper;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use crate::config::EmulatorConfig;
use crate::error::ApiResult;
use crate::limits::{HandleCounts, SessionOwners};
use crate::model::SessionKey;
use crate::persist::{Batch, Persist};
use crate::session::Session;
use crate::templates::Templates;

use self::handles::Handles;
use self::history::{ChangeSignal, History};
use self::listener::ListenerSlot;
use self::sweep::{Deadlines, Wake};

/// One session's slot. Slots are never removed while someone holds them, so a writer that holds a slot can
/// never write into a detached copy.
type Slot = Arc<Mutex<SlotState>>;

/// What a slot holds: the session (`None` while it does not exist) and its recent changes. The session in it is
/// replaced, never changed while shared (`Arc::make_mut` copies it if a snapshot is still being rendered or
/// kept in the history).
#[derive(Debug, Default)]
pub(super) struct SlotState {
    /// The session.
    pub(super) session: Option<Arc<Session>>,
    /// Its last changes; boxed and made on the first one (most sessions are written once, and a slot is
    /// one per session).
    history: Option<Box<History>>,
}

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The emulator's whole state.
///
/// Lock order: a session's slot, then `handles`, then `owners` / `handle_counts`; `deadlines` is taken last,
/// briefly, under a session's slot (or alone by the sweep). The session map is taken alone, or before a slot
/// only when pruning a slot nobody else holds.
#[derive(Debug, Default)]
pub(crate) struct Store {
    sessions: Mutex<HashMap<SessionKey, Slot>>,
    handles: Mutex<Handles>,
    /// The limits (R9).
    config: EmulatorConfig,
    /// Who created each session (the per-user session limit).
    owners: Mutex<SessionOwners>,
    /// Handles per creator (the per-user handle limit).
    handle_counts: Mutex<HandleCounts>,
    /// The durable copy (`--data-dir`); `None` keeps everything in memory only.
    persist: Option<Persist>,
    listener: ListenerSlot,
    /// The session templates.
    templates: Templates,
    /// The sessions' next timers.
    deadlines: Mutex<Deadlines>,
    /// Wakes the sweep task when an earlier deadline is scheduled (or the store goes).
    wake: Wake,
    /// Bumped after every commit while someone watches (the explorer's live feed).
    signal: ChangeSignal,
}

impl Store {
    /// The session templates.
    pub(crate) fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The time now, by the emulator's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.config.clock.utc()
    }

    /// Forgets the slot of `key` when it holds no session and nobody else holds the slot (every clone of a slot
    /// is taken under the map's lock, so nobody can get it while the map is locked).
    fn prune(&self, key: &SessionKey) {
        let mut sessions = lock(&self.sessions);
        let unused = sessions
            .get(key)
            .is_some_and(|slot| Arc::strong_count(slot) == 1 && lock(slot).session.is_none());
        if unused {
            sessions.remove(key);
        }
    }

    /// The number of sessions held in memory.
    pub(crate) fn session_count(&self) -> usize {
        let slots: Vec<Slot> = lock(&self.sessions).values().cloned().collect();
        slots
            .iter()
            .filter(|slot| lock(slot).session.is_some())
            .count()
    }

    /// Stores `next` as the session of `state` (`None`: deleted), records the change made by `writer` at `at`
    /// in its history (unless it created the session) and tells the change signal. Returns the oldest record if it fell off the history: the
    /// caller drops it after releasing the session's lock.
    #[must_use = "drop the evicted record after the lock is released"]
    fn store_change(
        &self,
        state: &mut SlotState,
        writer: Writer,
        at: DateTime<Utc>,
        next: Option<Arc<Session>>,
    ) -> Option<ChangeRecord> {
        let before = std::mem::replace(&mut state.session, next.clone());
        // A creation is not recorded: the created version is the next record's `before`, and when and by whom
        // it was created is the session's `startTime` and creator. A session written once keeps no record.
        let evicted = before.is_some().then(|| {
            state.history.get_or_insert_default().record(ChangeRecord {
                at,
                writer,
                before,
                after: next,
            })
        });
        self.signal.bump();
        evicted.flatten()
    }

    /// Tells the change signal of a change that is not a session's (a handle created or deleted).
    fn signal_change(&self) {
        self.signal.bump();
    }

    /// Commits `batch` durably when the directory is persistent; a no-op in memory.
    fn commit(&self, batch: impl FnOnce(&mut Batch) -> ApiResult<()>) -> ApiResult<()> {
        match &self.persist {
            None => Ok(()),
            Some(persist) => {
                let mut changes = Batch::default();
                batch(&mut changes)?;
                persist.commit(changes)
            }
        }
    }

    /// The slot of `key`, created on first use.
    fn slot(&self, key: SessionKey) -> Slot {
        Arc::clone(lock(&self.sessions).entry(key).or_default())
    }

    /// The slot of `key` if one was ever created.
    fn existing_slot(&self, key: &SessionKey) -> Option<Slot> {
        lock(&self.sessions).get(key).cloned()
    }
}
