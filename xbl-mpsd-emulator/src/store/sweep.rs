//! Timers: each session's next deadline, applying due timers on access and in the sweep task.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, MutexGuard};

use chrono::{DateTime, Utc};

use crate::error::ApiResult;
use crate::handles::HandleKind;
use crate::model::SessionKey;
use crate::session::timers;
use crate::session::write::lost_activity;

use super::{Committed, Slot, SlotState, Store, Writer, lock};

/// The sessions' next timers, earliest first: what the sweep applies without waiting for a request.
#[derive(Debug, Default)]
pub(super) struct Deadlines {
    queue: BTreeSet<(DateTime<Utc>, SessionKey)>,
    by_key: HashMap<SessionKey, DateTime<Utc>>,
}

impl Deadlines {
    /// Sets the deadline of `key` (`None`: none); true when it became the earliest.
    pub(super) fn set(&mut self, key: &SessionKey, at: Option<DateTime<Utc>>) -> bool {
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

/// The sweep task's wake-up; dropped with the store, it wakes the task a last time so that it sees the store
/// gone and ends.
#[derive(Debug, Default)]
pub(super) struct Wake(Arc<tokio::sync::Notify>);

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

impl Store {
    /// Records that the session at `key` has its next timer at `after` instead of `before`.
    pub(super) fn schedule(
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
    pub(super) fn settle(
        &self,
        key: &SessionKey,
        guard: &mut MutexGuard<'_, SlotState>,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        let Some(current) = guard.session.as_ref() else {
            return Ok(());
        };
        match timers::apply(current, now) {
            timers::Applied::Unchanged => Ok(()),
            timers::Applied::Changed(next) => {
                let mut next = *next;
                next.touch();
                let departed = lost_activity(current, &next);
                let creator = next.creator();
                let reference = next.reference.clone();
                self.commit_session(Some((&next, creator)), &reference, key, |h| {
                    h.kind == HandleKind::Activity && departed.contains(&h.creator)
                })?;
                self.notify(Committed::Session {
                    before: Some(current),
                    after: &next,
                });
                self.schedule(key, current.next_timer, next.next_timer);
                let evicted = self.store_change(guard, Writer::Timers, now, Some(Arc::new(next)));
                drop(evicted);
                Ok(())
            }
            timers::Applied::Deleted => {
                let reference = current.reference.clone();
                let departed = current.member_xuids();
                let before = current.next_timer;
                let creator = current.creator();
                self.commit_session(None, &reference, key, |h| match h.kind {
                    HandleKind::Activity => departed.contains(&h.creator),
                    HandleKind::Transfer | HandleKind::Search => true,
                    HandleKind::Invite => false,
                })?;
                let evicted = self.store_change(guard, Writer::Timers, now, None);
                drop(evicted);
                lock(&self.owners).deleted(creator);
                self.schedule(key, before, None);
                Ok(())
            }
        }
    }

    /// Locks the slot and applies the session's due timers; a failed commit of them is logged and leaves the
    /// session as it was (for the paths that only look at a session).
    pub(super) fn lock_settled<'a>(
        &self,
        key: &SessionKey,
        slot: &'a Slot,
    ) -> MutexGuard<'a, SlotState> {
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
                let pending = guard
                    .session
                    .as_ref()
                    .and_then(|session| session.next_timer);
                // The entry was taken off the queue: put back whatever is pending now.
                let next = match self.settle(&key, &mut guard, now) {
                    Ok(()) => guard
                        .session
                        .as_ref()
                        .and_then(|session| session.next_timer),
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
}
