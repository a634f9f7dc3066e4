//! Any generated operation through the client's call path: [`MpsdClient::operation`].
//!
//! The typed helpers ([`MpsdClient::write`], [`MpsdClient::get_handle`], …) cover the operations this crate
//! knows. An operation added to the spec is generated as a request builder on the wire client
//! ([`crate::api::Client`]); `operation` runs that builder (on the generated client without the call policy
//! of [`MpsdClient::api`], since `operation` runs each attempt through it itself) with what every call of this crate gets: the
//! contract version and authorization (from the client), retries per the [`RetryPolicy`](crate::RetryPolicy)
//! — `GET`, `HEAD`, `OPTIONS`, `DELETE` and operations the spec marks `x-idempotent: true` (the batch session
//! queries) always, other methods only with [`retry_on_failure`](OperationCall::retry_on_failure) — one token refresh after a 401, and typed
//! [`Error`]s for every error status. Every non-error status is a success: the typed one as
//! [`Reply::Typed`], any other (204, 202, a 2xx whose body the generated client does not type, 304) as
//! [`Reply::Raw`].

use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use xbl_mpsd_api::{Operation, ResponseValue};

use crate::client::MpsdClient;
use crate::error::Error;
use crate::response::{Answer, answer, error_from};
use crate::retry::RetryMode;

/// What an operation answered, when it succeeded.
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply<T> {
    /// The success the generated client types: status, headers and the decoded body.
    Typed(ResponseValue<T>),
    /// Any other non-error answer (e.g. 202 or 204, or 304 to a conditional read): the raw response,
    /// its body not read yet.
    Raw(Response),
}

impl<T> Reply<T> {
    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Typed(value) => value.status(),
            Self::Raw(response) => response.status(),
        }
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        match self {
            Self::Typed(value) => value.headers(),
            Self::Raw(response) => response.headers(),
        }
    }

    /// The typed body, if the answer was the typed success.
    pub fn into_typed(self) -> Option<T> {
        match self {
            Self::Typed(value) => Some(value.into_inner()),
            Self::Raw(_) => None,
        }
    }
}

/// An operation being prepared; [`send`](OperationCall::send) performs it. From [`MpsdClient::operation`].
#[must_use = "an operation does nothing until it is sent"]
pub struct OperationCall<'c, F> {
    client: &'c MpsdClient,
    build: F,
    retry: bool,
}

impl<F> std::fmt::Debug for OperationCall<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationCall")
            .field("client", self.client)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<'c, F, O> OperationCall<'c, F>
where
    F: Fn(&'c xbl_mpsd_api::Client) -> O,
    O: Operation,
{
    /// Retry a non-idempotent operation (`POST`, `PUT`, `PATCH`) on 408/429/5xx and connection errors
    /// too. Off by default: a write whose answer was lost may have been applied, and is then applied twice.
    pub fn retry_on_failure(mut self) -> Self {
        self.retry = true;
        self
    }

    /// Sends the operation (again per retry: the request is rebuilt by the closure each time).
    pub async fn send(self) -> Result<Reply<O::Output>, Error> {
        let Self {
            client,
            build,
            retry,
        } = self;
        let mode = if O::is_idempotent() {
            RetryMode::Idempotent
        } else {
            RetryMode::write(retry)
        };
        // A 404 on a path addressed by a handle id means the handle is gone.
        let by_handle = O::PATH.starts_with("/handles/{");
        let api = client.wire();
        client
            .call(mode, || async {
                match answer(build(api).send().await)? {
                    Answer::Typed(value) => Ok(Reply::Typed(*value)),
                    Answer::Raw(response)
                        if response.status().is_client_error()
                            || response.status().is_server_error() =>
                    {
                        Err(error_from(response, by_handle).await)
                    }
                    Answer::Raw(response) => Ok(Reply::Raw(response)),
                }
            })
            .await
    }
}

impl MpsdClient {
    /// Prepares any generated operation: `build` gets the wire client and returns a request builder, e.g.
    /// `|api| api.get_handle().handle_id(id)`. Sent with the client's contract version, authorization,
    /// retries by HTTP method and typed errors; see the [module docs](crate::operation).
    ///
    /// ```
    /// use xbl_mpsd_ext::{HandleId, MpsdClient, XblToken, handles, SessionDelta};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// let session = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// client.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
    /// let activity = client.create_handle(handles::activity_request(&session)).send().await?;
    /// let id: HandleId = activity.id().ok_or("no id")?;
    ///
    /// // The generated `get_handle` operation, with retries and typed errors.
    /// let reply = client.operation(|api| api.get_handle().handle_id(*id.as_uuid())).send().await?;
    /// assert_eq!(reply.status(), 200);
    /// let handle = reply.into_typed().ok_or("not the typed success")?;
    /// assert_eq!(handle.type_.as_str(), "activity");
    /// # Ok(()) }
    /// ```
    pub fn operation<'c, F, O>(&'c self, build: F) -> OperationCall<'c, F>
    where
        F: Fn(&'c xbl_mpsd_api::Client) -> O,
        O: Operation,
    {
        OperationCall {
            client: self,
            build,
            retry: false,
        }
    }
}
