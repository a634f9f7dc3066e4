//! Handles: typed requests for the four kinds, and the handle operations (create, read, delete, query).

use std::fmt;

use xbl_mpsd_api::types::{
    self, CreateHandleRequest, HandleDocument, HandleQueryOwners, HandleQueryOwnersPeople,
    HandleQueryRequest, HandleType, InviteAttributes, SearchAttributes, SocialMoniker,
};
use xbl_mpsd_api::{Lenient, Nullable};

use crate::client::MpsdClient;
use crate::customize::{Customizations, customize_one};
use crate::error::Error;
use crate::ids::{HandleId, Scid, TitleId, Xuid};
use crate::response::{Answer, answer, error_from, raw_success};
use crate::retry::RetryMode;
use crate::session_ref::{SessionReference, SessionTemplateName};

/// The handle document version every request carries (XSAPI's `MULTIPLAYER_HANDLE_VERSION`).
pub const HANDLE_VERSION: i32 = 1;

/// A handle request being built: the generated builder, so any field of the spec can still be set
/// (`.invite_attributes(…)`, …). [`MpsdClient::create_handle`] takes it (or a complete
/// [`CreateHandleRequest`]); a missing required field is an [`Error::InvalidRequest`] there.
pub type HandleRequest = types::builder::CreateHandleRequest;

/// A handle query's body being built (the generated builder), for [`MpsdClient::query_handles`].
pub type HandleQuery = types::builder::HandleQueryRequest;

fn request(kind: HandleType, session: &SessionReference) -> HandleRequest {
    CreateHandleRequest::builder()
        .type_(kind)
        .version(HANDLE_VERSION)
        .session_ref(session.clone())
}

/// The body that sets the caller's activity to `session` (the caller must be a member). It replaces
/// the caller's previous activity for the SCID.
pub fn activity_request(session: &SessionReference) -> HandleRequest {
    request(HandleType::ACTIVITY, session)
}

/// The body that invites `invited` to `session` for title `title_id`, with an optional title-defined
/// `context` (passed to the invitee's activation URI; at most 256 characters URI-encoded).
///
/// ```
/// use xbl_mpsd_ext::{SessionReference, TitleId, Xuid, handles, types::CreateHandleRequest};
/// let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
/// let body = handles::invite_request(&session, "2533274792693551".parse()?, TitleId::new(1234), Some("level=3"));
/// let json = serde_json::to_value(CreateHandleRequest::try_from(body)?)?;
/// assert_eq!(json["invitedXuid"], "2533274792693551");
/// assert_eq!(json["inviteAttributes"]["titleId"], "1234");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn invite_request(
    session: &SessionReference,
    invited: Xuid,
    title_id: TitleId,
    context: Option<&str>,
) -> HandleRequest {
    let mut attributes = InviteAttributes::default();
    attributes.title_id = Lenient::from(title_id).into();
    attributes.context = context.map(str::to_owned).into();
    request(HandleType::INVITE, session)
        .invited_xuid(Lenient::from(invited))
        .invite_attributes(attributes)
}

/// The body that makes `session` findable by search (it needs the `searchable` capability).
pub fn search_request(session: &SessionReference, attributes: SearchAttributes) -> HandleRequest {
    request(HandleType::SEARCH, session).search_attributes(attributes)
}

/// The body that extends the caller's access to `origin` (e.g. a lobby) to `target` (e.g. a game).
pub fn transfer_request(target: &SessionReference, origin: &SessionReference) -> HandleRequest {
    request(HandleType::TRANSFER, target).origin_session_ref(origin.clone())
}

/// The query for the activities of `owners` in `scid`.
pub fn activities_query(scid: &Scid, owners: &[Xuid]) -> HandleQuery {
    let mut by = HandleQueryOwners::default();
    by.xuids = Nullable::Value(owners.iter().copied().map(Lenient::from).collect());
    HandleQueryRequest::builder()
        .type_(HandleType::ACTIVITY)
        .scid(scid.clone())
        .owners(by)
}

/// The query for the activities of a social group of `xuid` (`people`, `friends` or `favorites`) in `scid`.
pub fn social_activities_query(scid: &Scid, moniker: SocialMoniker, xuid: Xuid) -> HandleQuery {
    let mut people = HandleQueryOwnersPeople::default();
    people.moniker = moniker.into();
    people.moniker_xuid = Lenient::from(xuid).into();
    let mut by = HandleQueryOwners::default();
    by.people = people.into();
    HandleQueryRequest::builder()
        .type_(HandleType::ACTIVITY)
        .scid(scid.clone())
        .owners(by)
}

/// The query for search handles of `template` in `scid`, across all sessions, optionally matching
/// `filter` (OData-like, e.g. `"strings/map eq 'lava'"`; the emulator does not evaluate filters).
pub fn search_query(
    scid: &Scid,
    template: &SessionTemplateName,
    filter: Option<&str>,
) -> HandleQuery {
    HandleQueryRequest::builder()
        .type_(HandleType::SEARCH)
        .scid(scid.clone())
        .template_name(template.as_str().to_owned())
        .filter(filter.map(str::to_owned))
        .global(true)
}

/// Extra sections a handle query can include ([`QueryHandles::include`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Include {
    /// `relatedInfo`: the session's visibility, join restriction, member counts.
    RelatedInfo,
    /// `customProperties`: the session's `properties.custom`.
    CustomProperties,
    /// `roleInfo`: the session's role types (search handles).
    RoleInfo,
}

impl fmt::Display for Include {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RelatedInfo => "relatedInfo",
            Self::CustomProperties => "customProperties",
            Self::RoleInfo => "roleInfo",
        })
    }
}

/// A handle creation being prepared; [`send`](CreateHandle::send) performs it.
#[derive(Debug)]
#[must_use = "a handle is not created until the request is sent"]
pub struct CreateHandle<'c> {
    client: &'c MpsdClient,
    body: HandleRequest,
    retry: bool,
    customizations: Customizations<'c>,
}

impl<'c> CreateHandle<'c> {
    fn new(client: &'c MpsdClient, body: HandleRequest) -> Self {
        Self {
            client,
            body,
            retry: false,
            customizations: Customizations::default(),
        }
    }

    customize_one!(CreateHandle);

    /// Retry on 408/429/5xx and connection errors. Off by default: a retried invite whose answer was
    /// lost sends a second invite.
    pub fn retry_on_failure(mut self) -> Self {
        self.retry = true;
        self
    }

    /// Creates the handle; [`CreatedHandle::id`] is its id.
    pub fn send(self) -> impl Future<Output = Result<CreatedHandle, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self {
                client,
                body,
                retry,
                customizations,
            } = self;
            let body = CreateHandleRequest::try_from(body)
                .map_err(|e| Error::InvalidRequest(format!("handle request: {e}")))?;
            client
                .call(RetryMode::write(retry), || async {
                    let request = client.wire().create_handle().body(body.clone());
                    let result = customizations.apply(request)?.send().await;
                    match answer(result) {
                        Ok(Answer::Typed(value)) => Ok(Some(value.into_inner())),
                        // Another 2xx (e.g. 202): a success, with the handle when the body is one.
                        Ok(Answer::Raw(response)) => raw_success(response, true).await,
                        // A 200/201 with an empty body: the only decode failure with nothing to decode.
                        Err(Error::InvalidResponse { body, .. }) if body.is_empty() => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .await
                .map(|document| CreatedHandle { document })
        })
    }
}

/// A handle the service created: its id and the handle document it answered with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CreatedHandle {
    /// The handle document, when the answer had one (the docs say the activity POST answers without a
    /// body; the service sends one).
    pub document: Option<HandleDocument>,
}

impl CreatedHandle {
    /// The handle's id; `None` when the answer had no document (or no valid id in it).
    pub fn id(&self) -> Option<HandleId> {
        self.document.as_ref().and_then(HandleDocument::id)
    }
}

impl MpsdClient {
    /// Prepares the creation of a handle (see [`activity_request`], [`invite_request`],
    /// [`search_request`], [`transfer_request`]). Not retried unless the call opts in.
    ///
    /// ```
    /// use xbl_mpsd_ext::{HandleId, Include, MpsdClient, SessionReference, XblToken, handles, SessionDelta};
    /// use xbl_mpsd_ext::types::HandleTypeKind;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// # let client = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
    /// let session: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// client.write(&session, SessionDelta::new().join("2533274792693551".parse()?)).send().await?;
    ///
    /// // Publish the user's activity, find it as a friend would, then clear it.
    /// let activity = client.create_handle(handles::activity_request(&session)).send().await?;
    /// let id: HandleId = activity.id().ok_or("no id")?;
    /// let query = handles::activities_query(&session.scid, &["2533274792693551".parse()?]);
    /// let found = client.query_handles(query).include(Include::RelatedInfo).send().await?;
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(client.get_handle(id).send().await?.type_.kind(), HandleTypeKind::Activity);
    /// client.delete_handle(id).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create_handle(&self, body: impl Into<HandleRequest>) -> CreateHandle<'_> {
        CreateHandle::new(self, body.into())
    }

    /// Prepares a read of a handle document; [`send`](GetHandle::send) performs it. Retried per the
    /// policy.
    pub fn get_handle(&self, handle: HandleId) -> GetHandle<'_> {
        GetHandle {
            client: self,
            handle,
            customizations: Customizations::default(),
        }
    }

    /// Prepares the deletion of a handle (clears an activity, removes a search handle);
    /// [`send`](DeleteHandle::send) performs it. Retried per the policy.
    pub fn delete_handle(&self, handle: HandleId) -> DeleteHandle<'_> {
        DeleteHandle {
            client: self,
            handle,
            customizations: Customizations::default(),
        }
    }

    /// Prepares a query of activity or search handles (see [`activities_query`],
    /// [`social_activities_query`], [`search_query`]); [`include`](QueryHandles::include) adds sections
    /// to each result, [`send`](QueryHandles::send) performs it. Retried per the policy.
    pub fn query_handles(&self, query: impl Into<HandleQuery>) -> QueryHandles<'_> {
        QueryHandles {
            client: self,
            query: query.into(),
            include: Vec::new(),
            customizations: Customizations::default(),
        }
    }
}

/// A handle read being prepared; [`send`](GetHandle::send) performs it. From [`MpsdClient::get_handle`].
#[derive(Debug)]
#[must_use = "a read does nothing until it is sent"]
pub struct GetHandle<'c> {
    client: &'c MpsdClient,
    handle: HandleId,
    customizations: Customizations<'c>,
}

impl<'c> GetHandle<'c> {
    customize_one!(GetHandle);

    /// Reads the handle document; a handle that does not exist is [`Error::HandleNotFound`].
    pub fn send(self) -> impl Future<Output = Result<HandleDocument, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self {
                client,
                handle,
                customizations,
            } = self;
            client
                .call(RetryMode::Idempotent, || async {
                    let request = client.wire().get_handle().handle_id(handle);
                    let result = customizations.apply(request)?.send().await;
                    match answer(result)? {
                        Answer::Typed(value) => Ok(value.into_inner()),
                        // Another 2xx is a success too; it is usable only with the handle document.
                        Answer::Raw(response) => {
                            let status = response.status();
                            raw_success(response, true).await?.ok_or_else(|| {
                                Error::InvalidResponse {
                                    status: Some(status),
                                    reason: "a success without the handle document".into(),
                                    body: String::new(),
                                }
                            })
                        }
                    }
                })
                .await
        })
    }
}

/// A handle deletion being prepared; [`send`](DeleteHandle::send) performs it. From
/// [`MpsdClient::delete_handle`].
#[derive(Debug)]
#[must_use = "a handle is not deleted until the request is sent"]
pub struct DeleteHandle<'c> {
    client: &'c MpsdClient,
    handle: HandleId,
    customizations: Customizations<'c>,
}

impl<'c> DeleteHandle<'c> {
    customize_one!(DeleteHandle);

    /// Deletes the handle.
    pub fn send(self) -> impl Future<Output = Result<(), Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self {
                client,
                handle,
                customizations,
            } = self;
            client
                .call(RetryMode::Idempotent, || async {
                    let request = client.wire().delete_handle().handle_id(handle);
                    let result = customizations.apply(request)?.send().await;
                    match answer(result)? {
                        Answer::Typed(_) => Ok(()),
                        Answer::Raw(response) if response.status().is_success() => Ok(()),
                        Answer::Raw(response) => Err(error_from(response, true).await),
                    }
                })
                .await
        })
    }
}

/// A handle query being prepared; [`send`](QueryHandles::send) performs it. From
/// [`MpsdClient::query_handles`].
#[derive(Debug)]
#[must_use = "a query does nothing until it is sent"]
pub struct QueryHandles<'c> {
    client: &'c MpsdClient,
    query: HandleQuery,
    include: Vec<Include>,
    customizations: Customizations<'c>,
}

impl<'c> QueryHandles<'c> {
    customize_one!(QueryHandles);

    /// Adds a section to each result (`?include=`); call once per section. None by default.
    pub fn include(mut self, section: Include) -> Self {
        if !self.include.contains(&section) {
            self.include.push(section);
        }
        self
    }

    /// Runs the query: the matching handles (at most 100, no paging). A query missing a required field
    /// is an [`Error::InvalidRequest`].
    pub fn send(self) -> impl Future<Output = Result<Vec<HandleDocument>, Error>> + Send + 'c {
        crate::sending::boxed(async move {
            let Self {
                client,
                query,
                include,
                customizations,
            } = self;
            let query = HandleQueryRequest::try_from(query)
                .map_err(|e| Error::InvalidRequest(format!("handle query: {e}")))?;
            let include = (!include.is_empty()).then(|| {
                include
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            });
            client
                .call(RetryMode::Idempotent, || async {
                    let mut request = client.wire().query_handles().body(query.clone());
                    if let Some(include) = &include {
                        request = request.include(include.as_str());
                    }
                    match answer(customizations.apply(request)?.send().await)? {
                        Answer::Typed(value) => Ok(value.into_inner().results),
                        // Another 2xx: a success; no results unless its body is a query answer.
                        Answer::Raw(response) => {
                            Ok(raw_success::<types::HandleQueryResponse>(response, false)
                                .await?
                                .map(|r| r.results)
                                .unwrap_or_default())
                        }
                    }
                })
                .await
        })
    }
}
