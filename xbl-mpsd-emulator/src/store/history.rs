//! Each session's recent changes, and the change signal the explorer's live feed waits on.
//!
//! Recording is cheap by design: a change keeps the two `Arc`'d snapshots the commit already has (the
//! session before and after), in a short ring kept in the session's slot and updated under the lock the
//! commit already holds. Nothing is serialized or compared on the write path; what changed is computed from the
//! snapshots when someone asks (the explorer renders a JSON diff). The change signal costs one atomic load per
//! commit while nobody watches.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::session::Session;

/// How many changes each session keeps.
pub(crate) const HISTORY_LEN: usize = 20;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// A session write by this XUID (a `PUT`, directly or through a handle).
    Caller(u64),
    /// The session's timers (member removal, initialization, the empty-session timeout).
    Timers,
    /// The loss of an RTA connection (members made inactive).
    RtaDisconnect,
    /// A development action of the explorer.
    Explorer,
}

impl fmt::Display for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Caller(xuid) => write!(f, "XUID {xuid}"),
            Self::Timers => f.write_str("timers"),
            Self::RtaDisconnect => f.write_str("RTA disconnect"),
            Self::Explorer => f.write_str("explorer action"),
        }
    }
}

/// One committed change of a session: when, by whom, and the session before and after it (`None`: it did
/// not exist / was deleted).
#[derive(Debug, Clone)]
pub(crate) struct ChangeRecord {
    /// When the change was committed, by the emulator's clock.
    pub(crate) at: DateTime<Utc>,
    /// Who made it.
    pub(crate) writer: Writer,
    /// The session before.
    pub(crate) before: Option<Arc<Session>>,
    /// The session after.
    pub(crate) after: Option<Arc<Session>>,
}

/// A session's last [`HISTORY_LEN`] changes, oldest first.
#[derive(Debug, Default)]
pub(crate) struct History(VecDeque<ChangeRecord>);

impl History {
    /// Appends `record`; returns the record that fell off the end, for the caller to drop after it released
    /// the session's lock.
    pub(crate) fn record(&mut self, record: ChangeRecord) -> Option<ChangeRecord> {
        let len = self.0.len();
        let evicted = if len >= HISTORY_LEN {
            self.0.pop_front()
        } else {
            if len == self.0.capacity() {
                // Grown by hand: one record for a session written once (most), never more than the ring.
                self.0.reserve_exact(len.max(1).min(HISTORY_LEN - len));
            }
            None
        };
        self.0.push_back(record);
        evicted
    }

    /// The changes, newest first.
    pub(crate) fn newest_first(&self) -> Vec<ChangeRecord> {
        self.0.iter().rev().cloned().collect()
    }
}

/// A counter bumped after a commit (sessions and handles) when a watcher asked for it: what the explorer's live
/// feed waits on. A watcher *arms* the signal when it is ready for news; the first commit after that disarms it
/// and bumps the counter (every watcher sees that bump), later commits cost one atomic load until a watcher arms
/// it again. So while nobody watches, or while every watcher is still busy with the last news, a commit costs
/// one atomic load, and a busy directory wakes a watcher once per arming, not once per commit.
///
/// A watcher misses nothing: it arms before it reports, so a commit after the arming bumps the counter, and one
/// before it is in what the watcher's client reads after the report.
#[derive(Debug)]
pub(crate) struct ChangeSignal {
    tx: watch::Sender<u64>,
    armed: AtomicBool,
}

impl Default for ChangeSignal {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(0),
            armed: AtomicBool::new(false),
        }
    }
}

impl ChangeSignal {
    /// Tells the watchers, if one armed the signal, that something changed.
    pub(crate) fn bump(&self) {
        if self.armed.load(Ordering::Relaxed) && self.armed.swap(false, Ordering::AcqRel) {
            self.tx.send_modify(|count| *count = count.wrapping_add(1));
        }
    }

    /// Asks for the next change to be told.
    pub(crate) fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }

    /// A new watcher, the signal armed; it sees every later bump (coalesced: a slow watcher sees the latest
    /// count).
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        let watcher = self.tx.subscribe();
        self.arm();
        watcher
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(writer: Writer) -> ChangeRecord {
        ChangeRecord {
            at: DateTime::<Utc>::UNIX_EPOCH,
            writer,
            before: None,
            after: None,
        }
    }

    #[test]
    fn keeps_the_last_changes_newest_first() {
        let mut history = History::default();
        for xuid in 1..=(HISTORY_LEN as u64 + 3) {
            let evicted = history.record(record(Writer::Caller(xuid)));
            assert_eq!(evicted.is_some(), xuid > HISTORY_LEN as u64);
        }
        let writers: Vec<Writer> = history.newest_first().iter().map(|r| r.writer).collect();
        assert_eq!(writers.len(), HISTORY_LEN);
        assert_eq!(writers[0], Writer::Caller(HISTORY_LEN as u64 + 3));
        assert_eq!(writers[HISTORY_LEN - 1], Writer::Caller(4));
    }

    #[test]
    fn the_signal_counts_once_per_arming_and_only_while_watched() {
        let signal = ChangeSignal::default();
        signal.bump();
        let watcher = signal.watch();
        assert_eq!(*watcher.borrow(), 0);
        signal.bump();
        signal.bump();
        assert_eq!(*watcher.borrow(), 1);
        signal.arm();
        signal.bump();
        assert_eq!(*watcher.borrow(), 2);
    }
}
