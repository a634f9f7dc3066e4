//! The synchronized-update loop: [`MpsdClient::synchronized_update`].

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;

use xbl_mpsd_api::types::MultiplayerSessionRequest;

use super::{WriteMode, WriteOutcome};
use crate::client::MpsdClient;
use crate::error::Error;
use crate::session::{Session, SessionTarget};

/// The default number of writes [`MpsdClient::synchronized_update`] tries.
pub const DEFAULT_SYNC_ATTEMPTS: NonZeroU32 = match NonZeroU32::new(8) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

impl MpsdClient {
    /// Prepares a change of a shared session that loses no other member's write: [`send`](SynchronizedUpdate::send)
    /// reads the session, asks `change` for a delta against what it read, writes with that version's
    /// ETag, and on [`WriteOutcome::OutOfSync`] starts again from the session the service returned (or a
    /// fresh read), after a short random pause that grows with each conflict (at most 250 ms).
    ///
    /// `change` is called once per attempt with the session as it is now, by value (`None` when it does
    /// not exist yet: the write then creates it), and returns a future of the delta: an `async` block
    /// may await other work. It may refuse: its error ends the loop at once with
    /// [`Error::UpdateAborted`], and nothing is written in that attempt. The loop gives up with
    /// [`Error::SyncAttemptsExhausted`] after [`attempts`](SynchronizedUpdate::attempts) writes (default
    /// [`DEFAULT_SYNC_ATTEMPTS`]).
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// # let client = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
    /// # let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// # client.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
    /// // Increment a shared counter without losing anyone else's increment; refuse past round 10.
    /// let synced = client
    ///     .synchronized_update(&session, |current| async move {
    ///         let round: u32 = match current {
    ///             Some(s) => s.custom_property("round")?.unwrap_or(0),
    ///             None => 0,
    ///         };
    ///         if round >= 10 {
    ///             return Err("the game is over".into());
    ///         }
    ///         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
    ///             SessionDelta::new().set_custom("round", &(round + 1))?,
    ///         )
    ///     })
    ///     .send()
    ///     .await?;
    /// assert!(synced.outcome.is_committed());
    /// assert_eq!(synced.attempts, 1);
    /// # Ok(()) }
    /// ```
    pub fn synchronized_update<F, Fut, D, E>(
        &self,
        target: impl Into<SessionTarget>,
        change: F,
    ) -> SynchronizedUpdate<'_, F>
    where
        F: FnMut(Option<Session>) -> Fut,
        Fut: Future<Output = Result<D, E>>,
        D: Into<MultiplayerSessionRequest>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        SynchronizedUpdate {
            client: self,
            target: target.into(),
            change,
            attempts: DEFAULT_SYNC_ATTEMPTS,
        }
    }
}

/// A synchronized update being prepared; [`send`](SynchronizedUpdate::send) performs it. From
/// [`MpsdClient::synchronized_update`].
#[must_use = "a synchronized update does nothing until it is sent"]
pub struct SynchronizedUpdate<'c, F> {
    client: &'c MpsdClient,
    target: SessionTarget,
    change: F,
    attempts: NonZeroU32,
}

impl<F> fmt::Debug for SynchronizedUpdate<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynchronizedUpdate")
            .field("client", self.client)
            .field("target", &self.target)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl<F, Fut, D, E> SynchronizedUpdate<'_, F>
where
    F: FnMut(Option<Session>) -> Fut,
    Fut: Future<Output = Result<D, E>>,
    D: Into<MultiplayerSessionRequest>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// The most writes to try before giving up with [`Error::SyncAttemptsExhausted`] (default
    /// [`DEFAULT_SYNC_ATTEMPTS`]).
    pub fn attempts(mut self, attempts: NonZeroU32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Runs the read–change–write loop until a write is not [`WriteOutcome::OutOfSync`].
    pub async fn send(self) -> Result<SyncOutcome, Error> {
        let Self {
            client,
            target,
            mut change,
            attempts,
        } = self;
        let mut current = client.get_session(target.clone()).send().await?;
        for attempt in 0..attempts.get() {
            if attempt > 0 {
                client.conflict_backoff(attempt).await;
            }
            let etag = current.as_ref().and_then(|s| s.etag().cloned());
            let delta = change(current.take())
                .await
                .map_err(|e| Error::UpdateAborted(e.into()))?;
            let outcome = client
                .write(target.clone(), delta)
                .mode(WriteMode::SynchronizedUpdate { etag })
                .send()
                .await?;
            match outcome {
                WriteOutcome::OutOfSync { current: Some(now) } => current = Some(*now),
                WriteOutcome::OutOfSync { current: None } => {
                    current = client.get_session(target.clone()).send().await?;
                }
                committed => {
                    return Ok(SyncOutcome {
                        outcome: committed,
                        attempts: attempt + 1,
                    });
                }
            }
        }
        Err(Error::SyncAttemptsExhausted {
            attempts: attempts.get(),
        })
    }
}

/// What a [`SynchronizedUpdate`] did: the committed write, and how many writes it took.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SyncOutcome {
    /// The write that took effect (never [`WriteOutcome::OutOfSync`]).
    pub outcome: WriteOutcome,
    /// How many writes were tried, the committed one included (1 when nobody else wrote in between).
    pub attempts: u32,
}

impl fmt::Display for SyncOutcome {
    /// E.g. `updated (changeNumber 3) after 2 attempts`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "{} after {} attempt{plural}",
            self.outcome, self.attempts
        )
    }
}
