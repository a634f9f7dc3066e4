//! The live feed: `GET /explorer/events`, server-sent events telling an open page that something changed, so
//! that its script re-fetches the page and swaps the live part in.
//!
//! Each open page holds one watcher of the store's change signal; commits bump it only while a watcher exists,
//! so with no page open the feed costs the write path one atomic load. Events are coalesced: at most one per
//! [`MIN_INTERVAL`], however many commits there were, so a busy emulator with a page open re-renders a page a
//! few times a second at most.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::watch;

use super::Explorer;

/// The shortest time between two events of one page.
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// `GET /explorer/events`: an `event: change` whenever the directory changed (coalesced), and keep-alive
/// comments.
pub(super) async fn events(
    State(state): State<Explorer>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let watcher = state.store.watch_changes();
    let stream = futures::stream::unfold(watcher, next_event);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Waits for the next change, then for the rest of the interval (gathering later changes into the same
/// event); ends when the store is gone.
async fn next_event(
    mut watcher: watch::Receiver<u64>,
) -> Option<(Result<Event, Infallible>, watch::Receiver<u64>)> {
    watcher.changed().await.ok()?;
    tokio::time::sleep(MIN_INTERVAL).await;
    let count = *watcher.borrow_and_update();
    Some((
        Ok(Event::default().event("change").data(count.to_string())),
        watcher,
    ))
}
