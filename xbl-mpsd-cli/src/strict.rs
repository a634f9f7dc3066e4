//! What `validate` checks beyond decoding, as the service does: unknown keys (where a typo would be
//! refused or silently lost), enumerated values (any case), ranges, and a document of the other kind.
//! Every problem is `(path, message)` in JSON terms: `constants.system.maxMembersCount`, "an integer".

use serde_json::{Map, Value};

use crate::schema::Document;

/// One problem: the JSON path (`.` for the document itself) and what is wrong.
pub type Problem = (String, String);

const VISIBILITIES: &[&str] = &["private", "visible", "open", "full"];
const RESTRICTIONS: &[&str] = &["none", "local", "followed"];
const HANDLE_TYPES: &[&str] = &["activity", "invite", "search", "transfer"];
/// The largest `maxMembersCount` of a normal session and of a large one.
const MAX_MEMBERS_NORMAL: u64 = 100;
const MAX_MEMBERS_LARGE: u64 = 1000;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The closest of `candidates` to `key`, if it is a likely typo.
fn suggestion<'a>(key: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                distance(&key.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance (keys are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

fn unknown_keys(map: &Map<String, Value>, known: &[String], path: &str, out: &mut Vec<Problem>) {
    for key in map.keys() {
        if !known.iter().any(|k| k == key) {
            let hint = suggestion(key, known)
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            out.push((
                join(path, key),
                format!("unknown key \"{key}\"{hint}; the service refuses it or drops it"),
            ));
        }
    }
}

fn enum_value(
    map: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    path: &str,
    out: &mut Vec<Problem>,
) {
    match map.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) if allowed.iter().any(|a| a.eq_ignore_ascii_case(text)) => {}
        Some(other) => out.push((
            join(path, key),
            format!("{other} is not one of {} (any case)", allowed.join(", ")),
        )),
    }
}

/// A property bag: only `system` (an object) and `custom`.
fn bag<'a>(value: &'a Value, path: &str, out: &mut Vec<Problem>) -> Option<&'a Map<String, Value>> {
    let map = value.as_object()?;
    let known = ["system".to_owned(), "custom".to_owned()];
    unknown_keys(map, &known, path, out);
    map.get("system").and_then(Value::as_object)
}

/// The checks for `document` as `kind`.
pub fn check(kind: Document, document: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(map) = document.as_object() else {
        out.push((".".to_owned(), "a document is a JSON object".to_owned()));
        return out;
    };
    if map.is_empty() {
        out.push((
            ".".to_owned(),
            format!("an empty object is not a {} document", kind.name()),
        ));
        return out;
    }
    match kind {
        Document::Session | Document::SessionRequest => session(kind, map, &mut out),
        Document::Handle | Document::CreateHandle => handle(kind, map, &mut out),
        Document::HandleQuery
        | Document::HandleQueryResponse
        | Document::SessionQueryBatch
        | Document::SessionQueryResponse => {
            unknown_keys(map, &kind.properties(), "", &mut out);
        }
    }
    out
}

fn looks_like_handle(map: &Map<String, Value>) -> bool {
    map.contains_key("sessionRef") || (map.contains_key("type") && map.contains_key("version"))
}

fn looks_like_session(map: &Map<String, Value>) -> bool {
    ["constants", "members", "properties", "membersInfo"]
        .iter()
        .any(|k| map.contains_key(*k))
}

fn session(kind: Document, map: &Map<String, Value>, out: &mut Vec<Problem>) {
    if looks_like_handle(map) && !looks_like_session(map) {
        out.push((
            ".".to_owned(),
            "this is a handle document (type, sessionRef), not a session: use `validate handle`"
                .to_owned(),
        ));
        return;
    }
    unknown_keys(map, &kind.properties(), "", out);
    if let Some(constants) = map.get("constants")
        && let Some(system) = bag(constants, "constants", out)
    {
        let path = "constants.system";
        enum_value(system, "visibility", VISIBILITIES, path, out);
        let large = system
            .get("capabilities")
            .and_then(|c| c.get("large"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match system.get("maxMembersCount") {
            None | Some(Value::Null) => {}
            Some(value) => {
                let limit = if large {
                    MAX_MEMBERS_LARGE
                } else {
                    MAX_MEMBERS_NORMAL
                };
                match value.as_u64() {
                    Some(n) if (1..=limit).contains(&n) => {}
                    _ => out.push((
                        join(path, "maxMembersCount"),
                        format!("{value} is not an integer from 1 to {limit}"),
                    )),
                }
            }
        }
    }
    if let Some(properties) = map.get("properties")
        && let Some(system) = bag(properties, "properties", out)
    {
        let path = "properties.system";
        enum_value(system, "joinRestriction", RESTRICTIONS, path, out);
        enum_value(system, "readRestriction", RESTRICTIONS, path, out);
    }
    if let Some(members) = map.get("members").and_then(Value::as_object) {
        for (index, member) in members {
            let Some(member) = member.as_object() else {
                continue;
            };
            let path = join("members", index);
            for part in ["constants", "properties"] {
                if let Some(value) = member.get(part) {
                    bag(value, &join(&path, part), out);
                }
            }
        }
    }
}

fn handle(kind: Document, map: &Map<String, Value>, out: &mut Vec<Problem>) {
    if looks_like_session(map) && !looks_like_handle(map) {
        out.push((
            ".".to_owned(),
            "this is a session document (constants, properties, members), not a handle: use `validate session`"
                .to_owned(),
        ));
        return;
    }
    unknown_keys(map, &kind.properties(), "", out);
    match map.get("type") {
        None | Some(Value::Null) => out.push((
            "type".to_owned(),
            format!("missing; one of {}", HANDLE_TYPES.join(", ")),
        )),
        Some(_) => enum_value(map, "type", HANDLE_TYPES, "", out),
    }
    match map.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        None | Some(Value::Null) => {
            out.push(("version".to_owned(), "missing; always 1".to_owned()))
        }
        Some(other) => out.push(("version".to_owned(), format!("{other}: always 1"))),
    }
    match map.get("sessionRef") {
        Some(Value::Object(reference)) => {
            for key in ["scid", "templateName", "name"] {
                if !reference.get(key).is_some_and(Value::is_string) {
                    out.push((join("sessionRef", key), "missing; a string".to_owned()));
                }
            }
        }
        _ => out.push((
            "sessionRef".to_owned(),
            "missing; an object with scid, templateName and name".to_owned(),
        )),
    }
}

/// A decoding error in JSON terms: Rust type names become JSON ones.
pub fn plain(message: &str) -> String {
    let mut text = message.to_owned();
    for (rust, json) in [
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u8", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
        ("expected a boolean", "expected true or false"),
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: integer", "invalid type: number"),
        ("invalid type: floating point", "invalid type: number"),
    ] {
        text = text.replace(rust, json);
    }
    // `expected struct SessionReference` / `expected enum X`: name the JSON kind instead.
    for prefix in ["expected struct ", "expected enum "] {
        while let Some(start) = text.find(prefix) {
            let rest = &text[start + prefix.len()..];
            let end = rest
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            let replacement = if prefix.contains("struct") {
                "expected an object"
            } else {
                "expected a string"
            };
            text.replace_range(start..start + prefix.len() + end, replacement);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_type_names_become_json_terms() {
        assert_eq!(
            plain("invalid type: string \"x\", expected i32 at line 1 column 5"),
            "invalid type: string \"x\", expected an integer at line 1 column 5"
        );
        assert_eq!(
            plain("invalid type: map, expected struct SessionReference"),
            "invalid type: object, expected an object"
        );
    }

    #[test]
    fn a_typo_gets_a_suggestion() {
        let known = vec!["properties".to_owned(), "constants".to_owned()];
        assert_eq!(suggestion("propertie", &known), Some("properties"));
        assert_eq!(suggestion("zzzzzzzz", &known), None);
    }
}
