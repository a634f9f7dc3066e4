//! Invites to several players: [`MpsdClient::send_invites`].

use xbl_mpsd_api::Lenient;
use xbl_mpsd_api::types;

use crate::client::MpsdClient;
use crate::error::Error;
use crate::handles::{self, CreatedHandle};
use crate::ids::{HandleId, TitleId, Xuid};
use crate::session_ref::SessionReference;

/// What one invite of [`SendInvites::send`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct InviteResult {
    /// The invited user.
    pub invitee: Xuid,
    /// The invite handle, or why this invite failed.
    pub outcome: Result<CreatedHandle, Error>,
}

impl InviteResult {
    /// The invite handle's id, when the invite was sent and the answer named it.
    pub fn handle_id(&self) -> Option<HandleId> {
        self.outcome.as_ref().ok().and_then(CreatedHandle::id)
    }

    /// Whether the invite was sent.
    pub fn is_sent(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Invites being prepared; from [`MpsdClient::send_invites`].
#[derive(Clone, Debug)]
#[must_use = "no invite is sent until the request is sent"]
pub struct SendInvites<'c> {
    client: &'c MpsdClient,
    session: SessionReference,
    invitees: Vec<Xuid>,
    title_id: TitleId,
    context: Option<String>,
    context_string: Option<String>,
}

impl<'c> SendInvites<'c> {
    /// The id of a custom invite string (`inviteAttributes.contextString`; XSAPI requires the `///` prefix,
    /// `XblMultiplayerSendInvitesAsync`).
    pub fn context_string(mut self, id: impl Into<String>) -> Self {
        self.context_string = Some(id.into());
        self
    }

    /// Sends one invite handle per invitee, in order, each once: a failure (an error status, a lost
    /// connection) is that invitee's [`InviteResult`] and the next invitee is invited all the same; nothing is
    /// retried (a retried invite whose answer was lost would be a second invite). No invitee at all is an
    /// [`Error::InvalidRequest`] (XSAPI refuses it too), and nothing is sent.
    pub fn send(self) -> impl Future<Output = Result<Vec<InviteResult>, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            if self.invitees.is_empty() {
                return Err(Error::InvalidRequest(
                    "send_invites needs at least one invitee".into(),
                ));
            }
            let mut results = Vec::with_capacity(self.invitees.len());
            for invitee in &self.invitees {
                let mut request = handles::invite_request(
                    &self.session,
                    *invitee,
                    self.title_id,
                    self.context.as_deref(),
                );
                if let Some(id) = &self.context_string {
                    let mut attributes = types::InviteAttributes::default();
                    attributes.title_id = Lenient::from(self.title_id).into();
                    attributes.context = self.context.clone().into();
                    attributes.context_string = Some(id.clone()).into();
                    request = request.invite_attributes(attributes);
                }
                let outcome = self.client.create_handle(request).send().await;
                if let Err(error) = &outcome {
                    tracing::warn!(invitee = %invitee, %error, "an invite failed; continuing with the others");
                }
                results.push(InviteResult {
                    invitee: *invitee,
                    outcome,
                });
            }
            Ok(results)
        })
    }
}

impl MpsdClient {
    /// Prepares one invite to `session` per invitee, for title `title_id`, with an optional title-defined
    /// `context` (passed to the invitee's activation URI). [`SendInvites::send`] answers one
    /// [`InviteResult`] per invitee, in order.
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, TitleId, XblToken, Xuid};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// client.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
    /// let friends: Vec<Xuid> = vec!["2814679796296491".parse()?, "2814679796296492".parse()?];
    /// let results = client.send_invites(&session, friends, TitleId::new(1234), Some("level=3")).send().await?;
    /// for result in &results {
    ///     match &result.outcome {
    ///         Ok(_) => println!("invited {}: handle {:?}", result.invitee, result.handle_id()),
    ///         Err(error) => eprintln!("could not invite {}: {error}", result.invitee),
    ///     }
    /// }
    /// assert!(results.iter().all(|r| r.is_sent()));
    /// # Ok(()) }
    /// ```
    pub fn send_invites(
        &self,
        session: &SessionReference,
        invitees: impl IntoIterator<Item = Xuid>,
        title_id: TitleId,
        context: Option<&str>,
    ) -> SendInvites<'_> {
        SendInvites {
            client: self,
            session: session.clone(),
            invitees: invitees.into_iter().collect(),
            title_id,
            context: context.map(str::to_owned),
            context_string: None,
        }
    }
}
