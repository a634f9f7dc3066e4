//! Handles: the handle indexes, creating, reading, deleting and querying handles, and the rights they grant.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::config::EmulatorConfig;
use crate::error::{ApiError, ApiResult};
use crate::handles::{
    Handle, HandleKind, HandleQuery, HandleRequest, Include, MAX_QUERY_RESULTS, query_result,
};
use crate::model::{SessionKey, SessionRef};
use crate::session::Session;

use super::{Committed, Store, lock};

/// The handles, by ID, with indexes by (target) session and by creator, so that a session write, an invite
/// check or an activity query looks only at the handles concerned, not at every handle. Each handle is behind
/// an `Arc`, so a request that addresses a session through a handle takes it without copying its document.
#[derive(Debug, Default)]
pub(super) struct Handles {
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

    pub(super) fn contains(&self, id: &Uuid) -> bool {
        self.by_id.contains_key(id)
    }

    pub(super) fn insert(&mut self, handle: Handle) {
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

    pub(super) fn remove(&mut self, id: &Uuid) -> Option<Arc<Handle>> {
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
    pub(super) fn of_session<'a>(
        &'a self,
        key: &SessionKey,
    ) -> impl Iterator<Item = &'a Handle> + 'a {
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
    pub(super) fn all(&self) -> impl Iterator<Item = &Arc<Handle>> + '_ {
        self.by_id.values()
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
            ..
        } => {
            handle.kind == HandleKind::Search
                && !social
                && handle.session.key().in_template(scid, template_name)
        }
    }
}

impl Store {
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
        let Some(stored) = guard.as_mut().and_then(|guard| guard.session.as_mut()) else {
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
            if session.search_handle().is_some() {
                return Err(ApiError::conflict(
                    "The session already has a search handle; delete it before creating another",
                ));
            }
        }
        let protocol = session.invite_protocol();
        let scid = request.session.scid().to_owned();
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
            session.search_handle(),
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
                let creator = session.creator();
                batch.put_session(session, creator)?;
            }
            for old in &replaced {
                batch.delete_handle(*old);
            }
            batch.put_handle(&handle)
        });
        if let Err(error) = committed {
            let (search_handle, change_number, etag) = before;
            session.put_search_handle(search_handle);
            (session.change_number, session.etag) = (change_number, etag);
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
        drop((counts, handles));
        self.signal_change();
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
                let Some(session) = session.filter(|session| session.search_handle() == Some(id))
                else {
                    return Ok(());
                };
                let before = session.clone();
                session.set_search_handle(None);
                // Should this commit fail, the handle is gone anyway; a restart clears the dangling
                // `searchHandle` (see `Store::open`).
                let creator = session.creator();
                self.commit(|batch| batch.put_session(session, creator))?;
                self.notify(Committed::Session {
                    before: Some(&before),
                    after: session,
                });
                Ok(())
            })?;
        }
        self.signal_change();
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
        if let HandleQuery::Search {
            members: Some(members),
            ..
        } = query
        {
            found.retain(|handle| {
                self.with_session(&handle.session, |session| {
                    session.is_some_and(|session| {
                        members.iter().any(|xuid| session.is_accepted_member(*xuid))
                    })
                })
            });
        }
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

#[cfg(test)]
mod tests {
    use serde_json::Map;

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
