//! Bytes → each generated document type → JSON: decoding never panics, and what decodes re-encodes to
//! exactly the same JSON value — every key, `[]`, `{}` and `null`, every number and every timestamp's text
//! (object key order aside). The one allowance: a session reference (`sessionRef`, `originSessionRef`,
//! `targetSessionRef`) is the SDK's `SessionReference`, exactly `scid`, `templateName` and `name`; the spec
//! says so (`additionalProperties: false`), so another key inside it is not a document the spec accepts.
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

/// Where `encoded` differs from `input`, as a JSON path.
fn difference(input: &Value, encoded: &Value, path: &str) -> Option<String> {
    match (input, encoded) {
        (Value::Object(a), Value::Object(b)) => {
            let reference = ["sessionRef", "originSessionRef", "targetSessionRef"]
                .iter()
                .any(|name| path.ends_with(&format!(".{name}")));
            for (key, value) in a {
                let here = format!("{path}.{key}");
                let diff = match b.get(key) {
                    Some(other) => difference(value, other, &here),
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
