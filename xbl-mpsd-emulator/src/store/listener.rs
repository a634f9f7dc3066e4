//! The commit listener: what was committed, told to the listener (RTA) after every commit.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::handles::Handle;
use crate::session::Session;

use super::Store;

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
pub(super) struct ListenerSlot(OnceLock<Listener>);

impl fmt::Debug for ListenerSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "ListenerSlot(set)"
        } else {
            "ListenerSlot(unset)"
        })
    }
}

impl Store {
    /// Sets the listener told of every commit (once; later calls are ignored).
    pub(crate) fn set_listener(&self, listener: Listener) {
        let _ = self.listener.0.set(listener);
    }

    /// Tells the listener, if any.
    pub(super) fn notify(&self, event: Committed<'_>) {
        if let Some(listener) = self.listener.0.get() {
            listener(event);
        }
    }
}
