//! Session queries, clearing the caller's activity, and invites to several players.
//!
//! * [`MpsdClient::query_sessions`]: the sessions of a SCID (or one template) by player or keyword. Like XSAPI's
//!   `SessionQuery::PathAndQuery` (`Source/Services/Multiplayer/multiplayer_service.cpp`), one XUID (or none)
//!   is `GET …/sessions?xuid=…` and several are `POST …/batch` with `{"xuids": […]}`. The rules XSAPI checks
//!   before sending (`MultiplayerService::GetSessions`, `XblMultiplayerQuerySessionsAsync`) are checked here
//!   too, as a [`QueryRule`], and so are the service's bounds (`take` and a batch at most 100).
//! * [`MpsdClient::clear_activity`]: deletes the caller's activity handle(s) in a SCID, as XSAPI's
//!   `ClearActivity` does, but reports no activity or several as an [`ActivityCleared`] instead of failing.
//! * [`MpsdClient::send_invites`]: one invite handle per invitee, in order, each sent once (never retried:
//!   a retried invite whose answer was lost is a second invite), as XSAPI's `SendInvites`; one
//!   [`InviteResult`] per invitee, a failure naming its invitee and not stopping the others.
//!
//! `docs/mpsd-notes.md` ("Session queries") names the public source of each rule.

use xbl_mpsd_api::Lenient;
use xbl_mpsd_api::types::{
    self, SessionQueryBatchRequest, SessionQueryResponse, Visibility, VisibilityKind,
};

use crate::client::MpsdClient;
use crate::customize::Customizations;
use crate::error::Error;
use crate::ids::{Scid, Xuid};
use crate::response::{Answer, answer, raw_success};
use crate::retry::RetryMode;
use crate::session_ref::SessionTemplateName;

mod activity;
mod found;
mod invites;

pub use activity::{ActivityCleared, ClearActivity};
pub use found::FoundSession;
pub use invites::{InviteResult, SendInvites};

/// The most results a session query answers (`take`: "This number must be between 0 and 100", DOCS
/// `uri-serviceconfigsscidbatchpost.md`).
pub const MAX_TAKE: u32 = 100;

/// The most XUIDs one batch query sends. No public source gives the service's limit and XSAPI sends every XUID
/// it is given (`SessionQuery::RequestBody`); the SDK keeps to 100, the bound of every other MPSD list, which the
/// spec and the emulator enforce. Query more players in several calls.
pub const MAX_BATCH_XUIDS: usize = 100;

/// A rule a session query breaks, found before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryRule {
    /// Neither a XUID nor a keyword (XSAPI `MultiplayerService::GetSessions` refuses it; DOCS: "Each call to
    /// this method must include a keyword, an Xbox user ID filter, or both").
    #[error("a session query needs a XUID, a keyword or both")]
    NoFilter,
    /// `reservations` without a XUID (XSAPI `GetSessions`).
    #[error("a session query with reservations needs a XUID")]
    ReservationsWithoutXuid,
    /// `inactive` without a XUID (XSAPI `GetSessions`).
    #[error("a session query with inactive sessions needs a XUID")]
    InactiveWithoutXuid,
    /// `take` above [`MAX_TAKE`] (DOCS: "between 0 and 100").
    #[error("take is {take}; a session query answers at most {MAX_TAKE} sessions")]
    TakeTooLarge {
        /// The `take` asked for.
        take: u32,
    },
    /// More than [`MAX_BATCH_XUIDS`] XUIDs.
    #[error("{count} XUIDs; a batch query takes at most {MAX_BATCH_XUIDS}")]
    TooManyXuids {
        /// How many XUIDs the query has.
        count: usize,
    },
    /// A visibility MPSD does not filter by (XSAPI refuses its `Unknown` visibility,
    /// `XblMultiplayerQuerySessionsAsync`).
    #[error(
        "visibility {0:?} is not one a session query filters by (open, visible, full, private)"
    )]
    UnknownVisibility(String),
    /// `visibility` `private` without [`SessionQuery::private`] (DOCS `uri-serviceconfigsscidbatchpost.md`:
    /// "If it is set to "private", the private parameter must be set to true").
    #[error("a session query for private sessions needs private(true)")]
    PrivateVisibilityWithoutPrivate,
}

/// Why a session query failed: refused before sending, or by the service (or the transport).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The query breaks a rule; nothing was sent.
    #[error("session query not sent: {0}")]
    Rule(#[from] QueryRule),
    /// The request failed.
    #[error(transparent)]
    Request(#[from] Error),
}

impl QueryError {
    /// The rule the query breaks, when it was refused before sending.
    pub fn rule(&self) -> Option<&QueryRule> {
        match self {
            Self::Rule(rule) => Some(rule),
            Self::Request(_) => None,
        }
    }
}

impl From<QueryError> for Error {
    /// A refused query becomes [`Error::InvalidRequest`] (with the rule's text), for callers that handle one
    /// error type.
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Rule(rule) => Error::InvalidRequest(rule.to_string()),
            QueryError::Request(error) => error,
        }
    }
}

/// A session query being built; [`send`](SessionQuery::send) performs it. From [`MpsdClient::query_sessions`].
#[derive(Clone, Debug)]
#[must_use = "a query does nothing until it is sent"]
pub struct SessionQuery<'c> {
    client: &'c MpsdClient,
    scid: Scid,
    template: Option<SessionTemplateName>,
    xuids: Vec<Xuid>,
    keyword: Option<String>,
    visibility: Option<Visibility>,
    version: Option<u32>,
    take: Option<u32>,
    private: bool,
    reservations: bool,
    inactive: bool,
    customizations: Customizations<'c>,
}

/// Sets the query-string filters shared by the four generated query builders.
macro_rules! with_filters {
    ($request:expr, $query:expr) => {{
        let query = $query;
        let mut request = $request;
        if let Some(keyword) = &query.keyword {
            request = request.keyword(keyword.clone());
        }
        if let Some(visibility) = &query.visibility {
            request = request.visibility(visibility.clone());
        }
        if let Some(version) = query.version {
            request = request.version(version);
        }
        if let Some(take) = query.take {
            request = request.take(take);
        }
        if query.private {
            request = request.private(true);
        }
        if query.reservations {
            request = request.reservations(true);
        }
        if query.inactive {
            request = request.inactive(true);
        }
        request
    }};
}

impl<'c> SessionQuery<'c> {
    fn new(client: &'c MpsdClient, scid: Scid) -> Self {
        Self {
            client,
            scid,
            template: None,
            xuids: Vec::new(),
            keyword: None,
            visibility: None,
            version: None,
            take: None,
            private: false,
            reservations: false,
            inactive: false,
            customizations: Customizations::default(),
        }
    }

    /// Only the sessions of this template.
    pub fn template(mut self, template: SessionTemplateName) -> Self {
        self.template = Some(template);
        self
    }

    /// Only sessions this user is a member of (active, unless [`inactive`](Self::inactive) or
    /// [`reservations`](Self::reservations) add others). Several XUIDs make a batch query.
    pub fn xuid(mut self, xuid: Xuid) -> Self {
        self.xuids.push(xuid);
        self
    }

    /// [`xuid`](Self::xuid) for each of `xuids`, in order (the results come back in this order).
    pub fn xuids(mut self, xuids: impl IntoIterator<Item = Xuid>) -> Self {
        self.xuids.extend(xuids);
        self
    }

    /// Only sessions with this keyword (compared ignoring case). An empty keyword is no keyword, as in XSAPI.
    pub fn keyword(mut self, keyword: impl Into<String>) -> Self {
        let keyword = keyword.into();
        self.keyword = (!keyword.is_empty()).then_some(keyword);
        self
    }

    /// Only sessions with this visibility as a result reports it (`open`, `visible`, `full`; `private` with
    /// [`private`](Self::private)).
    pub fn visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = Some(visibility);
        self
    }

    /// Only sessions whose major version is at most `version` (at most the contract version modulo 100); 0
    /// sends no version filter, as in XSAPI.
    pub fn version(mut self, version: u32) -> Self {
        self.version = (version != 0).then_some(version);
        self
    }

    /// At most `take` results (at most [`MAX_TAKE`]); 0 sends no `take` (the service's cap, 100), as in XSAPI.
    pub fn take(mut self, take: u32) -> Self {
        self.take = (take != 0).then_some(take);
        self
    }

    /// Private sessions too. The service allows it only for the caller's own XUID (or a server): 403 otherwise.
    pub fn private(mut self, include: bool) -> Self {
        self.private = include;
        self
    }

    /// Sessions where the user is only reserved too. Needs a XUID; the service allows it only for the caller's
    /// own XUID (or a server): 403 otherwise.
    pub fn reservations(mut self, include: bool) -> Self {
        self.reservations = include;
        self
    }

    /// Sessions where the user is a member but not active (e.g. only "ready") too. Needs a XUID.
    pub fn inactive(mut self, include: bool) -> Self {
        self.inactive = include;
        self
    }

    /// Whether the query is sent as a batch (`POST …/batch`): more than one XUID, as XSAPI decides.
    pub fn is_batch(&self) -> bool {
        self.xuids.len() > 1
    }

    /// Checks the rules the query must keep before it is sent ([`send`](Self::send) checks them too).
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, query::QueryRule};
    /// let client = MpsdClient::builder().build()?;
    /// let query = client.query_sessions("MockScid".parse()?).inactive(true);
    /// assert_eq!(query.check(), Err(QueryRule::NoFilter));
    /// let query = query.keyword("ctf");
    /// assert_eq!(query.check(), Err(QueryRule::InactiveWithoutXuid));
    /// assert_eq!(query.xuid("2533274792693551".parse()?).check(), Ok(()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self) -> Result<(), QueryRule> {
        if self.xuids.is_empty() {
            if self.keyword.is_none() {
                return Err(QueryRule::NoFilter);
            }
            if self.reservations {
                return Err(QueryRule::ReservationsWithoutXuid);
            }
            if self.inactive {
                return Err(QueryRule::InactiveWithoutXuid);
            }
        }
        if let Some(take) = self.take.filter(|take| *take > MAX_TAKE) {
            return Err(QueryRule::TakeTooLarge { take });
        }
        if self.xuids.len() > MAX_BATCH_XUIDS {
            return Err(QueryRule::TooManyXuids {
                count: self.xuids.len(),
            });
        }
        if let Some(visibility) = &self.visibility {
            match visibility.kind() {
                VisibilityKind::Private if !self.private => {
                    return Err(QueryRule::PrivateVisibilityWithoutPrivate);
                }
                VisibilityKind::Other => {
                    return Err(QueryRule::UnknownVisibility(visibility.as_str().to_owned()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    crate::customize::customize_any! {
        /// Changes the generated request before it is sent, e.g. to set a query parameter this builder has no
        /// method for yet: `change` gets the generated builder the query sends (type its parameter:
        /// `api::builder::QuerySessions`, `QueryTemplateSessions`, `QuerySessionsBatch` or
        /// `QueryTemplateSessionsBatch`, by whether a template and several XUIDs are set) after every filter
        /// of this builder is on it. Give one closure per builder the query may send; see
        /// [`customize`](crate::customize).
        ///
        /// ```
        /// # use xbl_mpsd_ext::{MpsdClient, XblToken, api::builder};
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
        /// # let client = MpsdClient::builder().base_url(emulator.base_url())
        /// #     .token(XblToken::new("-", "2533274792693551")?).build()?;
        /// let found = client
        ///     .query_sessions("00000000-0000-0000-0000-000000000001".parse()?)
        ///     .template("lobby".parse()?)
        ///     .keyword("ctf")
        ///     .customize(|request: builder::QueryTemplateSessions<'_>| request.take(5))
        ///     .send()
        ///     .await?;
        /// assert!(found.is_empty());
        /// # Ok(()) }
        /// ```
    }

    /// Checks the rules, then sends the query (`GET …/sessions` for one XUID or none, `POST …/batch` for
    /// more) and returns the sessions found, at most 100. A read, so retried per the policy (the batch POST
    /// too: it changes nothing).
    pub fn send(self) -> impl Future<Output = Result<Vec<FoundSession>, QueryError>> + Send + 'c {
        crate::sending::boxed(async move {
            self.check()?;
            let client = self.client;
            let api = client.wire();
            let results = client
                .call(RetryMode::Idempotent, || async {
                    // Each arm builds a different generated builder; these two steps are the same for all.
                    macro_rules! one_xuid {
                        ($query:expr, $request:expr) => {
                            match $query.xuids.first() {
                                Some(xuid) => $request.xuid(Lenient::from(*xuid)),
                                None => $request,
                            }
                        };
                    }
                    macro_rules! filtered_send {
                        ($query:expr, $request:expr) => {
                            $query
                                .customizations
                                .apply(with_filters!($request, &$query))?
                                .send()
                                .await
                        };
                    }
                    let response = match (&self.template, self.is_batch()) {
                        (None, false) => {
                            let request = api.query_sessions().scid(self.scid.clone());
                            filtered_send!(self, one_xuid!(self, request))
                        }
                        (Some(template), false) => {
                            let request = api
                                .query_template_sessions()
                                .scid(self.scid.clone())
                                .session_template_name(template.clone());
                            filtered_send!(self, one_xuid!(self, request))
                        }
                        (None, true) => {
                            let request = api
                                .query_sessions_batch()
                                .scid(self.scid.clone())
                                .body(self.batch_body());
                            filtered_send!(self, request)
                        }
                        (Some(template), true) => {
                            let request = api
                                .query_template_sessions_batch()
                                .scid(self.scid.clone())
                                .session_template_name(template.clone())
                                .body(self.batch_body());
                            filtered_send!(self, request)
                        }
                    };
                    match answer(response)? {
                        Answer::Typed(value) => Ok(value.into_inner().results),
                        // Another 2xx: a success; no results unless its body is a query answer.
                        Answer::Raw(response) => {
                            Ok(raw_success::<SessionQueryResponse>(response, false)
                                .await?
                                .map(|answer| answer.results)
                                .unwrap_or_default())
                        }
                    }
                })
                .await?;
            Ok(results.into_iter().map(FoundSession::new).collect())
        })
    }

    fn batch_body(&self) -> types::builder::SessionQueryBatchRequest {
        SessionQueryBatchRequest::builder().xuids(
            self.xuids
                .iter()
                .copied()
                .map(Lenient::from)
                .collect::<Vec<_>>(),
        )
    }
}

impl MpsdClient {
    /// Prepares a query for the sessions of `scid` by player ([`xuid`](SessionQuery::xuid)) or keyword:
    /// `GET …/sessions` for one XUID or none, `POST …/batch` for more, as XSAPI does.
    ///
    /// ```
    /// use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken};
    /// use xbl_mpsd_ext::types::{QueryMemberStatusKind, Visibility};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    /// # let friend = MpsdClient::builder().base_url(emulator.base_url())
    /// #     .token(XblToken::new("-", "2814679796296491")?).build()?;
    /// # let lobby: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/l1".parse()?;
    /// # friend.write(&lobby, SessionDelta::new().join("2814679796296491".parse()?).keywords(["ctf"])).send().await?;
    /// let client = MpsdClient::builder()
    /// #   .base_url(emulator.base_url())
    ///     .token(XblToken::new("-", "2533274792693551")?)
    ///     .build()?;
    /// // The open sessions a friend is playing in.
    /// let found = client
    ///     .query_sessions("MockScid".parse()?)
    ///     .xuid("2814679796296491".parse()?)
    ///     .visibility(Visibility::OPEN)
    ///     .send()
    ///     .await?;
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(found[0].session_ref().name.as_str(), "l1");
    /// assert_eq!(found[0].status(), Some(QueryMemberStatusKind::Active));
    /// assert_eq!(found[0].keywords(), ["ctf"]);
    /// # Ok(()) }
    /// ```
    pub fn query_sessions(&self, scid: Scid) -> SessionQuery<'_> {
        SessionQuery::new(self, scid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TitleId;

    fn client() -> MpsdClient {
        MpsdClient::builder().build().unwrap()
    }

    fn xuid(n: u64) -> Xuid {
        n.to_string().parse().unwrap()
    }

    #[test]
    fn xsapis_rules_are_checked_before_sending() {
        let client = client();
        let query = || client.query_sessions("MockScid".parse().unwrap());
        assert_eq!(query().check(), Err(QueryRule::NoFilter));
        assert_eq!(query().keyword("").check(), Err(QueryRule::NoFilter));
        assert_eq!(query().keyword("ctf").check(), Ok(()));
        assert_eq!(query().xuid(xuid(1)).check(), Ok(()));
        assert_eq!(
            query().keyword("ctf").reservations(true).check(),
            Err(QueryRule::ReservationsWithoutXuid)
        );
        assert_eq!(
            query().keyword("ctf").inactive(true).check(),
            Err(QueryRule::InactiveWithoutXuid)
        );
        assert_eq!(
            query()
                .xuid(xuid(1))
                .reservations(true)
                .inactive(true)
                .check(),
            Ok(())
        );
    }

    #[test]
    fn take_and_the_batch_size_are_bounded() {
        let client = client();
        let query = || {
            client
                .query_sessions("MockScid".parse().unwrap())
                .keyword("k")
        };
        assert_eq!(query().take(100).check(), Ok(()));
        assert_eq!(
            query().take(101).check(),
            Err(QueryRule::TakeTooLarge { take: 101 })
        );
        assert_eq!(query().take(0).take, None, "0 sends no take, as in XSAPI");
        assert_eq!(query().version(0).version, None);
        assert!(!query().xuid(xuid(1)).is_batch());
        assert!(query().xuids([xuid(1), xuid(2)]).is_batch());
        let hundred = (1..=100).map(xuid);
        assert_eq!(query().xuids(hundred).check(), Ok(()));
        let many = (1..=101).map(xuid);
        assert_eq!(
            query().xuids(many).check(),
            Err(QueryRule::TooManyXuids { count: 101 })
        );
    }

    #[test]
    fn visibility_must_be_one_mpsd_filters_by() {
        let client = client();
        let query = || {
            client
                .query_sessions("MockScid".parse().unwrap())
                .xuid(xuid(7))
        };
        for known in ["open", "Visible", "FULL"] {
            assert_eq!(query().visibility(Visibility::from(known)).check(), Ok(()));
        }
        assert_eq!(
            query().visibility(Visibility::from("any")).check(),
            Err(QueryRule::UnknownVisibility("any".into()))
        );
        assert_eq!(
            query().visibility(Visibility::PRIVATE).check(),
            Err(QueryRule::PrivateVisibilityWithoutPrivate)
        );
        assert_eq!(
            query()
                .visibility(Visibility::PRIVATE)
                .private(true)
                .check(),
            Ok(())
        );
    }

    #[test]
    fn a_refused_query_names_its_rule_and_converts_to_an_error() {
        let error = QueryError::from(QueryRule::TakeTooLarge { take: 500 });
        assert_eq!(error.rule(), Some(&QueryRule::TakeTooLarge { take: 500 }));
        assert_eq!(
            error.to_string(),
            "session query not sent: take is 500; a session query answers at most 100 sessions"
        );
        let error = Error::from(error);
        assert!(matches!(error, Error::InvalidRequest(text) if text.contains("take is 500")));
    }

    #[tokio::test]
    async fn send_refuses_a_bad_query_without_a_request() {
        // No server at this address: a request would fail with a transport error, not a rule.
        let client = MpsdClient::builder()
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let error = client
            .query_sessions("MockScid".parse().unwrap())
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.rule(), Some(&QueryRule::NoFilter));
        let error = client
            .send_invites(
                &"/serviceconfigs/s/sessionTemplates/t/sessions/n"
                    .parse()
                    .unwrap(),
                [],
                TitleId::new(1),
                None,
            )
            .send()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidRequest(_)));
    }
}
