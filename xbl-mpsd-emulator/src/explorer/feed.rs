//! The live feed: `GET /explorer/events`, server-sent events telling an open page that something changed, so
//! that its script re-fetches the page and swaps the live part in.
//!
//! Each open page holds one watcher of the store's change signal, which it arms when it is ready for news; a
//! commit bumps the signal only when armed, so with no page open (or every page busy with the last change) the
//! feed costs the write path one atomic load. Events are coalesced: at most one per
//! [`MIN_INTERVAL`], however many commits there were, so a busy emulator with a page open re-renders a page a
//! few times a second at most.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::watch;

use crate::connections::Stopping;
use crate::store::Store;

use super::Explorer;

/// The shortest time between two events of one page.
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// A feed's state: the change watcher, and the server's shutdown signal when it runs on the emulator's own
/// accept loop (embedded in another server, the feed ends only when the page goes).
struct Feed {
    store: Arc<Store>,
    watcher: watch::Receiver<u64>,
    stopping: Option<watch::Receiver<()>>,
}

/// `GET /explorer/events`: an `event: change` whenever the directory changed (coalesced), and keep-alive
/// comments; ends when the server shuts down.
pub(super) async fn events(
    State(state): State<Explorer>,
    stopping: Option<Extension<Stopping>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let feed = Feed {
        watcher: state.store.watch_changes(),
        store: Arc::clone(&state.store),
        stopping: stopping.map(|Extension(Stopping(stopping))| stopping),
    };
    let stream = futures::stream::unfold(feed, next_event);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Resolves when the server starts to shut down (never without a signal).
async fn stopped(stopping: &mut Option<watch::Receiver<()>>) {
    match stopping {
        // A change or a dropped sender: either way, shutdown has begun.
        Some(stopping) => {
            let _ = stopping.changed().await;
        }
        None => std::future::pending().await,
    }
}

/// Waits for the next change, then for the rest of the interval (gathering later changes into the same
/// event); ends when the store is gone or the server shuts down.
async fn next_event(mut feed: Feed) -> Option<(Result<Event, Infallible>, Feed)> {
    tokio::select! {
        changed = feed.watcher.changed() => changed.ok()?,
        () = stopped(&mut feed.stopping) => return None,
    }
    tokio::select! {
        () = tokio::time::sleep(MIN_INTERVAL) => {}
        () = stopped(&mut feed.stopping) => return None,
    }
    // Armed before the event goes: a commit from now on wakes this feed again, and one before is in what the
    // page fetches after the event.
    feed.store.arm_changes();
    let count = *feed.watcher.borrow_and_update();
    Some((
        Ok(Event::default().event("change").data(count.to_string())),
        feed,
    ))
}
