//! Reading one spec for the diff: its operations, parameters, media types, enum values, schema
//! directions and typed successes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::validate::{METHODS, operation_label, resolve};

/// Which way a schema's values travel: callers build requests and read responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Dir {
    Request,
    Response,
}

pub(super) type Dirs = BTreeSet<Dir>;

/// The operations of a spec by `(path, method)`.
pub(super) fn operations(spec: &Value) -> BTreeMap<(String, &'static str), (&Value, &Value)> {
    let mut out = BTreeMap::new();
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.insert((path.clone(), method), (item, op));
                }
            }
        }
    }
    out
}

/// When two path templates differ only in the names of their placeholders (`/a/{scid}` and `/a/{id}`), the
/// renamed `(old, new)` pairs; `None` when a literal segment or the number of segments differs.
pub(super) fn path_parameter_renames(base: &str, head: &str) -> Option<Vec<(String, String)>> {
    let placeholder = |segment: &str| {
        segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .map(str::to_owned)
    };
    let (base, head): (Vec<&str>, Vec<&str>) =
        (base.split('/').collect(), head.split('/').collect());
    if base.len() != head.len() {
        return None;
    }
    let mut renames = Vec::new();
    for (b, h) in base.iter().zip(&head) {
        match (placeholder(b), placeholder(h)) {
            (Some(old), Some(new)) if old != new => renames.push((old, new)),
            (Some(_), Some(_)) => {}
            (None, None) if b == h => {}
            _ => return None,
        }
    }
    Some(renames)
}

/// The builder setter progenitor generates for a parameter: its name in snake case
/// (`sessionTemplateName` → `session_template_name`).
pub(super) fn setter_name(parameter: &str) -> String {
    let mut out = String::new();
    for (i, c) in parameter.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of a component reference (`#/components/schemas/X` → `X`).
/// The schema name a `$ref` names; also for `allOf: [{$ref}]` beside annotations only (the spec's way to give a
/// property that is a named type its own description), which the generator turns into the same type.
pub(super) fn ref_name(value: &Value) -> Option<&str> {
    let value = match value.get("allOf").and_then(Value::as_array) {
        Some(all) if all.len() == 1 => {
            let annotations_only = value.as_object().is_some_and(|map| {
                map.keys()
                    .all(|k| k == "allOf" || ANNOTATIONS.contains(&k.as_str()))
            });
            if !annotations_only {
                return None;
            }
            &all[0]
        }
        _ => value,
    };
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// Keywords that document a schema without changing its generated type.
pub(super) const ANNOTATIONS: [&str; 4] = ["description", "title", "example", "readOnly"];

pub(super) fn is_required(param: &Value) -> bool {
    param.get("required").and_then(Value::as_bool) == Some(true)
}

/// The parameters of an operation (path-level and operation-level, refs resolved) by `in` and name.
pub(super) fn parameters<'a>(
    item: &'a Value,
    op: &'a Value,
    components: &'a Value,
) -> BTreeMap<(String, String), &'a Value> {
    let mut out = BTreeMap::new();
    for list in [item.get("parameters"), op.get("parameters")] {
        for param in list.and_then(Value::as_array).into_iter().flatten() {
            let param = resolve(param, components);
            let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
            let location = param.get("in").and_then(Value::as_str).unwrap_or("?");
            // HTTP header names are case-insensitive.
            let key = if location == "header" {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            };
            out.insert((location.to_owned(), key), param);
        }
    }
    out
}

pub(super) fn json_media(content: Option<&Value>) -> Option<(&String, &Value)> {
    content?
        .as_object()?
        .iter()
        .find(|(media, _)| media.split(';').next().map(str::trim) == Some("application/json"))
}

pub(super) fn media_types(content: Option<&Value>) -> BTreeSet<String> {
    content
        .and_then(Value::as_object)
        .map(|c| {
            c.keys()
                .map(|m| m.split(';').next().unwrap_or(m).trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn headers(response: &Value) -> BTreeMap<String, &Value> {
    response
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
        .unwrap_or_default()
}

/// The enum values of a schema (closed `enum`, or the alternatives of an open enum), if it has any.
pub(super) fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
    let mut values = BTreeSet::new();
    let mut found = false;
    let mut collect = |s: &Value| {
        if let Some(list) = s.get("enum").and_then(Value::as_array) {
            found = true;
            values.extend(list.iter().map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
        }
    };
    collect(schema);
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array)
        && alts
            .iter()
            .all(|a| a.get("type").and_then(Value::as_str) == Some("string"))
    {
        alts.iter().for_each(&mut collect);
    }
    found.then_some(values)
}

/// The schema's `type`, with an all-string `anyOf` (an open enum) counted as `string`.
pub(super) fn schema_type(schema: &Value) -> Option<String> {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    let alts = schema.get("anyOf").and_then(Value::as_array)?;
    alts.iter()
        .all(|a| a.get("type").and_then(Value::as_str) == Some("string"))
        .then(|| "string".to_owned())
}

pub(super) fn is_open_enum(schema: &Value) -> bool {
    schema
        .get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|alts| {
            alts.iter().any(|a| {
                a.get("type").and_then(Value::as_str) == Some("string") && a.get("enum").is_none()
            })
        })
}

pub(super) fn required_set(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) const STRING_CONSTRAINTS: [&str; 3] = ["pattern", "minLength", "maxLength"];
pub(super) const NUMBER_CONSTRAINTS: [&str; 4] =
    ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];

/// Per component schema, the directions it travels in (transitively through `$ref`s).
pub(super) fn schema_dirs(spec: &Value) -> BTreeMap<String, Dirs> {
    let null = Value::Null;
    let components = spec.get("components").unwrap_or(&null);
    let mut out: BTreeMap<String, Dirs> = BTreeMap::new();
    for ((_, _), (item, op)) in operations(spec) {
        let mut request_roots = Vec::new();
        for param in parameters(item, op, components).values() {
            if let Some(schema) = param.get("schema") {
                request_roots.push(schema);
            }
        }
        if let Some(body) = op.get("requestBody") {
            request_roots.push(resolve(body, components));
        }
        let mut response_roots = Vec::new();
        for response in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|r| r.values())
        {
            response_roots.push(resolve(response, components));
        }
        for (roots, dir) in [
            (request_roots, Dir::Request),
            (response_roots, Dir::Response),
        ] {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&Value> = roots;
            while let Some(value) = stack.pop() {
                match value {
                    Value::Object(map) => {
                        if let Some(reference) = map.get("$ref").and_then(Value::as_str)
                            && let Some(name) = reference.strip_prefix("#/components/schemas/")
                            && seen.insert(name.to_owned())
                        {
                            out.entry(name.to_owned()).or_default().insert(dir);
                            if let Some(target) =
                                components.get("schemas").and_then(|s| s.get(name))
                            {
                                stack.push(target);
                            }
                        } else if let Some(reference) = map.get("$ref")
                            && reference.is_string()
                        {
                            stack.push(resolve(value, components));
                        }
                        stack.extend(map.values().filter(|v| v.is_object() || v.is_array()));
                    }
                    Value::Array(items) => stack.extend(items),
                    _ => {}
                }
            }
        }
    }
    out
}

/// `(path, method)` → `(label, typed success)`.
pub(super) type TypedSuccesses = BTreeMap<(String, &'static str), (String, String)>;

/// Per operation, the schema progenitor types as its success (after the transform), or `None` when the
/// spec cannot be transformed.
pub(super) fn typed_successes(spec: &Value) -> Option<TypedSuccesses> {
    let mut input = crate::transform::generation_input(spec).ok()?;
    crate::success::one_typed_success(&mut input);
    let components = input.get("components").cloned().unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    for ((path, method), (_, op)) in operations(&input) {
        let label = operation_label(method, &path, op);
        let typed = op
            .get("responses")
            .and_then(Value::as_object)
            .and_then(|r| {
                r.values()
                    .find_map(|resp| json_media(resolve(resp, &components).get("content")))
            })
            .and_then(|(_, mt)| mt.get("schema"))
            .map(|s| match ref_name(s) {
                Some(name) => name.to_owned(),
                None => crate::validate::schema_name(s),
            })
            .unwrap_or_else(|| "no body".to_owned());
        out.insert((path, method), (label, typed));
    }
    Some(out)
}
