//! The compact stored form of the JSON objects the emulator mostly passes through (constants and properties of
//! sessions and members): the object's compact JSON text, written into responses and records as it is and
//! parsed only when a write merges into it or a rare path reads a field the emulator does not cache.
//!
//! Compared with a `preserve_order` `Map<String, Value>` (an index table plus a key `String` and a 32-byte
//! `Value` per entry, recursively), the text costs its length and one allocation.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON object held as its compact text.
///
/// Always built by serializing a `Map` (never from foreign text), so its text is exactly what
/// `serde_json::to_string` of that map gives: its length is the document's JSON size.
#[derive(Debug, Clone)]
pub(crate) struct Bag(Box<RawValue>);

impl Bag {
    /// The compact form of `map`.
    pub(crate) fn from_map(map: &Map<String, Value>) -> Self {
        // Serializing a `Map` of `Value`s cannot fail (its keys are strings); `null` is never reached.
        Self(serde_json::value::to_raw_value(map).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The object, parsed.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        // The text was written by `serde_json` from a map, so it parses back.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// The compact JSON text.
    pub(crate) fn text(&self) -> &str {
        self.0.get()
    }

    /// The object as a raw JSON value (to embed in a record).
    pub(crate) fn raw(&self) -> &RawValue {
        &self.0
    }

    /// The length of the compact JSON text in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.get().len()
    }
}

impl PartialEq for Bag {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Serialize for Bag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_in_order_and_measures_the_compact_text() {
        let value = json!({"system": {"b": 1, "a": [true, null]}, "custom": {"z": "é\"", "y": {}}});
        let Value::Object(map) = value else {
            panic!("an object");
        };
        let bag = Bag::from_map(&map);
        assert_eq!(bag.to_map(), map);
        assert_eq!(bag.text(), serde_json::to_string(&map).unwrap());
        assert_eq!(bag.len(), serde_json::to_vec(&map).unwrap().len());
        assert_eq!(
            serde_json::to_string(&json!({"x": bag})).unwrap(),
            format!("{{\"x\":{}}}", serde_json::to_string(&map).unwrap())
        );
    }
}
