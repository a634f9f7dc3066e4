//! [`ConnectionId`]: the id of a Real-Time Activity (RTA) connection, as MPSD knows it.
//!
//! A client subscribes to the RTA resource `https://sessiondirectory.xboxlive.com/connections/`; the reply's
//! `ConnectionId` names that websocket to MPSD, and a member writes it to `properties.system.connection` so
//! the service counts the member as connected and sends it shoulder taps (XSAPI
//! `Source/Services/Multiplayer/multiplayer_service.cpp`, `multiplayer_subscription.cpp`). The service sends
//! a GUID; the SDK keeps the text it was given.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An RTA connection id (`ConnectionId` of the `connections/` subscription), written to a member's
/// `connection`.
///
/// ```
/// use xbl_mpsd_api::ConnectionId;
/// let id: ConnectionId = "d01a6c36-5e3f-4a5b-9d0e-0a1b2c3d4e5f".parse()?;
/// assert_eq!(id.as_str(), "d01a6c36-5e3f-4a5b-9d0e-0a1b2c3d4e5f");
/// assert!("".parse::<ConnectionId>().is_err());
/// # Ok::<(), xbl_mpsd_api::ConnectionIdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(Box<str>);

/// A [`ConnectionId`] that is empty or holds control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionIdError(pub String);

impl fmt::Display for ConnectionIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid RTA connection id {:?}: it must be non-empty text without control characters",
            self.0
        )
    }
}

impl std::error::Error for ConnectionIdError {}

impl ConnectionId {
    /// Checks and wraps a connection id.
    pub fn new(text: impl Into<String>) -> Result<Self, ConnectionIdError> {
        let text = text.into();
        if text.is_empty() || text.chars().any(char::is_control) {
            Err(ConnectionIdError(text))
        } else {
            Ok(Self(text.into()))
        }
    }

    /// The id as the RTA service sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ConnectionId {
    type Err = ConnectionIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({:?})", &*self.0)
    }
}

impl Serialize for ConnectionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ConnectionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_printable_text_is_kept_and_bad_text_is_refused() {
        for good in ["d01a", "D01A6C36-5E3F-4A5B-9D0E-0A1B2C3D4E5F", "x y"] {
            let id: ConnectionId = good.parse().unwrap();
            assert_eq!(id.to_string(), good);
            assert_eq!(serde_json::to_value(&id).unwrap(), good);
        }
        for bad in ["", "a\nb", "\u{7f}"] {
            assert_eq!(
                bad.parse::<ConnectionId>(),
                Err(ConnectionIdError(bad.to_owned()))
            );
        }
        assert!(serde_json::from_str::<ConnectionId>(r#""""#).is_err());
    }
}
