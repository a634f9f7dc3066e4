//! [`Nullable`]: an optional document field that can also be `null`.
//!
//! MPSD merges a PUT body into the session, and each key has three meanings there: absent leaves the value as
//! it is, `null` deletes it, and a value (including `[]` and `{}`) sets it. `Option<T>` has room for two of
//! them, so every optional field of a generated document is a `Nullable<T>`: decoding keeps which of the three
//! arrived, and encoding writes exactly that back (an absent field stays absent, `null` stays `null`, `[]`
//! stays `[]`).
//!
//! ```
//! use xbl_mpsd_api::{Nullable, types::SessionPropertiesSystem};
//!
//! let system: SessionPropertiesSystem =
//!     serde_json::from_str(r#"{"keywords":[],"matchmaking":null}"#)?;
//! assert_eq!(system.keywords, Nullable::Value(vec![]));
//! assert!(system.matchmaking.is_null());
//! assert!(system.turn.is_absent());
//! assert_eq!(serde_json::to_string(&system)?, r#"{"keywords":[],"matchmaking":null}"#);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An optional field that may also be `null`: absent, `null`, or a value.
///
/// In a delta: [`Absent`](Nullable::Absent) leaves the session's value unchanged, [`Null`](Nullable::Null)
/// deletes it, [`Value`](Nullable::Value) sets it. In a document read from the service it says which of the
/// three the service wrote. Generated structs skip an absent field when encoding (`is_absent`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Nullable<T> {
    /// The key is not there (in a delta: leave the value unchanged).
    #[default]
    Absent,
    /// The key is `null` (in a delta: delete the value).
    Null,
    /// The key has this value (in a delta: set it).
    Value(T),
}

impl<T> Nullable<T> {
    /// Whether the key is absent (what `skip_serializing_if` asks).
    pub const fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// Whether the key is `null`.
    pub const fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Whether the key has a value.
    pub const fn is_value(&self) -> bool {
        matches!(self, Self::Value(_))
    }

    /// The value by reference; `None` when absent or `null`.
    pub const fn as_ref(&self) -> Option<&T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Null => None,
        }
    }

    /// The value by mutable reference; `None` when absent or `null`.
    pub fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Null => None,
        }
    }

    /// The value; `None` when absent or `null`.
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Null => None,
        }
    }

    /// The value, made from `f` first when absent or `null`.
    pub fn get_or_insert_with(&mut self, f: impl FnOnce() -> T) -> &mut T {
        if !self.is_value() {
            *self = Self::Value(f());
        }
        match self {
            Self::Value(value) => value,
            // Just set above.
            Self::Absent | Self::Null => unreachable!("a value was just inserted"),
        }
    }

    /// Maps the value, keeping absent and `null` as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Nullable<U> {
        match self {
            Self::Absent => Nullable::Absent,
            Self::Null => Nullable::Null,
            Self::Value(value) => Nullable::Value(f(value)),
        }
    }
}

impl<T> From<T> for Nullable<T> {
    /// A value (in a delta: set it).
    fn from(value: T) -> Self {
        Self::Value(value)
    }
}

impl<T> From<Option<T>> for Nullable<T> {
    /// `Some` as a value, `None` as absent (not written). Write [`Nullable::Null`] to send `null`.
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Absent, Self::Value)
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    /// A value as itself; `null` (and absent, where a container writes it anyway) as `null`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(value) => value.serialize(serializer),
            Self::Absent | Self::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    /// `null` as [`Null`](Nullable::Null), anything else as a value (an absent key is the field's default).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Self::Value(value),
            None => Self::Null,
        })
    }
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Nullable<T> {
    fn is_referenceable() -> bool {
        false
    }

    fn schema_name() -> String {
        <Option<T>>::schema_name()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        <Option<T>>::json_schema(generator)
    }

    fn _schemars_private_is_option() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Doc {
        #[serde(default, skip_serializing_if = "Nullable::is_absent")]
        list: Nullable<Vec<u8>>,
        #[serde(default, skip_serializing_if = "Nullable::is_absent")]
        text: Nullable<String>,
    }

    #[test]
    fn each_of_the_three_meanings_round_trips() {
        for (json, expected) in [
            (
                r#"{}"#,
                Doc {
                    list: Nullable::Absent,
                    text: Nullable::Absent,
                },
            ),
            (
                r#"{"list":null,"text":null}"#,
                Doc {
                    list: Nullable::Null,
                    text: Nullable::Null,
                },
            ),
            (
                r#"{"list":[],"text":""}"#,
                Doc {
                    list: Nullable::Value(vec![]),
                    text: Nullable::Value(String::new()),
                },
            ),
        ] {
            let doc: Doc = serde_json::from_str(json).unwrap();
            assert_eq!(doc, expected, "{json}");
            assert_eq!(serde_json::to_string(&doc).unwrap(), json);
        }
    }

    #[test]
    fn accessors_see_only_a_value() {
        let mut field: Nullable<u8> = Nullable::Null;
        assert_eq!(field.as_ref(), None);
        *field.get_or_insert_with(|| 1) += 1;
        assert_eq!(field, Nullable::Value(2));
        assert_eq!(field.map(u16::from).into_option(), Some(2u16));
        assert_eq!(Nullable::from(3u8).as_mut(), Some(&mut 3));
    }
}
