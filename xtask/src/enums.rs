//! The spec's enumerations, as open enums of `xbl-mpsd-api`.
//!
//! Every named schema under `components/schemas` that enumerates strings — an open enum
//! (`anyOf: [{type: string, enum: […]}, {type: string}]`) or a plain `{type: string, enum: […]}` (read as
//! open too: the service adds values) — becomes one invocation of `xbl_mpsd_api::open_enum!` appended to the
//! generated `types` module, and progenitor is told to use that type instead of generating its own
//! (`with_replacement`). The wire type keeps the received text and `.kind()` gives a `Copy` enum.
//!
//! Variant names are the values in PascalCase (`matchmakingStatus` → `MatchmakingStatus`), except where the
//! schema's `x-enum-varnames` map names one: `{bandwidthup: BandwidthUp}` where lower-case words run together.
//! A map of overrides, not a list by position, so adding a value never renames the variants after it; a key
//! that is not one of the values is an error. The constant for each value is the variant name in
//! SCREAMING_SNAKE_CASE (`Visibility::OPEN`, `BANDWIDTH_UP`).
//!
//! An enumeration written inline (not as a named schema) is refused by [`crate::transform`]: it would have no
//! name to match on.

use anyhow::{Result, bail};
use serde_json::Value;

/// One enumeration of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEnum {
    /// The schema name, which is also the Rust type name.
    pub name: String,
    /// The schema's description.
    pub description: String,
    /// `(variant, constant, value)` per known value, in the spec's order.
    pub values: Vec<(String, String, String)>,
}

impl OpenEnum {
    /// The kind enum's name (`VisibilityKind`).
    pub fn kind_name(&self) -> String {
        format!("{}Kind", self.name)
    }

    /// Rust source of the `open_enum!` invocation.
    pub fn to_rust(&self) -> String {
        let mut out = String::from("::xbl_mpsd_api::open_enum! {\n");
        for line in self.description.trim().lines() {
            out.push_str(&format!("/// {}\n", line.trim_end()));
        }
        out.push_str(&format!("{}, {} {{\n", self.name, self.kind_name()));
        for (variant, constant, value) in &self.values {
            out.push_str(&format!(
                "#[doc = {value:?}]\n{variant} / {constant} = {value:?},\n"
            ));
        }
        out.push_str("}\n}\n");
        out
    }
}

/// The string values of a schema that enumerates strings, if it is one.
fn string_enum_values(schema: &Value) -> Option<&Vec<Value>> {
    let is_string = |s: &Value| s.get("type").and_then(Value::as_str) == Some("string");
    if is_string(schema) {
        return schema.get("enum").and_then(Value::as_array);
    }
    let alternatives = schema.get("anyOf")?.as_array()?;
    if alternatives.is_empty() || !alternatives.iter().all(is_string) {
        return None;
    }
    let mut enumerated = alternatives.iter().filter_map(|a| a.get("enum"));
    let values = enumerated.next()?.as_array();
    if enumerated.next().is_some() {
        return None;
    }
    values
}

/// Whether a schema enumerates strings (open or closed).
pub fn is_string_enum(schema: &Value) -> bool {
    string_enum_values(schema).is_some()
}

/// `matchmakingStatus` → `MatchmakingStatus`, `end-session` → `EndSession`.
fn pascal_case(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `BandwidthUp` → `BANDWIDTH_UP`.
fn screaming_snake_case(variant: &str) -> String {
    let mut out = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Every enumeration among the spec's named schemas, sorted by name.
pub fn open_enums(spec: &Value) -> Result<Vec<OpenEnum>> {
    let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, schema) in schemas {
        let Some(values) = string_enum_values(schema) else {
            continue;
        };
        let context = |what: String| format!("enumeration `{name}` in components/schemas: {what}");
        let values: Vec<&str> = values
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| anyhow::anyhow!(context(format!("value {v} is not a string"))))
            })
            .collect::<Result<_>>()?;
        let overrides = match schema.get("x-enum-varnames") {
            None => serde_json::Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => bail!(context(
                "x-enum-varnames must be a map of value → variant name (e.g. {bandwidthup: BandwidthUp})"
                    .into()
            )),
        };
        if let Some(unknown) = overrides.keys().find(|key| !values.contains(&key.as_str())) {
            bail!(context(format!(
                "x-enum-varnames names {unknown:?}, which is not one of the values"
            )));
        }
        let varnames: Vec<String> = values
            .iter()
            .map(|value| match overrides.get(*value) {
                None => Ok(pascal_case(value)),
                Some(Value::String(name)) => Ok(name.clone()),
                Some(other) => Err(anyhow::anyhow!(context(format!(
                    "x-enum-varnames gives {value:?} the name {other}, which is not a string"
                )))),
            })
            .collect::<Result<_>>()?;
        let mut seen_values: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        for (variant, value) in varnames.into_iter().zip(values) {
            if !is_identifier(&variant) || variant == "Other" {
                bail!(context(format!(
                    "value {value:?} gives the variant name {variant:?}, which is not usable (`Other` is reserved); \
                     name the variants with x-enum-varnames"
                )));
            }
            let lower = value.to_ascii_lowercase();
            if seen_values.contains(&lower) {
                bail!(context(format!(
                    "value {value:?} is listed twice (values compare ignoring case)"
                )));
            }
            seen_values.push(lower);
            if entries
                .iter()
                .any(|(v, _, _): &(String, String, String)| *v == variant)
            {
                bail!(context(format!(
                    "two values give the variant name {variant:?}"
                )));
            }
            let constant = screaming_snake_case(&variant);
            entries.push((variant, constant, value.to_owned()));
        }
        out.push(OpenEnum {
            name: name.clone(),
            description: schema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("An enumeration of the spec.")
                .to_owned(),
            values: entries,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_open_and_closed_named_enumerations() {
        let spec = json!({"components": {"schemas": {
            "Visibility": {"description": "Who may join.", "anyOf": [
                {"type": "string", "enum": ["private", "open"]}, {"type": "string"}]},
            "Metric": {"type": "string", "enum": ["bandwidthup", "latency"],
                       "x-enum-varnames": {"bandwidthup": "BandwidthUp"}},
            "Change": {"anyOf": [{"type": "string", "enum": ["membersList"]}, {"type": "string"}]},
            "Mixed": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "Plain": {"type": "string"}
        }}});
        let enums = open_enums(&spec).unwrap();
        let names: Vec<&str> = enums.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Change", "Metric", "Visibility"]);
        assert_eq!(
            enums[0].values,
            [(
                "MembersList".into(),
                "MEMBERS_LIST".into(),
                "membersList".into()
            )]
        );
        assert_eq!(enums[1].values[0].1, "BANDWIDTH_UP");
        assert_eq!(
            enums[1].values[1].0, "Latency",
            "not overridden: PascalCase"
        );
        let rust = enums[2].to_rust();
        assert!(
            rust.starts_with(
                "::xbl_mpsd_api::open_enum! {\n/// Who may join.\nVisibility, VisibilityKind {"
            ),
            "{rust}"
        );
        assert!(rust.contains("Open / OPEN = \"open\","), "{rust}");
    }

    #[test]
    fn refuses_unusable_names_and_duplicates() {
        for (schema, needle) in [
            (json!({"type": "string", "enum": ["1st"]}), "not usable"),
            (json!({"type": "string", "enum": ["other"]}), "not usable"),
            (
                json!({"type": "string", "enum": ["a", "A"]}),
                "listed twice",
            ),
            (
                json!({"type": "string", "enum": ["a-b", "a_b"]}),
                "variant name",
            ),
            (
                json!({"type": "string", "enum": ["a"], "x-enum-varnames": ["A"]}),
                "must be a map",
            ),
            (
                json!({"type": "string", "enum": ["a"], "x-enum-varnames": {"b": "B"}}),
                "not one of the values",
            ),
            (
                json!({"type": "string", "enum": ["a"], "x-enum-varnames": {"a": 1}}),
                "not a string",
            ),
            (
                json!({"type": "string", "enum": ["a", "b"], "x-enum-varnames": {"a": "B"}}),
                "variant name",
            ),
        ] {
            let spec = json!({"components": {"schemas": {"E": schema}}});
            let err = open_enums(&spec).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("`E`"), "{err}");
        }
    }

    #[test]
    fn case_conversions() {
        assert_eq!(pascal_case("matchmakingStatus"), "MatchmakingStatus");
        assert_eq!(pascal_case("end-session"), "EndSession");
        assert_eq!(
            screaming_snake_case("MembersCustomProperty"),
            "MEMBERS_CUSTOM_PROPERTY"
        );
    }
}
