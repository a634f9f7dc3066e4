//! What the generated structs' `Deserialize` impls call (`xtask/src/postprocess.rs` writes them).
//!
//! serde's derive writes, per struct, a field-name enum with four visitor methods that each match every
//! name, and for a struct with a flattened map of unknown keys (every generated document keeps one) a
//! buffer of every unknown key and value as serde's private `Content`, decoded into the map at the end. That
//! was half of this crate's code before expansion and most of its type-check and borrow-check time, which
//! every consumer pays. The generated impls instead match the key once and take each value straight into
//! its field, and unknown keys straight into the map, through these shared functions; the decoded value,
//! its errors (`missing field`, `duplicate field`) and its unknown keys are the same.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// A map key, borrowed from the input when it can be.
#[doc(hidden)]
pub struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value.to_owned())))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Decodes the value of the field `name` into `slot`; a second value for it is an error, as serde's derive.
#[doc(hidden)]
pub fn field<'de, T, M>(
    slot: &mut Option<T>,
    map: &mut M,
    name: &'static str,
) -> Result<(), M::Error>
where
    T: Deserialize<'de>,
    M: MapAccess<'de>,
{
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Keeps the value of an unknown key in the struct's map of unknown keys (a repeated key keeps its last value).
#[doc(hidden)]
pub fn unknown<'de, M: MapAccess<'de>>(
    extra: &mut serde_json::Map<String, serde_json::Value>,
    key: Key<'de>,
    map: &mut M,
) -> Result<(), M::Error> {
    let value = map.next_value()?;
    extra.insert(key.0.into_owned(), value);
    Ok(())
}

/// Skips the value of an unknown key (a struct without a map of unknown keys).
#[doc(hidden)]
pub fn skip<'de, M: MapAccess<'de>>(map: &mut M) -> Result<(), M::Error> {
    map.next_value::<de::IgnoredAny>().map(|_| ())
}

/// The value of a required field, or serde's `missing field` error.
#[doc(hidden)]
pub fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::types::{CreateHandleRequest, MultiplayerSession};

    #[test]
    fn keys_decode_borrowed_escaped_and_owned() {
        // An escaped key cannot be borrowed from the input; a `Value` hands over owned keys.
        let session =
            MultiplayerSession::deserialize(serde_json::json!({"changeNumber": 3, "x\u{e9}": 1}))
                .unwrap();
        assert_eq!(session.change_number.as_ref(), Some(&3));
        assert_eq!(session.extra["x\u{e9}"], 1);
        let session: MultiplayerSession =
            serde_json::from_str(r#"{"change\u004eumber": 4, "a\"b": [1]}"#).unwrap();
        assert_eq!(session.change_number.as_ref(), Some(&4));
        assert_eq!(session.extra["a\"b"], serde_json::json!([1]));
    }

    /// The keys of a map, their values skipped, as a generated decoder of a struct without a map of unknown
    /// keys does.
    struct Keys(Vec<String>);

    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<M: serde::de::MapAccess<'de>>(
                    self,
                    mut map: M,
                ) -> Result<Keys, M::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<super::Key<'de>>()? {
                        keys.push(key.as_str().to_owned());
                        super::skip(&mut map)?;
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Visit)
        }
    }

    #[test]
    fn skip_passes_over_a_value_of_any_shape() {
        let keys: Keys =
            serde_json::from_str(r#"{"a": {"b": [1, {"c": null}]}, "d": "x", "e\u0021": 2.5}"#)
                .unwrap();
        assert_eq!(keys.0, ["a", "d", "e!"]);
        assert!(serde_json::from_str::<Keys>(r#"{"a": [1, }"#).is_err());
    }

    #[test]
    fn errors_are_serdes() {
        let twice =
            serde_json::from_str::<MultiplayerSession>(r#"{"changeNumber": 1, "changeNumber": 2}"#)
                .unwrap_err()
                .to_string();
        assert!(
            twice.starts_with("duplicate field `changeNumber`"),
            "{twice}"
        );
        let missing =
            serde_json::from_str::<CreateHandleRequest>(r#"{"version": 1, "type": "activity"}"#)
                .unwrap_err()
                .to_string();
        assert!(
            missing.starts_with("missing field `sessionRef`"),
            "{missing}"
        );
        let not_a_map = serde_json::from_str::<MultiplayerSession>("[1]")
            .unwrap_err()
            .to_string();
        assert!(
            not_a_map.starts_with("invalid type: sequence, expected struct MultiplayerSession"),
            "{not_a_map}"
        );
        // An unknown key repeated keeps its last value (as serde's flattened map did).
        let last: MultiplayerSession = serde_json::from_str(r#"{"x": 1, "x": 2}"#).unwrap();
        assert_eq!(last.extra["x"], 2);
    }
}
