//! [`HostedSession`]: a session a host (a lobby, a friend-joinable world, a dedicated server) keeps alive for
//! hours, instead of assembling writes, handles and RTA by hand (feature `rta`).
//!
//! The peers' users report the same failure again and again: a hosted session disappears after a while and
//! has to be re-created by hand (MCXboxBroadcast issues #41 and #203; go-mcxboxbroadcast #3 asks for "session
//! self-healing"). What removes a host on the service: its RTA connection drops (the member turns inactive
//! and `inactiveRemovalTimeout` removes it; the empty session is then deleted by `sessionEmptyTimeout`), a
//! token that could not be renewed, or the session deleted for any other reason. A `HostedSession` answers
//! each:
//!
//! * it creates the session with the host as an active member, its RTA `connection` and a change
//!   `subscription`, an activity handle (friends can join) and an invite handle per invitee;
//! * on every shoulder tap (and every `check_every`, and at the session's `nextTimer`) it re-reads the session
//!   with `If-None-Match`, and reports what changed ([`crate::diff`]);
//! * after an RTA reconnect the new `connection` is written (by [`SessionSubscriptions`]); when the host is no
//!   longer active it writes `active` and `connection` again before a timer removes it;
//! * when the service deleted the session (a read answers 204, a rewrite finds no session), it creates it
//!   again with its handles and says so ([`HostEvent::Recreated`]); when the RTA subscription ends it starts a
//!   new one;
//! * tokens are asked of the client's token provider on every request and reconnect, so a refresh needs
//!   nothing from the caller;
//! * [`HostedSession::close`] leaves the session and deletes its handles. Every failure is an event or a
//!   typed error ([`HostError`]); the loop never panics and never stops silently — after a failure it tries
//!   again at the next check.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};

use crate::SessionDelta;
use crate::client::MpsdClient;
use crate::diff::{SessionChange, diff};
use crate::error::Error;
use crate::handles;
use crate::ids::{HandleId, TitleId, Xuid};
use crate::rta::{
    ChangeTypes, RtaBuildError, RtaClient, SessionSubscriptions, SessionWatch, WatchError,
    WatchEvent,
};
use crate::session::{MemberStatus, Session};
use crate::session_ref::SessionReference;
use crate::write::{Read, WriteMode, WriteOutcome};

/// How often a hosted session re-reads itself when nothing else made it (default 5 minutes).
pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(5 * 60);

/// What went wrong while hosting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// An MPSD call failed.
    #[error(transparent)]
    Mpsd(#[from] Error),
    /// Watching the session over RTA failed.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The RTA client could not be built.
    #[error(transparent)]
    RtaBuild(#[from] RtaBuildError),
    /// A write was not committed (the session changed or is gone); the text says which.
    #[error("the hosted session's write was not committed: {0}")]
    NotCommitted(String),
    /// The hosted session was closed (or its task ended) before the request could run.
    #[error("the hosted session is closed")]
    Closed,
}

/// What a [`HostedSession`] reports, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum HostEvent {
    /// The session changed: who joined, left, changed status or properties, … (never empty).
    Changed {
        /// The session as it is now.
        session: Box<Session>,
        /// What changed since the last session reported.
        changes: Vec<SessionChange>,
    },
    /// The service had deleted the session; it was created again, with its handles.
    Recreated {
        /// The new session.
        session: Box<Session>,
    },
    /// The host was no longer active (e.g. its RTA connection dropped); `active` and `connection` were
    /// written again before a timer could remove it.
    HostRenewed,
    /// The RTA connection was re-established and `connection` rewritten.
    Reconnected,
    /// The RTA subscription ended and a new one was started.
    Resubscribed,
    /// Something failed; the session is checked again at the next check (`check_every`, a tap).
    Error(HostError),
}

impl fmt::Display for HostEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed { changes, .. } => write!(f, "changed ({} changes)", changes.len()),
            Self::Recreated { .. } => f.write_str("recreated"),
            Self::HostRenewed => f.write_str("host renewed"),
            Self::Reconnected => f.write_str("reconnected"),
            Self::Resubscribed => f.write_str("resubscribed"),
            Self::Error(error) => write!(f, "error: {error}"),
        }
    }
}

/// An invite handle to create with the session (and again when it is re-created).
#[derive(Clone, Debug)]
struct Invite {
    invitee: Xuid,
    title: TitleId,
    context: Option<String>,
}

/// A hosted session being configured; [`start`](HostedSessionBuilder::start) creates it. From
/// [`MpsdClient::host`].
#[derive(Debug)]
#[must_use = "nothing is hosted until `start` is called"]
pub struct HostedSessionBuilder<'c> {
    client: &'c MpsdClient,
    reference: SessionReference,
    host: Xuid,
    create: SessionDelta,
    activity: bool,
    invites: Vec<Invite>,
    check_every: Duration,
    rta: Option<RtaClient>,
}

impl<'c> HostedSessionBuilder<'c> {
    /// What the session is created with besides the host's join (constants such as visibility, max members
    /// and capabilities, properties such as join restriction, keywords, custom properties).
    pub fn create_with(mut self, delta: SessionDelta) -> Self {
        self.create = delta;
        self
    }

    /// Whether to publish an activity handle (friends see the session and can join; default on).
    pub fn activity(mut self, activity: bool) -> Self {
        self.activity = activity;
        self
    }

    /// Invites `invitee` for title `title` (an invite handle, created again when the session is).
    pub fn invite(mut self, invitee: Xuid, title: TitleId, context: Option<&str>) -> Self {
        self.invites.push(Invite {
            invitee,
            title,
            context: context.map(str::to_owned),
        });
        self
    }

    /// How often to re-read the session when no tap came (default [`DEFAULT_CHECK_EVERY`]).
    pub fn check_every(mut self, every: Duration) -> Self {
        self.check_every = every;
        self
    }

    /// The RTA client to watch the session with (default: `client.rta().build()`).
    pub fn rta(mut self, rta: RtaClient) -> Self {
        self.rta = Some(rta);
        self
    }

    /// Creates the session (or joins it, when it exists), watches it, publishes its handles, and starts
    /// keeping it alive.
    pub fn start(self) -> impl Future<Output = Result<HostedSession, HostError>> + Send + 'c {
        crate::sending::boxed(async move {
            let rta = match self.rta {
                Some(rta) => rta,
                None => self.client.rta().build()?,
            };
            let subscriptions = SessionSubscriptions::start(self.client, rta).await?;
            let mut host = Host {
                client: self.client.clone(),
                reference: self.reference,
                host: self.host,
                create: self.create,
                activity: self.activity,
                invites: self.invites,
                check_every: self.check_every,
                subscriptions,
                watch: None,
                current: None,
                handles: Vec::new(),
            };
            let session = host.establish().await?;
            let (events_tx, events) = mpsc::unbounded_channel();
            let (commands, commands_rx) = mpsc::unbounded_channel();
            let (latest_tx, latest) = watch::channel(Some(session));
            let (handles_tx, handles) = watch::channel(host.handles.clone());
            let task = tokio::spawn(host.run(commands_rx, events_tx, latest_tx, handles_tx));
            Ok(HostedSession {
                events,
                commands,
                latest,
                handles,
                task: Some(task),
            })
        })
    }
}

impl MpsdClient {
    /// Prepares a session hosted by `host` (the caller, whose token this client holds) at `reference`,
    /// kept alive until [`HostedSession::close`] (feature `rta`).
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, SessionDelta, XblToken};
    /// use xbl_mpsd_ext::types::{Restriction, Visibility};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// let lobby = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/world-1".parse()?;
    /// let hosted = client
    ///     .host(lobby, "2533274792693551".parse()?)
    ///     .create_with(
    ///         SessionDelta::new()
    ///             .visibility(Visibility::OPEN)
    ///             .max_members(8)
    ///             .join_restriction(Restriction::FOLLOWED),
    ///     )
    ///     .start()
    ///     .await?;
    /// assert_eq!(hosted.handles().len(), 1); // the activity handle
    /// hosted.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn host(&self, reference: SessionReference, host: Xuid) -> HostedSessionBuilder<'_> {
        HostedSessionBuilder {
            client: self,
            reference,
            host,
            create: SessionDelta::new(),
            activity: true,
            invites: Vec::new(),
            check_every: DEFAULT_CHECK_EVERY,
            rta: None,
        }
    }
}

/// Requests from the [`HostedSession`] handle to its task.
enum Command {
    /// Boxed: a delta is a few hundred bytes.
    Update(
        Box<SessionDelta>,
        oneshot::Sender<Result<WriteOutcome, HostError>>,
    ),
    Close(oneshot::Sender<Result<(), HostError>>),
}

/// A session kept alive in the background; its [`HostEvent`]s say what happens to it (a [`Stream`], or
/// [`next_event`](Self::next_event)). Dropping it stops keeping the session alive without leaving it; call
/// [`close`](Self::close) to leave and delete the handles.
pub struct HostedSession {
    events: mpsc::UnboundedReceiver<HostEvent>,
    commands: mpsc::UnboundedSender<Command>,
    latest: watch::Receiver<Option<Session>>,
    handles: watch::Receiver<Vec<HandleId>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for HostedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostedSession")
            .field("handles", &*self.handles.borrow())
            .finish_non_exhaustive()
    }
}

impl HostedSession {
    /// The next event; `None` once the session was closed.
    pub async fn next_event(&mut self) -> Option<HostEvent> {
        self.events.recv().await
    }

    /// The session as last read or written.
    pub fn session(&self) -> Option<Session> {
        self.latest.borrow().clone()
    }

    /// The handles published for the session now (activity first, then the invites).
    pub fn handles(&self) -> Vec<HandleId> {
        self.handles.borrow().clone()
    }

    /// Writes `delta` to the hosted session (which must exist), after anything queued before it.
    pub fn update(
        &self,
        delta: SessionDelta,
    ) -> impl Future<Output = Result<WriteOutcome, HostError>> + Send + '_ {
        crate::sending::boxed(async move {
            let (reply, answer) = oneshot::channel();
            self.commands
                .send(Command::Update(Box::new(delta), reply))
                .map_err(|_| HostError::Closed)?;
            answer.await.map_err(|_| HostError::Closed)?
        })
    }

    /// Leaves the session (`members.me: null`; the service deletes it when it is empty) and deletes its
    /// handles.
    pub fn close(mut self) -> impl Future<Output = Result<(), HostError>> + Send {
        crate::sending::boxed(async move {
            let (reply, answer) = oneshot::channel();
            self.commands
                .send(Command::Close(reply))
                .map_err(|_| HostError::Closed)?;
            let result = answer.await.map_err(|_| HostError::Closed)?;
            if let Some(task) = self.task.take() {
                // The task ends after answering Close; a panic in it is reported, not swallowed.
                if let Err(e) = task.await
                    && e.is_panic()
                {
                    return Err(HostError::NotCommitted(format!(
                        "the hosting task failed: {e}"
                    )));
                }
            }
            result
        })
    }
}

impl Drop for HostedSession {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Stream for HostedSession {
    type Item = HostEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<HostEvent>> {
        self.events.poll_recv(cx)
    }
}

/// The task's state.
struct Host {
    client: MpsdClient,
    reference: SessionReference,
    host: Xuid,
    create: SessionDelta,
    activity: bool,
    invites: Vec<Invite>,
    check_every: Duration,
    subscriptions: SessionSubscriptions,
    watch: Option<SessionWatch>,
    current: Option<Session>,
    handles: Vec<HandleId>,
}

/// What woke the task.
enum Wake {
    Watch(Option<Box<WatchEvent>>),
    Command(Option<Command>),
    Check,
}

impl Host {
    /// Creates (or joins) the session, watches it and publishes its handles.
    async fn establish(&mut self) -> Result<Session, HostError> {
        let delta = self.create.clone().join(self.host);
        let outcome = self
            .client
            .write(&self.reference, delta)
            .mode(WriteMode::UpdateOrCreateNew)
            .send()
            .await?;
        if !matches!(outcome, WriteOutcome::Created(_) | WriteOutcome::Updated(_)) {
            return Err(HostError::NotCommitted(format!(
                "creating {}: {outcome:?}",
                self.reference
            )));
        }
        let watch = self
            .subscriptions
            .watch(&self.reference, ChangeTypes::EVERYTHING)
            .await?;
        let session = match watch.session().cloned().or_else(|| outcome.into_session()) {
            Some(session) => session,
            None => {
                return Err(HostError::NotCommitted(format!(
                    "{} answered no session",
                    self.reference
                )));
            }
        };
        self.watch = Some(watch);
        self.publish_handles().await?;
        self.current = Some(session.clone());
        Ok(session)
    }

    /// Creates the activity handle and the invite handles, replacing the ones held.
    async fn publish_handles(&mut self) -> Result<(), HostError> {
        self.handles.clear();
        let mut requests = Vec::new();
        if self.activity {
            requests.push(handles::activity_request(&self.reference));
        }
        for invite in &self.invites {
            requests.push(handles::invite_request(
                &self.reference,
                invite.invitee,
                invite.title,
                invite.context.as_deref(),
            ));
        }
        for request in requests {
            let created = self.client.create_handle(request).send().await?;
            if let Some(id) = created.id() {
                self.handles.push(id);
            }
        }
        Ok(())
    }

    /// How long to wait before the next check: `check_every`, or until the session's `nextTimer` when that
    /// comes first (the service applies due timers when the session is read).
    fn next_check(&self) -> Duration {
        let timer = self.current.as_ref().and_then(|session| {
            let at = session.document.next_timer.as_ref()?.to_datetime().ok()?;
            let now = session.retrieved().unwrap_or_else(SystemTime::now);
            let at = SystemTime::UNIX_EPOCH
                + Duration::from_millis(u64::try_from(at.timestamp_millis()).ok()?);
            // A little after the timer, so that it is due when the read arrives.
            Some(at.duration_since(now).unwrap_or_default() + Duration::from_millis(50))
        });
        timer.map_or(self.check_every, |t| t.min(self.check_every))
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<HostEvent>,
        latest: watch::Sender<Option<Session>>,
        handles: watch::Sender<Vec<HandleId>>,
    ) {
        loop {
            let wait = self.next_check();
            let wake = {
                let watch_event = async {
                    match self.watch.as_mut() {
                        Some(watch) => watch.next().await.map(Box::new),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    command = commands.recv() => Wake::Command(command),
                    event = watch_event => Wake::Watch(event),
                    () = tokio::time::sleep(wait) => Wake::Check,
                }
            };
            let mut emitted = Vec::new();
            match wake {
                Wake::Command(None) => return,
                Wake::Command(Some(Command::Close(reply))) => {
                    let _ = reply.send(self.close().await);
                    return;
                }
                Wake::Command(Some(Command::Update(delta, reply))) => {
                    let result = self.update(*delta).await;
                    if let Ok(outcome) = &result
                        && let Some(session) = outcome.session()
                    {
                        self.adopt(session.clone(), &mut emitted);
                    }
                    let _ = reply.send(result);
                }
                Wake::Watch(Some(event)) if matches!(*event, WatchEvent::Reconnected { .. }) => {
                    emitted.push(HostEvent::Reconnected);
                    self.refresh(&mut emitted).await;
                }
                Wake::Watch(None) => self.resubscribe(&mut emitted).await,
                Wake::Watch(Some(event)) if matches!(*event, WatchEvent::Ended) => {
                    self.resubscribe(&mut emitted).await;
                }
                Wake::Watch(Some(_)) | Wake::Check => self.refresh(&mut emitted).await,
            }
            latest.send_replace(self.current.clone());
            handles.send_replace(self.handles.clone());
            for event in emitted {
                // A dropped receiver only means nobody listens; keep the session alive all the same.
                let _ = events.send(event);
            }
        }
    }

    /// Takes `session` as the current one, reporting what changed.
    fn adopt(&mut self, session: Session, events: &mut Vec<HostEvent>) {
        let changes = match &self.current {
            Some(before) => diff(&before.document, &session.document),
            None => Vec::new(),
        };
        if !changes.is_empty() {
            events.push(HostEvent::Changed {
                session: Box::new(session.clone()),
                changes,
            });
        }
        self.current = Some(session);
    }

    /// Re-reads the session: reports changes, renews the host, re-creates the session when it is gone.
    async fn refresh(&mut self, events: &mut Vec<HostEvent>) {
        let read = match self.current.as_ref().and_then(Session::etag).cloned() {
            Some(etag) => {
                self.client
                    .get_session(&self.reference)
                    .if_none_match(&etag)
                    .send()
                    .await
            }
            None => self
                .client
                .get_session(&self.reference)
                .send()
                .await
                .map(|s| s.map_or(Read::NoSession, |s| Read::Session(Box::new(s)))),
        };
        match read {
            Ok(Read::NotModified) => {}
            Ok(Read::Session(session)) => {
                let host_active = session
                    .member_status(self.host)
                    .is_some_and(|s| s == MemberStatus::Active);
                self.adopt(*session, events);
                if !host_active {
                    self.renew_host(events).await;
                }
            }
            Ok(Read::NoSession) => self.recreate(events).await,
            Err(error) => events.push(HostEvent::Error(error.into())),
        }
    }

    /// Writes the host active with the current connection; re-creates the session when it is gone.
    async fn renew_host(&mut self, events: &mut Vec<HostEvent>) {
        let Some(connection) = self.subscriptions.connection_id() else {
            self.resubscribe(events).await;
            return;
        };
        let delta = SessionDelta::new().join(self.host).connection(&connection);
        match self
            .client
            .write(&self.reference, delta)
            .mode(WriteMode::UpdateExisting)
            .send()
            .await
        {
            Ok(outcome) if outcome.is_committed() => {
                events.push(HostEvent::HostRenewed);
                if let Some(session) = outcome.into_session() {
                    self.adopt(session, events);
                }
            }
            Ok(_) => self.recreate(events).await,
            Err(error) => events.push(HostEvent::Error(error.into())),
        }
    }

    /// Creates the session again, watches it and publishes its handles again.
    async fn recreate(&mut self, events: &mut Vec<HostEvent>) {
        self.watch = None;
        self.current = None;
        match self.establish().await {
            Ok(session) => events.push(HostEvent::Recreated {
                session: Box::new(session),
            }),
            Err(error) => events.push(HostEvent::Error(error)),
        }
    }

    /// Starts a new RTA subscription (the old one ended) and watches the session again.
    async fn resubscribe(&mut self, events: &mut Vec<HostEvent>) {
        self.watch = None;
        let result = async {
            let rta = self.client.rta().build()?;
            let subscriptions = SessionSubscriptions::start(&self.client, rta).await?;
            self.subscriptions = subscriptions;
            Ok::<_, HostError>(())
        }
        .await;
        match result {
            Ok(()) => {
                events.push(HostEvent::Resubscribed);
                match self
                    .subscriptions
                    .watch(&self.reference, ChangeTypes::EVERYTHING)
                    .await
                {
                    Ok(watch) => {
                        if let Some(session) = watch.session().cloned() {
                            self.adopt(session, events);
                        }
                        self.watch = Some(watch);
                    }
                    Err(WatchError::NoSession(_)) => self.recreate(events).await,
                    Err(error) => events.push(HostEvent::Error(error.into())),
                }
            }
            Err(error) => events.push(HostEvent::Error(error)),
        }
    }

    async fn update(&mut self, delta: SessionDelta) -> Result<WriteOutcome, HostError> {
        let outcome = self
            .client
            .write(&self.reference, delta)
            .mode(WriteMode::UpdateExisting)
            .send()
            .await?;
        if outcome.is_committed() {
            Ok(outcome)
        } else {
            Err(HostError::NotCommitted(format!("{outcome:?}")))
        }
    }

    /// Leaves the session and deletes the handles; the first failure is returned after trying everything.
    async fn close(&mut self) -> Result<(), HostError> {
        let mut first: Option<HostError> = None;
        for handle in std::mem::take(&mut self.handles) {
            match self.client.delete_handle(handle).send().await {
                Ok(()) => {}
                // Already gone with its session.
                Err(error) if error.status() == Some(reqwest::StatusCode::NOT_FOUND) => {}
                Err(error) => {
                    first.get_or_insert(error.into());
                }
            }
        }
        if let Err(error) = self
            .client
            .write(&self.reference, SessionDelta::new().leave())
            .send()
            .await
        {
            first.get_or_insert(error.into());
        }
        self.subscriptions.rta().close();
        first.map_or(Ok(()), Err)
    }
}
