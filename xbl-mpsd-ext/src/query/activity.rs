//! Clearing a user's activity: [`MpsdClient::clear_activity`].

use xbl_mpsd_api::types;

use crate::client::MpsdClient;
use crate::error::Error;
use crate::handles;
use crate::ids::{HandleId, Scid, Xuid};
use crate::response::{Answer, answer, error_from, raw_success};
use crate::retry::RetryMode;

/// What [`ClearActivity::send`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActivityCleared {
    /// The user had no activity in the SCID; nothing was deleted. (XSAPI's `ClearActivity` fails here with
    /// `invalid_argument`, while its comment calls that a success.)
    NoActivity,
    /// The user's activity handle was deleted.
    Cleared(HandleId),
    /// The user had several activity handles in the SCID (the service keeps one per user and SCID, so this
    /// is unexpected; XSAPI fails here); all were deleted.
    ClearedSeveral(Vec<HandleId>),
}

impl ActivityCleared {
    /// The handles deleted.
    pub fn deleted(&self) -> &[HandleId] {
        match self {
            Self::NoActivity => &[],
            Self::Cleared(id) => std::slice::from_ref(id),
            Self::ClearedSeveral(ids) => ids,
        }
    }
}

/// Clearing a user's activity being prepared; from [`MpsdClient::clear_activity`].
#[derive(Clone, Debug)]
#[must_use = "nothing is cleared until the request is sent"]
pub struct ClearActivity<'c> {
    client: &'c MpsdClient,
    scid: Scid,
    owner: Xuid,
}

impl<'c> ClearActivity<'c> {
    /// Queries the user's activity handles in the SCID (`POST /handles/query`), then deletes each
    /// (`DELETE /handles/{id}`; one already gone counts as deleted). Both are retried per the policy. Fails
    /// at the first failing request; handles deleted before it stay deleted.
    pub fn send(self) -> impl Future<Output = Result<ActivityCleared, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self {
                client,
                scid,
                owner,
            } = self;
            let query =
                types::HandleQueryRequest::try_from(handles::activities_query(&scid, &[owner]))
                    .map_err(|e| Error::InvalidRequest(format!("activity query: {e}")))?;
            let found = client
                .call(RetryMode::Idempotent, || async {
                    let result = client
                        .wire()
                        .query_handles()
                        .body(query.clone())
                        .send()
                        .await;
                    match answer(result)? {
                        Answer::Typed(value) => Ok(value.into_inner().results),
                        Answer::Raw(response) => {
                            Ok(raw_success::<types::HandleQueryResponse>(response, false)
                                .await?
                                .map(|answer| answer.results)
                                .unwrap_or_default())
                        }
                    }
                })
                .await?;
            let mut ids = Vec::new();
            // As XSAPI's parser, only activity handles count; and only the user's own.
            for handle in found.iter().filter(|handle| {
                handle.type_.kind() == types::HandleTypeKind::Activity
                    && handle.owner().is_none_or(|o| o == owner)
            }) {
                let id = handle.id().ok_or_else(|| Error::InvalidResponse {
                    status: None,
                    reason: "an activity handle without a valid id".into(),
                    body: String::new(),
                })?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            for id in &ids {
                let deleted = client
                    .call(RetryMode::Idempotent, || async {
                        let result = client.wire().delete_handle().handle_id(*id).send().await;
                        match answer(result)? {
                            Answer::Typed(_) => Ok(()),
                            Answer::Raw(response) if response.status().is_success() => Ok(()),
                            Answer::Raw(response) => Err(error_from(response, true).await),
                        }
                    })
                    .await;
                match deleted {
                    Ok(()) | Err(Error::HandleNotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(match ids.len() {
                0 => ActivityCleared::NoActivity,
                1 => ActivityCleared::Cleared(ids[0]),
                _ => ActivityCleared::ClearedSeveral(ids),
            })
        })
    }
}

impl MpsdClient {
    /// Prepares clearing the activity of `owner` (the caller: only a handle's creator may delete it) in
    /// `scid`: each of the user's activity handles there is deleted; none or several is an
    /// [`ActivityCleared`], not a failure.
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken, handles};
    /// use xbl_mpsd_ext::query::ActivityCleared;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// let me = "2533274792693551".parse()?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// client.write(&session, SessionDelta::new().join(me)).send().await?;
    /// let activity = client.create_handle(handles::activity_request(&session)).send().await?;
    ///
    /// let cleared = client.clear_activity(session.scid.clone(), me).send().await?;
    /// assert_eq!(cleared, ActivityCleared::Cleared(activity.id().ok_or("no id")?));
    /// // Again: nothing left to clear, and that is not an error.
    /// assert_eq!(client.clear_activity(session.scid.clone(), me).send().await?, ActivityCleared::NoActivity);
    /// # Ok(()) }
    /// ```
    pub fn clear_activity(&self, scid: Scid, owner: Xuid) -> ClearActivity<'_> {
        ClearActivity {
            client: self,
            scid,
            owner,
        }
    }
}
