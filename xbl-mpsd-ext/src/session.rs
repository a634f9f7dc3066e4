//! Sessions as the client returns them, their versions, and how a call addresses one.

use std::fmt;
use std::sync::OnceLock;
use std::time::SystemTime;

use bytes::Bytes;
use reqwest::header::{CONTENT_LOCATION, DATE, ETAG, HeaderMap};

use serde::de::DeserializeOwned;
use serde_json::Value;
use xbl_mpsd_api::types::{
    Custom, MultiplayerSession, Restriction, SessionConstantsSystem, SessionMember,
    SessionPropertiesSystem, Visibility,
};
use xbl_mpsd_api::{MemberKey, Nullable};

use crate::ids::{HandleId, Xuid};
use crate::session_ref::SessionReference;

/// A session's version, as the service sent it in `ETag`; sent back verbatim in `If-Match`.
///
/// Opaque (MPSD sends e.g. a bare GUID); only checked to be a valid header value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ETag(String);

/// An [`ETag`] that cannot be sent as a header value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid ETag {0:?}: it must be non-empty visible ASCII")]
#[non_exhaustive]
pub struct InvalidETag(pub String);

impl ETag {
    /// Wraps an ETag value.
    ///
    /// ```
    /// use xbl_mpsd_ext::ETag;
    /// let etag = ETag::new("9555A7DE-8B91-40E4-8CFB-0629312C9C7D")?;
    /// assert_eq!(etag.as_str(), "9555A7DE-8B91-40E4-8CFB-0629312C9C7D");
    /// assert!(ETag::new("two\nlines").is_err());
    /// # Ok::<(), xbl_mpsd_ext::InvalidETag>(())
    /// ```
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidETag> {
        let value = value.into();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            Ok(Self(value))
        } else {
            Err(InvalidETag(value))
        }
    }

    /// The value as sent by the service.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ETag {
    type Err = InvalidETag;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A session document with what the response headers said about it: its version ([`etag`](Self::etag)),
/// its reference ([`reference`](Self::reference)) and when the service rendered it
/// ([`retrieved`](Self::retrieved)).
///
/// What games read most has an accessor ([`visibility`](Self::visibility), [`max_members`](Self::max_members),
/// [`join_restriction`](Self::join_restriction), [`keywords`](Self::keywords),
/// [`member_count`](Self::member_count), [`member_status`](Self::member_status), …); the whole typed document
/// is [`document`](Self::document), and the body exactly as received is [`raw_json`](Self::raw_json).
///
/// The headers are kept as they came and read when first asked for, not when the answer arrives: a
/// caller that only reads the document pays nothing for them. Two sessions are equal when their documents,
/// ETags, references and dates are.
#[derive(Clone)]
pub struct Session {
    /// The document.
    pub document: MultiplayerSession,
    /// The body the document was decoded from, as received (`None` for a session made from a document).
    raw: Option<Bytes>,
    /// The answer's headers (empty for a session made with [`from_document`](Self::from_document)).
    headers: HeaderMap,
    /// The reference the call addressed, if any: the reference when `Content-Location` is absent or does
    /// not parse.
    addressed: Option<SessionReference>,
    etag: OnceLock<Option<ETag>>,
    reference: OnceLock<Option<SessionReference>>,
    retrieved: OnceLock<Option<SystemTime>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("document", &self.document)
            .field("etag", &self.etag())
            .field("reference", &self.reference())
            .field("retrieved", &self.retrieved())
            .finish()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        self.document == other.document
            && self.etag() == other.etag()
            && self.reference() == other.reference()
            && self.retrieved() == other.retrieved()
    }
}

/// A custom property that is not what the caller asked for.
#[derive(Debug, thiserror::Error)]
#[error("custom property {key:?} is not the expected type: {source}")]
#[non_exhaustive]
pub struct CustomReadError {
    /// The property's key (`""` for the whole `custom` section).
    pub key: String,
    /// What serde said.
    #[source]
    pub source: serde_json::Error,
}

/// A member's status, as XSAPI derives it (`XblMultiplayerSessionMemberStatus`): reserved while it has not
/// written yet, else active, else ready, else inactive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MemberStatus {
    /// Reserved by another member or a server; the user has not joined yet (`reserved: true`).
    Reserved,
    /// Playing (`properties.system.active: true`).
    Active,
    /// Ready to become active (`properties.system.ready: true`).
    Ready,
    /// In the session but neither active nor ready.
    Inactive,
}

impl MemberStatus {
    /// The status of `member`.
    pub fn of(member: &SessionMember) -> Self {
        let system = member.properties.as_ref().and_then(|p| p.system.as_ref());
        let flag = |read: fn(&xbl_mpsd_api::types::MemberPropertiesSystem) -> &Nullable<bool>| {
            system.and_then(|s| read(s).as_ref().copied()) == Some(true)
        };
        if member.reserved.as_ref().copied() == Some(true) {
            Self::Reserved
        } else if flag(|s| &s.active) {
            Self::Active
        } else if flag(|s| &s.ready) {
            Self::Ready
        } else {
            Self::Inactive
        }
    }
}

fn read_custom<T: DeserializeOwned>(
    custom: Option<&Custom>,
    key: Option<&str>,
) -> Result<Option<T>, CustomReadError> {
    let value = match (custom, key) {
        (None, _) => return Ok(None),
        (Some(custom), None) => &custom.0,
        (Some(custom), Some(key)) => match custom.0.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(value) => value,
        },
    };
    T::deserialize(value)
        .map(Some)
        .map_err(|source| CustomReadError {
            key: key.unwrap_or_default().to_owned(),
            source,
        })
}

impl Session {
    /// The members listed in the document by key, `me` first, then indices in order (large sessions list
    /// only `me`).
    pub fn members(&self) -> Vec<(&MemberKey, &SessionMember)> {
        let mut members: Vec<(&MemberKey, &SessionMember)> = self
            .document
            .members
            .as_ref()
            .into_iter()
            .flatten()
            .collect();
        members.sort_by_key(|(key, _)| *key);
        members
    }

    /// The member whose XUID is `xuid`, if listed.
    pub fn member(&self, xuid: Xuid) -> Option<&SessionMember> {
        self.document
            .members
            .as_ref()?
            .values()
            .find(|member| member_xuid(member) == Some(xuid))
    }

    /// The status of the member `xuid` (reserved, active, ready or inactive); `None` when not listed.
    pub fn member_status(&self, xuid: Xuid) -> Option<MemberStatus> {
        self.member(xuid).map(MemberStatus::of)
    }

    /// The roles of the member `xuid`: role name by role type (empty when it has none or is not listed).
    pub fn member_roles(&self, xuid: Xuid) -> Vec<(&str, &str)> {
        self.member(xuid)
            .and_then(|m| m.roles.as_ref())
            .into_iter()
            .flatten()
            .map(|(kind, role)| (kind.as_str(), role.as_str()))
            .collect()
    }

    /// How many members the session has: `membersInfo.count` (accepted members; a large session lists only
    /// `me`), else the members listed.
    pub fn member_count(&self) -> usize {
        let listed = self.document.members.as_ref().map_or(0, |m| m.len());
        self.document
            .members_info
            .as_ref()
            .and_then(|info| info.count.as_ref())
            .and_then(|count| usize::try_from(*count).ok())
            .unwrap_or(listed)
    }

    fn constants_system(&self) -> Option<&SessionConstantsSystem> {
        self.document.constants.as_ref()?.system.as_ref()
    }

    fn properties_system(&self) -> Option<&SessionPropertiesSystem> {
        self.document.properties.as_ref()?.system.as_ref()
    }

    /// Who can see the session (`constants.system.visibility`).
    pub fn visibility(&self) -> Option<&Visibility> {
        self.constants_system()?.visibility.as_ref()
    }

    /// The most members the session takes (`constants.system.maxMembersCount`).
    pub fn max_members(&self) -> Option<u32> {
        let count = self.constants_system()?.max_members_count.as_ref()?;
        u32::try_from(*count).ok()
    }

    /// Who may join (`properties.system.joinRestriction`).
    pub fn join_restriction(&self) -> Option<&Restriction> {
        self.properties_system()?.join_restriction.as_ref()
    }

    /// Who may read (`properties.system.readRestriction`).
    pub fn read_restriction(&self) -> Option<&Restriction> {
        self.properties_system()?.read_restriction.as_ref()
    }

    /// The session's keywords (`properties.system.keywords`; empty when none).
    pub fn keywords(&self) -> &[String] {
        self.properties_system()
            .and_then(|s| s.keywords.as_ref())
            .map_or(&[], Vec::as_slice)
    }

    /// The member indices whose turn it is (`properties.system.turn`; empty when none).
    pub fn turn(&self) -> &[i64] {
        self.properties_system()
            .and_then(|s| s.turn.as_ref())
            .map_or(&[], Vec::as_slice)
    }

    /// The host's device token (`properties.system.host`).
    pub fn host(&self) -> Option<&str> {
        self.properties_system()?.host.as_ref().map(String::as_str)
    }

    /// Whether the session is closed for joining (`properties.system.closed`).
    pub fn is_closed(&self) -> bool {
        self.properties_system()
            .and_then(|s| s.closed.as_ref().copied())
            .unwrap_or(false)
    }

    /// Whether the session is locked (`properties.system.locked`).
    pub fn is_locked(&self) -> bool {
        self.properties_system()
            .and_then(|s| s.locked.as_ref().copied())
            .unwrap_or(false)
    }

    /// The session's change number (`changeNumber`).
    pub fn change_number(&self) -> Option<u64> {
        let number = self.document.change_number.as_ref()?;
        u64::try_from(*number).ok()
    }

    /// The body this session was decoded from, byte for byte as the service sent it; `None` for a session
    /// made from a document ([`from_document`](Self::from_document)).
    pub fn raw_json(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }

    /// The XUIDs of the members listed in the document, in index order (large sessions list only `me`).
    /// A member whose XUID the service sent in a form that does not parse is left out.
    pub fn member_xuids(&self) -> Vec<Xuid> {
        self.members()
            .into_iter()
            .filter_map(|(_, member)| member_xuid(member))
            .collect()
    }

    /// The session's whole `properties.custom` section as a `T`; `None` when there is none.
    ///
    /// ```
    /// # use xbl_mpsd_ext::{Session, types::MultiplayerSession};
    /// #[derive(serde::Deserialize)]
    /// struct Lobby { map: String, round: u32 }
    ///
    /// let document: MultiplayerSession = serde_json::from_value(serde_json::json!(
    ///     {"properties": {"custom": {"map": "lava", "round": 3}}}))?;
    /// # let session = Session::from_document(document);
    /// let lobby: Lobby = session.custom()?.ok_or("no custom properties")?;
    /// assert_eq!((lobby.map.as_str(), lobby.round), ("lava", 3));
    /// assert_eq!(session.custom_property::<u32>("round")?, Some(3));
    /// assert!(session.custom_property::<u32>("map").is_err()); // a string, not a number
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn custom<T: DeserializeOwned>(&self) -> Result<Option<T>, CustomReadError> {
        read_custom(self.custom_section(), None)
    }

    /// One custom session property (`properties.custom.<key>`) as a `T`; `None` when absent or `null`.
    pub fn custom_property<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, CustomReadError> {
        read_custom(self.custom_section(), Some(key))
    }

    /// One custom property of the member `xuid` (`members.<i>.properties.custom.<key>`) as a `T`;
    /// `None` when the member or the property is absent.
    pub fn member_custom_property<T: DeserializeOwned>(
        &self,
        xuid: Xuid,
        key: &str,
    ) -> Result<Option<T>, CustomReadError> {
        let custom = self
            .member(xuid)
            .and_then(|m| m.properties.as_ref()?.custom.as_ref());
        read_custom(custom, Some(key))
    }

    fn custom_section(&self) -> Option<&Custom> {
        self.document.properties.as_ref()?.custom.as_ref()
    }

    /// A session with no ETag, reference or date (e.g. a document read from a file); see
    /// [`with_etag`](Self::with_etag) and its siblings to give it some.
    ///
    /// ```
    /// use xbl_mpsd_ext::{ETag, Session, SessionReference, types::MultiplayerSession};
    ///
    /// let reference: SessionReference = "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1".parse()?;
    /// let session = Session::from_document(MultiplayerSession::default())
    ///     .with_etag(ETag::new("E1")?)
    ///     .with_reference(reference.clone());
    /// assert_eq!(session.etag().map(ETag::as_str), Some("E1"));
    /// assert_eq!(session.reference(), Some(&reference));
    /// assert_eq!(session.retrieved(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_document(document: MultiplayerSession) -> Self {
        Self::from_answer(document, HeaderMap::new(), None, None)
    }

    /// A session from a document and the headers of the answer it came in; `addressed` is the reference
    /// the call addressed, if any (the reference when `Content-Location` is absent or does not parse).
    pub(crate) fn from_answer(
        document: MultiplayerSession,
        headers: HeaderMap,
        addressed: Option<SessionReference>,
        raw: Option<Bytes>,
    ) -> Self {
        Self {
            document,
            raw,
            headers,
            addressed,
            etag: OnceLock::new(),
            reference: OnceLock::new(),
            retrieved: OnceLock::new(),
        }
    }

    /// This session with version `etag` (instead of the answer's `ETag`).
    pub fn with_etag(self, etag: ETag) -> Self {
        Self {
            etag: OnceLock::from(Some(etag)),
            ..self
        }
    }

    /// This session with reference `reference` (instead of the answer's `Content-Location`).
    pub fn with_reference(self, reference: SessionReference) -> Self {
        Self {
            reference: OnceLock::from(Some(reference)),
            ..self
        }
    }

    /// This session rendered at `retrieved` (instead of the answer's `Date`).
    pub fn with_retrieved(self, retrieved: SystemTime) -> Self {
        Self {
            retrieved: OnceLock::from(Some(retrieved)),
            ..self
        }
    }

    /// Its version (`ETag`), for a synchronized update; `None` when the answer had none (or one that is
    /// not a valid header value).
    pub fn etag(&self) -> Option<&ETag> {
        self.etag
            .get_or_init(|| {
                let value = self.headers.get(ETAG)?.to_str().ok()?;
                ETag::new(value).ok()
            })
            .as_ref()
    }

    /// The session's reference: from `Content-Location` (the only way to learn it when going through a
    /// handle), else the reference the call addressed.
    pub fn reference(&self) -> Option<&SessionReference> {
        self.reference
            .get_or_init(|| {
                let location = self
                    .headers
                    .get(CONTENT_LOCATION)
                    .and_then(|v| v.to_str().ok());
                match location.map(SessionReference::from_uri_path) {
                    Some(Ok(reference)) => Some(reference),
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "ignoring an unparsable Content-Location");
                        self.addressed.clone()
                    }
                    None => self.addressed.clone(),
                }
            })
            .as_ref()
    }

    /// The service time of this rendering (`Date`); `None` when the answer had no valid one.
    pub fn retrieved(&self) -> Option<SystemTime> {
        *self.retrieved.get_or_init(|| {
            let value = self.headers.get(DATE)?.to_str().ok()?;
            httpdate::parse_http_date(value).ok()
        })
    }
}

/// The member's XUID, when its document holds a valid one.
pub(crate) fn member_xuid(member: &SessionMember) -> Option<Xuid> {
    member
        .constants
        .as_ref()?
        .system
        .as_ref()?
        .xuid
        .as_ref()?
        .value()
}

/// How a call addresses a session: through a handle, or by its reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SessionTarget {
    /// `…/handles/{handleId}/session`: dereference an activity, invite, search or transfer handle.
    Handle(HandleId),
    /// `/serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`.
    Reference(SessionReference),
}

impl SessionTarget {
    /// The reference, when the target is one.
    pub fn reference(&self) -> Option<&SessionReference> {
        match self {
            Self::Handle(_) => None,
            Self::Reference(reference) => Some(reference),
        }
    }

    pub(crate) fn is_handle(&self) -> bool {
        matches!(self, Self::Handle(_))
    }
}

impl From<HandleId> for SessionTarget {
    fn from(handle: HandleId) -> Self {
        Self::Handle(handle)
    }
}

impl From<SessionReference> for SessionTarget {
    fn from(reference: SessionReference) -> Self {
        Self::Reference(reference)
    }
}

impl From<&SessionReference> for SessionTarget {
    fn from(reference: &SessionReference) -> Self {
        Self::Reference(reference.clone())
    }
}

impl fmt::Display for SessionTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handle(handle) => write!(f, "/handles/{handle}/session"),
            Self::Reference(reference) => write!(f, "{reference}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_properties_read_typed_and_report_mismatches() {
        let document: MultiplayerSession = serde_json::from_value(serde_json::json!({
            "properties": {"custom": {"map": "lava", "gone": null}},
            "members": {"0": {"constants": {"system": {"xuid": "7"}},
                              "properties": {"custom": {"team": "red"}}}}
        }))
        .unwrap();
        let session = Session::from_document(document);
        assert_eq!(
            session.custom_property::<String>("map").unwrap().as_deref(),
            Some("lava")
        );
        assert_eq!(session.custom_property::<String>("gone").unwrap(), None);
        assert_eq!(session.custom_property::<String>("absent").unwrap(), None);
        let err = session.custom_property::<u8>("map").unwrap_err();
        assert_eq!(err.key, "map");
        let seven: Xuid = "7".parse().unwrap();
        assert_eq!(
            session
                .member_custom_property::<String>(seven, "team")
                .unwrap()
                .as_deref(),
            Some("red")
        );
        assert_eq!(
            session
                .member_custom_property::<String>("8".parse().unwrap(), "team")
                .unwrap(),
            None
        );
        assert_eq!(
            Session::from_document(MultiplayerSession::default())
                .custom::<Value>()
                .unwrap(),
            None
        );
    }

    fn answer_headers(pairs: &[(reqwest::header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(name.clone(), value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn a_session_reads_its_headers_when_asked_and_equals_one_given_them() {
        const LOCATION: &str = "/serviceconfigs/MockScid/sessionTemplates/Lobby/sessions/S1";
        let headers = answer_headers(&[
            (ETAG, "E7"),
            (CONTENT_LOCATION, LOCATION),
            (DATE, "Sat, 28 Nov 2026 10:00:00 GMT"),
        ]);
        let read = Session::from_answer(MultiplayerSession::default(), headers, None, None);
        let reference: SessionReference = LOCATION.parse().unwrap();
        let date = httpdate::parse_http_date("Sat, 28 Nov 2026 10:00:00 GMT").unwrap();
        let given = Session::from_document(MultiplayerSession::default())
            .with_etag(ETag::new("E7").unwrap())
            .with_reference(reference.clone())
            .with_retrieved(date);
        // Equal before and after the headers were read, and a clone of either is equal too.
        let unread = read.clone();
        assert_eq!(unread, given);
        assert_eq!(read.etag().map(ETag::as_str), Some("E7"));
        assert_eq!(read.reference(), Some(&reference));
        assert_eq!(read.retrieved(), Some(date));
        assert_eq!(read, given);
        assert_eq!(read, unread);
        assert_eq!(format!("{read:?}"), format!("{given:?}"));
        assert!(format!("{read:?}").contains("E7"));
        assert_ne!(read, Session::from_document(MultiplayerSession::default()));
    }

    #[test]
    fn a_missing_or_unparsable_location_falls_back_to_the_addressed_reference() {
        let addressed: SessionReference =
            "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/s1"
                .parse()
                .unwrap();
        for headers in [
            answer_headers(&[]),
            answer_headers(&[(CONTENT_LOCATION, "/not/a/session")]),
        ] {
            let session = Session::from_answer(
                MultiplayerSession::default(),
                headers.clone(),
                Some(addressed.clone()),
                None,
            );
            assert_eq!(session.reference(), Some(&addressed), "{headers:?}");
            let session = Session::from_answer(MultiplayerSession::default(), headers, None, None);
            assert_eq!(session.reference(), None);
        }
        // Invalid values read as absent.
        let session = Session::from_answer(
            MultiplayerSession::default(),
            answer_headers(&[(ETAG, ""), (DATE, "yesterday")]),
            None,
            None,
        );
        assert_eq!(session.etag(), None);
        assert_eq!(session.retrieved(), None);
    }

    #[test]
    fn etags_are_opaque_header_values() {
        assert!(ETag::new("\"quoted\"").is_ok());
        assert!(ETag::new("").is_err());
        assert!(ETag::new("a\r\nInjected: 1").is_err());
        assert!(ETag::new("é").is_err());
    }

    #[test]
    fn member_xuids_follow_the_index_order() {
        let document: MultiplayerSession = serde_json::from_value(serde_json::json!({
            "members": {
                "10": {"constants": {"system": {"xuid": "3"}}},
                "2": {"constants": {"system": {"xuid": "2"}}},
                "0": {"constants": {"system": {"xuid": "1"}}}
            }
        }))
        .unwrap();
        let session = Session::from_document(document);
        let xuids: Vec<u64> = session.member_xuids().into_iter().map(Xuid::get).collect();
        assert_eq!(xuids, [1, 2, 3]);
        assert!(session.member("2".parse().unwrap()).is_some());
        assert!(session.member("4".parse().unwrap()).is_none());
    }
}
