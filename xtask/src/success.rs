//! The fourth transform step: **one typed success per operation.**
//!
//! A truthful spec may give one operation several JSON success bodies of different schemas (say `200` with
//! a session and `202` with a job status). progenitor 0.15 takes one success type per operation and panics
//! on more. Rather than lie in the spec, the generation input keeps, per operation, the JSON 2xx responses
//! whose schema is the one of the **lowest** JSON 2xx status (typed: `ResponseValue<T>`), and drops the
//! other JSON 2xx responses. The generated client returns a dropped status as
//! `Error::UnexpectedResponse(reqwest::Response)` with status, headers and body intact; `xbl-mpsd-ext`'s
//! generic call path (`MpsdClient::call` in `xbl-mpsd-ext/src/client.rs`) returns any 2xx it receives that
//! way as a raw success, never as an error.
//!
//! Runs on the output of [`crate::transform::generation_input`] (which already dropped non-2xx responses
//! and the non-JSON 2xx ones when a JSON one exists), before [`crate::validate::check`].

use serde_json::Value;

use crate::validate::{METHODS, operation_label, resolve, schema_name};

/// What the step did to one operation: which status stayed typed and which became raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSuccess {
    /// `METHOD /path (operationId)`.
    pub operation: String,
    /// The status (and schema) kept typed.
    pub typed: String,
    /// The statuses (and schemas) the generated client returns raw.
    pub raw: Vec<String>,
}

fn json_schema<'a>(response: &'a Value, components: &'a Value) -> Option<&'a Value> {
    let response = resolve(response, components);
    response
        .get("content")?
        .as_object()?
        .iter()
        .find(|(media, _)| media.split(';').next().map(str::trim) == Some("application/json"))
        .and_then(|(_, mt)| mt.get("schema"))
}

/// Keeps one JSON success schema per operation of the generation input `spec`; returns what it changed.
pub fn one_typed_success(spec: &mut Value) -> Vec<RawSuccess> {
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let mut changed = Vec::new();
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return changed;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method) else {
                continue;
            };
            let label = operation_label(method, path, op);
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            // The JSON 2xx responses, lowest status first.
            let mut json: Vec<(String, Value)> = responses
                .iter()
                .filter(|(code, _)| code.starts_with('2'))
                .filter_map(|(code, r)| Some((code.clone(), json_schema(r, &components)?.clone())))
                .collect();
            json.sort_by(|a, b| a.0.cmp(&b.0));
            let Some((first_code, first_schema)) = json.first().cloned() else {
                continue;
            };
            let raw: Vec<(String, Value)> = json
                .into_iter()
                .filter(|(_, schema)| *schema != first_schema)
                .collect();
            if raw.is_empty() {
                continue;
            }
            // `retain` keeps the other responses in document order.
            responses.retain(|code, _| !raw.iter().any(|(raw_code, _)| raw_code == code));
            changed.push(RawSuccess {
                operation: label,
                typed: format!("{first_code} ({})", schema_name(&first_schema)),
                raw: raw
                    .iter()
                    .map(|(code, schema)| format!("{code} ({})", schema_name(schema)))
                    .collect(),
            });
        }
    }
    changed
}

/// The steps codegen runs on the transformed spec before progenitor: [`one_typed_success`],
/// then [`crate::validate::check`]. Prints which statuses became raw successes.
pub fn prepare(input: &mut Value) -> anyhow::Result<()> {
    for raw in crate::success::one_typed_success(input) {
        eprintln!(
            "note: {}: {} is typed; {} arrive raw (several JSON success schemas)",
            raw.operation,
            raw.typed,
            raw.raw.join(", ")
        );
    }
    crate::validate::check(input)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_responses(responses: Value) -> Value {
        json!({
            "paths": {"/x": {"put": {"operationId": "putX", "responses": responses}}},
            "components": {"responses": {
                "Session": {"description": "s", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}}
            }}
        })
    }

    fn body(schema: &str) -> Value {
        json!({"description": "d", "content": {"application/json; charset=utf-8": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
    }

    fn codes(spec: &Value) -> Vec<String> {
        spec["paths"]["/x"]["put"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_lowest_status_stays_typed_and_other_schemas_become_raw() {
        let mut spec = with_responses(json!({
            "202": body("Job"),
            "200": {"$ref": "#/components/responses/Session"},
            "201": body("Session"),
        }));
        let changed = one_typed_success(&mut spec);
        assert_eq!(codes(&spec), ["200", "201"]);
        assert_eq!(
            changed,
            [RawSuccess {
                operation: "PUT /x (putX)".into(),
                typed: "200 (Session)".into(),
                raw: vec!["202 (Job)".into()],
            }]
        );
        // The result is one success type: the validation passes.
        assert!(crate::validate::check(&spec).is_ok());
    }

    #[test]
    fn one_schema_for_every_success_changes_nothing() {
        let mut spec = with_responses(json!({"200": body("Session"), "201": body("Session")}));
        let before = spec.clone();
        assert!(one_typed_success(&mut spec).is_empty());
        assert_eq!(spec, before);
    }

    #[test]
    fn the_real_spec_has_one_success_schema_per_operation() {
        let root = crate::workspace_root().unwrap();
        let spec = crate::read_spec(&root.join(crate::codegen::SPEC_PATH)).unwrap();
        let mut input = crate::transform::generation_input(&spec).unwrap();
        assert_eq!(one_typed_success(&mut input), []);
    }
}
