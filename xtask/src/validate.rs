//! Checks the generation input before progenitor sees it, so that an input progenitor cannot take fails
//! with the operation and the reason instead of a panic deep inside the generator.
//!
//! progenitor 0.15 panics (`assert!`, `todo!`, `panic!`) or errs without naming the operation on:
//! more than one success type or more than one error type per operation; a request body with more than
//! one media type, or one it does not know; a JSON media type with an `encoding`; a JSON response without a
//! schema; a path parameter that is not required or not in the path template; an operation without an
//! `operationId`; cookie parameters and non-simple styles. [`check`] finds every such problem (all of
//! them, not only the first) and names each as `METHOD /path (operationId): reason`.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

/// The HTTP methods an OpenAPI path item can hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation progenitor cannot generate, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `METHOD /path (operationId)`.
    pub operation: String,
    /// What is wrong, in terms of the spec.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.reason)
    }
}

/// Every problem found; shown one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the generation input has {} problem(s) progenitor cannot take (change spec/openapi.yaml, or \
             xtask/src/transform.rs if the spec is truthful):",
            self.0.len()
        )?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The label of an operation in messages: `METHOD /path (operationId)`.
pub fn operation_label(method: &str, path: &str, op: &Value) -> String {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("no operationId");
    format!("{} {path} ({id})", method.to_uppercase())
}

/// Follows a local `$ref` (`#/components/<kind>/<name>`), repeatedly; other values are returned as they are.
pub fn resolve<'a>(value: &'a Value, components: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        match reference
            .strip_prefix("#/components/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(kind, name)| components.get(kind)?.get(name))
        {
            Some(next) => current = next,
            None => return current,
        }
    }
    current
}

/// Whether a response status key is a success for progenitor (`2xx`, `2XX`, `default`, `101`).
pub fn is_success_status(code: &str) -> bool {
    code.starts_with('2') || code == "default" || code == "101"
}

/// Whether a response status key is an error for progenitor (`4xx`, `5xx`, ranges, `default`).
fn is_error_status(code: &str) -> bool {
    code.starts_with('4') || code.starts_with('5') || code == "default"
}

fn is_json(media: &str) -> bool {
    let base = media.split(';').next().unwrap_or(media).trim();
    base == "application/json"
}

/// What progenitor makes of one response: a typed body (by its schema as written), raw bytes, or nothing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Typed(String),
    Raw,
    Upgrade,
    None,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Typed(schema) => write!(f, "JSON {schema}"),
            Self::Raw => f.write_str("a non-JSON body"),
            Self::Upgrade => f.write_str("an upgrade"),
            Self::None => f.write_str("no body"),
        }
    }
}

/// A short name of a schema: its `$ref` name, or its JSON (cut).
pub fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    let text = schema.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

fn response_kind(code: &str, response: &Value) -> Result<Kind, String> {
    let content = response.get("content").and_then(Value::as_object);
    match content
        .into_iter()
        .flatten()
        .find(|(media, _)| is_json(media))
    {
        Some((media, mt)) => {
            if mt
                .get("encoding")
                .and_then(Value::as_object)
                .is_some_and(|e| !e.is_empty())
            {
                return Err(format!("response {code} ({media}) has an `encoding`"));
            }
            match mt.get("schema") {
                Some(schema) => Ok(Kind::Typed(schema_name(schema))),
                None => Err(format!("response {code} ({media}) has no schema")),
            }
        }
        None if code == "101" => Ok(Kind::Upgrade),
        None if content.is_some_and(|c| !c.is_empty()) => Ok(Kind::Raw),
        None => Ok(Kind::None),
    }
}

/// Finds every operation of the generation input `spec` that progenitor cannot generate.
pub fn check(spec: &Value) -> Result<(), Problems> {
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let mut problems = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return Err(Problems(vec![Problem {
            operation: "(document)".into(),
            reason: "the spec has no `paths` object".into(),
        }]));
    };
    for (path, item) in paths {
        let item = resolve(item, &components);
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            let operation = operation_label(method, path, op);
            for reason in operation_problems(path, item, op, &components) {
                problems.push(Problem {
                    operation: operation.clone(),
                    reason,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Problems(problems))
    }
}

fn operation_problems(path: &str, item: &Value, op: &Value, components: &Value) -> Vec<String> {
    let mut reasons = Vec::new();
    if op.get("operationId").and_then(Value::as_str).is_none() {
        reasons.push("no operationId (progenitor names the method after it)".into());
    }
    responses_problems(op, components, &mut reasons);
    body_problems(op, components, &mut reasons);
    parameter_problems(path, item, op, components, &mut reasons);
    reasons
}

fn responses_problems(op: &Value, components: &Value, reasons: &mut Vec<String>) {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        reasons.push("no responses".into());
        return;
    };
    let mut success: Vec<(String, Kind)> = Vec::new();
    let mut errors: Vec<(String, Kind)> = Vec::new();
    let has_success_code = responses.keys().any(|c| c.starts_with('2'));
    for (code, response) in responses {
        let response = resolve(response, components);
        let kind = match response_kind(code, response) {
            Ok(kind) => kind,
            Err(reason) => {
                reasons.push(reason);
                continue;
            }
        };
        // progenitor drops `default` from the successes when a 2XX range precedes it; keep it simple and
        // count `default` as a success only when there is no explicit 2xx.
        if is_success_status(code) && (code != "default" || !has_success_code) {
            success.push((code.clone(), kind.clone()));
        }
        if is_error_status(code) {
            errors.push((code.clone(), kind));
        }
    }
    for (what, list) in [("success", &success), ("error", &errors)] {
        let kinds: BTreeSet<&Kind> = list.iter().map(|(_, k)| k).collect();
        if kinds.len() > 1 {
            let detail: Vec<String> = list.iter().map(|(c, k)| format!("{c} → {k}")).collect();
            reasons.push(format!(
                "more than one {what} type ({}); progenitor 0.15 takes one {what} type per operation",
                detail.join(", ")
            ));
        }
    }
}

fn body_problems(op: &Value, components: &Value, reasons: &mut Vec<String>) {
    let Some(body) = op.get("requestBody") else {
        return;
    };
    let body = resolve(body, components);
    let Some(content) = body.get("content").and_then(Value::as_object) else {
        return;
    };
    if content.len() > 1 {
        let media: Vec<&String> = content.keys().collect();
        reasons.push(format!(
            "the request body has {} media types ({media:?}); progenitor takes one",
            content.len()
        ));
    }
    for (media, mt) in content {
        let base = media.split(';').next().unwrap_or(media).trim();
        match base {
            "application/json" | "application/x-www-form-urlencoded" => {
                if mt.get("encoding").and_then(Value::as_object).is_some_and(|e| !e.is_empty()) {
                    reasons.push(format!("the request body ({media}) has an `encoding`"));
                }
            }
            "application/octet-stream" | "text/plain" | "text/x-markdown" => {}
            other => reasons.push(format!(
                "the request body's media type {other} is not one progenitor supports \
                 (application/json, application/x-www-form-urlencoded, application/octet-stream, text/plain)"
            )),
        }
        if mt.get("schema").is_none() {
            reasons.push(format!("the request body ({media}) has no schema"));
        }
    }
}

fn parameter_problems(
    path: &str,
    item: &Value,
    op: &Value,
    components: &Value,
    reasons: &mut Vec<String>,
) {
    let template: BTreeSet<&str> = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect();
    let params = item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .map(|p| resolve(p, components));
    let mut declared = BTreeSet::new();
    for param in params {
        let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
        let location = param.get("in").and_then(Value::as_str).unwrap_or("?");
        if param.get("content").is_some() {
            reasons.push(format!(
                "parameter `{name}` ({location}) uses `content`; progenitor needs a `schema`"
            ));
        }
        match location {
            "path" => {
                declared.insert(name.to_owned());
                if !template.contains(name) {
                    reasons.push(format!(
                        "path parameter `{name}` is not in the path template"
                    ));
                }
                if param.get("required").and_then(Value::as_bool) != Some(true) {
                    reasons.push(format!("path parameter `{name}` must be `required: true`"));
                }
                if param
                    .get("style")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s != "simple")
                {
                    reasons.push(format!(
                        "path parameter `{name}` has a style other than `simple`"
                    ));
                }
            }
            "query" => {
                if param
                    .get("style")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s != "form")
                {
                    reasons.push(format!(
                        "query parameter `{name}` has a style other than `form`"
                    ));
                }
            }
            "header" => {}
            "cookie" => reasons.push(format!(
                "cookie parameter `{name}`: progenitor does not support cookie parameters"
            )),
            other => reasons.push(format!("parameter `{name}` is in `{other}`")),
        }
    }
    for name in template {
        if !declared.contains(name) {
            reasons.push(format!("`{{{name}}}` in the path has no path parameter"));
        }
    }
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Adds the failing operation to a generation error: generates each operation of `input` alone with
/// `generate` (panics caught and silenced) and names the first that fails, with its reason.
pub fn name_failing_operation(
    error: anyhow::Error,
    input: &Value,
    generate: impl Fn(Value) -> anyhow::Result<()>,
) -> anyhow::Error {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut culprit = None;
    for (path, method) in operations(input) {
        let Some(one) = single_operation(input, &path, method) else {
            continue;
        };
        let label = input
            .get("paths")
            .and_then(|p| p.get(&path))
            .and_then(|item| item.get(method))
            .map(|op| operation_label(method, &path, op))
            .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generate(one)));
        let reason = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => format!("{e:#}"),
            Err(payload) => format!("progenitor panicked: {}", panic_message(&*payload)),
        };
        culprit = Some(format!("{label}: {reason}"));
        break;
    }
    std::panic::set_hook(hook);
    match culprit {
        Some(culprit) => error.context(format!("generating {culprit}")),
        None => error.context("every operation generates alone; the failure comes from their combination (e.g. two schemas with one name)"),
    }
}

/// A copy of `spec` with only the operation `method` `path` (and its path's shared parameters), for
/// generating operations one at a time to find the one progenitor fails on.
pub fn single_operation(spec: &Value, path: &str, method: &str) -> Option<Value> {
    let item = spec.get("paths")?.get(path)?;
    let mut only = serde_json::Map::new();
    for (key, value) in item.as_object()? {
        if !METHODS.contains(&key.as_str()) || key == method {
            only.insert(key.clone(), value.clone());
        }
    }
    let mut out = spec.clone();
    let paths = out.get_mut("paths")?.as_object_mut()?;
    paths.clear();
    paths.insert(path.to_owned(), Value::Object(only));
    Some(out)
}

/// Every `(path, method)` of `spec`, in document order.
pub fn operations(spec: &Value) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if item.get(method).is_some() {
                    out.push((path.clone(), method));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(path: &str, method: &str, op: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": { path: { method: op } },
            "components": {
                "schemas": {"A": {"type": "object"}, "B": {"type": "object"}},
                "responses": {"A": {"description": "a", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}
            }
        })
    }

    fn json_response(schema: &str) -> Value {
        json!({"description": "d", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
    }

    fn problems(spec: &Value) -> Vec<String> {
        match check(spec) {
            Ok(()) => Vec::new(),
            Err(p) => p.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_clean_operation_passes() {
        let s = spec(
            "/a/{id}",
            "get",
            json!({"operationId": "getA",
                   "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                   "responses": {"200": {"$ref": "#/components/responses/A"}, "201": json_response("A")}}),
        );
        assert_eq!(problems(&s), Vec::<String>::new());
    }

    #[test]
    fn two_success_schemas_are_named_with_the_operation() {
        let s = spec(
            "/a",
            "post",
            json!({"operationId": "makeA", "responses": {"200": json_response("A"), "202": json_response("B")}}),
        );
        let found = problems(&s);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("POST /a (makeA): more than one success type"),
            "{found:?}"
        );
        assert!(
            found[0].contains("200 → JSON A") && found[0].contains("202 → JSON B"),
            "{found:?}"
        );
    }

    #[test]
    fn a_typed_and_an_empty_success_are_two_types() {
        let s = spec(
            "/a",
            "put",
            json!({"operationId": "putA", "responses": {"200": json_response("A"), "204": {"description": "none"}}}),
        );
        assert!(problems(&s)[0].contains("200 → JSON A, 204 → no body"));
    }

    #[test]
    fn two_error_types_are_named() {
        let s = spec(
            "/a",
            "get",
            json!({"operationId": "getA", "responses": {
                "200": json_response("A"),
                "400": {"description": "t", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "409": json_response("B")}}),
        );
        let found = problems(&s);
        assert!(found[0].contains("more than one error type"), "{found:?}");
    }

    #[test]
    fn unsupported_media_types_and_parameters_are_named() {
        let s = spec(
            "/a/{id}",
            "post",
            json!({"operationId": "postA",
                   "parameters": [
                       {"name": "id", "in": "path", "schema": {"type": "string"}},
                       {"name": "c", "in": "cookie", "schema": {"type": "string"}}],
                   "requestBody": {"content": {
                       "application/xml": {"schema": {"type": "string"}},
                       "application/json": {"schema": {"type": "object"}}}},
                   "responses": {"200": json_response("A")}}),
        );
        let found = problems(&s).join("\n");
        for needle in [
            "POST /a/{id} (postA): the request body has 2 media types",
            "application/xml is not one progenitor supports",
            "path parameter `id` must be `required: true`",
            "cookie parameter `c`",
        ] {
            assert!(found.contains(needle), "{needle} missing from\n{found}");
        }
    }

    #[test]
    fn a_missing_operation_id_and_an_undeclared_path_parameter_are_named() {
        let s = spec(
            "/a/{id}",
            "delete",
            json!({"responses": {"204": {"description": "ok"}}}),
        );
        let found = problems(&s).join("\n");
        assert!(
            found.contains("DELETE /a/{id} (no operationId): no operationId"),
            "{found}"
        );
        assert!(
            found.contains("`{id}` in the path has no path parameter"),
            "{found}"
        );
    }

    #[test]
    fn single_operation_keeps_only_the_named_method() {
        let mut s = spec("/a", "get", json!({"operationId": "g", "responses": {}}));
        s["paths"]["/a"]["put"] = json!({"operationId": "p", "responses": {}});
        s["paths"]["/a"]["parameters"] = json!([]);
        let only = single_operation(&s, "/a", "put").unwrap();
        let item = only["paths"]["/a"].as_object().unwrap();
        assert!(item.contains_key("put") && item.contains_key("parameters"));
        assert!(!item.contains_key("get"));
        assert_eq!(
            operations(&s),
            [("/a".to_owned(), "get"), ("/a".to_owned(), "put")]
        );
    }

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let a = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(&*a), "static");
        let b = std::panic::catch_unwind(|| panic!("{} {}", "formatted", 1)).unwrap_err();
        assert_eq!(panic_message(&*b), "formatted 1");
    }

    #[test]
    fn a_failure_is_blamed_on_the_first_operation_that_fails_alone() {
        let mut s = spec("/a", "get", json!({"operationId": "getA", "responses": {}}));
        s["paths"]["/b"] = json!({"post": {"operationId": "postB", "responses": {}}});
        let err = name_failing_operation(anyhow::anyhow!("boom"), &s, |one| {
            if one["paths"].get("/b").is_some() {
                panic!("assertion failed: response_types.len() <= 1");
            }
            Ok(())
        });
        let text = format!("{err:#}");
        assert!(
            text.starts_with("generating POST /b (postB): progenitor panicked: assertion failed"),
            "{text}"
        );
        assert!(text.ends_with("boom"), "{text}");
    }
}
