//! [`Lenient`]: a typed identifier in a document that still keeps whatever the service actually sent.
//!
//! Identifiers are strict where a caller writes them (`"12ab".parse::<Xuid>()` is an error), but a document
//! read from the service must decode even when a field is not what the spec says — XSAPI's fixtures carry
//! `"id": ""` and `"invitedXuid": ""` — and must re-encode exactly as it was read, so that a
//! read-modify-write never changes data it did not mean to touch. Document fields that hold identifiers are
//! therefore `Lenient<T>`: the parsed value when the text parses, and the received text whenever it is not
//! the value's canonical form (another case of a GUID, leading zeros, a JSON number, an empty string).

use std::fmt;
use std::hash::Hash;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// What a [`Lenient`] received when it is not the canonical string of its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Raw {
    /// A string (non-canonical, or not parseable at all).
    Text(Box<str>),
    /// A JSON number that is not negative.
    Unsigned(u64),
    /// A negative JSON number.
    Signed(i64),
}

/// A typed value from a document, keeping the received text whenever it is not canonical.
///
/// `get()` gives the typed value when the text parses; serialization writes back exactly what was read.
/// Build one from a value with `From` (`Lenient::from(xuid)`, or pass the value to a generated builder's
/// setter, which converts it).
///
/// ```
/// use xbl_mpsd_api::{Lenient, Xuid};
///
/// let x: Lenient<Xuid> = serde_json::from_str(r#""2533274792693551""#)?;
/// assert_eq!(x.get().map(|x| x.get()), Some(2533274792693551));
///
/// let empty: Lenient<Xuid> = serde_json::from_str(r#""""#)?; // seen in XSAPI's fixtures
/// assert_eq!(empty.get(), None);
/// assert_eq!(serde_json::to_string(&empty)?, r#""""#); // written back as it was read
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Lenient<T> {
    value: Option<T>,
    raw: Option<Raw>,
}

impl<T> Lenient<T> {
    /// The typed value, when the received text parsed.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The typed value, when the received text parsed.
    pub fn into_inner(self) -> Option<T> {
        self.value
    }

    /// Whether the received text parsed as a `T`.
    pub fn is_valid(&self) -> bool {
        self.value.is_some()
    }
}

impl<T: Copy> Lenient<T> {
    /// The typed value by copy, when the received text parsed.
    pub fn value(&self) -> Option<T> {
        self.value
    }
}

impl<T: FromStr + fmt::Display> Lenient<T> {
    /// Parses `text` leniently: never fails, keeps `text` unless it is the canonical form of its value.
    pub fn parse(text: &str) -> Self {
        match text.parse::<T>() {
            Ok(value) => {
                let raw = (value.to_string() != text).then(|| Raw::Text(text.into()));
                Self {
                    value: Some(value),
                    raw,
                }
            }
            Err(_) => Self {
                value: None,
                raw: Some(Raw::Text(text.into())),
            },
        }
    }

    /// The text this value is written as.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    fn from_number(raw: Raw, digits: String) -> Self {
        Self {
            value: digits.parse().ok(),
            raw: Some(raw),
        }
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(value: T) -> Self {
        Self {
            value: Some(value),
            raw: None,
        }
    }
}

impl<T: PartialEq> PartialEq<T> for Lenient<T> {
    fn eq(&self, other: &T) -> bool {
        self.value.as_ref() == Some(other)
    }
}

impl<T: FromStr + fmt::Display> FromStr for Lenient<T> {
    type Err = std::convert::Infallible;

    /// Never fails; see [`Lenient::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl<T: fmt::Display> fmt::Display for Lenient<T> {
    /// Writes the received text, or the value's canonical text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.raw, &self.value) {
            (Some(Raw::Text(text)), _) => f.write_str(text),
            (Some(Raw::Unsigned(n)), _) => fmt::Display::fmt(n, f),
            (Some(Raw::Signed(n)), _) => fmt::Display::fmt(n, f),
            (None, Some(value)) => fmt::Display::fmt(value, f),
            (None, None) => Ok(()),
        }
    }
}

impl<T: fmt::Display> fmt::Debug for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.value, &self.raw) {
            (Some(value), None) => write!(f, "{value}"),
            (Some(value), Some(_)) => write!(f, "{value} (received {:?})", self.to_string()),
            (None, _) => write!(f, "invalid {:?}", self.to_string()),
        }
    }
}

/// As received; a value that parsed and reads back as received (no `raw` kept) as the value itself, which
/// for every `T` a generated field uses (`Xuid`, `TitleId`, `HandleId`, `Uuid`) is its `Display` text.
impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (&self.raw, &self.value) {
            (Some(Raw::Text(text)), _) => s.serialize_str(text),
            (Some(Raw::Unsigned(n)), _) => s.serialize_u64(*n),
            (Some(Raw::Signed(n)), _) => s.serialize_i64(*n),
            (None, Some(value)) => value.serialize(s),
            (None, None) => s.serialize_str(""),
        }
    }
}

impl<'de, T: FromStr + fmt::Display> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);

        impl<T: FromStr + fmt::Display> de::Visitor<'_> for Visitor<T> {
            type Value = Lenient<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient::parse(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Lenient::from_number(Raw::Unsigned(v), v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if let Ok(unsigned) = u64::try_from(v) {
                    return self.visit_u64(unsigned);
                }
                Ok(Lenient::from_number(Raw::Signed(v), v.to_string()))
            }
        }

        d.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Lenient<T> {
    fn schema_name() -> String {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        T::json_schema(generator)
    }

    fn is_referenceable() -> bool {
        T::is_referenceable()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use uuid::Uuid;

    use super::*;
    use crate::{HandleId, TitleId, Xuid};

    fn round_trip<T: FromStr + fmt::Display + Serialize>(input: Value) -> (Lenient<T>, Value) {
        let parsed: Lenient<T> = serde_json::from_value(input).unwrap();
        let back = serde_json::to_value(&parsed).unwrap();
        (parsed, back)
    }

    #[test]
    fn canonical_text_parses_and_is_written_from_the_value() {
        let (x, back) = round_trip::<Xuid>(json!("2533274792693551"));
        assert_eq!(x, Xuid::new(2533274792693551).unwrap());
        assert!(x.raw.is_none());
        assert_eq!(back, json!("2533274792693551"));
        assert_eq!(x.to_text(), "2533274792693551");
    }

    #[test]
    fn non_canonical_and_invalid_text_is_kept_verbatim() {
        for (input, valid) in [
            (json!(""), false),
            (json!("0042"), true),
            (json!("not a xuid"), false),
            (json!(2533274792693551u64), true),
            (json!(-5), false),
        ] {
            let (x, back) = round_trip::<Xuid>(input.clone());
            assert_eq!(back, input);
            assert_eq!(x.is_valid(), valid, "{input}");
        }
        let upper = "7A4F1D77-8B1F-4D11-9C3E-0D2B3E4F5A6B";
        let (id, back) = round_trip::<HandleId>(json!(upper));
        assert_eq!(back, json!(upper));
        assert_eq!(
            id.get().map(|h| h.to_string().to_uppercase()),
            Some(upper.to_owned())
        );
        let (guid, back) = round_trip::<Uuid>(json!("19de0095d8bb41048f19edbbb6bc6b04"));
        assert!(guid.is_valid());
        assert_eq!(back, json!("19de0095d8bb41048f19edbbb6bc6b04"));
        let (title, _) = round_trip::<TitleId>(json!("1234"));
        assert_eq!(title.value(), Some(TitleId::new(1234)));
    }

    #[test]
    fn other_json_types_are_refused() {
        assert!(serde_json::from_value::<Lenient<Xuid>>(json!({})).is_err());
        assert!(serde_json::from_value::<Lenient<Xuid>>(json!(true)).is_err());
    }

    #[test]
    fn from_value_is_canonical() {
        let x = Lenient::from(Xuid::new(7).unwrap());
        assert_eq!(serde_json::to_value(&x).unwrap(), json!("7"));
        assert_eq!(format!("{x:?}"), "7");
        assert_eq!(format!("{:?}", Lenient::<Xuid>::parse("")), "invalid \"\"");
    }

    proptest! {
        #[test]
        fn every_string_round_trips(text in ".*") {
            let (_, back) = round_trip::<Xuid>(json!(text.clone()));
            prop_assert_eq!(back, json!(text.clone()));
            let (_, back) = round_trip::<Uuid>(json!(text.clone()));
            prop_assert_eq!(back, json!(text));
        }

        #[test]
        fn every_integer_round_trips(n in proptest::num::i64::ANY) {
            let (_, back) = round_trip::<Xuid>(json!(n));
            prop_assert_eq!(back, json!(n));
        }
    }
}
