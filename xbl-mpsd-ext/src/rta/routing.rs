//! Routing the shoulder taps of a `connections/` event to the watches of their session.
//!
//! The watches of one session on one connection share one queue ([`Routes`]): a tap is parsed once per
//! event, pushed once into its session's queue (an `Arc` in a ring of [`QUEUED_TAPS`]), and only the watches
//! that were waiting for it are woken (a watch that has not read up to it yet finds it when next polled); each
//! watch reads the queue from its own position and builds its [`SessionTap`] (reference counts, no copies)
//! only when it yields one. Before, every watch had its own unbounded channel, so a tap cost a send, a wake and
//! a receive per watch; with 100 watches of a session on one connection that was most of the time between a
//! write and its last tap (BENCHMARKS.md, P9).
//!
//! Memory is bounded: a session's queue keeps the latest [`QUEUED_TAPS`] taps however slowly its watches read,
//! and a watch that falls further behind (or is never polled) skips to the oldest tap still queued — taps
//! coalesce, and the newest is never lost. Other events (resyncs, reconnects, the end) are rare and queued per
//! watch, each after the taps routed before it; a later one replaces an unread one of its kind, so a watch keeps
//! at most one of each.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;
use serde_json::Value;

use super::types::{SessionTap, WatchEvent};
use crate::changes::ChangeTypes;
use crate::ids::Scid;
use crate::session_ref::{SessionName, SessionReference, SessionTemplateName};

/// How many taps a session's queue keeps for its slowest watch.
pub(super) const QUEUED_TAPS: usize = 64;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a watch reads from its route.
pub(super) enum Routed {
    /// A tap of the watched session, shared by every watch of it.
    Tap(Arc<RoutedTap>),
    /// Anything else.
    Event(WatchEvent),
}

/// A shoulder tap as it arrived, before it is a [`SessionTap`] of one watch.
#[derive(Clone, Debug)]
pub(super) struct RoutedTap {
    /// The session's `branch`.
    pub(super) branch: Arc<str>,
    /// The session's `changeNumber` after the change.
    pub(super) change_number: u64,
    /// The tap's `subscription`, when sent.
    pub(super) subscription: Option<Arc<str>>,
    /// The tap's `timestamp`, when sent.
    pub(super) timestamp: Option<Arc<str>>,
}

impl RoutedTap {
    /// The [`SessionTap`] of a watch of `session` for `changes` (reference counts, no copies).
    pub(super) fn to_tap(
        &self,
        session: &Arc<SessionReference>,
        changes: ChangeTypes,
    ) -> SessionTap {
        SessionTap {
            session: Arc::clone(session),
            branch: Arc::clone(&self.branch),
            change_number: self.change_number,
            change_types: changes,
            subscription: self.subscription.clone(),
            timestamp: self.timestamp.clone(),
        }
    }
}

/// The taps of one session on one connection, shared by its watches: the latest [`QUEUED_TAPS`], numbered
/// in order of arrival, and the watches waiting for the next one.
#[derive(Default)]
struct TapQueue {
    /// The number of the next tap pushed (so every tap below it was pushed); read without the lock.
    next: AtomicU64,
    ring: Mutex<Ring>,
    /// The watches that found nothing to read when last polled (each at most once: [`Watcher::waiting`]). A
    /// tap wakes only these: a watch that has not caught up yet will find the tap when it is polled.
    waiting: Mutex<Vec<Arc<Watcher>>>,
}

#[derive(Default)]
struct Ring {
    /// The number of `taps[0]`.
    first: u64,
    taps: VecDeque<Arc<RoutedTap>>,
    /// The branch of the last tap pushed: a tap on the same branch shares it, so that a watch recognises the
    /// branch by pointer (a session's branch changes rarely).
    branch: Option<Arc<str>>,
}

impl TapQueue {
    /// The number the next tap will get.
    fn end(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Pushes a tap, dropping the oldest beyond [`QUEUED_TAPS`].
    fn push(&self, mut tap: RoutedTap) {
        let mut ring = lock(&self.ring);
        match &ring.branch {
            Some(branch) if **branch == *tap.branch => tap.branch = Arc::clone(branch),
            _ => ring.branch = Some(Arc::clone(&tap.branch)),
        }
        let tap = Arc::new(tap);
        if ring.taps.len() == QUEUED_TAPS {
            ring.taps.pop_front();
            ring.first += 1;
        }
        ring.taps.push_back(tap);
        self.next
            .store(ring.first + ring.taps.len() as u64, Ordering::Release);
    }

    /// Wakes the watches waiting for a tap (outside the lock).
    fn wake_waiting(&self) {
        let waiting: Vec<Arc<Watcher>> = lock(&self.waiting).drain(..).collect();
        for watcher in waiting {
            // Cleared before the wake, so that a poll after it queues the watch again.
            watcher.waiting.store(false, Ordering::Release);
            watcher.waker.wake();
        }
    }

    /// The tap numbered `*at` or, when that one was dropped, the oldest one kept; advances `*at` past it.
    fn read(&self, at: &mut u64) -> Option<Arc<RoutedTap>> {
        let ring = lock(&self.ring);
        let from = (*at).max(ring.first);
        let tap = ring
            .taps
            .get(usize::try_from(from - ring.first).ok()?)?
            .clone();
        *at = from + 1;
        Some(tap)
    }
}

/// One watch as the dispatcher sees it: its waker and its queued events other than taps.
#[derive(Default)]
struct Watcher {
    waker: AtomicWaker,
    /// Set while the watch is in its queue's waiting list.
    waiting: AtomicBool,
    /// Set while `events` is not empty (checked without the lock).
    queued: AtomicBool,
    /// Each event with the number of the first tap routed after it.
    events: Mutex<VecDeque<(u64, WatchEvent)>>,
}

impl Watcher {
    /// Queues `event` after every tap numbered below `after`, and wakes the watch. An unread event of the same
    /// kind is superseded (a later resync or reconnect says all an earlier one did), so a watch that is never
    /// read holds at most one of each kind, however often its connection drops.
    fn send(&self, after: u64, event: WatchEvent) {
        {
            let mut events = lock(&self.events);
            let kind = std::mem::discriminant(&event);
            events.retain(|(_, queued)| std::mem::discriminant(queued) != kind);
            events.push_back((after, event));
            self.queued.store(true, Ordering::Release);
        }
        self.waker.wake();
    }
}

/// The watches of one session on one connection.
struct Group {
    /// The session (as its first watch named it; taps and other watches match it ignoring case).
    reference: SessionReference,
    queue: Arc<TapQueue>,
    watchers: Vec<(u64, Arc<Watcher>)>,
}

impl Group {
    /// Sends `event` to every watch of the session.
    fn broadcast(&self, event: &WatchEvent) {
        let after = self.queue.end();
        for (_, watcher) in &self.watchers {
            watcher.send(after, event.clone());
        }
    }
}

/// Every watch of one connection, grouped by session.
#[derive(Default)]
pub(super) struct Routes {
    groups: Vec<Group>,
}

impl Routes {
    /// The number of watches.
    pub(super) fn len(&self) -> usize {
        self.groups.iter().map(|group| group.watchers.len()).sum()
    }

    /// Adds watch `id` of `reference`: it receives the taps routed from now on.
    pub(super) fn add(&mut self, id: u64, reference: &SessionReference) -> WatchRoute {
        let index = match self
            .groups
            .iter()
            .position(|group| group.reference.matches_ignore_case(reference))
        {
            Some(index) => index,
            None => {
                self.groups.push(Group {
                    reference: reference.clone(),
                    queue: Arc::default(),
                    watchers: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let watcher = Arc::<Watcher>::default();
        let group = &mut self.groups[index];
        group.watchers.push((id, Arc::clone(&watcher)));
        WatchRoute {
            id,
            at: group.queue.end(),
            queue: Arc::clone(&group.queue),
            watcher,
        }
    }

    /// Removes a watch (its session's queue goes with its last watch).
    pub(super) fn remove(&mut self, route: &WatchRoute) {
        let Some(index) = self
            .groups
            .iter()
            .position(|group| Arc::ptr_eq(&group.queue, &route.queue))
        else {
            return;
        };
        let group = &mut self.groups[index];
        group.watchers.retain(|(id, _)| *id != route.id);
        if group.watchers.is_empty() {
            self.groups.swap_remove(index);
        }
    }

    /// Pushes each shoulder tap of an event into its session's queue and wakes the session's waiting watches.
    pub(super) fn route_taps(&self, data: &Value) {
        let Some(taps) = data.get("shoulderTaps").and_then(Value::as_array) else {
            tracing::debug!("RTA: connections/ event without shoulderTaps");
            return;
        };
        for tap in taps {
            let Some((reference, routed)) = parse_tap(tap) else {
                tracing::debug!("RTA: skipping a malformed shoulder tap");
                continue;
            };
            for group in self
                .groups
                .iter()
                .filter(|group| group.reference.matches_ignore_case(&reference))
            {
                group.queue.push(routed.clone());
                group.queue.wake_waiting();
            }
        }
    }

    /// Sends `event` to every watch.
    pub(super) fn broadcast(&self, event: &WatchEvent) {
        for group in &self.groups {
            group.broadcast(event);
        }
    }

    /// Each watched session with its watches at this moment, to send them an event later.
    pub(super) fn sessions(&self) -> Vec<(SessionReference, Recipients)> {
        self.groups
            .iter()
            .map(|group| {
                let watchers = group.watchers.iter().map(|(_, w)| Arc::clone(w)).collect();
                (
                    group.reference.clone(),
                    Recipients {
                        queue: Arc::clone(&group.queue),
                        watchers,
                    },
                )
            })
            .collect()
    }
}

/// The watches of one session as [`Routes::sessions`] found them.
pub(super) struct Recipients {
    queue: Arc<TapQueue>,
    watchers: Vec<Arc<Watcher>>,
}

impl Recipients {
    /// Sends `event` to each of these watches.
    pub(super) fn send(&self, event: &WatchEvent) {
        let after = self.queue.end();
        for watcher in &self.watchers {
            watcher.send(after, event.clone());
        }
    }
}

/// A watch's end of its route: its position in its session's tap queue and its own events.
pub(super) struct WatchRoute {
    id: u64,
    queue: Arc<TapQueue>,
    watcher: Arc<Watcher>,
    /// The number of the next tap to read.
    at: u64,
}

impl WatchRoute {
    /// What is ready, without waiting: an event queued before the next unread tap, else that tap.
    pub(super) fn try_next(&mut self) -> Option<Routed> {
        if self.watcher.queued.load(Ordering::Acquire) {
            let mut events = lock(&self.watcher.events);
            if let Some((after, _)) = events.front()
                && *after <= self.at
                && let Some((_, event)) = events.pop_front()
            {
                if events.is_empty() {
                    self.watcher.queued.store(false, Ordering::Release);
                }
                return Some(Routed::Event(event));
            }
        }
        if self.queue.end() > self.at {
            return self.queue.read(&mut self.at).map(Routed::Tap);
        }
        None
    }

    /// The next tap or event, waking the task when one arrives.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Routed> {
        if let Some(routed) = self.try_next() {
            return Poll::Ready(routed);
        }
        self.watcher.waker.register(cx.waker());
        if !self.watcher.waiting.swap(true, Ordering::AcqRel) {
            lock(&self.queue.waiting).push(Arc::clone(&self.watcher));
        }
        // Again: a tap pushed before the watch was in the waiting list woke nobody.
        match self.try_next() {
            Some(routed) => Poll::Ready(routed),
            None => Poll::Pending,
        }
    }
}

/// `resource` (exactly three `~`-separated parts), `branch`, `changeNumber`, `subscription` and `timestamp` of
/// a tap.
fn parse_tap(tap: &Value) -> Option<(SessionReference, RoutedTap)> {
    let resource = tap.get("resource")?.as_str()?;
    let mut parts = resource.split('~');
    let (scid, template, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let reference = SessionReference::new(
        Scid::new(scid).ok()?,
        SessionTemplateName::new(template).ok()?,
        SessionName::new(name).ok()?,
    );
    let text = |key: &str| tap.get(key).and_then(Value::as_str).map(Arc::from);
    let routed = RoutedTap {
        branch: Arc::from(tap.get("branch")?.as_str()?),
        change_number: tap.get("changeNumber")?.as_u64()?,
        subscription: text("subscription"),
        timestamp: text("timestamp"),
    };
    Some((reference, routed))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures::task::{ArcWake, waker};
    use serde_json::json;

    use super::*;
    use crate::ConnectionId;

    fn reference(name: &str) -> SessionReference {
        format!("/serviceconfigs/scid/sessionTemplates/Lobby/sessions/{name}")
            .parse()
            .unwrap()
    }

    fn tap(name: &str, number: u64) -> Value {
        json!({"shoulderTaps": [{"resource": format!("SCID~lobby~{name}"), "branch": "b",
            "changeNumber": number}]})
    }

    /// A tap's change number or another event.
    #[derive(Debug, PartialEq)]
    enum Got {
        Tap(u64),
        Event(WatchEvent),
    }
    use Got::{Event, Tap};

    /// What is ready for a watch.
    fn drain(route: &mut WatchRoute) -> Vec<Got> {
        std::iter::from_fn(|| route.try_next())
            .map(|routed| match routed {
                Routed::Tap(tap) => Tap(tap.change_number),
                Routed::Event(event) => Event(event),
            })
            .collect()
    }

    #[test]
    fn taps_parse_three_part_resources_only() {
        let tap = json!({"resource": "scid~Lobby~Name", "branch": "b", "changeNumber": 3,
            "subscription": "S", "timestamp": "T"});
        let (reference, routed) = parse_tap(&tap).unwrap();
        assert_eq!(reference.template_name.as_str(), "Lobby");
        assert_eq!((&*routed.branch, routed.change_number), ("b", 3));
        let built = routed.to_tap(&Arc::new(reference.clone()), ChangeTypes::EVERYTHING);
        assert_eq!(built.subscription.as_deref(), Some("S"));
        assert_eq!(built.timestamp.as_deref(), Some("T"));
        assert_eq!(*built.session, reference);
        for bad in [
            json!({"resource": "a~b", "branch": "b", "changeNumber": 1}),
            json!({"resource": "a~b~c~d", "branch": "b", "changeNumber": 1}),
            json!({"resource": "a~~c", "branch": "b", "changeNumber": 1}),
            json!({"resource": "a~b~c", "changeNumber": 1}),
            json!({"resource": "a~b~c", "branch": "b", "changeNumber": -1}),
            json!({"resource": 5, "branch": "b", "changeNumber": 1}),
        ] {
            assert!(parse_tap(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_tap_reaches_every_watch_of_its_session_once_and_no_other() {
        let mut routes = Routes::default();
        let mut watched: Vec<WatchRoute> = (1..=3)
            .map(|id| routes.add(id, &reference("Name")))
            .collect();
        // Another spelling of the same session shares its queue.
        watched.push(routes.add(4, &reference("NAME")));
        let mut other = routes.add(5, &reference("Else"));
        assert_eq!((routes.len(), routes.groups.len()), (5, 2));
        routes.route_taps(&tap("name", 7));
        for route in &mut watched {
            assert_eq!(drain(route), [Tap(7)]);
        }
        assert!(drain(&mut other).is_empty());
        // A watch added later reads only the taps after it.
        let mut late = routes.add(6, &reference("Name"));
        assert!(drain(&mut late).is_empty());
        routes.route_taps(&tap("Name", 8));
        assert_eq!(drain(&mut late), [Tap(8)]);
    }

    #[test]
    fn an_unread_watch_keeps_one_event_of_each_kind() {
        let mut routes = Routes::default();
        let mut idle = routes.add(1, &reference("Name"));
        for n in 0..1_000 {
            routes.broadcast(&WatchEvent::Resync);
            routes.broadcast(&WatchEvent::Reconnected {
                connection_id: ConnectionId::new(format!("c{n}")).unwrap(),
            });
        }
        routes.route_taps(&tap("Name", 1));
        routes.broadcast(&WatchEvent::Resync);
        assert_eq!(lock(&routes.groups[0].watchers[0].1.events).len(), 2);
        // The latest of each kind, in the order of the last ones, after the taps routed before them.
        assert_eq!(
            drain(&mut idle),
            [
                Event(WatchEvent::Reconnected {
                    connection_id: ConnectionId::new("c999").unwrap()
                }),
                Tap(1),
                Event(WatchEvent::Resync),
            ]
        );
    }

    #[test]
    fn taps_of_one_branch_share_its_text() {
        let mut routes = Routes::default();
        let mut route = routes.add(1, &reference("Name"));
        let mut branch_of = |data: Value| {
            routes.route_taps(&data);
            match route.try_next() {
                Some(Routed::Tap(tap)) => Arc::clone(&tap.branch),
                _ => panic!("no tap routed"),
            }
        };
        let on = |branch: &str, number: u64| json!({"shoulderTaps": [{"resource": "SCID~lobby~Name", "branch": branch, "changeNumber": number}]});
        let first = branch_of(on("b1", 1));
        let same = branch_of(on("b1", 2));
        assert!(
            Arc::ptr_eq(&first, &same),
            "a watch recognises the branch by pointer"
        );
        let other = branch_of(on("b2", 1));
        assert_eq!(&*other, "b2");
        assert!(!Arc::ptr_eq(&first, &other));
    }

    #[test]
    fn taps_queue_in_order_and_coalesce_for_a_slow_watch() {
        let mut routes = Routes::default();
        let mut fast = routes.add(1, &reference("Name"));
        let mut idle = routes.add(2, &reference("Name"));
        let total = QUEUED_TAPS as u64 + 10;
        let mut read = Vec::new();
        for number in 1..=total {
            routes.route_taps(&tap("Name", number));
            if number % 3 == 0 {
                read.extend(drain(&mut fast));
            }
        }
        read.extend(drain(&mut fast));
        assert_eq!(read, (1..=total).map(Tap).collect::<Vec<_>>());
        // A watch never polled holds nothing of its own; the shared queue keeps the latest taps only.
        assert_eq!(lock(&routes.groups[0].queue.ring).taps.len(), QUEUED_TAPS);
        assert_eq!(
            drain(&mut idle),
            (11..=total).map(Tap).collect::<Vec<_>>(),
            "the oldest taps are skipped, the newest kept"
        );
    }

    #[test]
    fn other_events_reach_every_watch_after_the_taps_before_them() {
        let mut routes = Routes::default();
        let mut watch = routes.add(1, &reference("Name"));
        let mut other = routes.add(2, &reference("Else"));
        routes.route_taps(&tap("Name", 1));
        routes.broadcast(&WatchEvent::Resync);
        routes.route_taps(&tap("Name", 2));
        let sessions = routes.sessions();
        routes.route_taps(&tap("Name", 3));
        let failed = WatchEvent::RewriteFailed {
            message: "gone".to_owned(),
        };
        for (_, recipients) in &sessions {
            recipients.send(&failed);
        }
        routes.broadcast(&WatchEvent::Ended);
        assert_eq!(
            drain(&mut watch),
            [
                Tap(1),
                Event(WatchEvent::Resync),
                Tap(2),
                Tap(3),
                Event(failed.clone()),
                Event(WatchEvent::Ended)
            ]
        );
        assert_eq!(
            drain(&mut other),
            [
                Event(WatchEvent::Resync),
                Event(failed),
                Event(WatchEvent::Ended)
            ]
        );
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiting_watch_is_woken_once_per_tap_or_event() {
        let mut routes = Routes::default();
        let mut watch = routes.add(1, &reference("Name"));
        let wakes = Arc::new(Wakes::default());
        let waker = waker(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        assert!(watch.poll_next(&mut cx).is_pending());
        // Polled again while waiting: still one entry in the waiting list.
        assert!(watch.poll_next(&mut cx).is_pending());
        assert_eq!(lock(&routes.groups[0].queue.waiting).len(), 1);
        routes.route_taps(&tap("Else", 1));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        routes.route_taps(&tap("Name", 1));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            watch.poll_next(&mut cx),
            Poll::Ready(Routed::Tap(_))
        ));
        assert!(watch.poll_next(&mut cx).is_pending());
        routes.broadcast(&WatchEvent::Resync);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert!(matches!(
            watch.poll_next(&mut cx),
            Poll::Ready(Routed::Event(WatchEvent::Resync))
        ));
        // A watch that is not waiting (it has a tap to read) is not woken by the next one.
        routes.route_taps(&tap("Name", 2));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        routes.route_taps(&tap("Name", 3));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert!(
            matches!(watch.poll_next(&mut cx), Poll::Ready(Routed::Tap(tap)) if tap.change_number == 2)
        );
        // The last watch of a session takes its queue with it.
        routes.remove(&watch);
        assert_eq!((routes.len(), routes.groups.len()), (0, 0));
    }
}
