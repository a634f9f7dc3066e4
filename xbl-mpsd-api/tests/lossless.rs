//! Property test of the lossless promise: any JSON document that `spec/openapi.yaml` accepts decodes into
//! the generated type and re-encodes to exactly the same JSON value — every key, every `[]`, `{}` and `null`,
//! every number and every timestamp's text.
//!
//! The documents are generated from the spec itself (a schema walker below): each optional property is
//! absent, `null` where the spec allows it, or a value; arrays and maps may be empty; objects with
//! `additionalProperties: {}` get unknown keys with any JSON; open enumerations get known values in other
//! casings and unknown values; date-times get the service's seven fractional digits and other spellings.
//! Where the SDK is deliberately stricter than the spec (the parts of a session reference are checked
//! names), the walker generates valid names.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use xbl_mpsd_api::types::{
    CreateHandleRequest, HandleDocument, HandleQueryRequest, HandleQueryResponse,
    MultiplayerSession, MultiplayerSessionRequest,
};

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/openapi.yaml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    })
}

fn schema(name: &str) -> &'static Value {
    spec()
        .pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("no schema {name}"))
}

/// Any JSON value (for `{}` schemas and unknown keys), a few levels deep.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e9f64..1.0e9).prop_map(Value::from),
        "[a-zA-Z0-9 <>&\"\\\\é]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A date-time in the spellings the service and other clients write.
fn timestamp() -> BoxedStrategy<Value> {
    (
        2000u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..10_000_000,
        0usize..4,
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, style)| {
            let base = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            Value::from(match style {
                0 => format!("{base}.{frac:07}Z"),
                1 => format!("{base}Z"),
                2 => format!("{base}.{:03}+02:00", frac % 1000),
                _ => format!("{base}.{frac}Z"),
            })
        })
        .boxed()
}

/// A value of the known names of an open enumeration, in other casings, or unknown.
fn open_enum(known: Vec<String>) -> BoxedStrategy<Value> {
    prop_oneof![
        prop::sample::select(known.clone()).prop_map(Value::from),
        prop::sample::select(known).prop_map(|v| Value::from(v.to_uppercase())),
        "[a-zA-Z]{1,10}".prop_map(Value::from),
    ]
    .boxed()
}

/// A strategy for JSON the schema accepts.
fn value_of(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
    let strategy = non_null(schema, depth);
    if nullable {
        prop_oneof![1 => Just(Value::Null), 4 => strategy].boxed()
    } else {
        strategy
    }
}

fn non_null(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return named(name, depth);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array)
        && let [one] = all.as_slice()
    {
        return non_null(one, depth);
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let known: Vec<String> = any
            .iter()
            .filter_map(|s| s.get("enum").and_then(Value::as_array))
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        return open_enum(known);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => object(schema, depth),
        Some("array") => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            let inner = if depth == 0 {
                return Just(Value::Array(vec![])).boxed();
            } else {
                value_of(&items, depth - 1)
            };
            prop::collection::vec(inner, 0..3)
                .prop_map(Value::Array)
                .boxed()
        }
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => timestamp(),
            Some("uuid") => any::<u128>()
                .prop_map(|n| Value::from(uuid::Uuid::from_u128(n).to_string()))
                .boxed(),
            _ => "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::from).boxed(),
        },
        Some("integer") => match schema.get("format").and_then(Value::as_str) {
            Some("int32") => {
                let min = schema
                    .get("minimum")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::from(i32::MIN));
                let max = schema
                    .get("maximum")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::from(i32::MAX));
                (min..=max).prop_map(Value::from).boxed()
            }
            _ => any::<i64>().prop_map(Value::from).boxed(),
        },
        Some("number") => prop_oneof![
            any::<i64>().prop_map(Value::from),
            (-1.0e6f64..1.0e6).prop_map(Value::from),
        ]
        .boxed(),
        Some("boolean") => any::<bool>().prop_map(Value::from).boxed(),
        // No type: any JSON (custom sections).
        _ => any_json(),
    }
}

/// Named schemas: the identifier types are strings of their kind; the rest by their definition.
fn named(name: &str, depth: u32) -> BoxedStrategy<Value> {
    match name {
        // The SDK checks these names (stricter than the spec's 1–99 characters).
        "Scid" | "SessionTemplateName" | "SessionName" => "[A-Za-z0-9][A-Za-z0-9_-]{0,30}"
            .prop_map(Value::from)
            .boxed(),
        // Kept as received whether or not they parse: typed values and other text alike.
        "Xuid" | "TitleIdString" => prop_oneof![
            any::<u32>().prop_map(|n| Value::from(n.to_string())),
            Just(Value::from("")),
            "[0-9]{1,3}".prop_map(Value::from),
        ]
        .boxed(),
        "HandleIdString" | "Guid" => prop_oneof![
            any::<u128>().prop_map(|n| Value::from(uuid::Uuid::from_u128(n).to_string())),
            any::<u128>()
                .prop_map(|n| Value::from(uuid::Uuid::from_u128(n).to_string().to_uppercase())),
            Just(Value::from("")),
        ]
        .boxed(),
        _ => non_null(schema(name), depth),
    }
}

fn object(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    let required: BTreeSet<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let properties: Vec<(String, Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let names: BTreeSet<String> = properties.iter().map(|(k, _)| k.clone()).collect();
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    for (name, property) in properties {
        if depth == 0 && !required.contains(&name) {
            continue;
        }
        let value = value_of(&property, depth.saturating_sub(1));
        let key = name.clone();
        let present = value.prop_map(move |v| Some((key.clone(), v)));
        fields.push(if required.contains(&name) {
            present.boxed()
        } else {
            prop_oneof![1 => Just(None), 2 => present].boxed()
        });
    }
    let extra: BoxedStrategy<Vec<(String, Value)>> = match schema.get("additionalProperties") {
        Some(Value::Object(extra)) if extra.is_empty() && depth > 0 => {
            // Unknown keys, never one of the known properties.
            prop::collection::vec(("x[A-Za-z]{1,6}", any_json()), 0..2).boxed()
        }
        Some(extra @ Value::Object(_)) if depth > 0 => {
            let values = value_of(extra, depth - 1);
            prop::collection::vec(("[a-zA-Z0-9_]{1,8}", values), 0..3).boxed()
        }
        _ => Just(Vec::new()).boxed(),
    };
    (fields, extra)
        .prop_map(move |(fields, extra)| {
            let mut map = Map::new();
            for (k, v) in extra {
                if !names.contains(&k) {
                    map.insert(k, v);
                }
            }
            for (k, v) in fields.into_iter().flatten() {
                map.insert(k, v);
            }
            Value::Object(map)
        })
        .boxed()
}

fn check<T: DeserializeOwned + Serialize>(name: &str, cases: u32) {
    let strategy = named(name, 4);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |doc| {
        let decoded: T = serde_json::from_value(doc.clone())
            .map_err(|e| TestCaseError::fail(format!("{name} does not decode: {e}\n{doc}")))?;
        let encoded = serde_json::to_value(&decoded)
            .map_err(|e| TestCaseError::fail(format!("{name} does not encode: {e}")))?;
        prop_assert_eq!(&encoded, &doc, "{} re-encoded differently", name);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn any_session_document_the_spec_accepts_re_encodes_equal() {
    check::<MultiplayerSession>("MultiplayerSession", 300);
}

#[test]
fn any_session_delta_the_spec_accepts_re_encodes_equal() {
    check::<MultiplayerSessionRequest>("MultiplayerSessionRequest", 300);
}

#[test]
fn any_handle_document_or_request_the_spec_accepts_re_encodes_equal() {
    check::<HandleDocument>("HandleDocument", 200);
    check::<CreateHandleRequest>("CreateHandleRequest", 200);
    check::<HandleQueryRequest>("HandleQueryRequest", 200);
    check::<HandleQueryResponse>("HandleQueryResponse", 100);
}

#[test]
fn the_walker_generates_nulls_empties_and_unknown_keys() {
    // The property is only as strong as its inputs: the walker must produce each meaning somewhere.
    let strategy = named("MultiplayerSessionRequest", 4);
    let mut runner = TestRunner::new(Config::default());
    let (mut nulls, mut empty_arrays, mut empty_objects, mut unknown) = (0, 0, 0, 0);
    for _ in 0..200 {
        let doc = strategy
            .new_tree(&mut runner)
            .expect("a document")
            .current();
        let text = doc.to_string();
        nulls += usize::from(text.contains(":null"));
        empty_arrays += usize::from(text.contains(":[]"));
        empty_objects += usize::from(text.contains(":{}"));
        unknown += usize::from(text.contains("\"x"));
    }
    assert!(
        nulls > 10 && empty_arrays > 10 && empty_objects > 10 && unknown > 10,
        "nulls {nulls}, [] {empty_arrays}, {{}} {empty_objects}, unknown keys {unknown}"
    );
}
