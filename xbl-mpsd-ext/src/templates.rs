//! Session templates: the constants (and role types) every session of a template starts with, as the
//! service configuration holds them (`GET /serviceconfigs/{scid}/sessiontemplates[/{name}]`; the response
//! shapes are UNCONFIRMED, see the spec). Runs through the client's generic call path
//! ([`MpsdClient::operation`]): authorization, retries (reads), typed errors.

use xbl_mpsd_api::types::{SessionTemplate, SessionTemplateList};

use crate::client::MpsdClient;
use crate::error::Error;
use crate::ids::Scid;
use crate::session_ref::SessionTemplateName;

/// A template read being prepared; [`send`](GetSessionTemplate::send) performs it. From
/// [`MpsdClient::session_template`].
#[derive(Debug)]
#[must_use = "a read does nothing until it is sent"]
pub struct GetSessionTemplate<'c> {
    client: &'c MpsdClient,
    scid: Scid,
    name: SessionTemplateName,
}

impl<'c> GetSessionTemplate<'c> {
    /// Reads the template; a template the SCID does not have is [`Error::NotFound`] (`is_not_found()`).
    pub fn send(self) -> impl Future<Output = Result<SessionTemplate, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self { client, scid, name } = self;
            let reply = client
                .operation(|api| {
                    api.get_session_template()
                        .scid(scid.clone())
                        .session_template_name(name.clone())
                })
                .send()
                .await?;
            let status = reply.status();
            reply.into_typed().ok_or_else(|| Error::InvalidResponse {
                status: Some(status),
                reason: "the answer is not a session template".to_owned(),
                body: String::new(),
            })
        })
    }
}

/// A template list being prepared; [`send`](ListSessionTemplates::send) performs it. From
/// [`MpsdClient::session_templates`].
#[derive(Debug)]
#[must_use = "a read does nothing until it is sent"]
pub struct ListSessionTemplates<'c> {
    client: &'c MpsdClient,
    scid: Scid,
}

impl<'c> ListSessionTemplates<'c> {
    /// Lists the SCID's templates.
    pub fn send(self) -> impl Future<Output = Result<SessionTemplateList, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self { client, scid } = self;
            let reply = client
                .operation(|api| api.list_session_templates().scid(scid.clone()))
                .send()
                .await?;
            let status = reply.status();
            reply.into_typed().ok_or_else(|| Error::InvalidResponse {
                status: Some(status),
                reason: "the answer is not a list of session templates".to_owned(),
                body: String::new(),
            })
        })
    }
}

impl MpsdClient {
    /// Prepares a read of the session template `name` of `scid`.
    ///
    /// ```
    /// # use xbl_mpsd_ext::{MpsdClient, XblToken};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("lobby.json"), r#"{"contractVersion": 107,
    /// #     "constants": {"system": {"maxMembersCount": 8, "visibility": "open"}}}"#)?;
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(xbl_mpsd_emulator::EmulatorConfig {
    /// #     templates: Some(dir.path().to_owned()), ..Default::default() }).await?;
    /// # let client = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
    /// let scid = "00000000-0000-0000-0000-00007a5b8c9d".parse()?;
    /// let lobby = client.session_template(&scid, &"lobby".parse()?).send().await?;
    /// let max = lobby.constants.as_ref().and_then(|c| c.system.as_ref()).and_then(|s| s.max_members_count.as_ref());
    /// assert_eq!(max, Some(&8));
    /// let err = client.session_template(&scid, &"nosuch".parse()?).send().await.unwrap_err();
    /// assert!(err.is_not_found());
    /// let names: Vec<_> = client.session_templates(&scid).send().await?
    ///     .results.as_ref().into_iter().flatten().filter_map(|t| t.name.as_ref().cloned()).collect();
    /// assert_eq!(names, ["lobby"]);
    /// # Ok(()) }
    /// ```
    pub fn session_template(
        &self,
        scid: &Scid,
        name: &SessionTemplateName,
    ) -> GetSessionTemplate<'_> {
        GetSessionTemplate {
            client: self,
            scid: scid.clone(),
            name: name.clone(),
        }
    }

    /// Prepares a list of the session templates of `scid`.
    pub fn session_templates(&self, scid: &Scid) -> ListSessionTemplates<'_> {
        ListSessionTemplates {
            client: self,
            scid: scid.clone(),
        }
    }
}
