//! Session writes with XSAPI's four write modes and typed outcomes; reads; the synchronized-update loop.

use std::fmt;

use reqwest::StatusCode;
use xbl_mpsd_api::builder::{WriteSession, WriteSessionByHandle};
use xbl_mpsd_api::types::MultiplayerSessionRequest;

use crate::client::MpsdClient;
use crate::customize::Customizations;
use crate::error::Error;
use crate::response::{
    api_error, error_from, json_body_raw, raw_success, session_answer, session_from,
};
use crate::retry::RetryMode;
use crate::session::{ETag, Session, SessionTarget};

mod read;
mod sync;

pub use read::{GetSession, GetSessionIfNoneMatch, Read};
pub use sync::{DEFAULT_SYNC_ATTEMPTS, SyncOutcome, SynchronizedUpdate};

/// How a write treats a session that does or does not exist (XSAPI's `XblMultiplayerSessionWriteMode`).
///
/// Exhaustive on purpose: these are XSAPI's four modes, and together they cover every precondition a
/// session write can carry (`If-Match: <etag>`, `If-Match: *`, `If-None-Match: *`, none), so there is no
/// fifth to add; a `match` on it needs no wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// Create only: `If-None-Match: *`; [`WriteOutcome::OutOfSync`] if the session exists.
    CreateNew,
    /// Update only: `If-Match: *`; fails if the session does not exist (404 through a handle, 412 by
    /// reference).
    UpdateExisting,
    /// Create or update, whatever exists: no precondition header.
    UpdateOrCreateNew,
    /// Update only the version read before: `If-Match: <etag>`, or `If-None-Match: *` when there is no
    /// version yet (the session is to be created). [`WriteOutcome::OutOfSync`] when someone else wrote
    /// first.
    SynchronizedUpdate {
        /// The version the change was made against.
        etag: Option<ETag>,
    },
}

impl WriteMode {
    /// `(If-Match, If-None-Match)` for this mode.
    pub fn precondition_headers(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Self::CreateNew => (None, Some("*")),
            Self::UpdateExisting => (Some("*"), None),
            Self::UpdateOrCreateNew => (None, None),
            Self::SynchronizedUpdate { etag: Some(etag) } => (Some(etag.as_str()), None),
            Self::SynchronizedUpdate { etag: None } => (None, Some("*")),
        }
    }
}

/// What a session write did. Failures are [`Error`]s. `Display` names it: `created (changeNumber 1)`,
/// `updated (changeNumber 2)`, `out of sync`, `session deleted`, `accepted (202)`.
///
/// Exhaustive on purpose: every answer to a write that is not an error is one of these (201, 200, 412,
/// 204, or another 2xx), so a `match` covers them all without a wildcard arm; an answer the service might
/// add is another status, and lands in [`Accepted`](Self::Accepted) or an [`Error`]. The struct variants
/// are `#[non_exhaustive]` (match them with `..`), so they can carry more later.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOutcome {
    /// 201: the write created the session.
    Created(Box<Session>),
    /// 200: the write updated the session (or, with `nocommit`, would have).
    Updated(Box<Session>),
    /// 412: the precondition failed — the session changed since the ETag, exists for
    /// [`WriteMode::CreateNew`], or does not exist for [`WriteMode::UpdateExisting`]. `current` is the
    /// session as it is now when the service sent it (retry from it); nothing was written.
    #[non_exhaustive]
    OutOfSync {
        /// The current session and its ETag, if the service sent them.
        current: Option<Box<Session>>,
    },
    /// 204: the write deleted the session (e.g. the last member left and `sessionEmptyTimeout` is 0),
    /// or a create added no member.
    SessionDeleted,
    /// Any other 2xx (e.g. 202): the service accepted the write. `session` is the session it sent, when
    /// the body is one.
    #[non_exhaustive]
    Accepted {
        /// The status.
        status: StatusCode,
        /// The session after the write, if the body holds one.
        session: Option<Box<Session>>,
    },
}

impl WriteOutcome {
    /// The session after the write (created or updated), if any.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Self::Created(session) | Self::Updated(session) => Some(session),
            Self::Accepted { session, .. } => session.as_deref(),
            Self::OutOfSync { .. } | Self::SessionDeleted => None,
        }
    }

    /// Takes the session after the write (created or updated), if any.
    pub fn into_session(self) -> Option<Session> {
        match self {
            Self::Created(session) | Self::Updated(session) => Some(*session),
            Self::Accepted { session, .. } => session.map(|s| *s),
            Self::OutOfSync { .. } | Self::SessionDeleted => None,
        }
    }

    /// Whether the write took effect (created, updated or deleted the session).
    pub fn is_committed(&self) -> bool {
        !matches!(self, Self::OutOfSync { .. })
    }
}

impl fmt::Display for WriteOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, session) = match self {
            Self::Created(session) => ("created", Some(&**session)),
            Self::Updated(session) => ("updated", Some(&**session)),
            Self::OutOfSync { .. } => return f.write_str("out of sync"),
            Self::SessionDeleted => return f.write_str("session deleted"),
            Self::Accepted { status, .. } => return write!(f, "accepted ({})", status.as_u16()),
        };
        f.write_str(what)?;
        match session.and_then(Session::change_number) {
            Some(change) => write!(f, " (changeNumber {change})"),
            None => Ok(()),
        }
    }
}

/// Sets the optional `If-Match`, `If-None-Match` and `nocommit` on either generated write builder (two
/// distinct types with the same setters).
macro_rules! with_write_options {
    ($request:expr, $if_match:expr, $if_none_match:expr, $nocommit:expr) => {{
        let mut request = $request;
        if let Some(value) = $if_match {
            request = request.if_match(value);
        }
        if let Some(value) = $if_none_match {
            request = request.if_none_match(value);
        }
        if let Some(value) = $nocommit {
            request = request.nocommit(value);
        }
        request
    }};
}

/// A session write being prepared; [`send`](Write::send) performs it. From [`MpsdClient::write`].
#[derive(Debug)]
#[must_use = "a write does nothing until it is sent"]
pub struct Write<'c> {
    client: &'c MpsdClient,
    target: SessionTarget,
    /// Boxed: a request document is a few KiB, and `Write` is moved by each of its setters.
    delta: Box<MultiplayerSessionRequest>,
    mode: WriteMode,
    nocommit: bool,
    retry: bool,
    customizations: Customizations<'c>,
}

impl<'c> Write<'c> {
    /// The write mode (default [`WriteMode::UpdateOrCreateNew`]).
    pub fn mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// Return the merged result without storing it (`?nocommit=true`).
    pub fn no_commit(mut self) -> Self {
        self.nocommit = true;
        self
    }

    /// Retry this write on 408/429/5xx and connection errors per the client's policy. Off by default:
    /// a write whose answer was lost may have been committed, and is then applied twice.
    pub fn retry_on_failure(mut self) -> Self {
        self.retry = true;
        self
    }

    crate::customize::customize_any! {
        /// Changes the generated request before it is sent, e.g. to set a parameter this builder has no method
        /// for yet: `change` gets the generated builder the write sends (type its parameter:
        /// `api::builder::WriteSession` for a session reference, `api::builder::WriteSessionByHandle` for a
        /// handle) with everything this builder sets. Runs again for each retry; see
        /// [`customize`](crate::customize).
    }

    /// Sends the write.
    pub fn send(self) -> impl Future<Output = Result<WriteOutcome, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self {
                client,
                target,
                delta,
                mode,
                nocommit,
                retry,
                customizations,
            } = self;
            let (if_match, if_none_match) = mode.precondition_headers();
            let nocommit = nocommit.then_some(true);
            let api = client.wire();
            // Without retries the call makes exactly one attempt, which takes the delta; only a write that
            // may be retried copies it for each attempt.
            let pending = std::sync::Mutex::new(Some(delta));
            let delta_for_attempt = || {
                let mut slot = pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if retry { slot.clone() } else { slot.take() }
            };
            client
                .call(RetryMode::write(retry), || {
                    let delta = delta_for_attempt();
                    let target = &target;
                    let customizations = &customizations;
                    async move {
                        let Some(delta) = delta else {
                            return Err(Error::InvalidRequest(
                                "the write was attempted again without retries enabled".to_owned(),
                            ));
                        };
                        // The answer is taken raw: a session document is decoded straight into its boxed
                        // `Session` (`session_answer`), without moving it through the generated client's
                        // `ResponseValue`; anything else is read as the generated client would have left it.
                        let (response, typed) = match target {
                            SessionTarget::Handle(handle) => {
                                let request = api
                                    .write_session_by_handle()
                                    .handle_id(*handle)
                                    .body_boxed(delta);
                                let request =
                                    with_write_options!(request, if_match, if_none_match, nocommit);
                                let response = customizations.apply(request)?.send_untyped().await;
                                (response, WriteSessionByHandle::TYPED_STATUSES)
                            }
                            SessionTarget::Reference(reference) => {
                                let request = api
                                    .write_session()
                                    .scid(reference.scid.clone())
                                    .session_template_name(reference.template_name.clone())
                                    .session_name(reference.name.clone())
                                    .body_boxed(delta);
                                let request =
                                    with_write_options!(request, if_match, if_none_match, nocommit);
                                let response = customizations.apply(request)?.send_untyped().await;
                                (response, WriteSession::TYPED_STATUSES)
                            }
                        };
                        let response = response.map_err(api_error)?;
                        let status = response.status();
                        if typed.contains(&status.as_u16()) {
                            let session = session_answer(response, target.reference()).await?;
                            return Ok(if status == StatusCode::CREATED {
                                WriteOutcome::Created(session)
                            } else {
                                WriteOutcome::Updated(session)
                            });
                        }
                        raw_outcome(response, target).await
                    }
                })
                .await
        })
    }
}

/// The outcome of a write whose answer the generated client did not type (204, 412, another 2xx, an
/// error).
async fn raw_outcome(
    response: reqwest::Response,
    target: &SessionTarget,
) -> Result<WriteOutcome, Error> {
    let known = target.reference();
    match response.status() {
        StatusCode::NO_CONTENT => Ok(WriteOutcome::SessionDeleted),
        StatusCode::PRECONDITION_FAILED => {
            let current = json_body_raw(response)
                .await?
                .map(|(document, headers, raw)| {
                    Box::new(session_from(document, headers, known, Some(raw)))
                });
            Ok(WriteOutcome::OutOfSync { current })
        }
        status if status.is_success() => {
            let headers = response.headers().clone();
            let session = raw_success(response, target.is_handle())
                .await?
                .map(|document| Box::new(session_from(document, headers, known, None)));
            Ok(WriteOutcome::Accepted { status, session })
        }
        _ => Err(error_from(response, target.is_handle()).await),
    }
}

impl MpsdClient {
    /// Prepares a write of `delta` (merged into the session; `null` deletes) to `target`.
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, WriteMode, WriteOutcome, XblToken};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    ///
    /// // Create the session with the caller as its first member; fails (OutOfSync) if it exists.
    /// let created = client
    ///     .write(&session, SessionDelta::new().join("2533274792693551".parse()?))
    ///     .mode(WriteMode::CreateNew)
    ///     .send()
    ///     .await?;
    /// assert!(matches!(created, WriteOutcome::Created(_)));
    ///
    /// // Merge a custom property into it.
    /// let delta = SessionDelta::new().set_custom("map", "lava")?;
    /// match client.write(&session, delta).mode(WriteMode::UpdateExisting).send().await? {
    ///     WriteOutcome::Updated(s) => assert_eq!(s.change_number(), Some(2)),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn write(
        &self,
        target: impl Into<SessionTarget>,
        delta: impl Into<MultiplayerSessionRequest>,
    ) -> Write<'_> {
        Write {
            client: self,
            target: target.into(),
            delta: Box::new(delta.into()),
            mode: WriteMode::UpdateOrCreateNew,
            nocommit: false,
            retry: false,
            customizations: Customizations::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_sends_xsapis_headers() {
        let etag = ETag::new("9555A7DE").unwrap();
        assert_eq!(
            WriteMode::CreateNew.precondition_headers(),
            (None, Some("*"))
        );
        assert_eq!(
            WriteMode::UpdateExisting.precondition_headers(),
            (Some("*"), None)
        );
        assert_eq!(
            WriteMode::UpdateOrCreateNew.precondition_headers(),
            (None, None)
        );
        assert_eq!(
            WriteMode::SynchronizedUpdate { etag: Some(etag) }.precondition_headers(),
            (Some("9555A7DE"), None)
        );
        assert_eq!(
            WriteMode::SynchronizedUpdate { etag: None }.precondition_headers(),
            (None, Some("*"))
        );
    }

    #[test]
    fn outcomes_display_what_happened() {
        let mut document = xbl_mpsd_api::types::MultiplayerSession::default();
        document.change_number = xbl_mpsd_api::Nullable::Value(1);
        let session = || Box::new(Session::from_document(document.clone()));
        assert_eq!(
            WriteOutcome::Created(session()).to_string(),
            "created (changeNumber 1)"
        );
        assert_eq!(
            WriteOutcome::Updated(session()).to_string(),
            "updated (changeNumber 1)"
        );
        let bare = Box::new(Session::from_document(Default::default()));
        assert_eq!(WriteOutcome::Updated(bare).to_string(), "updated");
        let current = Some(session());
        assert_eq!(
            WriteOutcome::OutOfSync { current }.to_string(),
            "out of sync"
        );
        assert_eq!(WriteOutcome::SessionDeleted.to_string(), "session deleted");
        let accepted = WriteOutcome::Accepted {
            status: StatusCode::ACCEPTED,
            session: None,
        };
        assert_eq!(accepted.to_string(), "accepted (202)");
        let synced = SyncOutcome {
            outcome: WriteOutcome::Updated(session()),
            attempts: 2,
        };
        assert_eq!(
            synced.to_string(),
            "updated (changeNumber 1) after 2 attempts"
        );
        let first = SyncOutcome {
            outcome: WriteOutcome::SessionDeleted,
            attempts: 1,
        };
        assert_eq!(first.to_string(), "session deleted after 1 attempt");
    }
}
