//! Joining a session from an invite or activity activation, in one call.

use crate::activation::Activation;
use crate::client::MpsdClient;
use crate::delta::SessionDelta;
use crate::error::Error;
use crate::ids::Xuid;
use crate::write::{WriteMode, WriteOutcome};

/// The delta that adds `xuid` as an active member: `members.me` with `constants.system.xuid` and
/// `properties.system.active`, as XSAPI's join writes it.
///
/// ```
/// let delta = xbl_mpsd_ext::join_delta("2533274792693551".parse()?);
/// let json = serde_json::to_value(&delta)?;
/// assert_eq!(json["members"]["me"]["constants"]["system"]["xuid"], "2533274792693551");
/// assert_eq!(json["members"]["me"]["properties"]["system"]["active"], true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn join_delta(xuid: Xuid) -> SessionDelta {
    SessionDelta::new().join(xuid)
}

/// The delta that makes the caller leave: `members.me: null`.
///
/// ```
/// let json = serde_json::to_value(xbl_mpsd_ext::leave_delta())?;
/// assert_eq!(json, serde_json::json!({"members": {"me": null}}));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn leave_delta() -> SessionDelta {
    SessionDelta::new().leave()
}

impl MpsdClient {
    /// Joins the session an invite or activity activation points to: `PUT /handles/{handle}/session`
    /// with [`join_delta`] for the invited or joining user, in [`WriteMode::UpdateExisting`] (the
    /// session must exist; a stale handle is [`Error::HandleNotFound`]). The client's token must be
    /// that user's.
    ///
    /// See the crate documentation for a complete, runnable walk from an invite to a joined session.
    ///
    /// ```
    /// # use xbl_mpsd_ext::{MpsdClient, XblToken, join_delta, handles};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// # let friend = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2814679796296491")?).build()?;
    /// # let session = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// # friend.write(&session, join_delta("2814679796296491".parse()?)).send().await?;
    /// # let activity = friend.create_handle(handles::activity_request(&session)).send().await?;
    /// # let handle = activity.and_then(|h| h.id?.into_inner()).ok_or("no activity")?;
    /// # let client = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
    /// // The user chose "Join game" on a friend's activity.
    /// let uri = format!("ms-xbl-multiplayer://activityHandleJoin?&handle={handle}\
    ///                    &joinerXuid=2533274792693551&joineeXuid=2814679796296491");
    /// let joined = client.join_from_activation(&uri.parse()?).await?;
    /// assert_eq!(joined.session().map(|s| s.member_xuids().len()), Some(2));
    /// # Ok(()) }
    /// ```
    pub async fn join_from_activation(
        &self,
        activation: &Activation,
    ) -> Result<WriteOutcome, Error> {
        let handle = activation.handle().ok_or(Error::ActivationWithoutHandle {
            action: activation.kind.action(),
        })?;
        self.write(handle, join_delta(activation.joining_user()))
            .mode(WriteMode::UpdateExisting)
            .send()
            .await
    }
}
