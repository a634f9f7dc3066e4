//! Routing the shoulder taps of a `connections/` event to the watches of their session.
//!
//! A tap is parsed once per event and shared (`Arc`) by every watch of its session: the dispatcher sends each
//! matching watch a pointer, and a watch builds its [`SessionTap`] only when it yields one. Before, the
//! dispatcher built a whole `SessionTap` (six strings) per watch and moved it through the watch's channel, and
//! the watch allocated again to check whether the tap was new; with 100 watches of a session on one connection
//! that was most of the time between a write and its last tap (BENCHMARKS.md, P9).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::types::{SessionTap, WatchEvent};
use crate::changes::ChangeTypes;
use crate::ids::Scid;
use crate::session_ref::{SessionName, SessionReference, SessionTemplateName};

/// One watched session, as the dispatcher sees it.
pub(super) struct Entry {
    /// The watched session.
    pub(super) reference: SessionReference,
    /// The watch's channel.
    pub(super) tx: mpsc::UnboundedSender<Routed>,
}

/// What the dispatcher sends a watch.
pub(super) enum Routed {
    /// A tap of the watched session, shared by every watch of it.
    Tap(Arc<RoutedTap>),
    /// Anything else (rare; boxed, so that a channel's slots are two words, not a whole event).
    Event(Box<WatchEvent>),
}

impl Routed {
    /// Anything but a tap.
    pub(super) fn event(event: WatchEvent) -> Self {
        Self::Event(Box::new(event))
    }
}

/// A shoulder tap as it arrived, before it is a [`SessionTap`] of one watch.
#[derive(Debug)]
pub(super) struct RoutedTap {
    /// The session's `branch`.
    pub(super) branch: String,
    /// The session's `changeNumber` after the change.
    pub(super) change_number: u64,
    /// The tap's `subscription`, when sent.
    pub(super) subscription: Option<String>,
    /// The tap's `timestamp`, when sent.
    pub(super) timestamp: Option<String>,
}

impl RoutedTap {
    /// The [`SessionTap`] of a watch of `session` for `changes`.
    pub(super) fn to_tap(&self, session: &SessionReference, changes: ChangeTypes) -> SessionTap {
        SessionTap {
            session: session.clone(),
            branch: self.branch.clone(),
            change_number: self.change_number,
            change_types: changes,
            subscription: self.subscription.clone(),
            timestamp: self.timestamp.clone(),
        }
    }
}

/// Sends each shoulder tap of an event to the watches of its session.
pub(super) fn route_taps(entries: &HashMap<u64, Entry>, data: &Value) {
    let Some(taps) = data.get("shoulderTaps").and_then(Value::as_array) else {
        tracing::debug!("RTA: connections/ event without shoulderTaps");
        return;
    };
    for tap in taps {
        let Some((reference, routed)) = parse_tap(tap) else {
            tracing::debug!("RTA: skipping a malformed shoulder tap");
            continue;
        };
        let routed = Arc::new(routed);
        for entry in entries
            .values()
            .filter(|entry| entry.reference.matches_ignore_case(&reference))
        {
            let _ = entry.tx.send(Routed::Tap(Arc::clone(&routed)));
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
    let text = |key: &str| tap.get(key).and_then(Value::as_str).map(str::to_owned);
    let routed = RoutedTap {
        branch: tap.get("branch")?.as_str()?.to_owned(),
        change_number: tap.get("changeNumber")?.as_u64()?,
        subscription: text("subscription"),
        timestamp: text("timestamp"),
    };
    Some((reference, routed))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn taps_parse_three_part_resources_only() {
        let tap = json!({"resource": "scid~Lobby~Name", "branch": "b", "changeNumber": 3,
            "subscription": "S", "timestamp": "T"});
        let (reference, routed) = parse_tap(&tap).unwrap();
        assert_eq!(reference.template_name.as_str(), "Lobby");
        assert_eq!((routed.branch.as_str(), routed.change_number), ("b", 3));
        let built = routed.to_tap(&reference, ChangeTypes::EVERYTHING);
        assert_eq!(built.subscription.as_deref(), Some("S"));
        assert_eq!(built.timestamp.as_deref(), Some("T"));
        assert_eq!(built.session, reference);
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
        let watched: SessionReference = "/serviceconfigs/scid/sessionTemplates/Lobby/sessions/Name"
            .parse()
            .unwrap();
        let other: SessionReference = "/serviceconfigs/scid/sessionTemplates/Lobby/sessions/Else"
            .parse()
            .unwrap();
        let mut entries = HashMap::new();
        let mut receivers = Vec::new();
        for (id, reference) in [(1, &watched), (2, &watched), (3, &other)] {
            let (tx, rx) = mpsc::unbounded_channel();
            entries.insert(
                id,
                Entry {
                    reference: reference.clone(),
                    tx,
                },
            );
            receivers.push(rx);
        }
        let event = json!({"shoulderTaps": [
            {"resource": "SCID~lobby~NAME", "branch": "b", "changeNumber": 7}
        ]});
        route_taps(&entries, &event);
        for rx in &mut receivers[..2] {
            match rx.try_recv() {
                Ok(Routed::Tap(tap)) => assert_eq!(tap.change_number, 7),
                _ => panic!("no tap"),
            }
            assert!(rx.try_recv().is_err());
        }
        assert!(receivers[2].try_recv().is_err());
    }
}
