//! Joining a session from an invite or activity activation, in one call (a join is
//! [`SessionDelta::join`](crate::SessionDelta::join); leaving is [`SessionDelta::leave`](crate::SessionDelta::leave)).

use crate::activation::Activation;
use crate::client::MpsdClient;
use crate::delta::SessionDelta;
use crate::error::Error;
use crate::write::{WriteMode, WriteOutcome};

impl MpsdClient {
    /// Joins the session an invite or activity activation points to: `PUT /handles/{handle}/session`
    /// with [`SessionDelta::join`] for the invited or joining user, in [`WriteMode::UpdateExisting`] (the
    /// session must exist; a stale handle is [`Error::HandleNotFound`]). The client's token must be
    /// that user's.
    ///
    /// See the crate documentation for a complete, runnable walk from an invite to a joined session.
    ///
    /// ```
    /// # use xbl_mpsd_ext::{MpsdClient, SessionDelta, XblToken, handles};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// # let friend = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2814679796296491")?).build()?;
    /// # let session = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// # friend.write(&session, SessionDelta::new().join("2814679796296491".parse()?)).send().await?;
    /// # let activity = friend.create_handle(handles::activity_request(&session)).send().await?;
    /// # let handle = activity.id().ok_or("no activity")?;
    /// # let client = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
    /// // The user chose "Join game" on a friend's activity.
    /// let uri = format!("ms-xbl-multiplayer://activityHandleJoin?&handle={handle}\
    ///                    &joinerXuid=2533274792693551&joineeXuid=2814679796296491");
    /// let joined = client.join_from_activation(&uri.parse()?).await?;
    /// assert_eq!(joined.session().map(|s| s.member_xuids().len()), Some(2));
    /// # Ok(()) }
    /// ```
    pub fn join_from_activation<'a>(
        &'a self,
        activation: &'a Activation,
    ) -> impl Future<Output = Result<WriteOutcome, Error>> + Send + 'a {
        crate::sending::boxed(async move {
            let handle = activation.handle().ok_or(Error::ActivationWithoutHandle {
                action: activation.kind.action(),
            })?;
            self.write(handle, SessionDelta::new().join(activation.joining_user()))
                .mode(WriteMode::UpdateExisting)
                .send()
                .await
        })
    }
}
