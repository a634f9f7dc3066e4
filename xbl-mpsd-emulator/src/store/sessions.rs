//! Session reads and writes: preconditions, the write of a session (create, update, delete) and its commit.

use std::sync::Arc;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, HandleKind};
use crate::limits::check_session_size;
use crate::model::{SessionKey, SessionRef};
use crate::session::Session;
use crate::session::timers;
use crate::session::view::SessionView;
use crate::session::write::{self, Applied, WriteContext};
use crate::templates::Template;

use super::{Committed, Slot, Store, Writer, lock};

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
    /// Who the session's history names as the writer (usually `Writer::Caller(ctx.caller)`).
    pub(crate) writer: Writer,
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
            Some(session) if !session.etag.with_text(|etag| etag_listed(if_match, etag)) => {
                return Err(failed(session));
            }
            Some(_) => {}
        }
    }
    if let (Some(if_none_match), Some(session)) = (&preconditions.if_none_match, current)
        && session
            .etag
            .with_text(|etag| etag_listed(if_none_match, etag))
    {
        return Err(failed(session));
    }
    Ok(())
}

impl Store {
    /// Changes the session at `key` with `change` (under its lock); when `change` returns true the result is
    /// committed: a new `changeNumber` and ETag, activity handles of members who became neither active nor
    /// ready are dropped, the listener is told, and the history names `writer`. Returns whether a change was
    /// committed.
    pub(crate) fn change_session(
        &self,
        key: &SessionKey,
        writer: Writer,
        change: impl FnOnce(&mut Session) -> bool,
    ) -> bool {
        let Some(slot) = self.existing_slot(key) else {
            return false;
        };
        let mut guard = lock(&slot);
        let Some(current) = guard.session.as_ref() else {
            return false;
        };
        let mut next = Session::clone(current);
        if !change(&mut next) {
            return false;
        }
        let now = self.now();
        timers::stamp(&mut next, Some(current), now);
        next.touch();
        let departed: Vec<u64> = current
            .members
            .values()
            .filter(|m| m.is_present() && next.member(m.xuid).is_some_and(|(_, a)| !a.is_present()))
            .map(|m| m.xuid)
            .collect();
        let creator = next.creator();
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
        let evicted = self.store_change(&mut guard, writer, now, Some(Arc::new(next)));
        drop(guard);
        drop(evicted);
        true
    }

    /// Runs `f` on the session at `reference` (or `None`) while holding its lock.
    pub(super) fn with_session<R>(
        &self,
        reference: &SessionRef,
        f: impl FnOnce(Option<&Session>) -> R,
    ) -> R {
        let key = reference.key();
        match self.existing_slot(&key) {
            Some(slot) => f(self.lock_settled(&key, &slot).session.as_deref()),
            None => f(None),
        }
    }

    /// Runs `f` on the session at `reference` (or `None`) while holding its lock, to change it in place
    /// (copied first if a snapshot of it is still being rendered).
    pub(super) fn with_session_mut<R>(
        &self,
        reference: &SessionRef,
        f: impl FnOnce(Option<&mut Session>) -> R,
    ) -> R {
        let key = reference.key();
        match self.existing_slot(&key) {
            Some(slot) => f(self
                .lock_settled(&key, &slot)
                .session
                .as_mut()
                .map(Arc::make_mut)),
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
        slots
            .iter()
            .filter_map(|slot| lock(slot).session.clone())
            .collect()
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
        match guard.session.as_ref() {
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
        check_preconditions(guard.session.as_ref(), &request)?;
        match write::apply(
            guard.session.as_deref(),
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
                let mut session = *session;
                if created {
                    session.set_creator(Some(caller));
                }
                let session = Arc::new(session);
                // A snapshot: the document is rendered from it after the lock is released.
                let mut view = session.view(request.contract_version, caller);
                if request.nocommit {
                    if let Some(current) = guard.session.as_ref() {
                        // Nothing was stored, so the current ETag is still the one to send back.
                        view.etag = current.etag.to_string();
                    }
                } else {
                    check_session_size(&session, &self.config)?;
                    if created {
                        lock(&self.owners).check_room(caller, &self.config)?;
                    }
                    let creator = session.creator();
                    self.commit_session(Some((&session, creator)), reference, &key, |h| {
                        h.kind == HandleKind::Activity && departed.contains(&h.creator)
                    })?;
                    if created {
                        lock(&self.owners).created(caller);
                    }
                    self.notify(Committed::Session {
                        before: guard.session.as_deref(),
                        after: &session,
                    });
                    let before = guard
                        .session
                        .as_ref()
                        .and_then(|current| current.next_timer);
                    self.schedule(&key, before, session.next_timer);
                    let evicted = self.store_change(
                        &mut guard,
                        request.writer,
                        request.ctx.now,
                        Some(session),
                    );
                    // The oldest state kept is released (if nothing else holds it) after the lock.
                    drop(guard);
                    drop(evicted);
                }
                Ok(WriteReply::Written {
                    created,
                    view: Box::new(view),
                })
            }
            Applied::Deleted { departed } => {
                if !request.nocommit
                    && let Some(current) = guard.session.as_ref()
                {
                    let before = current.next_timer;
                    let creator = current.creator();
                    self.commit_session(None, reference, &key, |h| match h.kind {
                        HandleKind::Activity => departed.contains(&h.creator),
                        HandleKind::Transfer | HandleKind::Search => true,
                        HandleKind::Invite => false,
                    })?;
                    let evicted =
                        self.store_change(&mut guard, request.writer, request.ctx.now, None);
                    lock(&self.owners).deleted(creator);
                    self.schedule(&key, before, None);
                    drop(guard);
                    drop(evicted);
                }
                Ok(WriteReply::Deleted)
            }
        }
    }

    /// Commits a session write — the new state of the session at `reference` (`None`: deleted), with its
    /// creator — together with the removal of every handle of that session (`key`) matching `doomed`, then
    /// removes those handles. The caller holds the session's lock and stores the session in memory once this
    /// returns `Ok`.
    pub(super) fn commit_session(
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
}
