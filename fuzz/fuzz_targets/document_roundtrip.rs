//! Bytes → each generated document type → JSON: decoding never panics, and what decodes re-encodes to the
//! same JSON.
//!
//! "The same" allows only what does not change the data: numbers compare by value (`14` and `14.0`),
//! timestamps by instant (`…00Z` and `…00+00:00`), and — the known, documented losses (see RELIABILITY.md) —
//! an optional field given as `null` or as an empty object/array may be left out, and so may keys of a session
//! reference other than `scid`, `templateName` and `name`.
//! Any other difference (a key lost or added, a value changed) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use xbl_mpsd_api::types::{
    CreateHandleRequest, HandleDocument, HandleQueryRequest, HandleQueryResponse,
    MultiplayerSession, MultiplayerSessionRequest,
};

fn same_string(a: &str, b: &str) -> bool {
    // Timestamps compare by instant, each read with the parser the typed decoding uses (chrono's `FromStr`
    // for `DateTime<FixedOffset>`, which serde's `DateTime<Utc>` goes through): it accepts more than RFC 3339
    // (a space-padded hour, say), and the typed value re-encodes such a time in RFC 3339.
    use chrono::{DateTime, FixedOffset};
    a == b
        || matches!(
            (a.parse::<DateTime<FixedOffset>>(), b.parse::<DateTime<FixedOffset>>()),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Whether `value`, left out of the encoding, is one of the known skips.
fn skippable(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Where `encoded` differs from `input` beyond the allowances, as a JSON path.
fn difference(input: &Value, encoded: &Value, path: &str) -> Option<String> {
    match (input, encoded) {
        (Value::Object(a), Value::Object(b)) => {
            // A session reference is the hand-written `SessionReference`: exactly these three keys.
            let reference = ["sessionRef", "originSessionRef", "targetSessionRef"]
                .iter()
                .any(|name| path.ends_with(&format!(".{name}")));
            for (key, value) in a {
                let here = format!("{path}.{key}");
                let diff = match b.get(key) {
                    Some(other) => difference(value, other, &here),
                    None if skippable(value) => None,
                    None if reference && !matches!(key.as_str(), "scid" | "templateName" | "name") => None,
                    None => Some(format!("{here} was dropped")),
                };
                if diff.is_some() {
                    return diff;
                }
            }
            b.keys()
                .find(|key| !a.contains_key(*key))
                .map(|key| format!("{path}.{key} was added"))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} items became {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| difference(x, y, &format!("{path}[{i}]")))
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (Value::String(a), Value::String(b)) if same_string(a, b) => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: {a} became {b}")),
    }
}

fn check<T: DeserializeOwned + Serialize>(data: &[u8], input: &Value) {
    let Ok(decoded) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let encoded = match serde_json::to_value(&decoded) {
        Ok(encoded) => encoded,
        Err(e) => panic!("{} decoded but does not encode: {e}", std::any::type_name::<T>()),
    };
    if let Some(diff) = difference(input, &encoded, "$") {
        panic!(
            "{}: re-encoding changed the data: {diff}\n input:   {input}\n encoded: {encoded}",
            std::any::type_name::<T>()
        );
    }
    // And the encoding decodes again.
    if let Err(e) = serde_json::from_value::<T>(encoded) {
        panic!("{}: the re-encoding does not decode: {e}", std::any::type_name::<T>());
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    check::<MultiplayerSession>(data, &input);
    check::<MultiplayerSessionRequest>(data, &input);
    check::<HandleDocument>(data, &input);
    check::<CreateHandleRequest>(data, &input);
    check::<HandleQueryRequest>(data, &input);
    check::<HandleQueryResponse>(data, &input);
});
