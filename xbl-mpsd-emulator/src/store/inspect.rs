//! Read-only looks into the store for tooling (the explorer), and the explorer's development actions.
//!
//! The reads never settle timers, so looking changes nothing: they show the stored state (a timer that is due
//! but not applied yet shows as due).

use std::sync::Arc;

use tokio::sync::watch;

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, HandleKind};
use crate::model::{SessionKey, SessionRef};
use crate::session::Session;
use crate::session::write::WriteContext;

use super::{ChangeRecord, Preconditions, Store, WriteRequest, Writer, lock};

/// A session as [`Store::inspect`] finds it.
#[derive(Debug)]
pub(crate) struct Inspected {
    /// The session as stored.
    pub(crate) session: Arc<Session>,
    /// Its recent changes, newest first (its creation is not one).
    pub(crate) history: Vec<ChangeRecord>,
    /// Who created it, when known.
    pub(crate) creator: Option<u64>,
}

impl Store {
    /// Every existing session, as stored (timers not settled).
    pub(crate) fn all_sessions(&self) -> Vec<Arc<Session>> {
        self.sessions_where(|_| true)
    }

    /// The session at `key` as stored (timers not settled), its recent changes (newest first; its creation is not
    /// one) and its creator; `None` when it does not exist.
    pub(crate) fn inspect(&self, key: &SessionKey) -> Option<Inspected> {
        let slot = self.existing_slot(key)?;
        let state = lock(&slot);
        let session = state.session.clone()?;
        let history = state
            .history
            .as_ref()
            .map_or_else(Vec::new, |history| history.newest_first());
        drop(state);
        let creator = session.creator();
        Some(Inspected {
            session,
            history,
            creator,
        })
    }

    /// Every handle.
    pub(crate) fn all_handles(&self) -> Vec<Arc<Handle>> {
        lock(&self.handles).all().cloned().collect()
    }

    /// A watcher of the change signal, armed: its value changes after the next commit.
    pub(crate) fn watch_changes(&self) -> watch::Receiver<u64> {
        self.signal.watch()
    }

    /// Arms the change signal again: the next commit changes the watchers' value.
    pub(crate) fn arm_changes(&self) {
        self.signal.arm();
    }

    /// Deletes the session at `key` whatever it holds (a development action): as if its last member left —
    /// its activity, search and transfer handles go with it. Returns whether a session was deleted.
    pub(crate) fn delete_session(&self, key: &SessionKey) -> bool {
        let Some(slot) = self.existing_slot(key) else {
            return false;
        };
        let mut guard = lock(&slot);
        let Some(current) = guard.session.as_ref() else {
            return false;
        };
        let reference = current.reference.clone();
        let departed = current.member_xuids();
        let before = current.next_timer;
        let creator = current.creator();
        let committed = self.commit_session(None, &reference, key, |h| match h.kind {
            HandleKind::Activity => departed.contains(&h.creator),
            HandleKind::Transfer | HandleKind::Search => true,
            HandleKind::Invite => false,
        });
        if let Err(error) = committed {
            tracing::warn!(?error, "the session could not be deleted");
            return false;
        }
        let evicted = self.store_change(&mut guard, Writer::Explorer, self.now(), None);
        lock(&self.owners).deleted(creator);
        self.schedule(key, before, None);
        drop(guard);
        drop(evicted);
        drop(slot);
        self.prune(key);
        true
    }

    /// Makes `xuid` leave the session at `reference` (a development action), as its own write of
    /// `{"members": {"me": null}}` would, with `writer` in the history. `Ok(false)` when there is no such
    /// session or member.
    pub(crate) fn leave(
        &self,
        reference: &SessionRef,
        xuid: u64,
        writer: Writer,
    ) -> ApiResult<bool> {
        let Some(Inspected { session, .. }) = self.inspect(&reference.key()) else {
            return Ok(false);
        };
        if !session.has_member(xuid) {
            return Ok(false);
        }
        let reference = session.reference.clone();
        let template = self
            .templates()
            .template_for(reference.scid(), reference.template_name())?;
        let Value::Object(body) = json!({ "members": { "me": null } }) else {
            return Err(ApiError::bad_request("the leave body is not an object"));
        };
        let body: Map<String, Value> = body;
        let request = WriteRequest {
            body: &body,
            nocommit: false,
            preconditions: Preconditions::default(),
            by_handle: false,
            contract_version: 107,
            ctx: WriteContext {
                caller: xuid,
                now: self.now(),
                title_id: self.config.title_id,
                granted: true,
            },
            template,
            writer,
        };
        self.write(&reference, request).map(|_| true)
    }
}
