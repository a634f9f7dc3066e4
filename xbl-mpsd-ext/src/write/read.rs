//! Session reads: [`MpsdClient::get_session`], conditional with [`GetSession::if_none_match`].

use reqwest::StatusCode;
use xbl_mpsd_api::builder::{self as api_builder, GetSessionByHandle};

use crate::client::MpsdClient;
use crate::customize::Customizations;
use crate::error::Error;
use crate::response::{api_error, error_from, raw_success, session_answer, session_from};
use crate::retry::RetryMode;
use crate::session::{ETag, Session, SessionTarget};

impl MpsdClient {
    /// Prepares a read of a session: [`send`](GetSession::send) gives it, or `None` when it does not
    /// exist (204); [`if_none_match`](GetSession::if_none_match) makes it conditional. Retried per the
    /// policy.
    ///
    /// ```
    /// # use xbl_mpsd_ext::{MpsdClient, Read, SessionDelta, XblToken};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// # let client = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
    /// let session: xbl_mpsd_ext::SessionReference =
    ///     "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/nobody-here".parse()?;
    /// assert_eq!(client.get_session(&session).send().await?, None);
    ///
    /// // Read it again only when it changed since the version at hand.
    /// client.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
    /// let read = client.get_session(&session).send().await?.ok_or("no session")?;
    /// let etag = read.etag().ok_or("no ETag")?;
    /// let again = client.get_session(&session).if_none_match(etag).send().await?;
    /// assert_eq!(again, Read::NotModified);
    /// # Ok(()) }
    /// ```
    pub fn get_session(&self, target: impl Into<SessionTarget>) -> GetSession<'_> {
        GetSession {
            client: self,
            target: target.into(),
            customizations: Customizations::default(),
        }
    }

    async fn read_session<'c>(
        &'c self,
        target: &SessionTarget,
        etag: Option<&ETag>,
        customizations: &Customizations<'c>,
    ) -> Result<Read, Error> {
        let api = self.wire();
        self.call(RetryMode::Idempotent, || async {
            // As in a write: the answer is taken raw, and a session document decoded straight into its
            // boxed `Session`.
            let (response, typed) = match target {
                SessionTarget::Handle(handle) => {
                    let mut request = api.get_session_by_handle().handle_id(*handle);
                    if let Some(etag) = etag {
                        request = request.if_none_match(etag.as_str());
                    }
                    (
                        customizations.apply(request)?.send_untyped().await,
                        GetSessionByHandle::TYPED_STATUSES,
                    )
                }
                SessionTarget::Reference(reference) => {
                    let mut request = api
                        .get_session()
                        .scid(reference.scid.clone())
                        .session_template_name(reference.template_name.clone())
                        .session_name(reference.name.clone());
                    if let Some(etag) = etag {
                        request = request.if_none_match(etag.as_str());
                    }
                    (
                        customizations.apply(request)?.send_untyped().await,
                        api_builder::GetSession::TYPED_STATUSES,
                    )
                }
            };
            let response = response.map_err(api_error)?;
            if typed.contains(&response.status().as_u16()) {
                return Ok(Read::Session(
                    session_answer(response, target.reference()).await?,
                ));
            }
            match response.status() {
                StatusCode::NO_CONTENT => Ok(Read::NoSession),
                StatusCode::NOT_MODIFIED => Ok(Read::NotModified),
                // Another 2xx: a success; the session when its body is one.
                status if status.is_success() => {
                    let headers = response.headers().clone();
                    Ok(match raw_success(response, target.is_handle()).await? {
                        Some(document) => Read::Session(Box::new(session_from(
                            document,
                            headers,
                            target.reference(),
                            None,
                        ))),
                        None => Read::NoSession,
                    })
                }
                _ => Err(error_from(response, target.is_handle()).await),
            }
        })
        .await
    }
}

/// A session read being prepared; [`send`](GetSession::send) performs it. From [`MpsdClient::get_session`].
#[derive(Debug)]
#[must_use = "a read does nothing until it is sent"]
pub struct GetSession<'c> {
    client: &'c MpsdClient,
    target: SessionTarget,
    customizations: Customizations<'c>,
}

impl<'c> GetSession<'c> {
    /// Makes the read conditional (`If-None-Match: <etag>`): the session comes back only when its version
    /// is no longer `etag`, and [`send`](GetSessionIfNoneMatch::send) answers a [`Read`].
    pub fn if_none_match(self, etag: &ETag) -> GetSessionIfNoneMatch<'c> {
        GetSessionIfNoneMatch {
            client: self.client,
            target: self.target,
            etag: etag.clone(),
            customizations: self.customizations,
        }
    }

    crate::customize::customize_any! {
        /// Changes the generated request before it is sent, e.g. to set a parameter this builder has no method
        /// for yet: `change` gets the generated builder the read sends (type its parameter:
        /// `api::builder::GetSession` for a session reference, `api::builder::GetSessionByHandle` for a handle)
        /// with everything this builder sets; it is kept by [`if_none_match`](Self::if_none_match). Runs again
        /// for each retry; see [`customize`](crate::customize).
        ///
        /// ```
        /// # use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken, api::builder};
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
        /// # let client = MpsdClient::builder().base_url(emulator.base_url())
        /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
        /// let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
        /// client.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
        /// let read = client
        ///     .get_session(&session)
        ///     .customize(|request: builder::GetSession<'_>| request.accept_language("en-US"))
        ///     .send()
        ///     .await?;
        /// assert!(read.is_some());
        /// # Ok(()) }
        /// ```
    }

    /// Reads the session; `None` when it does not exist (204).
    pub fn send(self) -> impl Future<Output = Result<Option<Session>, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            match self
                .client
                .read_session(&self.target, None, &self.customizations)
                .await?
            {
                Read::Session(session) => Ok(Some(*session)),
                Read::NoSession => Ok(None),
                // No If-None-Match was sent: a 304 is a service error.
                Read::NotModified => Err(Error::Service {
                    status: StatusCode::NOT_MODIFIED,
                    message: "304 without If-None-Match".into(),
                }),
            }
        })
    }
}

/// A conditional session read being prepared; [`send`](GetSessionIfNoneMatch::send) performs it. From
/// [`GetSession::if_none_match`].
#[derive(Debug)]
#[must_use = "a read does nothing until it is sent"]
pub struct GetSessionIfNoneMatch<'c> {
    client: &'c MpsdClient,
    target: SessionTarget,
    etag: ETag,
    customizations: Customizations<'c>,
}

impl<'c> GetSessionIfNoneMatch<'c> {
    /// Reads the session unless it still has the given version.
    pub fn send(self) -> impl Future<Output = Result<Read, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            self.client
                .read_session(&self.target, Some(&self.etag), &self.customizations)
                .await
        })
    }
}

/// What a conditional read ([`GetSession::if_none_match`]) found.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Read {
    /// The session (it changed, or no ETag was given).
    Session(Box<Session>),
    /// 304: the session still has the given version.
    NotModified,
    /// 204: there is no such session (also any other success without a session body).
    NoSession,
}
