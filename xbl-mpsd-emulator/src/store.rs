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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::config::EmulatorConfig;
use crate::error::{ApiError, ApiResult};
use crate::handles::{
    Handle, HandleKind, HandleQuery, HandleRequest, Include, MAX_QUERY_RESULTS, query_result,
};
use crate::limits::{HandleCounts, SessionOwners, check_session_size};
use crate::model::{SessionKey, SessionRef};
use crate::persist::{Batch, Persist};
use crate::session::Session;
use crate::session::timers;
use crate::session::view::SessionView;
use crate::session::write::{self, Applied, WriteContext, lost_activity};
use crate::templates::{Template, Templates};

/// One session's slot: `None` while the session does not exist. Slots are never removed, so a writer that
/// holds a slot can never write into a detached copy. The session in it is replaced, never changed while
/// shared (`Arc::make_mut` copies it if a snapshot is still being rendered).
type Slot = Arc<Mutex<Option<Arc<Session>>>>;

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `If-Match` / `If-None-Match` headers of a write, verbatim.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preconditions {
    /// `If-Match`.
    pub(crate) if_match: Option<String>,
    /// `If-None-Match`.
    pub(crate) if_none_match: Option<String>,
}

/// Whether an `If-Match`/`If-None-Match` list names `*` or `etag` (quotes and `W/` tolerated).
pub(crate) fn etag_listed(header: &str, etag: &str) -> bool {
    header.split(',').any(|item| {
        let item = item.trim();
        let item = item.strip_prefix("W/").unwrap_or(item).trim_matches('"');
        item == "*" || item.eq_ignore_ascii_case(etag)
    })
}

/// A session write as the HTTP layer hands it over.
#[derive(Debug)]
pub(crate) struct WriteRequest<'a> {
    /// The PUT body.
    pub(crate) body: &'a Map<String, Value>,
    /// `?nocommit=true`.
    pub(crate) nocommit: bool,
    /// Conditional headers.
    pub(crate) preconditions: Preconditions,
    /// Whether the write came through `PUT /handles/{id}/session`.
    pub(crate) by_handle: bool,
    /// The request's contract version.
    pub(crate) contract_version: u32,
    /// Caller, time, title and grant.
    pub(crate) ctx: WriteContext,
    /// The session's template (what a created session starts as).
    pub(crate) template: Arc<Template>,
}

/// What a session write answered.
#[derive(Debug)]
pub(crate) enum WriteReply {
    /// The session (`created`: 201, else 200).
    Written {
        /// Whether the write created the session.
        created: bool,
        /// The session to answer with.
        view: Box<SessionView>,
    },
    /// 204: the session does not exist after the write.
    Deleted,
}

/// What the store tells its listener (the RTA hub) after a commit. Called while the session's lock is held,
/// so a session's commits arrive in `changeNumber` order; the listener must not block or call back into the store.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Committed<'a> {
    /// A session write or change was stored; `before` is `None` when it created the session.
    Session {
        /// The session before the commit.
        before: Option<&'a Session>,
        /// The session as stored (its `changeNumber` and `branch` are the commit's).
        after: &'a Session,
    },
    /// A handle was created.
    Handle(&'a Handle),
}

/// The commit listener.
pub(crate) type Listener = Arc<dyn Fn(Committed<'_>) + Send + Sync>;

/// The optional listener, set once.
#[derive(Default)]
struct ListenerSlot(OnceLock<Listener>);

impl fmt::Debug for ListenerSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "ListenerSlot(set)"
        } else {
            "ListenerSlot(unset)"
        })
    }
}

/// The sessions' next timers, earliest first: what the sweep applies without waiting for a request.
#[derive(Debug, Default)]
struct Deadlines {
    queue: BTreeSet<(DateTime<Utc>, SessionKey)>,
    by_key: HashMap<SessionKey, DateTime<Utc>>,
}

impl Deadlines {
    /// Sets the deadline of `key` (`None`: none); true when it became the earliest.
    fn set(&mut self, key: &SessionKey, at: Option<DateTime<Utc>>) -> bool {
        if let Some(old) = self.by_key.remove(key) {
            self.queue.remove(&(old, key.clone()));
        }
        let Some(at) = at else {
            return false;
        };
        self.by_key.insert(key.clone(), at);
        self.queue.insert((at, key.clone()));
        self.queue.first().is_some_and(|(first, _)| *first == at)
    }

    /// Removes and returns the sessions whose deadline is at or before `now`.
    fn take_due(&mut self, now: DateTime<Utc>) -> Vec<SessionKey> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.queue.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.queue.pop_first() {
                self.by_key.remove(&key);
                due.push(key);
            }
        }
        due
    }

    fn earliest(&self) -> Option<DateTime<Utc>> {
        self.queue.first().map(|(at, _)| *at)
    }
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
}

/// The sweep task's wake-up; dropped with the store, it wakes the task a last time so that it sees the store
/// gone and ends.
#[derive(Debug, Default)]
struct Wake(Arc<tokio::sync::Notify>);

impl Drop for Wake {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

impl crate::clock::Advanced for Store {
    fn advanced(&self, now: DateTime<Utc>) {
        self.sweep(now);
    }
}

/// The handles, by ID, with indexes by (target) session and by creator, so that a session write, an invite
/// check or an activity query looks only at the handles concerned, not at every handle. Each handle is behind
/// an `Arc`, so a request that addresses a session through a handle takes it without copying its document.
#[derive(Debug, Default)]
struct Handles {
    by_id: HashMap<Uuid, Arc<Handle>>,
    /// The IDs of the handles whose (target) session is the key; no empty sets.
    by_session: HashMap<SessionKey, HashSet<Uuid>>,
    /// The IDs of each user's handles; no empty sets.
    by_creator: HashMap<u64, HashSet<Uuid>>,
}

impl Handles {
    fn get(&self, id: &Uuid) -> Option<&Arc<Handle>> {
        self.by_id.get(id)
    }

    fn contains(&self, id: &Uuid) -> bool {
        self.by_id.contains_key(id)
    }

    fn insert(&mut self, handle: Handle) {
        self.remove(&handle.id);
        self.by_session
            .entry(handle.session.key())
            .or_default()
            .insert(handle.id);
        self.by_creator
            .entry(handle.creator)
            .or_default()
            .insert(handle.id);
        self.by_id.insert(handle.id, Arc::new(handle));
    }

    fn remove(&mut self, id: &Uuid) -> Option<Arc<Handle>> {
        let handle = self.by_id.remove(id)?;
        self.unindex(&handle);
        Some(handle)
    }

    fn unindex(&mut self, handle: &Handle) {
        let key = handle.session.key();
        if let Some(ids) = self.by_session.get_mut(&key) {
            ids.remove(&handle.id);
            if ids.is_empty() {
                self.by_session.remove(&key);
            }
        }
        if let Some(ids) = self.by_creator.get_mut(&handle.creator) {
            ids.remove(&handle.id);
            if ids.is_empty() {
                self.by_creator.remove(&handle.creator);
            }
        }
    }

    /// The handles whose (target) session is `key`.
    fn of_session<'a>(&'a self, key: &SessionKey) -> impl Iterator<Item = &'a Handle> + 'a {
        self.by_session
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id))
            .map(|handle| &**handle)
    }

    /// The handles `creator` created.
    fn of_creator(&self, creator: u64) -> impl Iterator<Item = &Arc<Handle>> + '_ {
        self.by_creator
            .get(&creator)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id))
    }

    /// Every handle.
    fn all(&self) -> impl Iterator<Item = &Arc<Handle>> + '_ {
        self.by_id.values()
    }
}

impl Store {
    /// Sets the listener told of every commit (once; later calls are ignored).
    pub(crate) fn set_listener(&self, listener: Listener) {
        let _ = self.listener.0.set(listener);
    }

    /// Tells the listener, if any.
    fn notify(&self, event: Committed<'_>) {
        if let Some(listener) = self.listener.0.get() {
            listener(event);
        }
    }

    /// Changes the session at `key` with `change` (under its lock); when `change` returns true the result is
    /// committed: a new `changeNumber` and ETag, activity handles of members who became neither active nor
    /// ready are dropped, and the listener is told. Returns whether a change was committed.
    pub(crate) fn change_session(
        &self,
        key: &SessionKey,
        change: impl FnOnce(&mut Session) -> bool,
    ) -> bool {
        let Some(slot) = self.existing_slot(key) else {
            return false;
        };
        let mut guard = lock(&slot);
        let Some(current) = guard.as_ref() else {
            return false;
        };
        let mut next = Session::clone(current);
        if !change(&mut next) {
            return false;
        }
        timers::stamp(&mut next, Some(current), self.now());
        next.touch();
        let departed: Vec<u64> = current
            .members
            .values()
            .filter(|m| m.is_present() && next.member(m.xuid).is_some_and(|(_, a)| !a.is_present()))
            .map(|m| m.xuid)
            .collect();
        let creator = lock(&self.owners).creator(key);
        let reference = next.reference.clone();
        if let Err(error) = self.commit_session(Some((&next, creator)), &reference, key, |h| {
            h.kind == HandleKind::Activity && departed.contains(&h.creator)
        }) {
            tracing::warn!(?error, "a session change could not be committed");
            return false;
        }
        self.notify(Committed::Session {
            before: Some(current),
            after: &next,
        });
        self.schedule(key, current.next_timer, next.next_timer);
        let previous = guard.replace(Arc::new(next));
        drop(guard);
        drop(previous);
        true
    }

    /// The session templates.
    pub(crate) fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The time now, by the emulator's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.config.clock.utc()
    }

    /// Records that the session at `key` has its next timer at `after` instead of `before`.
    fn schedule(
        &self,
        key: &SessionKey,
        before: Option<DateTime<Utc>>,
        after: Option<DateTime<Utc>>,
    ) {
        if before == after {
            return;
        }
        if lock(&self.deadlines).set(key, after) {
            self.wake.0.notify_one();
        }
    }

    /// The earliest pending timer of any session.
    pub(crate) fn earliest_deadline(&self) -> Option<DateTime<Utc>> {
        lock(&self.deadlines).earliest()
    }

    /// Applies the due timers of the session in `guard` (at `key`) at `now`, and commits what they changed: a new
    /// `changeNumber` and ETag, persisted, taps through the listener; or the deletion of the session and its
    /// activity, search and transfer handles. Runs before every request that reads or writes the session
    /// answers, and from the sweep.
    fn settle(
        &self,
        key: &SessionKey,
        guard: &mut MutexGuard<'_, Option<Arc<Session>>>,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        let Some(current) = guard.as_ref() else {
            return Ok(());
        };
        match timers::apply(current, now) {
            timers::Applied::Unchanged => Ok(()),
            timers::Applied::Changed(next) => {
                let mut next = *next;
                next.touch();
                let departed = lost_activity(current, &next);
                let creator = lock(&self.owners).creator(key);
                let reference = next.reference.clone();
                self.commit_session(Some((&next, creator)), &reference, key, |h| {
                    h.kind == HandleKind::Activity && departed.contains(&h.creator)
                })?;
                self.notify(Committed::Session {
                    before: Some(current),
                    after: &next,
                });
                self.schedule(key, current.next_timer, next.next_timer);
                let previous = guard.replace(Arc::new(next));
                drop(previous);
                Ok(())
            }
            timers::Applied::Deleted => {
                let reference = current.reference.clone();
                let departed = current.member_xuids();
                let before = current.next_timer;
                self.commit_session(None, &reference, key, |h| match h.kind {
                    HandleKind::Activity => departed.contains(&h.creator),
                    HandleKind::Transfer | HandleKind::Search => true,
                    HandleKind::Invite => false,
                })?;
                **guard = None;
                lock(&self.owners).deleted(key);
                self.schedule(key, before, None);
                Ok(())
            }
        }
    }

    /// Locks the slot and applies the session's due timers; a failed commit of them is logged and leaves the
    /// session as it was (for the paths that only look at a session).
    fn lock_settled<'a>(
        &self,
        key: &SessionKey,
        slot: &'a Slot,
    ) -> MutexGuard<'a, Option<Arc<Session>>> {
        let mut guard = lock(slot);
        if let Err(error) = self.settle(key, &mut guard, self.now()) {
            tracing::warn!(?error, "the session's timers could not be committed");
        }
        guard
    }

    /// Applies every timer due at `now` to the sessions it belongs to (the sweep), whether or not anyone reads
    /// them; deleted sessions leave memory. Returns the next pending deadline.
    pub(crate) fn sweep(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // A chain of transitions (ready → inactive → removed → session deleted) is one application each.
        for _ in 0..8 {
            let due = lock(&self.deadlines).take_due(now);
            if due.is_empty() {
                break;
            }
            for key in due {
                let Some(slot) = self.existing_slot(&key) else {
                    continue;
                };
                let mut guard = lock(&slot);
                let pending = guard.as_ref().and_then(|session| session.next_timer);
                // The entry was taken off the queue: put back whatever is pending now.
                let next = match self.settle(&key, &mut guard, now) {
                    Ok(()) => guard.as_ref().and_then(|session| session.next_timer),
                    Err(error) => {
                        tracing::warn!(?error, "the sweep could not commit a session's timers");
                        // Retried a second later, not at once.
                        pending.map(|_| now + chrono::TimeDelta::seconds(1))
                    }
                };
                lock(&self.deadlines).set(&key, next);
                drop(guard);
                drop(slot);
                self.prune(&key);
            }
        }
        self.earliest_deadline()
    }

    /// Forgets the slot of `key` when it holds no session and nobody else holds the slot (every clone of a slot
    /// is taken under the map's lock, so nobody can get it while the map is locked).
    fn prune(&self, key: &SessionKey) {
        let mut sessions = lock(&self.sessions);
        let unused = sessions
            .get(key)
            .is_some_and(|slot| Arc::strong_count(slot) == 1 && lock(slot).is_none());
        if unused {
            sessions.remove(key);
        }
    }

    /// The number of sessions held in memory.
    pub(crate) fn session_count(&self) -> usize {
        let slots: Vec<Slot> = lock(&self.sessions).values().cloned().collect();
        slots.iter().filter(|slot| lock(slot).is_some()).count()
    }

    /// An empty in-memory directory under `config`'s limits (`config.data_dir` is not used).
    pub(crate) fn in_memory(config: &EmulatorConfig) -> Self {
        Self {
            config: config.clone(),
            ..Self::default()
        }
    }

    /// An empty in-memory directory under `config`'s limits, or — with `config.data_dir` — the directory
    /// stored there (created when missing), kept durable from then on.
    pub(crate) fn open(config: &EmulatorConfig) -> io::Result<Self> {
        let mut store = Self::in_memory(config);
        if let Some(dir) = &config.templates {
            store.templates = Templates::load(dir)?;
        }
        let Some(dir) = &config.data_dir else {
            return Ok(store);
        };
        let persist = Persist::open(dir)?;
        let loaded = persist.load()?;
        {
            let mut handles = lock(&store.handles);
            let mut counts = lock(&store.handle_counts);
            for handle in loaded.handles {
                counts.add(handle.creator);
                handles.insert(handle);
            }
        }
        {
            let handles = lock(&store.handles);
            let mut sessions = lock(&store.sessions);
            let mut owners = lock(&store.owners);
            for (mut session, creator) in loaded.sessions {
                // A search handle deleted just before a crash may still be named by its session.
                if session
                    .search_handle
                    .is_some_and(|id| !handles.contains(&id))
                {
                    session.search_handle = None;
                }
                let key = session.reference.key();
                if let Some(creator) = creator {
                    owners.created(key.clone(), creator);
                }
                session.next_timer = timers::next_deadline(&session);
                lock(&store.deadlines).set(&key, session.next_timer);
                sessions.insert(key, Arc::new(Mutex::new(Some(Arc::new(session)))));
            }
        }
        tracing::info!(dir = %dir.display(), "directory restored");
        store.persist = Some(persist);
        Ok(store)
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

    /// Runs `f` on the session at `reference` (or `None`) while holding its lock.
    fn with_session<R>(&self, reference: &SessionRef, f: impl FnOnce(Option<&Session>) -> R) -> R {
        let key = reference.key();
        match self.existing_slot(&key) {
            Some(slot) => f(self.lock_settled(&key, &slot).as_deref()),
            None => f(None),
        }
    }

    /// Runs `f` on the session at `reference` (or `None`) while holding its lock, to change it in place
    /// (copied first if a snapshot of it is still being rendered).
    fn with_session_mut<R>(
        &self,
        reference: &SessionRef,
        f: impl FnOnce(Option<&mut Session>) -> R,
    ) -> R {
        let key = reference.key();
        match self.existing_slot(&key) {
            Some(slot) => f(self.lock_settled(&key, &slot).as_mut().map(Arc::make_mut)),
            None => f(None),
        }
    }

    /// Snapshots of the existing sessions whose key `keep` accepts, each taken under its own lock (one lock at a
    /// time, none held on return), for read-only queries across sessions (`queries`).
    pub(crate) fn sessions_where(&self, keep: impl Fn(&SessionKey) -> bool) -> Vec<Arc<Session>> {
        let slots: Vec<Slot> = lock(&self.sessions)
            .iter()
            .filter(|(key, _)| keep(key))
            .map(|(_, slot)| Arc::clone(slot))
            .collect();
        slots.iter().filter_map(|slot| lock(slot).clone()).collect()
    }

    /// Reads a session: `None` when it does not exist, 403 when private and the caller may not read it.
    pub(crate) fn read(
        &self,
        reference: &SessionRef,
        caller: u64,
        granted: bool,
        contract_version: u32,
    ) -> ApiResult<Option<SessionView>> {
        let key = reference.key();
        let Some(slot) = self.existing_slot(&key) else {
            return Ok(None);
        };
        let mut guard = lock(&slot);
        self.settle(&key, &mut guard, self.now())?;
        match guard.as_ref() {
            None => Ok(None),
            Some(session) if !session.readable_by(caller, granted) => Err(ApiError::forbidden(
                "The requested session cannot be accessed. Private Sessions can only be read by members of the session.",
            )),
            // A snapshot: the document is rendered from it after the lock is released.
            Some(session) => Ok(Some(session.view(contract_version, caller))),
        }
    }

    /// Applies a write to the session at `reference`, atomically.
    pub(crate) fn write(
        &self,
        reference: &SessionRef,
        request: WriteRequest<'_>,
    ) -> ApiResult<WriteReply> {
        let key = reference.key();
        let slot = self.slot(key.clone());
        let nocommit = request.nocommit;
        let reply = self.write_slot(reference, request, &key, &slot);
        if nocommit || !matches!(reply, Ok(WriteReply::Written { .. })) {
            // A refused or previewed create, or a write that left no session: the slot goes unless it holds a
            // session or someone else holds it.
            drop(slot);
            self.prune(&key);
        }
        reply
    }

    /// [`Store::write`] on the session's slot.
    fn write_slot(
        &self,
        reference: &SessionRef,
        request: WriteRequest<'_>,
        key: &SessionKey,
        slot: &Slot,
    ) -> ApiResult<WriteReply> {
        let key = key.clone();
        let mut guard = lock(slot);
        let caller = request.ctx.caller;
        self.settle(&key, &mut guard, request.ctx.now)?;
        check_preconditions(guard.as_ref(), &request)?;
        match write::apply(
            guard.as_deref(),
            reference,
            request.body,
            &request.ctx,
            &request.template,
        )? {
            Applied::Stored {
                session,
                created,
                departed,
            } => {
                let session = Arc::new(*session);
                // A snapshot: the document is rendered from it after the lock is released.
                let mut view = session.view(request.contract_version, caller);
                if request.nocommit {
                    if let Some(current) = guard.as_ref() {
                        // Nothing was stored, so the current ETag is still the one to send back.
                        view.etag = current.etag.clone();
                    }
                } else {
                    check_session_size(&session, &self.config)?;
                    let creator = if created {
                        lock(&self.owners).check_room(caller, &self.config)?;
                        Some(caller)
                    } else {
                        lock(&self.owners).creator(&key)
                    };
                    self.commit_session(Some((&session, creator)), reference, &key, |h| {
                        h.kind == HandleKind::Activity && departed.contains(&h.creator)
                    })?;
                    if created {
                        lock(&self.owners).created(key.clone(), caller);
                    }
                    self.notify(Committed::Session {
                        before: guard.as_deref(),
                        after: &session,
                    });
                    let before = guard.as_ref().and_then(|current| current.next_timer);
                    self.schedule(&key, before, session.next_timer);
                    let previous = guard.replace(session);
                    // The state it replaces is released (if nothing else holds it) after the lock.
                    drop(guard);
                    drop(previous);
                }
                Ok(WriteReply::Written {
                    created,
                    view: Box::new(view),
                })
            }
            Applied::Deleted { departed } => {
                if !request.nocommit
                    && let Some(current) = guard.as_ref()
                {
                    let before = current.next_timer;
                    self.commit_session(None, reference, &key, |h| match h.kind {
                        HandleKind::Activity => departed.contains(&h.creator),
                        HandleKind::Transfer | HandleKind::Search => true,
                        HandleKind::Invite => false,
                    })?;
                    *guard = None;
                    lock(&self.owners).deleted(&key);
                    self.schedule(&key, before, None);
                }
                Ok(WriteReply::Deleted)
            }
        }
    }

    /// Commits a session write — the new state of the session at `reference` (`None`: deleted), with its
    /// creator — together with the removal of every handle of that session (`key`) matching `doomed`, then
    /// removes those handles. The caller holds the session's lock and stores the session in memory once this
    /// returns `Ok`.
    fn commit_session(
        &self,
        session: Option<(&Session, Option<u64>)>,
        reference: &SessionRef,
        key: &SessionKey,
        doomed: impl Fn(&Handle) -> bool,
    ) -> ApiResult<()> {
        let mut handles = lock(&self.handles);
        let dropped: Vec<(Uuid, u64)> = handles
            .of_session(key)
            .filter(|handle| doomed(handle))
            .map(|handle| (handle.id, handle.creator))
            .collect();
        self.commit(|batch| {
            match session {
                Some((session, creator)) => batch.put_session(session, creator)?,
                None => batch.delete_session(reference),
            }
            for (id, _) in &dropped {
                batch.delete_handle(*id);
            }
            Ok(())
        })?;
        let mut counts = lock(&self.handle_counts);
        for (id, creator) in dropped {
            handles.remove(&id);
            counts.remove(creator);
        }
        Ok(())
    }

    /// Creates a handle and returns its document.
    pub(crate) fn create_handle(
        &self,
        request: HandleRequest,
        caller: u64,
        now: DateTime<Utc>,
        config: &EmulatorConfig,
    ) -> ApiResult<Value> {
        // The session whose membership authorises the handle: the origin for transfers, the target otherwise.
        let authorising = request
            .origin
            .clone()
            .unwrap_or_else(|| request.session.clone());
        let kind = request.kind;
        let authorising_key = authorising.key();
        let slot = self.existing_slot(&authorising_key);
        let mut guard = slot
            .as_ref()
            .map(|slot| self.lock_settled(&authorising_key, slot));
        let Some(stored) = guard.as_mut().and_then(|guard| guard.as_mut()) else {
            return Err(ApiError::not_found(format!(
                "The requested session wasn't found: {}",
                authorising.uri_path()
            )));
        };
        let session: &Session = stored;
        if !session.is_accepted_member(caller) {
            return Err(ApiError::forbidden(
                "Only a member of the session can create this handle (for transfer handles: of the origin session)",
            ));
        }
        if kind == HandleKind::Search {
            if !session.capability("searchable") {
                return Err(ApiError::bad_request(
                    "A search handle needs a session with constants.system.capabilities.searchable",
                ));
            }
            if session.search_handle.is_some() {
                return Err(ApiError::conflict(
                    "The session already has a search handle; delete it before creating another",
                ));
            }
        }
        let protocol = session.invite_protocol();
        let scid = request.session.scid.clone();
        let handle = request.into_handle(caller, now, config, protocol);
        let (id, doc) = (handle.id, Value::Object(handle.doc.clone()));
        let mut handles = lock(&self.handles);
        // One activity per user per SCID: the new one replaces the old.
        let replaced: Vec<Uuid> = handles
            .of_creator(caller)
            .filter(|h| {
                kind == HandleKind::Activity
                    && h.kind == HandleKind::Activity
                    && h.session.key().in_scid(&scid)
            })
            .map(|h| h.id)
            .collect();
        if replaced.is_empty() {
            lock(&self.handle_counts).check_room(caller, &self.config)?;
        }
        // The search handle changes the session document; undone if the commit fails. (Changed in place, or
        // on a copy if a snapshot of the session is still being rendered.)
        let session = Arc::make_mut(stored);
        let before = (
            session.search_handle,
            session.change_number,
            session.etag.clone(),
        );
        if kind == HandleKind::Search {
            let before = session.clone();
            session.set_search_handle(Some(id));
            self.notify(Committed::Session {
                before: Some(&before),
                after: session,
            });
        }
        if kind == HandleKind::Invite {
            self.notify(Committed::Handle(&handle));
        }
        let committed = self.commit(|batch| {
            if kind == HandleKind::Search {
                let creator = lock(&self.owners).creator(&session.reference.key());
                batch.put_session(session, creator)?;
            }
            for old in &replaced {
                batch.delete_handle(*old);
            }
            batch.put_handle(&handle)
        });
        if let Err(error) = committed {
            (session.search_handle, session.change_number, session.etag) = before;
            return Err(error);
        }
        let mut counts = lock(&self.handle_counts);
        for old in replaced {
            if let Some(old) = handles.remove(&old) {
                counts.remove(old.creator);
            }
        }
        counts.add(caller);
        handles.insert(handle);
        Ok(doc)
    }

    /// The handle `id`, or 404.
    pub(crate) fn handle(&self, id: Uuid) -> ApiResult<Arc<Handle>> {
        lock(&self.handles)
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("The requested handle wasn't found: {id}")))
    }

    /// Deletes the handle `id`; only its creator may.
    pub(crate) fn delete_handle(&self, id: Uuid, caller: u64) -> ApiResult<()> {
        let removed = {
            let mut handles = lock(&self.handles);
            match handles.get(&id) {
                None => {
                    return Err(ApiError::not_found(format!(
                        "The requested handle wasn't found: {id}"
                    )));
                }
                Some(handle) if handle.creator != caller => {
                    return Err(ApiError::forbidden(
                        "Only the user who created a handle can delete it",
                    ));
                }
                Some(_) => {
                    self.commit(|batch| {
                        batch.delete_handle(id);
                        Ok(())
                    })?;
                    let removed = handles.remove(&id);
                    if removed.is_some() {
                        lock(&self.handle_counts).remove(caller);
                    }
                    removed
                }
            }
        };
        if let Some(handle) = removed.filter(|handle| handle.kind == HandleKind::Search) {
            self.with_session_mut(&handle.session, |session| {
                let Some(session) = session.filter(|session| session.search_handle == Some(id))
                else {
                    return Ok(());
                };
                let before = session.clone();
                session.set_search_handle(None);
                // Should this commit fail, the handle is gone anyway; a restart clears the dangling
                // `searchHandle` (see `Store::open`).
                let creator = lock(&self.owners).creator(&session.reference.key());
                self.commit(|batch| batch.put_session(session, creator))?;
                self.notify(Committed::Session {
                    before: Some(&before),
                    after: session,
                });
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Whether an invite handle invites `caller` to the session at `reference`.
    pub(crate) fn invited(&self, reference: &SessionRef, caller: u64) -> bool {
        let key = reference.key();
        lock(&self.handles)
            .of_session(&key)
            .any(|h| h.kind == HandleKind::Invite && h.invited == Some(caller))
    }

    /// Whether `handle` lets `caller` into its session beyond the visibility rules:
    /// the invitee of an invite, or a member of a transfer handle's origin session.
    pub(crate) fn grants(&self, handle: &Handle, caller: u64) -> bool {
        match (handle.kind, &handle.origin) {
            (HandleKind::Invite, _) => handle.invited == Some(caller),
            (HandleKind::Transfer, Some(origin)) => self.with_session(origin, |session| {
                session.is_some_and(|s| s.is_accepted_member(caller))
            }),
            _ => false,
        }
    }

    /// Answers a handle query.
    pub(crate) fn query(&self, query: &HandleQuery, include: Include) -> Vec<Value> {
        let mut found: Vec<Arc<Handle>> = {
            let handles = lock(&self.handles);
            match query {
                // Only the owners' own handles can match.
                HandleQuery::Activity {
                    owners: Some(owners),
                    ..
                } => owners
                    .iter()
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .flat_map(|owner| handles.of_creator(*owner))
                    .filter(|handle| matches(query, handle))
                    .cloned()
                    .collect(),
                _ => handles
                    .all()
                    .filter(|handle| matches(query, handle))
                    .cloned()
                    .collect(),
            }
        };
        found.sort_by(|a, b| {
            let time = |h: &Handle| {
                h.doc
                    .get("createTime")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            time(a).cmp(&time(b)).then(a.id.cmp(&b.id))
        });
        found.truncate(MAX_QUERY_RESULTS);
        found
            .iter()
            .filter_map(|handle| {
                let result = self.with_session(&handle.session, |session| {
                    query_result(handle, session, include)
                });
                // Applying the session's timers may have deleted it, and the handle with it.
                lock(&self.handles).contains(&handle.id).then_some(result)
            })
            .collect()
    }
}

/// Starts the sweep of `store`'s timers on the current Tokio runtime (system clock): a task that sleeps until the
/// earliest deadline (or until an earlier one is scheduled), applies what fell due, and ends with the store. An
/// idle directory costs no CPU between deadlines.
pub(crate) fn spawn_sweeper(store: &Arc<Store>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            "no Tokio runtime: timers apply only when a request reads or writes the session"
        );
        return;
    };
    let weak = Arc::downgrade(store);
    let wake = Arc::clone(&store.wake.0);
    runtime.spawn(async move {
        loop {
            let next = match weak.upgrade() {
                Some(store) => store.sweep(store.now()),
                None => return,
            };
            match next {
                Some(at) => {
                    // A millisecond more: the timer wheel must not wake the task just before the deadline.
                    let wait = (at - Utc::now()).to_std().unwrap_or_default()
                        + std::time::Duration::from_millis(1);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = wake.notified() => {}
                    }
                }
                None => wake.notified().await,
            }
        }
    });
}

/// Whether `handle` answers `query`.
fn matches(query: &HandleQuery, handle: &Handle) -> bool {
    match query {
        HandleQuery::Activity { scid, owners } => {
            handle.kind == HandleKind::Activity
                && owners
                    .as_ref()
                    .is_some_and(|owners| owners.contains(&handle.creator))
                && scid
                    .as_ref()
                    .is_none_or(|scid| handle.session.key().in_scid(scid))
        }
        HandleQuery::Search {
            scid,
            template_name,
            social,
        } => {
            handle.kind == HandleKind::Search
                && !social
                && handle.session.key().in_template(scid, template_name)
        }
    }
}

/// Evaluates `If-Match` and `If-None-Match` against the current session.
fn check_preconditions(
    current: Option<&Arc<Session>>,
    request: &WriteRequest<'_>,
) -> ApiResult<()> {
    let ctx = &request.ctx;
    let failed = |session: &Arc<Session>| {
        let view = session
            .readable_by(ctx.caller, ctx.granted)
            .then(|| Box::new(session.view(request.contract_version, ctx.caller)));
        ApiError::PreconditionFailed(view)
    };
    let preconditions = &request.preconditions;
    if let Some(if_match) = &preconditions.if_match {
        match current {
            None if request.by_handle && if_match.trim() == "*" => {
                return Err(ApiError::not_found(
                    "The session the handle refers to does not exist (If-Match: * requires an existing session)",
                ));
            }
            None => return Err(ApiError::PreconditionFailed(None)),
            Some(session) if !etag_listed(if_match, &session.etag) => return Err(failed(session)),
            Some(_) => {}
        }
    }
    if let (Some(if_none_match), Some(session)) = (&preconditions.if_none_match, current)
        && etag_listed(if_none_match, &session.etag)
    {
        return Err(failed(session));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(kind: HandleKind, creator: u64, name: &str) -> Handle {
        Handle {
            id: Uuid::new_v4(),
            kind,
            creator,
            session: SessionRef::new("Scid", "Lobby", name, "t").expect("a valid reference"),
            origin: None,
            invited: None,
            doc: Map::new(),
        }
    }

    fn ids<'a>(handles: impl Iterator<Item = &'a Handle>) -> HashSet<Uuid> {
        handles.map(|handle| handle.id).collect()
    }

    #[test]
    fn the_handle_indexes_follow_inserts_and_removals() {
        let mut handles = Handles::default();
        let a = handle(HandleKind::Activity, 1, "One");
        let b = handle(HandleKind::Invite, 2, "one");
        let c = handle(HandleKind::Search, 1, "two");
        let (a_id, b_id, c_id) = (a.id, b.id, c.id);
        for h in [a, b, c] {
            handles.insert(h);
        }
        let one = SessionRef::new("SCID", "lobby", "ONE", "t").unwrap().key();
        let two = SessionRef::new("scid", "LOBBY", "Two", "t").unwrap().key();
        assert_eq!(ids(handles.of_session(&one)), HashSet::from([a_id, b_id]));
        assert_eq!(ids(handles.of_session(&two)), HashSet::from([c_id]));
        assert_eq!(
            ids(handles.of_creator(1).map(|h| &**h)),
            HashSet::from([a_id, c_id])
        );
        assert!(handles.remove(&a_id).is_some());
        assert!(handles.remove(&a_id).is_none());
        assert_eq!(ids(handles.of_session(&one)), HashSet::from([b_id]));
        assert_eq!(
            ids(handles.of_creator(1).map(|h| &**h)),
            HashSet::from([c_id])
        );
        handles.remove(&b_id);
        handles.remove(&c_id);
        assert!(handles.by_id.is_empty());
        assert!(handles.by_session.is_empty(), "no empty sets are kept");
        assert!(handles.by_creator.is_empty(), "no empty sets are kept");
        assert!(two.in_template("SCID", "Lobby") && !two.in_template("scid", "lobby2"));
        assert!(one.in_scid("sciD") && !one.in_scid("scid2"));
    }
}
