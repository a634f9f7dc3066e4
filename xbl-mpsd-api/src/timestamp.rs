//! [`Timestamp`]: a document's date-time, kept as the text that arrived.
//!
//! The service writes timestamps with seven fractional digits (`"2016-06-08T17:03:19.5578022Z"`); parsing
//! that into a `DateTime` and formatting it again changes the text (`…19.557802200Z`), so a read-modify-write
//! would rewrite fields it never meant to touch. A `Timestamp` keeps the text and parses it only when asked
//! (`Timestamp::to_datetime`, with the `chrono` feature); encoding writes the text back unchanged, which is also
//! cheaper than formatting. Without the feature this crate does not build chrono: the SDK itself needs the
//! instant only for timers (`xbl-mpsd-ext`'s `rta` feature turns it on), and a program that only sends requests
//! does not pay for a date-time library (BENCHMARKS.md, P7).

use std::fmt;
use std::str::FromStr;

#[cfg(feature = "chrono")]
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 8601 / RFC 3339 date-time from a document, written back exactly as it was received.
///
/// Two timestamps are equal when their texts are; compare `to_datetime()` (feature `chrono`) for the instant.
/// A `Timestamp` made from a chrono `DateTime` is written in RFC 3339 with a `Z`.
///
/// ```
/// use xbl_mpsd_api::Timestamp;
///
/// let t: Timestamp = serde_json::from_str(r#""2016-06-08T17:03:19.5578022Z""#)?;
/// assert_eq!(t.as_str(), "2016-06-08T17:03:19.5578022Z");
/// assert_eq!(serde_json::to_string(&t)?, r#""2016-06-08T17:03:19.5578022Z""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(Box<str>);

/// A [`Timestamp`]'s text is not an RFC 3339 date-time.
#[cfg(feature = "chrono")]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimestampError {
    /// The text that did not parse.
    pub text: String,
    /// What the parser said.
    pub reason: String,
}

#[cfg(feature = "chrono")]
impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an RFC 3339 date-time: {}",
            self.text, self.reason
        )
    }
}

#[cfg(feature = "chrono")]
impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The text as received (or as written from a `DateTime`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant, parsed from the text (RFC 3339, any offset, converted to UTC). Feature `chrono`.
    ///
    /// ```
    /// let t: xbl_mpsd_api::Timestamp = "2016-06-08T17:03:19.5578022Z".parse()?;
    /// assert_eq!(t.to_datetime()?.timestamp_subsec_nanos(), 557_802_200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "chrono")]
    pub fn to_datetime(&self) -> Result<DateTime<Utc>, TimestampError> {
        DateTime::parse_from_rfc3339(&self.0)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| TimestampError {
                text: self.0.to_string(),
                reason: e.to_string(),
            })
    }
}

#[cfg(feature = "chrono")]
impl From<DateTime<Utc>> for Timestamp {
    /// RFC 3339 with as many fractional digits as the instant needs and a `Z`.
    fn from(value: DateTime<Utc>) -> Self {
        Self(value.to_rfc3339_opts(SecondsFormat::AutoSi, true).into())
    }
}

impl FromStr for Timestamp {
    type Err = std::convert::Infallible;

    /// Never fails: any text is kept (a document read from the service must decode whatever it holds);
    /// `Timestamp::to_datetime` (feature `chrono`) says whether it is a date-time.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.into()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Ok(Timestamp(v.into()))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> String {
        "Timestamp".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        <DateTime<Utc>>::json_schema(generator)
    }
}

#[cfg(all(test, feature = "chrono"))]
mod tests {
    use super::*;

    #[test]
    fn the_text_survives_and_the_instant_is_there_on_request() {
        for text in [
            "2016-06-08T17:03:19.5578022Z",
            "2016-06-08T17:03:19Z",
            "2016-06-08T19:03:19.1+02:00",
            "2016-06-08t17:03:19z",
        ] {
            let t: Timestamp = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(serde_json::to_value(&t).unwrap(), text);
            assert!(t.to_datetime().is_ok(), "{text}");
        }
        let odd: Timestamp = "yesterday".parse().unwrap();
        assert_eq!(odd.to_string(), "yesterday");
        assert!(
            odd.to_datetime()
                .unwrap_err()
                .to_string()
                .contains("yesterday")
        );
    }

    #[test]
    fn a_datetime_is_written_in_rfc3339_with_z_and_parses_back() {
        let instant = DateTime::parse_from_rfc3339("2016-06-08T17:03:19.5578022Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = Timestamp::from(instant);
        assert_eq!(t.as_str(), "2016-06-08T17:03:19.557802200Z");
        assert_eq!(t.to_datetime().unwrap(), instant);
    }
}
