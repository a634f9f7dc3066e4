//! MPSD session subscriptions over RTA: the `connections/` subscription, `properties.system.connection` and
//! `subscription` writes, shoulder taps as typed streams, and fetching the session a tap announces.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::Value;
use tokio::sync::watch;
use xbl_mpsd_api::ConnectionId;

use super::client::RtaClient;
use super::routing::{Routed, RoutedTap, Routes, WatchRoute};
use super::types::{RtaError, SessionTap, SubscriptionEvent, WatchEvent};
use crate::changes::ChangeTypes;
use crate::client::MpsdClient;
use crate::delta::SessionDelta;
use crate::error::Error;
use crate::session::{Session, SessionTarget};
use crate::session_ref::SessionReference;
use crate::write::{WriteMode, WriteOutcome};

/// The MPSD resource whose subscribe reply carries the ConnectionId.
pub const CONNECTIONS_URI: &str = "https://sessiondirectory.xboxlive.com/connections/";

/// Why watching a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// An MPSD call failed.
    #[error(transparent)]
    Mpsd(#[from] Error),
    /// The RTA subscription failed.
    #[error(transparent)]
    Rta(#[from] RtaError),
    /// The session (or the handle's session) does not exist.
    #[error("the session to watch does not exist: {0}")]
    NoSession(String),
    /// The session subscriptions ended: the client was closed, or the service refused to renew
    /// `connections/` after a reconnect.
    #[error("the RTA session subscriptions ended")]
    Ended,
}

/// State shared by the dispatcher task and the handles.
struct Shared {
    mpsd: MpsdClient,
    connection: watch::Sender<Option<ConnectionId>>,
    routes: Mutex<Routes>,
    next: AtomicU64,
}

impl Shared {
    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Aborts the dispatcher when the last handle goes.
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A user's MPSD session subscriptions over one RTA connection: one `connections/` subscription (its
/// ConnectionId) shared by every watched session. Cheap to clone.
///
/// ```
/// # use xbl_mpsd_ext::{MpsdClient, XblToken, SessionDelta};
/// # use xbl_mpsd_ext::rta::{ChangeTypes, SessionSubscriptions, WatchEvent};
/// # use futures::StreamExt;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
/// # let client = |xuid: &str| MpsdClient::builder().base_url(emulator.base_url())
/// #     .token(XblToken::new("-", xuid).unwrap()).build();
/// # let (host, guest) = (client("2814679796296491")?, client("2533274792693551")?);
/// let session: xbl_mpsd_ext::SessionReference =
///     "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/party".parse()?;
/// host.write(&session, SessionDelta::new().join("2814679796296491".parse()?)).send().await?;
///
/// // The host watches its session: RTA for its token, then `connection` and `subscription` written.
/// let subscriptions = SessionSubscriptions::start(&host, host.rta().build()?).await?;
/// let mut watch = subscriptions.watch(&session, ChangeTypes::MEMBERS_LIST).await?;
///
/// // Another player joins: the host is tapped with the new changeNumber.
/// let joined = guest.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
/// let number = joined.session().and_then(|s| s.change_number());
/// match watch.next().await {
///     Some(WatchEvent::Tap(tap)) => assert_eq!(Some(tap.change_number), number),
///     other => panic!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionSubscriptions {
    shared: Arc<Shared>,
    rta: RtaClient,
    _task: Arc<Task>,
}

impl fmt::Debug for SessionSubscriptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSubscriptions")
            .field("connection_id", &*self.shared.connection.borrow())
            .field("watches", &self.shared.routes().len())
            .finish_non_exhaustive()
    }
}

impl SessionSubscriptions {
    /// Subscribes `rta` to MPSD's `connections/` resource and starts routing its taps; `mpsd` (the same
    /// user's client) makes the writes.
    pub fn start(
        mpsd: &MpsdClient,
        rta: RtaClient,
    ) -> impl Future<Output = Result<Self, WatchError>> + Send + '_ {
        crate::sending::boxed(async move {
            let subscription = rta.subscribe(CONNECTIONS_URI).await?;
            let connection_id = connection_id(subscription.data()).ok_or_else(|| {
                RtaError::InvalidResponse(
                    "the connections/ subscribe reply has no ConnectionId".into(),
                )
            })?;
            let (connection, _) = watch::channel(Some(connection_id));
            let shared = Arc::new(Shared {
                mpsd: mpsd.clone(),
                connection,
                routes: Mutex::default(),
                next: AtomicU64::new(1),
            });
            let task = tokio::spawn(dispatch(Arc::clone(&shared), subscription));
            Ok(Self {
                shared,
                rta,
                _task: Arc::new(Task(task)),
            })
        })
    }

    /// The current ConnectionId (`None` after the subscription ended).
    pub fn connection_id(&self) -> Option<ConnectionId> {
        self.shared.connection.borrow().clone()
    }

    /// The ConnectionId as it changes with reconnects.
    pub fn connection_ids(&self) -> watch::Receiver<Option<ConnectionId>> {
        self.shared.connection.subscribe()
    }

    /// The RTA client underneath.
    pub fn rta(&self) -> &RtaClient {
        &self.rta
    }

    /// Watches a session the caller is a member of (or joins it: MPSD only taps members): writes
    /// `members.me.properties.system {active: true, connection, subscription {id, changeTypes}}` to the
    /// existing session (a handle is resolved to its session first), and returns the stream of its taps.
    /// After a reconnect the new ConnectionId is written again.
    pub fn watch(
        &self,
        target: impl Into<SessionTarget>,
        changes: ChangeTypes,
    ) -> impl Future<Output = Result<SessionWatch, WatchError>> + Send + '_ {
        self.watch_target(target.into(), changes)
    }

    /// [`watch`](Self::watch) after the conversion: not generic, so its body is compiled here once.
    fn watch_target(
        &self,
        target: SessionTarget,
        changes: ChangeTypes,
    ) -> crate::sending::Sending<'_, Result<SessionWatch, WatchError>> {
        crate::sending::boxed(async move {
            let reference = match target {
                SessionTarget::Reference(reference) => reference,
                SessionTarget::Handle(handle) => self
                    .shared
                    .mpsd
                    .get_session(handle)
                    .send()
                    .await?
                    .and_then(|session| session.reference().cloned())
                    .ok_or_else(|| WatchError::NoSession(format!("/handles/{handle}/session")))?,
            };
            let changes = if changes.is_empty() {
                ChangeTypes::EVERYTHING
            } else {
                changes
            };
            let connection_id = self.connection_id().ok_or(WatchError::Ended)?;
            let subscription = uuid::Uuid::new_v4();
            let subscription_id = subscription.to_string().to_uppercase();
            // Registered before the write, so that no tap after it is missed.
            let id = self.shared.next.fetch_add(1, Ordering::Relaxed);
            let route = self.shared.routes().add(id, &reference);
            let mut watch = SessionWatch {
                subscriptions: self.clone(),
                reference: Arc::new(reference.clone()),
                changes,
                subscription_id: subscription_id.clone(),
                route,
                last: Vec::new(),
                buffered: VecDeque::new(),
                session: None,
            };
            let delta = SessionDelta::new()
                .active(true)
                .connection(&connection_id)
                .subscription(subscription, changes);
            let outcome = self
                .shared
                .mpsd
                .write(&reference, delta)
                .mode(WriteMode::UpdateExisting)
                .send()
                .await?;
            match outcome {
                WriteOutcome::Created(session)
                | WriteOutcome::Updated(session)
                | WriteOutcome::Accepted {
                    session: Some(session),
                    ..
                } => {
                    watch.remember(&session);
                    watch.session = Some(*session);
                }
                WriteOutcome::Accepted { session: None, .. } => {}
                WriteOutcome::OutOfSync { .. } | WriteOutcome::SessionDeleted => {
                    return Err(WatchError::NoSession(reference.to_uri_path()));
                }
            }
            Ok(watch)
        })
    }
}

/// The `ConnectionId` of a `connections/` subscribe reply.
fn connection_id(data: &Value) -> Option<ConnectionId> {
    data.get("ConnectionId")
        .and_then(Value::as_str)
        .and_then(|id| ConnectionId::new(id).ok())
}

/// The dispatcher: routes taps, rewrites `connection` after a reconnect, passes resyncs on.
async fn dispatch(shared: Arc<Shared>, mut subscription: super::Subscription) {
    while let Some(event) = subscription.next_event().await {
        match event {
            SubscriptionEvent::Event(data) => shared.routes().route_taps(&data),
            SubscriptionEvent::Resubscribed(data) => {
                let Some(connection_id) = connection_id(&data) else {
                    tracing::warn!("RTA: renewed connections/ subscription without a ConnectionId");
                    continue;
                };
                shared.connection.send_replace(Some(connection_id.clone()));
                rewrite_connection(&shared, &connection_id).await;
            }
            SubscriptionEvent::Resync => shared.routes().broadcast(&WatchEvent::Resync),
            SubscriptionEvent::Ended(status) => {
                tracing::warn!(%status, "RTA: the connections/ subscription ended");
                break;
            }
        }
    }
    shared.connection.send_replace(None);
    shared.routes().broadcast(&WatchEvent::Ended);
}

/// Writes the new ConnectionId into every watched session (once per session), then tells its watches.
async fn rewrite_connection(shared: &Shared, connection_id: &ConnectionId) {
    let watched = shared.routes().sessions();
    for (reference, watches) in watched {
        let delta = SessionDelta::new().active(true).connection(connection_id);
        let event = match shared
            .mpsd
            .write(&reference, delta)
            .mode(WriteMode::UpdateExisting)
            .send()
            .await
        {
            Ok(outcome) if outcome.is_committed() => WatchEvent::Reconnected {
                connection_id: connection_id.clone(),
            },
            Ok(_) => WatchEvent::RewriteFailed {
                message: "the session no longer exists".to_owned(),
            },
            Err(error) => WatchEvent::RewriteFailed {
                message: error.to_string(),
            },
        };
        watches.send(&event);
    }
}

/// The taps of one watched session: a [`Stream`] of [`WatchEvent`]s. Dropping it stops the routing; the
/// member's `subscription` stays in the session until the member leaves or writes another one (the typed
/// delta cannot carry `subscription: null`), and taps for it are dropped locally.
///
/// The watches of a session on one connection share one queue of its latest 64 taps: a watch that falls
/// further behind (or is never polled) skips the oldest — it still gets the newest — so an idle watch does not
/// hold memory that grows with the taps.
pub struct SessionWatch {
    subscriptions: SessionSubscriptions,
    reference: Arc<SessionReference>,
    /// The change types subscribed to (each tap reports them).
    changes: ChangeTypes,
    subscription_id: String,
    /// Its place in the taps of its session on this connection, and its other events.
    route: WatchRoute,
    /// The highest changeNumber seen per branch (a session has one branch at a time: a list, searched
    /// without hashing).
    last: Vec<(Arc<str>, u64)>,
    buffered: VecDeque<WatchEvent>,
    session: Option<Session>,
}

impl fmt::Debug for SessionWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionWatch")
            .field("reference", &self.reference)
            .field("subscription_id", &self.subscription_id)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl SessionWatch {
    /// The watched session.
    pub fn reference(&self) -> &SessionReference {
        &self.reference
    }

    /// The `subscription.id` written for this watch (an upper-case GUID).
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// The session as the subscribing write (or the last [`next_session`](Self::next_session)) returned it.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    fn remember(&mut self, session: &Session) {
        if let (Some(branch), Some(number)) =
            (session.document.branch.as_ref(), session.change_number())
        {
            let last = self.last_of(&Arc::from(branch.to_string()));
            *last = (*last).max(number);
        }
    }

    /// The highest changeNumber seen on `branch` (0 when new).
    fn last_of(&mut self, branch: &Arc<str>) -> &mut u64 {
        // Taps of one branch share its text (`routing`): the pointer answers without comparing the text.
        let index = match self
            .last
            .iter()
            .position(|(seen, _)| Arc::ptr_eq(seen, branch) || seen == branch)
        {
            Some(index) => index,
            None => {
                self.last.push((Arc::clone(branch), 0));
                self.last.len() - 1
            }
        };
        &mut self.last[index].1
    }

    /// Whether a tap is newer than everything seen on its branch (and records it). Allocates only for a
    /// branch not seen before.
    fn is_new(&mut self, tap: &RoutedTap) -> bool {
        let last = self.last_of(&tap.branch);
        if tap.change_number > *last || (*last == 0 && tap.change_number == 0) {
            *last = tap.change_number;
            true
        } else {
            false
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        if let Some(event) = self.buffered.pop_front() {
            return Poll::Ready(ended_is_none(event));
        }
        loop {
            match self.route.poll_next(cx) {
                Poll::Ready(Routed::Tap(tap)) => {
                    if self.is_new(&tap) {
                        let tap: SessionTap = tap.to_tap(&self.reference, self.changes);
                        return Poll::Ready(Some(WatchEvent::Tap(tap)));
                    }
                }
                Poll::Ready(Routed::Event(event)) => return Poll::Ready(ended_is_none(event)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Waits for the session to change and returns it fresh: on a tap newer than the session held (or a
    /// resync), drains the taps already queued (a burst costs one GET) and reads the session. `None` when the
    /// subscriptions ended.
    pub fn next_session(
        &mut self,
    ) -> impl Future<Output = Option<Result<Session, WatchError>>> + Send + '_ {
        crate::sending::boxed(async move {
            loop {
                let event = futures::future::poll_fn(|cx| self.poll_event(cx)).await?;
                let wanted = match event {
                    WatchEvent::Tap(tap) => Some(tap.change_number),
                    WatchEvent::Resync => None,
                    _ => continue,
                };
                let mut newest = wanted;
                // Coalesce what is already queued.
                while let Some(more) = self.route.try_next() {
                    match more {
                        Routed::Tap(tap) if self.is_new(&tap) => {
                            newest = Some(
                                newest.map_or(tap.change_number, |n| n.max(tap.change_number)),
                            );
                        }
                        Routed::Tap(_) => {}
                        Routed::Event(event) => {
                            if event != WatchEvent::Resync {
                                self.buffered.push_back(event);
                            }
                        }
                    }
                }
                let held = self.session.as_ref().and_then(Session::change_number);
                if let (Some(newest), Some(held)) = (newest, held)
                    && newest <= held
                {
                    continue;
                }
                let result = self
                    .subscriptions
                    .shared
                    .mpsd
                    .get_session(&*self.reference)
                    .send()
                    .await;
                return Some(match result {
                    Ok(Some(session)) => {
                        self.remember(&session);
                        self.session = Some(session.clone());
                        Ok(session)
                    }
                    Ok(None) => Err(WatchError::NoSession(self.reference.to_uri_path())),
                    Err(error) => Err(error.into()),
                });
            }
        })
    }

    /// [`next_session`](Self::next_session) with what changed since the session held before
    /// ([`crate::diff`]): who joined or left, status and property changes, … Empty `changes` when the tap
    /// changed nothing the diff follows (e.g. a member's subscription). `None` when the subscriptions ended.
    ///
    /// ```no_run
    /// # async fn run(mut watch: xbl_mpsd_ext::rta::SessionWatch) -> Result<(), xbl_mpsd_ext::rta::WatchError> {
    /// use xbl_mpsd_ext::SessionChange;
    /// while let Some(update) = watch.next_update().await {
    ///     for change in update?.changes {
    ///         if let SessionChange::MemberJoined { xuid } = change {
    ///             println!("{xuid} joined");
    ///         }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_update(
        &mut self,
    ) -> impl Future<Output = Option<Result<SessionUpdate, WatchError>>> + Send + '_ {
        crate::sending::boxed(async move {
            let before = self.session.clone();
            let session = match self.next_session().await? {
                Ok(session) => session,
                Err(error) => return Some(Err(error)),
            };
            let changes = before
                .map(|before| crate::diff::diff(&before.document, &session.document))
                .unwrap_or_default();
            Some(Ok(SessionUpdate { session, changes }))
        })
    }
}

/// What a watch yields for `event`: the end of the stream for [`WatchEvent::Ended`].
fn ended_is_none(event: WatchEvent) -> Option<WatchEvent> {
    match event {
        WatchEvent::Ended => None,
        event => Some(event),
    }
}

/// A fresh session and what changed since the one read before it ([`SessionWatch::next_update`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionUpdate {
    /// The session as it is now.
    pub session: Session,
    /// What changed since the session held before (empty for the first one).
    pub changes: Vec<crate::diff::SessionChange>,
}

impl Stream for SessionWatch {
    type Item = WatchEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_event(cx)
    }
}

impl Drop for SessionWatch {
    fn drop(&mut self) {
        self.subscriptions.shared.routes().remove(&self.route);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_connection_id_is_read_from_the_subscribe_reply() {
        assert_eq!(
            connection_id(&json!({"ConnectionId": "x"})).map(|id| id.to_string()),
            Some("x".to_owned())
        );
        assert_eq!(connection_id(&json!({"connectionId": "x"})), None);
        assert_eq!(connection_id(&json!({"ConnectionId": ""})), None);
    }
}
