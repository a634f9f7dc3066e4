//! The in-memory directory: sessions (each behind its own lock) and handles, and the operations that span both.
//!
//! Locking: the session map and the handle map are each locked only briefly. A session's own lock is held for
//! the whole read-modify-write of that session, so writes to one session are serialised and readers only ever
//! see committed states. When both are needed, a session lock is taken before the handle lock, never the reverse,
//! and no two session locks are ever held at once.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use axum::http::StatusCode;
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
use crate::response::SessionView;
use crate::session::Session;
use crate::session::write::{self, Applied, WriteContext};

/// One session's slot: `None` while the session does not exist. Slots are never removed, so a writer that
/// holds a slot can never write into a detached copy.
type Slot = Arc<Mutex<Option<Session>>>;

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
}

/// What a session write answered.
#[derive(Debug)]
pub(crate) enum WriteReply {
    /// 200 or 201 with the session.
    Written(StatusCode, Box<SessionView>),
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

/// The emulator's whole state.
///
/// Lock order: a session's slot, then `handles`, then `owners` / `handle_counts`.
#[derive(Debug, Default)]
pub(crate) struct Store {
    sessions: Mutex<HashMap<SessionKey, Slot>>,
    handles: Mutex<HashMap<Uuid, Handle>>,
    /// The limits (R9).
    config: EmulatorConfig,
    /// Who created each session (the per-user session limit).
    owners: Mutex<SessionOwners>,
    /// Handles per creator (the per-user handle limit).
    handle_counts: Mutex<HandleCounts>,
    /// The durable copy (`--data-dir`); `None` keeps everything in memory only.
    persist: Option<Persist>,
    listener: ListenerSlot,
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
        let mut next = current.clone();
        if !change(&mut next) {
            return false;
        }
        next.touch();
        let departed: Vec<u64> = current
            .members
            .values()
            .filter(|m| m.is_present() && next.member(m.xuid).is_some_and(|(_, a)| !a.is_present()))
            .map(|m| m.xuid)
            .collect();
        let creator = lock(&self.owners).creator(key);
        let reference = next.reference.clone();
        if let Err(error) = self.commit_session(Some((&next, creator)), &reference, |h| {
            h.kind == HandleKind::Activity
                && departed.contains(&h.creator)
                && h.session.key() == *key
        }) {
            tracing::warn!(?error, "a session change could not be committed");
            return false;
        }
        self.notify(Committed::Session {
            before: Some(current),
            after: &next,
        });
        *guard = Some(next);
        true
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
                handles.insert(handle.id, handle);
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
                    .is_some_and(|id| !handles.contains_key(&id))
                {
                    session.search_handle = None;
                }
                let key = session.reference.key();
                if let Some(creator) = creator {
                    owners.created(key.clone(), creator);
                }
                sessions.insert(key, Arc::new(Mutex::new(Some(session))));
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
    fn with_session<R>(
        &self,
        reference: &SessionRef,
        f: impl FnOnce(Option<&mut Session>) -> R,
    ) -> R {
        match self.existing_slot(&reference.key()) {
            Some(slot) => f(lock(&slot).as_mut()),
            None => f(None),
        }
    }

    /// Reads a session: `None` when it does not exist, 403 when private and the caller may not read it.
    pub(crate) fn read(
        &self,
        reference: &SessionRef,
        caller: u64,
        granted: bool,
        contract_version: u32,
    ) -> ApiResult<Option<SessionView>> {
        self.with_session(reference, |session| match session {
            None => Ok(None),
            Some(session) if !session.readable_by(caller, granted) => Err(ApiError::forbidden(
                "The requested session cannot be accessed. Private Sessions can only be read by members of the session.",
            )),
            Some(session) => Ok(Some(session.view(contract_version, caller))),
        })
    }

    /// Applies a write to the session at `reference`, atomically.
    pub(crate) fn write(
        &self,
        reference: &SessionRef,
        request: WriteRequest<'_>,
    ) -> ApiResult<WriteReply> {
        let key = reference.key();
        let slot = self.slot(key.clone());
        let mut guard = lock(&slot);
        let caller = request.ctx.caller;
        check_preconditions(guard.as_ref(), &request)?;
        match write::apply(guard.as_ref(), reference, request.body, &request.ctx)? {
            Applied::Stored {
                session,
                created,
                departed,
            } => {
                let status = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
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
                    self.commit_session(Some((&session, creator)), reference, |h| {
                        h.kind == HandleKind::Activity
                            && departed.contains(&h.creator)
                            && h.session.key() == key
                    })?;
                    if created {
                        lock(&self.owners).created(key, caller);
                    }
                    self.notify(Committed::Session {
                        before: guard.as_ref(),
                        after: &session,
                    });
                    *guard = Some(*session);
                }
                Ok(WriteReply::Written(status, Box::new(view)))
            }
            Applied::Deleted { departed } => {
                if !request.nocommit && guard.is_some() {
                    self.commit_session(None, reference, |h| {
                        h.session.key() == key
                            && match h.kind {
                                HandleKind::Activity => departed.contains(&h.creator),
                                HandleKind::Transfer | HandleKind::Search => true,
                                HandleKind::Invite => false,
                            }
                    })?;
                    *guard = None;
                    lock(&self.owners).deleted(&key);
                }
                Ok(WriteReply::Deleted)
            }
        }
    }

    /// Commits a session write — the new state of the session at `reference` (`None`: deleted), with its
    /// creator — together with the removal of every handle matching `doomed`, then removes those handles.
    /// The caller holds the session's lock and stores the session in memory once this returns `Ok`.
    fn commit_session(
        &self,
        session: Option<(&Session, Option<u64>)>,
        reference: &SessionRef,
        doomed: impl Fn(&Handle) -> bool,
    ) -> ApiResult<()> {
        let mut handles = lock(&self.handles);
        let dropped: Vec<(Uuid, u64)> = handles
            .values()
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
        let slot = self.existing_slot(&authorising.key());
        let mut guard = slot.as_ref().map(|slot| lock(slot));
        let Some(session) = guard.as_mut().and_then(|guard| guard.as_mut()) else {
            return Err(ApiError::not_found(format!(
                "The requested session wasn't found: {}",
                authorising.uri_path()
            )));
        };
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
        let protocol = session.invite_protocol().map(str::to_owned);
        let scid = request.session.scid.clone();
        let handle = request.into_handle(caller, now, config, protocol);
        let (id, doc) = (handle.id, Value::Object(handle.doc.clone()));
        let mut handles = lock(&self.handles);
        // One activity per user per SCID: the new one replaces the old.
        let replaced: Vec<Uuid> = handles
            .values()
            .filter(|h| {
                kind == HandleKind::Activity
                    && h.kind == HandleKind::Activity
                    && h.creator == caller
                    && h.session.key().in_scid(&scid)
            })
            .map(|h| h.id)
            .collect();
        if replaced.is_empty() {
            lock(&self.handle_counts).check_room(caller, &self.config)?;
        }
        // The search handle changes the session document; undone if the commit fails.
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
        handles.insert(id, handle);
        Ok(doc)
    }

    /// The handle `id`, or 404.
    pub(crate) fn handle(&self, id: Uuid) -> ApiResult<Handle> {
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
            self.with_session(&handle.session, |session| {
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
        lock(&self.handles).values().any(|h| {
            h.kind == HandleKind::Invite && h.invited == Some(caller) && h.session.key() == key
        })
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
        let mut found: Vec<Handle> = {
            let handles = lock(&self.handles);
            handles
                .values()
                .filter(|handle| matches(query, handle))
                .cloned()
                .collect()
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
            .map(|handle| {
                self.with_session(&handle.session, |session| {
                    query_result(handle, session.as_deref(), include)
                })
            })
            .collect()
    }
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
fn check_preconditions(current: Option<&Session>, request: &WriteRequest<'_>) -> ApiResult<()> {
    let ctx = &request.ctx;
    let failed = |session: &Session| {
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
