//! Checks on the spec's prose, which becomes the generated code's documentation.
//!
//! progenitor turns the `description` of each schema into the doc comment of its type and the `description`
//! of each property into the doc comment of its field, so [`undocumented`] lists every schema and every
//! property (at any depth) that has none. A property that is a named type alone (`$ref`) cannot carry a
//! description in OpenAPI 3.0: write it as `allOf: [{$ref: …}]` with `description` beside it, which generates
//! the same type.
//!
//! [`outside_references`] lists every text of the spec that points at files outside the repository (notes a
//! reader of the repository does not have); sources are named by their public page or repository file.

use serde_json::Value;

/// Every schema under `components/schemas` and every property of one, at any depth (inside `properties`,
/// `items`, `additionalProperties`, `allOf`, `anyOf` and `oneOf`), that has no `description`; each named by its
/// path, e.g. `MultiplayerSession.properties.constants`.
pub fn undocumented(spec: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return found;
    };
    for (name, schema) in schemas {
        if !has_description(schema) {
            found.push(format!("schema {name}"));
        }
        properties_without_description(schema, name, &mut found);
    }
    found
}

fn has_description(schema: &Value) -> bool {
    schema
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| !d.trim().is_empty())
}

fn properties_without_description(schema: &Value, at: &str, found: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let path = format!("{at}.properties.{name}");
            if !has_description(property) {
                found.push(format!("property {path}"));
            }
            properties_without_description(property, &path, found);
        }
    }
    if let Some(items) = map.get("items") {
        properties_without_description(items, &format!("{at}.items"), found);
    }
    if let Some(extra) = map.get("additionalProperties") {
        properties_without_description(extra, &format!("{at}.additionalProperties"), found);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for (i, part) in map
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            properties_without_description(part, &format!("{at}.{key}[{i}]"), found);
        }
    }
}

/// The files of notes kept outside the repository, which no text of the spec may name.
const OUTSIDE_FILES: [&str; 6] = [
    "mpsd.md",
    "rta.md",
    "xbox-auth.md",
    "templates-timers.md",
    "progenitor.md",
    "style.md",
];

/// Phrases that point outside the repository (compared ignoring ASCII case).
const OUTSIDE_PHRASES: [&str; 4] = ["../shared", "/work/", "shared/reference", "reference §"];

/// Every string of the spec (descriptions, summaries, examples, …) that points outside the repository: a
/// path to the shared notes, "reference §…", or one of their file names. Each is named by its JSON pointer and
/// what it names.
pub fn outside_references(spec: &Value) -> Vec<String> {
    let mut found = Vec::new();
    strings_pointing_outside(spec, "", &mut found);
    found
}

fn strings_pointing_outside(value: &Value, pointer: &str, found: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Some(what) = points_outside(text) {
                found.push(format!("{pointer}: names `{what}`"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings_pointing_outside(item, &format!("{pointer}/{i}"), found);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                strings_pointing_outside(child, &format!("{pointer}/{key}"), found);
            }
        }
        _ => {}
    }
}

/// What `text` names outside the repository, if anything.
fn points_outside(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    if let Some(phrase) = OUTSIDE_PHRASES.iter().find(|p| lower.contains(*p)) {
        return Some(phrase);
    }
    // A file name counts only as a whole name: `live-mpsd-details.md` does not name `mpsd.md`.
    OUTSIDE_FILES.iter().copied().find(|file| {
        lower.match_indices(file).any(|(at, _)| {
            lower[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_every_schema_and_property_without_a_description() {
        let spec = json!({"components": {"schemas": {
            "Plain": {"type": "string"},
            "Holder": {"type": "object", "description": "d", "properties": {
                "bare": {"$ref": "#/components/schemas/Plain"},
                "wrapped": {"allOf": [{"$ref": "#/components/schemas/Plain"}], "description": "w"},
                "blank": {"type": "string", "description": "  "},
                "inline": {"type": "object", "description": "i", "properties": {
                    "deep": {"type": "integer"}
                }},
                "list": {"type": "array", "description": "l", "items": {"type": "object", "properties": {
                    "item": {"type": "string"}
                }}},
                "map": {"type": "object", "description": "m", "additionalProperties": {
                    "type": "object", "properties": {"value": {"type": "string", "description": "v"}}
                }}
            }}
        }}});
        assert_eq!(
            undocumented(&spec),
            [
                "schema Plain",
                "property Holder.properties.bare",
                "property Holder.properties.blank",
                "property Holder.properties.inline.properties.deep",
                "property Holder.properties.list.items.properties.item",
            ]
        );
    }

    #[test]
    fn a_fully_documented_spec_has_nothing_to_report() {
        let spec = json!({"components": {"schemas": {
            "Open": {"description": "e", "anyOf": [{"type": "string", "enum": ["a"]}, {"type": "string"}]},
            "Obj": {"type": "object", "description": "o", "properties": {
                "open": {"allOf": [{"$ref": "#/components/schemas/Open"}], "description": "p"}
            }}
        }}});
        assert!(undocumented(&spec).is_empty());
    }

    #[test]
    fn texts_naming_notes_outside_the_repository_are_found() {
        let spec = json!({
            "info": {"description": "Every fact is sourced in `../shared/reference/mpsd.md`."},
            "paths": {"/a/{b}": {"get": {"description": "As the docs say (Reference §2.4)."}}},
            "components": {"schemas": {
                "A": {"description": "See `rta.md` §3.3."},
                "B": {"description": "DOCS `live-mpsd-details.md`, XSAPI `Source/Shared/shared_macros.h`."},
                "C": {"description": "`docs/mpsd-notes.md` and `docs/rta-notes.md` of the repository."},
                "D": {"description": "/work/shared/reference/xbox-auth.md"}
            }}
        });
        let mut found = outside_references(&spec);
        found.sort();
        assert_eq!(
            found,
            [
                "/components/schemas/A/description: names `rta.md`",
                "/components/schemas/D/description: names `/work/`",
                "/info/description: names `../shared`",
                "/paths/~1a~1{b}/get/description: names `reference §`",
            ]
        );
    }
}
