//! Sessions as the client returns them, their versions, and how a call addresses one.

use std::fmt;
use std::time::SystemTime;

use xbl_mpsd_api::types::MultiplayerSession;

use crate::ids::HandleId;
use crate::session_ref::SessionReference;

/// A session's version, as the service sent it in `ETag`; sent back verbatim in `If-Match`.
///
/// Opaque (MPSD sends e.g. a bare GUID); only checked to be a valid header value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ETag(String);

/// An [`ETag`] that cannot be sent as a header value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid ETag {0:?}: it must be non-empty visible ASCII")]
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

/// A session document with what the response headers said about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The document.
    pub document: MultiplayerSession,
    /// Its version (`ETag`), for a synchronized update.
    pub etag: Option<ETag>,
    /// The session's reference: from `Content-Location` (the only way to learn it when going through a
    /// handle), else the reference the call addressed.
    pub reference: Option<SessionReference>,
    /// The service time of this rendering (`Date`).
    pub retrieved: Option<SystemTime>,
}

impl Session {
    /// The XUIDs of the members listed in the document, in index order (large sessions list only `me`).
    pub fn member_xuids(&self) -> Vec<String> {
        let mut members: Vec<(u64, String)> = self
            .document
            .members
            .iter()
            .filter_map(|(key, member)| {
                let xuid = member.constants.as_ref()?.system.as_ref()?.xuid.as_ref()?;
                Some((key.parse().unwrap_or(u64::MAX), xuid.as_str().to_owned()))
            })
            .collect();
        members.sort();
        members.into_iter().map(|(_, xuid)| xuid).collect()
    }
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
        let session = Session {
            document,
            etag: None,
            reference: None,
            retrieved: None,
        };
        assert_eq!(session.member_xuids(), ["1", "2", "3"]);
    }
}
