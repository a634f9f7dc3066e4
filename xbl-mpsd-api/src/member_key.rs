//! [`MemberKey`]: a key of a session's `members` map.
//!
//! A session document lists members by decimal index (`"0"`, `"4"`); a large session lists only the caller
//! as `"me"`. A delta writes `"me"` for the caller, `"reserve_<n>"` to reserve a slot for another user, and
//! `"<index>": null` to remove a member (server principals). Any other key is kept as it arrived, so a
//! document always re-encodes unchanged (MPSD docs, "MultiplayerSession (JSON)";
//! XSAPI `Source/Services/Multiplayer/multiplayer_serializers.cpp`).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A key of a session's `members` map: the caller, a member index, a reservation, or any other text.
///
/// Parsing never fails and keeps the text: `"05"` is [`Other`](MemberKey::Other), not index 5, so it is
/// written back as `"05"`. Keys order as `me`, then indices by number, then reservations by number, then the
/// rest by text.
///
/// ```
/// use xbl_mpsd_api::MemberKey;
/// assert_eq!("me".parse::<MemberKey>()?, MemberKey::Me);
/// assert_eq!("12".parse::<MemberKey>()?, MemberKey::Index(12));
/// assert_eq!("reserve_1".parse::<MemberKey>()?, MemberKey::Reserve(1));
/// assert_eq!(MemberKey::Reserve(1).to_string(), "reserve_1");
/// assert_eq!("05".parse::<MemberKey>()?.to_string(), "05");
/// # Ok::<(), std::convert::Infallible>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MemberKey {
    /// `me`: the caller.
    Me,
    /// A member's index (`"0"`, `"4"`), in canonical decimal.
    Index(u32),
    /// `reserve_<n>`: the n-th reservation of a delta.
    Reserve(u32),
    /// Any other key, as received.
    Other(Box<str>),
}

impl MemberKey {
    /// The member index, when the key is one.
    pub fn index(&self) -> Option<u32> {
        match self {
            Self::Index(index) => Some(*index),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Me => 0,
            Self::Index(_) => 1,
            Self::Reserve(_) => 2,
            Self::Other(_) => 3,
        }
    }
}

/// `n` when `text` is `n` in canonical decimal (no sign, no leading zero).
fn canonical_u32(text: &str) -> Option<u32> {
    let n: u32 = text.parse().ok()?;
    (text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0')))
        .then_some(n)
}

impl FromStr for MemberKey {
    type Err = std::convert::Infallible;

    /// Never fails; see the type's docs.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "me" {
            Self::Me
        } else if let Some(index) = canonical_u32(s) {
            Self::Index(index)
        } else if let Some(n) = s.strip_prefix("reserve_").and_then(canonical_u32) {
            Self::Reserve(n)
        } else {
            Self::Other(s.into())
        })
    }
}

impl From<u32> for MemberKey {
    fn from(index: u32) -> Self {
        Self::Index(index)
    }
}

impl fmt::Display for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Me => f.write_str("me"),
            Self::Index(index) => write!(f, "{index}"),
            Self::Reserve(n) => write!(f, "reserve_{n}"),
            Self::Other(text) => f.write_str(text),
        }
    }
}

impl Ord for MemberKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Index(a), Self::Index(b)) | (Self::Reserve(a), Self::Reserve(b)) => a.cmp(b),
            (Self::Other(a), Self::Other(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for MemberKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for MemberKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The `Display` text, without `core::fmt` (`collect_str` escapes each fragment it writes): a member
        // map's keys are most of what encoding a large session formats (BENCHMARKS.md, P2').
        match self {
            Self::Me => serializer.serialize_str("me"),
            Self::Index(index) => serializer.serialize_str(itoa::Buffer::new().format(*index)),
            Self::Reserve(n) => {
                let mut text = String::with_capacity(18);
                text.push_str("reserve_");
                text.push_str(itoa::Buffer::new().format(*n));
                serializer.serialize_str(&text)
            }
            Self::Other(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for MemberKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl serde::de::Visitor<'_> for Key {
            type Value = MemberKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member key")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MemberKey, E> {
                Ok(v.parse()
                    .unwrap_or_else(|never: std::convert::Infallible| match never {}))
            }
        }
        deserializer.deserialize_str(Key)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for MemberKey {
    fn schema_name() -> String {
        "MemberKey".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_sort_me_first_then_indices_by_number() {
        let mut keys: Vec<MemberKey> =
            ["reserve_0", "10", "x", "me", "2", "reserve_10", "reserve_2"]
                .iter()
                .map(|k| k.parse().unwrap())
                .collect();
        keys.sort();
        let text: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["me", "2", "10", "reserve_0", "reserve_2", "reserve_10", "x"]
        );
    }

    #[test]
    fn a_map_keyed_by_member_key_round_trips() {
        let json = r#"{"me":1,"0":2,"07":3,"reserve_0":4,"reserve_01":5,"-1":6}"#;
        let map: indexmap::IndexMap<MemberKey, u8> = serde_json::from_str(json).unwrap();
        assert_eq!(map.get(&MemberKey::Index(0)), Some(&2));
        assert_eq!(serde_json::to_string(&map).unwrap(), json);
    }

    proptest! {
        #[test]
        fn any_text_is_written_back_as_it_was(text in ".{0,12}") {
            let key: MemberKey = text.parse().unwrap();
            prop_assert_eq!(key.to_string(), text);
        }

        #[test]
        fn the_encoded_key_is_its_display_text(n: u32, text in ".{0,12}") {
            for key in [MemberKey::Index(n), MemberKey::Reserve(n), text.parse().unwrap()] {
                prop_assert_eq!(
                    serde_json::to_string(&key).unwrap(),
                    serde_json::to_string(&key.to_string()).unwrap()
                );
            }
        }
    }
}
