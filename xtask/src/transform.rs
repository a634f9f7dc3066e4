//! Derives progenitor's input from the complete spec.
//!
//! `spec/openapi.yaml` describes the service as it is. progenitor 0.15 cannot generate some of that truth:
//! it panics when an operation has more than one success type or more than one error type, and it makes
//! closed Rust enums that would refuse a response carrying a new or differently cased value. Rather than
//! bend the spec, code generation runs on a copy changed by three documented steps:
//!
//! 1. **The contract-version header is dropped from every operation.** The extension crate sends
//!    `X-Xbl-Contract-Version` as a default header on every request (overridable per client), so callers
//!    don't pass `107` to every call.
//! 2. **Only success responses with a body are kept.** For each operation, the 2xx responses are kept;
//!    when any of them has an `application/json` body, the 2xx responses without one (e.g. 204) are dropped.
//!    Every non-2xx response is dropped. The generated client then returns those (204, 304, 412 with or
//!    without a session, text errors) as `Error::UnexpectedResponse(reqwest::Response)`, which
//!    `xbl-mpsd-ext` turns into typed outcomes and errors with the status, headers and body intact.
//! 3. **Enumerations must be named.** progenitor's enums are closed and would refuse `"None"` or a future
//!    value, so every enumeration becomes an open enum of `xbl-mpsd-api` instead ([`crate::enums`]); that
//!    needs a name, so an enumeration written inline (anywhere but directly under `components/schemas`) is an
//!    error naming where it is. The named ones are left as they are: codegen replaces them.
//! 4. **Value constraints are the service's to check.** `minLength`, `maxLength`, `pattern`, `minimum` and
//!    `maximum` are removed, so the generated types stay plain `String`s and integers (typify would otherwise
//!    make constrained newtypes): the spec states what the service refuses, and the service's 400 says so.

use anyhow::{Result, bail};
use serde_json::{Map, Value};

/// The header that step 1 removes.
pub const CONTRACT_VERSION_HEADER: &str = "X-Xbl-Contract-Version";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Applies the three steps to a copy of `spec` (an OpenAPI document as JSON).
pub fn generation_input(spec: &Value) -> Result<Value> {
    let mut out = spec.clone();
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let Some(paths) = out.get_mut("paths").and_then(Value::as_object_mut) else {
        bail!("the spec has no `paths` object");
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            bail!("path item `{path}` is not an object");
        };
        drop_contract_version(item, &components);
        for method in METHODS {
            if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                drop_contract_version(op, &components);
                keep_success_responses(op, &components)
                    .map_err(|e| e.context(format!("{} {path}", method.to_uppercase())))?;
            }
        }
    }
    refuse_inline_enums(&out, "")?;
    drop_value_constraints(&mut out);
    Ok(out)
}

/// Follows a local `$ref` (`#/components/<kind>/<name>`) once; other values are returned as they are.
fn resolve<'a>(value: &'a Value, components: &'a Value) -> &'a Value {
    let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
        return value;
    };
    reference
        .strip_prefix("#/components/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(kind, name)| components.get(kind)?.get(name))
        .unwrap_or(value)
}

fn is_contract_version(param: &Value, components: &Value) -> bool {
    let param = resolve(param, components);
    param.get("in").and_then(Value::as_str) == Some("header")
        && param
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| name.eq_ignore_ascii_case(CONTRACT_VERSION_HEADER))
}

fn drop_contract_version(holder: &mut Map<String, Value>, components: &Value) {
    if let Some(params) = holder.get_mut("parameters").and_then(Value::as_array_mut) {
        params.retain(|p| !is_contract_version(p, components));
        if params.is_empty() {
            holder.remove("parameters");
        }
    }
}

fn has_json_body(response: &Value) -> bool {
    response
        .get("content")
        .and_then(Value::as_object)
        .is_some_and(|content| {
            content
                .keys()
                .any(|media| media.starts_with("application/json"))
        })
}

fn keep_success_responses(op: &mut Map<String, Value>, components: &Value) -> Result<()> {
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        bail!("operation has no responses");
    };
    responses.retain(|code, _| code.starts_with('2'));
    let any_json = responses
        .values()
        .any(|r| has_json_body(resolve(r, components)));
    if any_json {
        responses.retain(|_, r| has_json_body(resolve(r, components)));
    }
    if responses.is_empty() {
        bail!("operation has no 2xx response");
    }
    Ok(())
}

/// Fails on the first enumeration that is not a named schema (`/components/schemas/<name>`).
fn refuse_inline_enums(value: &Value, pointer: &str) -> Result<()> {
    let named = pointer
        .strip_prefix("/components/schemas/")
        .is_some_and(|rest| !rest.contains('/'));
    if crate::enums::is_string_enum(value) {
        if named {
            // The whole schema is the enumeration (its `anyOf` alternatives included).
            return Ok(());
        }
        bail!(
            "the enumeration at `{pointer}` is inline: move it to a named schema under components/schemas \
             (it becomes an open enum of that name) and refer to it with $ref"
        );
    }
    match value {
        Value::Object(map) => map.iter().try_for_each(|(key, child)| {
            let key = key.replace('~', "~0").replace('/', "~1");
            refuse_inline_enums(child, &format!("{pointer}/{key}"))
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, child)| refuse_inline_enums(child, &format!("{pointer}/{i}"))),
        _ => Ok(()),
    }
}

/// The keywords step 4 removes.
const VALUE_CONSTRAINTS: [&str; 5] = ["minLength", "maxLength", "pattern", "minimum", "maximum"];

/// Step 4: removes value constraints from every schema (objects with a `type`, or under `schema`).
fn drop_value_constraints(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").is_some_and(Value::is_string) {
                for keyword in VALUE_CONSTRAINTS {
                    map.remove(keyword);
                }
            }
            map.values_mut().for_each(drop_value_constraints);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_value_constraints),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(op: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "paths": { "/x": { "parameters": [{"$ref": "#/components/parameters/Cv"}], "put": op } },
            "components": {
                "parameters": {
                    "Cv": {"name": "X-Xbl-Contract-Version", "in": "header", "required": true, "schema": {"type": "integer"}}
                },
                "responses": {
                    "Session": {"description": "s", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "Text": {"description": "t", "content": {"text/plain": {"schema": {"type": "string"}}}}
                }
            }
        })
    }

    #[test]
    fn drops_the_contract_header_by_ref_and_inline_and_keeps_other_parameters() {
        let spec = doc(json!({
            "parameters": [
                {"name": "x-xbl-contract-version", "in": "header", "schema": {"type": "string"}},
                {"name": "If-Match", "in": "header", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"$ref": "#/components/responses/Session"}}
        }));
        let out = generation_input(&spec).unwrap();
        assert!(out["paths"]["/x"].get("parameters").is_none());
        let params = out["paths"]["/x"]["put"]["parameters"].as_array().unwrap();
        assert_eq!(params.len(), 1);
        assert_eq!(params[0]["name"], "If-Match");
        // The spec itself is untouched.
        assert_eq!(
            spec["paths"]["/x"]["parameters"].as_array().unwrap().len(),
            1
        );
    }

    #[test]
    fn keeps_only_json_successes_when_there_are_some() {
        let spec = doc(json!({"responses": {
            "200": {"$ref": "#/components/responses/Session"},
            "201": {"$ref": "#/components/responses/Session"},
            "204": {"description": "deleted"},
            "400": {"$ref": "#/components/responses/Text"},
            "412": {"$ref": "#/components/responses/Session"}
        }}));
        let out = generation_input(&spec).unwrap();
        let codes: Vec<&String> = out["paths"]["/x"]["put"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(codes, ["200", "201"]);
    }

    #[test]
    fn keeps_empty_successes_when_no_success_has_a_body() {
        let spec = doc(json!({"responses": {
            "200": {"description": "ok"},
            "204": {"description": "ok"},
            "404": {"$ref": "#/components/responses/Text"}
        }}));
        let out = generation_input(&spec).unwrap();
        let codes: Vec<&String> = out["paths"]["/x"]["put"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(codes, ["200", "204"]);
    }

    #[test]
    fn refuses_an_operation_without_success() {
        let spec = doc(json!({"responses": {"404": {"$ref": "#/components/responses/Text"}}}));
        let err = generation_input(&spec).unwrap_err();
        assert!(format!("{err:#}").contains("PUT /x"), "{err:#}");
    }

    #[test]
    fn value_constraints_are_dropped_but_properties_named_like_them_are_kept() {
        let mut spec =
            doc(json!({"responses": {"200": {"$ref": "#/components/responses/Session"}}}));
        spec["components"]["schemas"] = json!({
            "Name": {"type": "string", "minLength": 1, "maxLength": 99, "pattern": "^a+$", "description": "d"},
            "Version": {"type": "integer", "minimum": 1, "maximum": 1},
            "Obj": {"type": "object", "properties": {"pattern": {"type": "string", "maxLength": 2}}}
        });
        let out = generation_input(&spec).unwrap();
        let schemas = &out["components"]["schemas"];
        assert_eq!(
            schemas["Name"],
            json!({"type": "string", "description": "d"})
        );
        assert_eq!(schemas["Version"], json!({"type": "integer"}));
        assert_eq!(
            schemas["Obj"]["properties"]["pattern"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn named_enumerations_are_kept_and_inline_ones_refused() {
        let mut spec =
            doc(json!({"responses": {"200": {"$ref": "#/components/responses/Session"}}}));
        spec["components"]["schemas"] = json!({
            "Open": {"description": "d", "anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string"}]},
            "Closed": {"type": "string", "enum": ["x"]},
            "Mixed": {"anyOf": [{"type": "string"}, {"type": "integer"}]}
        });
        let out = generation_input(&spec).unwrap();
        assert_eq!(out["components"]["schemas"], spec["components"]["schemas"]);

        spec["components"]["schemas"]["Holder"] = json!({"type": "object", "properties": {
            "stage": {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "string"}]}
        }});
        let err = generation_input(&spec).unwrap_err().to_string();
        assert!(
            err.contains("`/components/schemas/Holder/properties/stage` is inline"),
            "{err}"
        );
    }
}
