//! Conformance with `spec/openapi.yaml`, the source of truth of the wire API.
//!
//! Every operation of the spec is driven over loopback with successes and every failure the emulator can be
//! made to give. Each response is checked against what the spec declares for that operation: the status is
//! declared (after resolving `$ref`s); the `Content-Type` is one of the declared media types, or the body is
//! empty where no content is declared; a JSON body validates against the declared schema (types, `required`,
//! `nullable`, `enum`, `anyOf`/`allOf`, `items`, `additionalProperties`, `format` int32/int64/date-time/uuid,
//! `minLength`/`maxLength`, the spec's `pattern`, `minItems`/`maxItems`, at every depth); the declared headers
//! are present. Each operation test also asserts that it saw exactly the statuses
//! listed in [`COVERAGE`], so the test cannot silently stop provoking one. Paths and verbs outside the spec's
//! operations must be 404/405 with a text body.
//!
//! Where the spec itself is incomplete, the emulator's answer is listed in [`SPEC_GAPS`] or
//! [`EMPTY_BODY_ALLOWED`] with the reason; those lists are exact (each entry must be hit).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use common::*;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xbl_mpsd_emulator::EmulatorConfig;

/// The statuses each operation test provokes: every one of them must be seen, and no other.
const COVERAGE: &[(&str, &[u16])] = &[
    (
        "write_session",
        &[200, 201, 204, 400, 401, 403, 404, 409, 412, 413],
    ),
    (
        "write_session_by_handle",
        &[200, 201, 204, 400, 401, 403, 404, 409, 412, 413],
    ),
    ("get_session", &[200, 204, 304, 400, 401, 403, 404]),
    (
        "get_session_by_handle",
        &[200, 204, 304, 400, 401, 403, 404],
    ),
    ("create_handle", &[201, 400, 401, 403, 404, 409, 413]),
    ("query_handles", &[200, 400, 401, 413]),
    ("get_handle", &[200, 400, 401, 404]),
    ("delete_handle", &[204, 400, 401, 403, 404]),
    ("query_sessions", &[200, 400, 401, 403, 404]),
    ("query_template_sessions", &[200, 400, 401, 403, 404]),
    ("query_sessions_batch", &[200, 400, 401, 403, 404, 413]),
    (
        "query_template_sessions_batch",
        &[200, 400, 401, 403, 404, 413],
    ),
    ("list_session_templates", &[200, 400, 401, 404]),
    ("get_session_template", &[200, 400, 401, 404]),
];

/// A status the emulator gives although the operation does not declare it, because the spec is incomplete.
struct Gap {
    operation: &'static str,
    status: u16,
    why: &'static str,
}

/// Statuses missing from the spec, with the reason (empty since the spec declares 400 on every operation and
/// 413 on every operation with a body). The emulator answers them with a text body like every other error.
const SPEC_GAPS: &[Gap] = &[];

/// Declared responses whose body may be empty although OpenAPI 3.0 can only declare `content` unconditionally
/// (`PreconditionFailed`: "The body is either empty or the current session"). An empty body has no session
/// headers.
const EMPTY_BODY_ALLOWED: &[(&str, u16)] =
    &[("write_session", 412), ("write_session_by_handle", 412)];

/// The largest request body the emulator under test accepts.
const MAX_BODY: usize = 16 * 1024;

/// The parsed spec.
struct Spec(Value);

impl Spec {
    fn load() -> Self {
        // The crate's directory as cargo gives it when the test runs, not as it was at compile time: a copy
        // of the workspace that shares a target directory may run a binary compiled in the original.
        let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        );
        let text = std::fs::read_to_string(dir.join("../spec/openapi.yaml"))
            .expect("spec/openapi.yaml is readable");
        Self(yaml_serde::from_str(&text).expect("spec/openapi.yaml is YAML that maps to JSON"))
    }

    /// Follows local `$ref`s until a node without one.
    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {reference}"));
            node = self
                .0
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        node
    }

    /// `(operationId, path template, method, operation)` of every operation.
    fn operations(&self) -> Vec<(&str, &str, Method, &Value)> {
        let mut found = Vec::new();
        for (path, item) in self.0["paths"].as_object().expect("paths") {
            for (verb, operation) in item.as_object().expect("path item") {
                if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                    let method = Method::from_bytes(verb.to_uppercase().as_bytes()).expect("verb");
                    found.push((id, path.as_str(), method, operation));
                }
            }
        }
        found
    }

    /// The path template, method and operation object of `operation_id`.
    fn operation(&self, operation_id: &str) -> (&str, Method, &Value) {
        self.operations()
            .into_iter()
            .find(|(id, ..)| *id == operation_id)
            .map(|(_, path, method, operation)| (path, method, operation))
            .unwrap_or_else(|| panic!("operation {operation_id} is not in the spec"))
    }

    /// The declared response of `operation_id` for `status`, `$ref`s resolved.
    fn response(&self, operation_id: &str, status: u16) -> Option<&Value> {
        let (_, _, operation) = self.operation(operation_id);
        operation["responses"]
            .get(status.to_string())
            .map(|response| self.resolve(response))
    }

    /// Validates `value` against `schema`, collecting every violation as `path: problem`.
    fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.validate(part, value, at, errors);
        }
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let matches = options.iter().any(|option| {
                let mut scratch = Vec::new();
                self.validate(option, value, at, &mut scratch);
                scratch.is_empty()
            });
            if !matches {
                errors.push(format!("{at}: {value} matches no anyOf alternative"));
            }
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => panic!("unknown schema type {other}"),
            };
            if !ok {
                errors.push(format!("{at}: expected {kind}, found {value}"));
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        let format_ok = match (schema.get("format").and_then(Value::as_str), value) {
            (Some("int32"), _) => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            (Some("int64"), Value::Number(number)) => number.is_i64(),
            (Some("date-time"), Value::String(text)) => {
                chrono::DateTime::parse_from_rfc3339(text).is_ok()
            }
            (Some("uuid"), Value::String(text)) => uuid::Uuid::parse_str(text).is_ok(),
            _ => true,
        };
        if !format_ok {
            errors.push(format!("{at}: {value} is not a valid {}", schema["format"]));
        }
        if let Value::String(text) = value {
            let length = text.chars().count() as u64;
            if schema["minLength"].as_u64().is_some_and(|min| length < min) {
                errors.push(format!(
                    "{at}: {value} is shorter than {}",
                    schema["minLength"]
                ));
            }
            if schema["maxLength"].as_u64().is_some_and(|max| length > max) {
                errors.push(format!(
                    "{at}: {value} is longer than {}",
                    schema["maxLength"]
                ));
            }
            match schema.get("pattern").and_then(Value::as_str) {
                None => {}
                // The spec's one pattern: no C0 or C1 control character.
                Some(r"^[^\x00-\x1F\x7F-\x9F]+$")
                    if text.is_empty() || text.chars().any(char::is_control) =>
                {
                    errors.push(format!("{at}: {value} does not match the pattern"));
                }
                Some(r"^[^\x00-\x1F\x7F-\x9F]+$") => {}
                Some(other) => panic!("the checker does not know the pattern {other}"),
            }
        }
        if let Value::Array(items) = value {
            let length = items.len() as u64;
            if schema["minItems"].as_u64().is_some_and(|min| length < min) {
                errors.push(format!("{at}: fewer than {} items", schema["minItems"]));
            }
            if schema["maxItems"].as_u64().is_some_and(|max| length > max) {
                errors.push(format!("{at}: more than {} items", schema["maxItems"]));
            }
        }
        if let Value::Object(map) = value {
            for key in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = key.as_str().expect("required names are strings");
                if !map.contains_key(key) {
                    errors.push(format!("{at}: required property '{key}' is missing"));
                }
            }
            let declared = schema.get("properties").and_then(Value::as_object);
            for (key, item) in map {
                let child = format!("{at}.{key}");
                match declared.and_then(|properties| properties.get(key)) {
                    Some(property) => self.validate(property, item, &child, errors),
                    None => {
                        if let Some(extra) = schema.get("additionalProperties") {
                            if extra == &Value::Bool(false) {
                                errors.push(format!("{child}: not allowed"));
                            } else if extra.is_object() {
                                self.validate(extra, item, &child, errors);
                            }
                        }
                    }
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
            for (index, item) in items.iter().enumerate() {
                self.validate(item_schema, item, &format!("{at}[{index}]"), errors);
            }
        }
    }
}

/// What the spec's descriptions require of a session document but its schema does not mark `required`
/// ("XSAPI requires `constants`, `properties` and `membersInfo`", each with `system`; members carry their XUID).
fn session_essentials(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for path in ["/constants/system", "/properties/system", "/membersInfo"] {
        if !doc.pointer(path).is_some_and(Value::is_object) {
            errors.push(format!("session{}: missing object", path.replace('/', ".")));
        }
    }
    for key in ["first", "next", "count", "accepted"] {
        if !doc["membersInfo"].get(key).is_some_and(Value::is_u64) {
            errors.push(format!("session.membersInfo.{key}: missing count"));
        }
    }
    for (key, member) in doc["members"].as_object().into_iter().flatten() {
        if !member["constants"]["system"]["xuid"].is_string() {
            errors.push(format!(
                "session.members.{key}.constants.system.xuid: missing string"
            ));
        }
    }
    errors
}

/// Whether `location` is a session path `/serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`.
fn is_session_location(location: &str) -> bool {
    let segments: Vec<&str> = location.split('/').collect();
    matches!(
        segments.as_slice(),
        ["", a, scid, b, template, c, name]
            if a.eq_ignore_ascii_case("serviceconfigs")
                && b.eq_ignore_ascii_case("sessiontemplates")
                && c.eq_ignore_ascii_case("sessions")
                && ![scid, template, name].iter().any(|part| part.is_empty())
    )
}

/// The media type of a `Content-Type` value, without parameters, lower case.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// A checked response.
struct Answer {
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The `id` of a handle document.
    fn id(&self) -> String {
        self.json["id"].as_str().expect("handle id").to_owned()
    }
}

/// An emulator, the spec, and the (operation, status) pairs seen so far.
struct Checker {
    spec: Spec,
    h: Harness,
    seen: Mutex<BTreeSet<(String, u16)>>,
}

/// One request to a spec operation.
struct Call {
    operation: &'static str,
    params: Vec<(&'static str, String)>,
    /// A path to use instead of the operation's template (a "bad URI" that still reaches the operation).
    path: Option<String>,
    query: String,
    user: Option<u64>,
    contract: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl Call {
    fn new(operation: &'static str) -> Self {
        Self {
            operation,
            params: Vec::new(),
            path: None,
            query: String::new(),
            user: Some(ALICE),
            contract: Some("107"),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A call on the session `name` of the test template.
    fn session(operation: &'static str, name: &str) -> Self {
        Self::new(operation)
            .param("scid", SCID)
            .param("sessionTemplateName", TEMPLATE)
            .param("sessionName", name)
    }

    /// A call on the handle `id`.
    fn handle(operation: &'static str, id: &str) -> Self {
        Self::new(operation).param("handleId", id)
    }

    fn param(mut self, name: &'static str, value: &str) -> Self {
        self.params.push((name, value.to_owned()));
        self
    }

    fn path(mut self, path: String) -> Self {
        self.path = Some(path);
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.query = format!("?{query}");
        self
    }

    fn user(mut self, xuid: u64) -> Self {
        self.user = Some(xuid);
        self
    }

    fn anonymous(mut self) -> Self {
        self.user = None;
        self
    }

    fn contract(mut self, value: Option<&'static str>) -> Self {
        self.contract = value;
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self
    }

    fn raw(mut self, body: &[u8]) -> Self {
        self.body = Some(body.to_vec());
        self
    }
}

impl Checker {
    async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    async fn start_with(config: EmulatorConfig) -> Self {
        let config = EmulatorConfig {
            max_body_bytes: MAX_BODY,
            ..config
        };
        Self {
            spec: Spec::load(),
            h: start_with(config).await,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// Sends `call`, asserts it answered `expected`, and checks the answer against the spec.
    async fn send(&self, call: Call, expected: u16) -> Answer {
        let (template, method, _) = self.spec.operation(call.operation);
        let mut path = call.path.clone().unwrap_or_else(|| template.to_owned());
        for (name, value) in &call.params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(
            !path.contains('{'),
            "{}: unfilled path {path}",
            call.operation
        );
        let mut request = self.h.client.request(
            method.clone(),
            format!("{}{path}{}", self.h.base, call.query),
        );
        if let Some(xuid) = call.user {
            request = request.header("Authorization", auth(xuid));
        }
        if let Some(version) = call.contract {
            request = request.header("X-Xbl-Contract-Version", version);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = call.body {
            request = request
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(body);
        }
        let response = request.send().await.expect("the emulator answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        let context = format!("{method} {path}{} ({})", call.query, call.operation);
        assert_eq!(
            status,
            expected,
            "{context}: {}",
            String::from_utf8_lossy(&body)
        );
        let json = self.check(call.operation, status, &headers, &body, &context);
        self.seen
            .lock()
            .unwrap()
            .insert((call.operation.to_owned(), status));
        Answer { headers, json }
    }

    /// Checks one answer against the spec; returns the JSON body (or `Null`).
    fn check(
        &self,
        operation: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        context: &str,
    ) -> Value {
        assert!(status < 500, "{context}: server error {status}");
        let Some(declared) = self.spec.response(operation, status) else {
            let gap = SPEC_GAPS
                .iter()
                .find(|gap| gap.operation == operation && gap.status == status);
            assert!(
                gap.is_some(),
                "{context}: status {status} is not declared by the spec"
            );
            assert_text_error(headers, body, context);
            return Value::Null;
        };
        let content = declared.get("content").and_then(Value::as_object);
        let media = media_type(headers);
        let Some(content) = content.filter(|content| !content.is_empty()) else {
            assert!(
                body.is_empty(),
                "{context}: the spec declares no body, got {body:?}"
            );
            assert_eq!(media, None, "{context}: Content-Type without a body");
            self.check_headers(declared, headers, &Value::Null, context);
            return Value::Null;
        };
        if body.is_empty() {
            assert!(
                EMPTY_BODY_ALLOWED.contains(&(operation, status)),
                "{context}: the spec declares content {:?}, but the body is empty",
                content.keys().collect::<Vec<_>>()
            );
            return Value::Null;
        }
        let media = media.unwrap_or_else(|| panic!("{context}: a body without Content-Type"));
        let Some(media_object) = content.get(&media) else {
            panic!(
                "{context}: Content-Type {media} is not one of {:?}",
                content.keys().collect::<Vec<_>>()
            );
        };
        let schema = &media_object["schema"];
        let value = if media == "application/json" {
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{context}: invalid JSON ({e})"))
        } else {
            let text = String::from_utf8(body.to_vec()).expect("text bodies are UTF-8");
            assert!(!text.trim().is_empty(), "{context}: empty message");
            Value::String(text)
        };
        let mut errors = Vec::new();
        self.spec.validate(schema, &value, "body", &mut errors);
        if schema.get("$ref").and_then(Value::as_str)
            == Some("#/components/schemas/MultiplayerSession")
        {
            errors.extend(session_essentials(&value));
        }
        assert!(
            errors.is_empty(),
            "{context}: body does not match its schema:\n{}\n{value:#}",
            errors.join("\n")
        );
        self.check_headers(declared, headers, &value, context);
        if media == "application/json" {
            value
        } else {
            Value::Null
        }
    }

    /// Every declared header is present and well-formed (`Expires` exactly when the body has `nextTimer`).
    fn check_headers(&self, declared: &Value, headers: &HeaderMap, body: &Value, context: &str) {
        for name in declared
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|h| h.keys())
        {
            let value = headers
                .get(name.as_str())
                .and_then(|value| value.to_str().ok());
            if name.eq_ignore_ascii_case("Expires") {
                assert_eq!(
                    value.is_some(),
                    body.get("nextTimer").is_some(),
                    "{context}: Expires iff nextTimer"
                );
                continue;
            }
            let value =
                value.unwrap_or_else(|| panic!("{context}: declared header {name} is missing"));
            assert!(!value.is_empty(), "{context}: header {name} is empty");
            match name.to_ascii_lowercase().as_str() {
                "date" => assert!(
                    httpdate::parse_http_date(value).is_ok(),
                    "{context}: Date {value}"
                ),
                "content-location" => assert!(
                    is_session_location(value),
                    "{context}: Content-Location {value}"
                ),
                "retry-after" => assert!(
                    value.parse::<u64>().is_ok(),
                    "{context}: Retry-After {value}"
                ),
                _ => {}
            }
        }
    }

    /// Asserts that `operation` was seen with exactly its [`COVERAGE`] statuses.
    fn assert_covered(&self, operation: &str) {
        let expected: BTreeSet<u16> = COVERAGE
            .iter()
            .find(|(id, _)| *id == operation)
            .map(|(_, statuses)| statuses.iter().copied().collect())
            .unwrap_or_else(|| panic!("{operation} has no COVERAGE entry"));
        let seen: BTreeSet<u16> = self
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| id == operation)
            .map(|(_, status)| *status)
            .collect();
        assert_eq!(seen, expected, "{operation}: statuses seen vs COVERAGE");
    }

    // Fixtures, themselves checked.

    /// `xuid` joins (or creates) session `name` with `extra` merged into the join body.
    async fn join(&self, xuid: u64, name: &str, extra: Value, expected: u16) -> Answer {
        let body = with(join_body(), extra);
        self.send(
            Call::session("write_session", name).user(xuid).json(body),
            expected,
        )
        .await
    }

    /// `xuid` creates a handle of `kind` for session `name` (`extra` merged into the body).
    async fn handle(&self, xuid: u64, kind: &str, name: &str, extra: Value) -> Answer {
        let body = json!({ "type": kind, "version": 1,
            "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": name } });
        let body = with(body, extra);
        self.send(Call::new("create_handle").user(xuid).json(body), 201)
            .await
    }
}

/// `base` with the top-level keys of `extra` set.
fn with(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().into_iter().flatten() {
        base[key] = value.clone();
    }
    base
}

/// Asserts a non-empty `text/plain` body.
fn assert_text_error(headers: &HeaderMap, body: &[u8], context: &str) {
    assert_eq!(
        media_type(headers).as_deref(),
        Some("text/plain"),
        "{context}: error Content-Type"
    );
    assert!(!body.is_empty(), "{context}: empty error body");
}

/// A JSON body over [`MAX_BODY`].
fn oversized() -> Value {
    json!({ "properties": { "custom": { "blob": "x".repeat(MAX_BODY + 1) } } })
}

/// The failures every operation shares: authorization and contract version.
async fn common_failures(c: &Checker, call: impl Fn() -> Call) {
    c.send(call().anonymous(), 401).await;
    c.send(
        call().header("Authorization", "Bearer abc").anonymous(),
        401,
    )
    .await;
    c.send(
        call()
            .header("Authorization", "XBL3.0 x=-;notaxuid")
            .anonymous(),
        401,
    )
    .await;
    for version in [None, Some("abc"), Some("103")] {
        c.send(call().contract(version), 400).await;
    }
}

/// The emulator file whose handlers serve the spec path `path` (the router in `routes/mod.rs` mounts them).
fn route_file(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/handles") {
        "xbl-mpsd-emulator/src/routes/handles.rs"
    } else if lower.contains("/sessions/") {
        "xbl-mpsd-emulator/src/routes/sessions.rs"
    } else if lower.ends_with("/sessions") || lower.ends_with("/batch") {
        "xbl-mpsd-emulator/src/queries.rs"
    } else {
        "xbl-mpsd-emulator/src/routes/templates.rs"
    }
}

/// What to do for a spec operation the emulator does not serve or this file does not cover: the route, the
/// conformance test, the COVERAGE row.
fn missing_operation(id: &str, method: &Method, path: &str) -> String {
    format!(
        "operation `{id}` ({method} {path}) has no emulator route or conformance coverage: add its handler \
         in {file} and mount it in the router (`build` in xbl-mpsd-emulator/src/routes/mod.rs; a wrong verb \
         on the path must be 405), then a `#[tokio::test]` in xbl-mpsd-emulator/tests/spec_conformance.rs \
         that drives every status it can give through `Checker::send` and ends with \
         `c.assert_covered(\"{id}\")`, and a row `(\"{id}\", &[200, 400, 401, …])` in COVERAGE there; then \
         its row in the emulator README's Operations table",
        file = route_file(path),
    )
}

#[test]
fn coverage_names_every_operation_of_the_spec() {
    let spec = Spec::load();
    let in_spec: BTreeSet<&str> = spec.operations().iter().map(|(id, ..)| *id).collect();
    let covered: BTreeSet<&str> = COVERAGE.iter().map(|(id, _)| *id).collect();
    // A new spec operation needs an emulator route and a conformance test before it is listed here.
    let mut problems: Vec<String> = spec
        .operations()
        .into_iter()
        .filter(|(id, ..)| !covered.contains(id))
        .map(|(id, path, method, _)| missing_operation(id, &method, path))
        .collect();
    problems.extend(covered.difference(&in_spec).map(|id| {
        format!(
            "COVERAGE lists `{id}`, which the spec has not: remove its row from COVERAGE in \
             xbl-mpsd-emulator/tests/spec_conformance.rs (and its test, and the emulator route if the \
             operation is gone)"
        )
    }));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (operation, statuses) in COVERAGE {
        for status in *statuses {
            let declared = spec.response(operation, *status).is_some();
            let gap = SPEC_GAPS
                .iter()
                .any(|gap| gap.operation == *operation && gap.status == *status);
            assert!(
                declared != gap,
                "{operation} {status}: declared={declared}, listed as a gap={gap}"
            );
        }
    }
    for gap in SPEC_GAPS {
        assert!(!gap.why.is_empty());
    }
    for (operation, status) in EMPTY_BODY_ALLOWED {
        let declared = spec.response(operation, *status).expect("declared");
        assert!(
            declared["content"].is_object(),
            "{operation} {status} declares content"
        );
        assert!(
            declared["description"]
                .as_str()
                .unwrap()
                .contains("either empty"),
            "{operation} {status}: the spec says the body may be empty"
        );
    }
}

#[test]
fn the_checker_rejects_what_the_spec_does_not_allow() {
    let spec = Spec::load();
    let session = json!({ "$ref": "#/components/schemas/MultiplayerSession" });
    let errors_of = |schema: &Value, value: Value| {
        let mut errors = Vec::new();
        spec.validate(schema, &value, "body", &mut errors);
        errors
    };
    let good = json!({ "contractVersion": 107, "changeNumber": 1, "startTime": "2026-01-02T03:04:05.678Z",
        "constants": { "system": { "visibility": "Open", "sessionEmptyTimeout": null, "maxMembersCount": 2 } },
        "properties": { "system": {}, "custom": {} },
        "membersInfo": { "first": 0, "next": 1, "count": 1, "accepted": 1, "active": 1 },
        "members": { "0": { "constants": { "system": { "xuid": "1", "index": 0 } }, "reserved": false } } });
    assert_eq!(errors_of(&session, good.clone()), Vec::<String>::new());
    assert_eq!(session_essentials(&good), Vec::<String>::new());
    for (pointer, bad) in [
        ("/members/0/constants/system/xuid", json!(1)),
        ("/membersInfo/count", json!("1")),
        ("/constants/system/maxMembersCount", json!(1u64 << 40)),
        ("/constants/system/visibility", json!(3)),
        ("/changeNumber", json!(1.5)),
        ("/startTime", json!("yesterday")),
        ("/constants/system", json!([])),
        ("/members/0/reserved", json!("no")),
    ] {
        let mut doc = good.clone();
        *doc.pointer_mut(pointer).unwrap() = bad;
        assert!(!errors_of(&session, doc).is_empty(), "{pointer}");
    }
    let mut bare = good.clone();
    bare.as_object_mut().unwrap().remove("membersInfo");
    bare["members"]["0"]["constants"]["system"]
        .as_object_mut()
        .unwrap()
        .remove("xuid");
    assert_eq!(
        session_essentials(&bare).len(),
        6,
        "{:?}",
        session_essentials(&bare)
    );
    let handle = json!({ "$ref": "#/components/schemas/HandleDocument" });
    assert!(
        !errors_of(&handle, json!({ "id": "x" })).is_empty(),
        "type is required"
    );
    assert!(!errors_of(&handle, json!({ "type": "activity", "ownerXuid": 5 })).is_empty());
    let results = json!({ "$ref": "#/components/schemas/HandleQueryResponse" });
    assert!(
        !errors_of(&results, json!({})).is_empty(),
        "results is required"
    );
    assert!(is_session_location(
        "/serviceconfigs/a/sessiontemplates/b/sessions/c"
    ));
    assert!(!is_session_location(
        "/serviceconfigs/a/sessionTemplates/b/sessions/"
    ));
    assert!(!is_session_location("/handles/a/session"));
}

#[tokio::test]
async fn write_session_conforms() {
    let c = Checker::start().await;
    let op = "write_session";
    let put = |name: &str| Call::session(op, name);
    // 201, 200, nocommit, 204 (the last member leaves; a create that adds no member).
    let created = c.join(ALICE, "w", json!({}), 201).await;
    let etag = created.header("etag").to_owned();
    c.send(put("w").user(BOB).json(join_body()), 200).await;
    c.send(
        put("w")
            .query("nocommit=true")
            .json(json!({ "properties": { "custom": { "k": 1 } } })),
        200,
    )
    .await;
    c.send(put("w").json(json!({})), 200).await;
    c.send(put("empty").json(json!({})), 204).await;
    c.join(ALICE, "leave", json!({}), 201).await;
    c.send(put("leave").json(json!({ "members": { "me": null } })), 204)
        .await;
    // 400: bad JSON, wrong shapes, wrong types, bad names, contract version, joining a visible or full session.
    for raw in [&b"{"[..], b"", b"[1]", b"\"text\"", b"nul"] {
        c.send(put("w").raw(raw), 400).await;
    }
    for body in [
        json!({ "members": [] }),
        json!({ "constants": "x" }),
        json!({ "unknown": 1 }),
        json!({ "properties": { "system": { "closed": "no" } } }),
        json!({ "members": { "me": { "constants": { "system": { "xuid": 7 } } } } }),
        json!({ "members": { "me": { "properties": { "system": { "active": true, "ready": true } } } } }),
    ] {
        c.send(put("w").json(body), 400).await;
    }
    c.send(put(&"n".repeat(100)).json(join_body()), 400).await;
    common_failures(&c, || put("w").json(join_body())).await;
    c.join(
        ALICE,
        "vis",
        json!({ "constants": { "system": { "visibility": "visible" } } }),
        201,
    )
    .await;
    c.join(BOB, "vis", json!({}), 400).await;
    c.join(
        ALICE,
        "full",
        json!({ "constants": { "system": { "maxMembersCount": 1 } } }),
        201,
    )
    .await;
    c.join(BOB, "full", json!({}), 400).await;
    // 403: not a member, private, by index, impersonation, closed, locked.
    c.send(
        put("w")
            .user(CAROL)
            .json(json!({ "properties": { "custom": { "k": 2 } } })),
        403,
    )
    .await;
    c.join(
        ALICE,
        "priv",
        json!({ "constants": { "system": { "visibility": "private" } } }),
        201,
    )
    .await;
    c.join(BOB, "priv", json!({}), 403).await;
    c.send(put("w").json(json!({ "members": { "1": null } })), 403)
        .await;
    c.send(put("w").user(CAROL).json(json!({ "members": { "me": { "constants": { "system": { "xuid": ALICE.to_string() } } } } })), 403).await;
    for flag in ["closed", "locked"] {
        let properties = json!({ "properties": { "system": { flag: true } } });
        c.join(ALICE, flag, properties, 201).await;
        c.join(BOB, flag, json!({}), 403).await;
    }
    // 404: a path that names no session resource.
    let typo = format!("/serviceconfigs/{SCID}/sessionTemplate/{TEMPLATE}/sessions/w");
    c.send(put("w").path(typo).json(join_body()), 404).await;
    // 409: a constant changes.
    c.send(
        put("w").json(json!({ "constants": { "system": { "maxMembersCount": 5 } } })),
        409,
    )
    .await;
    // 412 with the session, and without (the session is missing, or the caller cannot read it).
    c.send(put("w").header("If-Match", "0000").json(json!({})), 412)
        .await;
    c.send(put("w").header("If-None-Match", "*").json(join_body()), 412)
        .await;
    c.send(
        put("missing").header("If-Match", "*").json(join_body()),
        412,
    )
    .await;
    c.send(
        put("priv")
            .user(CAROL)
            .header("If-Match", "0000")
            .json(join_body()),
        412,
    )
    .await;
    c.send(put("w").header("If-Match", &etag).json(json!({})), 412)
        .await;
    // 413.
    c.send(put("w").json(oversized()), 413).await;
    c.assert_covered(op);
}

#[tokio::test]
async fn write_session_by_handle_conforms() {
    let c = Checker::start().await;
    let op = "write_session_by_handle";
    let put = |id: &str| Call::handle(op, id);
    c.join(ALICE, "h", json!({}), 201).await;
    let activity = c.handle(ALICE, "activity", "h", json!({})).await.id();
    let answer = c
        .send(
            put(&activity)
                .user(BOB)
                .header("If-Match", "*")
                .json(join_body()),
            200,
        )
        .await;
    assert_eq!(answer.header("content-location"), session_path("h"));
    // A transfer handle may point at a session that does not exist yet: writing through it creates it (201),
    // or answers 204 when the write adds no member, or 404 with If-Match: *.
    let origin =
        json!({ "originSessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "h" } });
    let transfer = c
        .handle(ALICE, "transfer", "target", origin.clone())
        .await
        .id();
    c.send(put(&transfer).user(BOB).json(join_body()), 201)
        .await;
    let other = c.handle(ALICE, "transfer", "target2", origin).await.id();
    c.send(put(&other).json(json!({})), 204).await;
    c.send(put(&other).header("If-Match", "*").json(join_body()), 404)
        .await;
    for raw in [&b"{"[..], b"", b"[]"] {
        c.send(put(&activity).raw(raw), 400).await;
    }
    c.send(
        put(&activity).json(json!({ "members": { "me": { "roles": 3 } }, "constants": [] })),
        400,
    )
    .await;
    common_failures(&c, || put(&activity).json(join_body())).await;
    c.send(
        put(&activity)
            .user(CAROL)
            .json(json!({ "properties": { "custom": {} } })),
        403,
    )
    .await;
    for unknown in ["00000000-0000-0000-0000-000000000000", "not-a-guid"] {
        c.send(put(unknown).json(join_body()), 404).await;
    }
    c.send(
        put(&activity).json(json!({ "constants": { "custom": { "changed": true } } })),
        409,
    )
    .await;
    c.send(
        put(&activity).header("If-Match", "stale").json(json!({})),
        412,
    )
    .await;
    c.send(put(&activity).json(oversized()), 413).await;
    c.assert_covered(op);
}

#[tokio::test]
async fn get_session_conforms() {
    let c = Checker::start().await;
    let op = "get_session";
    let get = |name: &str| Call::session(op, name);
    let etag = c
        .join(ALICE, "g", json!({}), 201)
        .await
        .header("etag")
        .to_owned();
    c.send(get("g").user(BOB), 200).await;
    c.send(get("missing"), 204).await;
    c.send(get("g").header("If-None-Match", &etag), 304).await;
    c.send(get("g").header("If-None-Match", "other"), 200).await;
    c.send(get(&"n".repeat(100)), 400).await;
    common_failures(&c, || get("g")).await;
    c.join(
        ALICE,
        "priv",
        json!({ "constants": { "system": { "visibility": "private" } } }),
        201,
    )
    .await;
    c.send(get("priv").user(BOB), 403).await;
    let typo = format!("/serviceconfigs/{SCID}/sessionTemplates/{TEMPLATE}/session/g");
    c.send(get("g").path(typo), 404).await;
    c.assert_covered(op);
}

#[tokio::test]
async fn get_session_by_handle_conforms() {
    let c = Checker::start().await;
    let op = "get_session_by_handle";
    let get = |id: &str| Call::handle(op, id);
    c.join(
        ALICE,
        "gh",
        json!({ "constants": { "system": { "visibility": "private" } } }),
        201,
    )
    .await;
    let activity = c.handle(ALICE, "activity", "gh", json!({})).await.id();
    let answer = c.send(get(&activity), 200).await;
    assert_eq!(answer.header("content-location"), session_path("gh"));
    let etag = answer.header("etag").to_owned();
    c.send(get(&activity).header("If-None-Match", &etag), 304)
        .await;
    let origin =
        json!({ "originSessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "gh" } });
    let transfer = c.handle(ALICE, "transfer", "nowhere", origin).await.id();
    c.send(get(&transfer), 204).await;
    common_failures(&c, || get(&activity)).await;
    c.send(get(&activity).user(BOB), 403).await;
    for unknown in ["6f1b4c1e-0000-4000-8000-000000000000", "nope", "%FF"] {
        c.send(get(unknown), 404).await;
    }
    c.assert_covered(op);
}

#[tokio::test]
async fn create_handle_conforms() {
    let c = Checker::start().await;
    let op = "create_handle";
    let post = |body: Value| Call::new(op).json(body);
    let searchable =
        json!({ "constants": { "system": { "capabilities": { "searchable": true } } } });
    c.join(ALICE, "c", searchable, 201).await;
    let reference = json!({ "scid": SCID, "templateName": TEMPLATE, "name": "c" });
    let activity = c.handle(ALICE, "activity", "c", json!({})).await;
    assert_eq!(activity.json["ownerXuid"], ALICE.to_string());
    let invite = json!({ "invitedXuid": BOB.to_string(), "inviteAttributes": { "titleId": "1234", "context": "x" } });
    c.handle(ALICE, "invite", "c", invite).await;
    let search = json!({ "searchAttributes": { "tags": ["t"], "strings": { "s": "v" }, "numbers": { "n": 1.5 } } });
    c.handle(ALICE, "search", "c", search.clone()).await;
    c.handle(
        ALICE,
        "transfer",
        "elsewhere",
        json!({ "originSessionRef": reference }),
    )
    .await;
    c.send(
        post(json!({ "type": "search", "version": 1, "sessionRef": reference })),
        409,
    )
    .await;
    for body in [
        json!({ "type": "party", "version": 1, "sessionRef": reference }),
        json!({ "type": "activity", "version": 2, "sessionRef": reference }),
        json!({ "type": "activity", "version": 1 }),
        json!({ "type": "invite", "version": 1, "sessionRef": reference, "invitedXuid": 5 }),
        json!({ "type": "transfer", "version": 1, "sessionRef": reference }),
    ] {
        c.send(post(body), 400).await;
    }
    c.send(Call::new(op).raw(b"{"), 400).await;
    c.join(ALICE, "plain", json!({}), 201).await;
    c.send(post(json!({ "type": "search", "version": 1, "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "plain" } })), 400).await;
    common_failures(&c, || {
        post(json!({ "type": "activity", "version": 1, "sessionRef": reference }))
    })
    .await;
    c.send(
        post(json!({ "type": "activity", "version": 1, "sessionRef": reference })).user(CAROL),
        403,
    )
    .await;
    c.send(post(json!({ "type": "activity", "version": 1, "sessionRef": { "scid": SCID, "templateName": TEMPLATE, "name": "none" } })), 404).await;
    c.send(Call::new(op).json(oversized()), 413).await;
    c.assert_covered(op);
}

#[tokio::test]
async fn query_handles_conforms() {
    let c = Checker::start().await;
    let op = "query_handles";
    let query = |body: Value| Call::new(op).user(BOB).json(body);
    let searchable = json!({ "constants": { "system": { "capabilities": { "searchable": true } } },
        "properties": { "custom": { "map": "m" } },
        "roleTypes": { "lfg": { "roles": { "friend": { "max": 5 } } } } });
    c.join(ALICE, "q", searchable, 201).await;
    c.handle(ALICE, "activity", "q", json!({})).await;
    c.handle(ALICE, "search", "q", json!({})).await;
    let activities =
        json!({ "type": "activity", "scid": SCID, "owners": { "xuids": [ALICE.to_string()] } });
    let searches = json!({ "type": "search", "scid": SCID, "templateName": TEMPLATE });
    for include in [
        "",
        "include=relatedInfo,customProperties",
        "include=relatedInfo,roleInfo,customProperties",
    ] {
        for body in [&activities, &searches] {
            let answer = c.send(query(body.clone()).query(include), 200).await;
            assert_eq!(answer.json["results"].as_array().map(Vec::len), Some(1));
        }
    }
    let people = json!({ "type": "activity", "owners": { "people": { "moniker": "people", "monikerXuid": BOB.to_string() } } });
    c.send(query(people), 200).await;
    for body in [
        json!({ "type": "activity", "owners": { "xuids": [ALICE.to_string()], "people": {} } }),
        json!({ "type": "search", "scid": SCID, "templateName": TEMPLATE, "filter": "tags/any(d:d eq 'x')" }),
        json!({ "type": "session" }),
        json!({ "type": "activity", "owners": { "xuids": [1] } }),
    ] {
        c.send(query(body), 400).await;
    }
    c.send(Call::new(op).raw(b"[]"), 400).await;
    common_failures(&c, || query(activities.clone())).await;
    c.send(Call::new(op).json(oversized()), 413).await;
    c.assert_covered(op);
}

#[tokio::test]
async fn get_and_delete_handle_conform() {
    let c = Checker::start().await;
    c.join(ALICE, "d", json!({}), 201).await;
    let activity = c.handle(ALICE, "activity", "d", json!({})).await.id();
    let invite = c
        .handle(
            ALICE,
            "invite",
            "d",
            json!({ "invitedXuid": BOB.to_string() }),
        )
        .await
        .id();
    for id in [&activity, &invite] {
        let answer = c
            .send(Call::handle("get_handle", id).user(CAROL), 200)
            .await;
        assert_eq!(answer.json["id"], id.as_str());
    }
    common_failures(&c, || Call::handle("get_handle", &activity)).await;
    common_failures(&c, || Call::handle("delete_handle", &activity)).await;
    c.send(Call::handle("delete_handle", &invite).user(BOB), 403)
        .await;
    c.send(Call::handle("delete_handle", &invite), 204).await;
    for gone in [invite.as_str(), "nope", "%FF"] {
        c.send(Call::handle("get_handle", gone), 404).await;
        c.send(Call::handle("delete_handle", gone), 404).await;
    }
    c.assert_covered("get_handle");
    c.assert_covered("delete_handle");
}

#[tokio::test]
async fn session_templates_conform() {
    let dir = tempfile::tempdir().unwrap();
    let template = json!({ "contractVersion": 107,
        "constants": { "system": { "maxMembersCount": 8, "capabilities": {} }, "custom": { "map": "lava" } },
        "roleTypes": { "lfg": { "roles": { "friend": { "max": 4, "target": 2 } } } } });
    std::fs::write(
        dir.path().join(format!("{TEMPLATE}.json")),
        template.to_string(),
    )
    .unwrap();
    let c = Checker::start_with(EmulatorConfig {
        templates: Some(dir.path().to_owned()),
        ..EmulatorConfig::default()
    })
    .await;
    let list = |scid: &str| Call::new("list_session_templates").param("scid", scid);
    let answer = c.send(list(SCID), 200).await;
    assert_eq!(
        answer.json,
        json!({ "results": [{ "name": TEMPLATE, "contractVersion": 107 }] })
    );
    c.send(list(&"s".repeat(100)), 400).await;
    common_failures(&c, || list(SCID)).await;
    let typo = format!("/serviceconfigs/{SCID}/sessionTemplate");
    c.send(list(SCID).path(typo), 404).await;
    c.assert_covered("list_session_templates");

    let one = |name: &str| {
        Call::new("get_session_template")
            .param("sessionTemplateName", name)
            .param("scid", SCID)
    };
    let answer = c.send(one(TEMPLATE), 200).await;
    assert_eq!(answer.json, template);
    c.send(one("nope"), 404).await;
    c.send(one(&"n".repeat(100)), 400).await;
    common_failures(&c, || one(TEMPLATE)).await;
    c.assert_covered("get_session_template");
    // A session of a template the directory lacks is 404 too (already declared by both session operations).
    let unknown = Call::new("get_session")
        .param("scid", SCID)
        .param("sessionTemplateName", "nope")
        .param("sessionName", "x");
    c.send(unknown, 404).await;
}

#[tokio::test]
async fn paths_and_verbs_outside_the_spec_are_404_or_405_text() {
    let c = Checker::start().await;
    let spec_paths: BTreeMap<String, BTreeSet<Method>> =
        c.spec
            .operations()
            .into_iter()
            .fold(BTreeMap::new(), |mut paths, (_, path, method, _)| {
                paths.entry(path.to_owned()).or_default().insert(method);
                paths
            });
    let concrete = |template: &str| {
        template
            .replace("{handleId}", "6f1b4c1e-0000-4000-8000-000000000000")
            .replace("{scid}", SCID)
            .replace("{sessionTemplateName}", TEMPLATE)
            .replace("{sessionName}", "x")
    };
    // Every verb a spec path does not declare is 405.
    for (template, methods) in &spec_paths {
        for method in [
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ] {
            if methods.contains(&method) {
                continue;
            }
            let response =
                c.h.send(
                    method.clone(),
                    ALICE,
                    &concrete(template),
                    Some(&json!({})),
                    &[],
                )
                .await;
            let context = format!("{method} {template}");
            if response.status() == StatusCode::NOT_FOUND {
                // The emulator has no route for this spec path at all: name the operations to add.
                let missing: Vec<String> = c
                    .spec
                    .operations()
                    .into_iter()
                    .filter(|(_, path, ..)| path == template)
                    .map(|(id, path, method, _)| missing_operation(id, &method, path))
                    .collect();
                panic!(
                    "{context}: 404, expected 405 (a verb the spec path does not declare); the emulator \
                     routes no such path:\n{}",
                    missing.join("\n")
                );
            }
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{context}"
            );
            let headers = response.headers().clone();
            assert_text_error(&headers, &response.bytes().await.unwrap(), &context);
        }
    }
    for path in [
        "/",
        "/handles/x/y",
        "/handles/6f1b4c1e-0000-4000-8000-000000000000/session/extra",
        "/serviceconfigs",
        "/serviceconfigs/s/sessionTemplates/t/sessions/n/members/me",
        "/serviceconfigs/s/sessionz",
        "/serviceconfigs/s/sessionTemplates/t/batches",
    ] {
        for method in [Method::GET, Method::PUT, Method::POST] {
            let response = c.h.send(method.clone(), ALICE, path, None, &[]).await;
            let context = format!("{method} {path}");
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{context}");
            let headers = response.headers().clone();
            assert_text_error(&headers, &response.bytes().await.unwrap(), &context);
        }
    }
}

/// The four session queries: results with and without a XUID, every declared failure.
#[tokio::test]
async fn session_queries_conform() {
    let c = Checker::start().await;
    // ALICE in an open session with keywords, a turn and a join restriction; BOB reserved in it; ALICE in a
    // private one.
    let mut open = with(
        join_body(),
        json!({ "properties": { "system": { "keywords": ["ctf"], "turn": [0], "joinRestriction": "followed" } } }),
    );
    open["members"]["reserve_0"] =
        json!({ "constants": { "system": { "xuid": BOB.to_string() } } });
    c.send(Call::session("write_session", "q1").json(open), 201)
        .await;
    c.join(
        ALICE,
        "q2",
        json!({ "constants": { "system": { "visibility": "private" } } }),
        201,
    )
    .await;
    let get_ops = ["query_sessions", "query_template_sessions"];
    let batch_ops = ["query_sessions_batch", "query_template_sessions_batch"];
    let call_in = |op: &'static str, scid: &str| {
        let call = Call::new(op).param("scid", scid);
        if op.contains("template") {
            call.param("sessionTemplateName", TEMPLATE)
        } else {
            call
        }
    };
    let call = |op: &'static str| call_in(op, SCID);
    let xuids =
        |list: &[u64]| json!({ "xuids": list.iter().map(u64::to_string).collect::<Vec<_>>() });
    for op in get_ops {
        let get = |query: &str| call(op).query(query);
        let found = c
            .send(
                get(&format!(
                    "xuid={ALICE}&private=true&keyword=ctf&visibility=open&version=1&take=10"
                )),
                200,
            )
            .await;
        let result = &found.json["results"][0];
        assert_eq!(result["xuid"], ALICE.to_string());
        assert_eq!(
            (result["myTurn"].clone(), result["joinRestriction"].clone()),
            (json!(true), json!("followed"))
        );
        let found = c
            .send(
                get(&format!("xuid={ALICE}&private=true&inactive=true")),
                200,
            )
            .await;
        assert_eq!(found.json["results"].as_array().map(Vec::len), Some(2));
        let reserved = c
            .send(get(&format!("xuid={BOB}&reservations=true")).user(BOB), 200)
            .await;
        assert_eq!(reserved.json["results"][0]["status"], "reserved");
        c.send(get("keyword=ctf"), 200).await;
        for bad in [
            "",
            "keyword=ctf&take=500",
            "keyword=ctf&visibility=secret",
            "xuid=x",
            "keyword=ctf&inactive=true",
        ] {
            c.send(get(bad), 400).await;
        }
        c.send(get(&format!("xuid={ALICE}&private=true")).user(BOB), 403)
            .await;
        c.send(call_in(op, "%01").query("keyword=ctf"), 400).await;
        common_failures(&c, || get("keyword=ctf")).await;
        let typo = if op.contains("template") {
            format!("/serviceconfigs/{SCID}/sessionTemplate/{TEMPLATE}/sessions")
        } else {
            format!("/serviceconfigs/{SCID}/session")
        };
        c.send(get("keyword=ctf").path(typo), 404).await;
        c.assert_covered(op);
    }
    for op in batch_ops {
        let post = |body: Value| call(op).json(body);
        let found = c
            .send(post(xuids(&[ALICE, BOB])).query("keyword=ctf"), 200)
            .await;
        assert_eq!(found.json["results"].as_array().map(Vec::len), Some(1));
        let own = c
            .send(
                post(xuids(&[ALICE])).query("private=true&reservations=true&inactive=true&take=1"),
                200,
            )
            .await;
        assert_eq!(own.json["results"].as_array().map(Vec::len), Some(1));
        let many: Vec<u64> = (1..=101).collect();
        for body in [
            xuids(&many),
            json!({ "xuids": [] }),
            json!({ "xuids": [1] }),
            json!({}),
        ] {
            c.send(post(body), 400).await;
        }
        c.send(call(op).raw(b"[]"), 400).await;
        c.send(post(xuids(&[ALICE])).query("take=101"), 400).await;
        c.send(post(xuids(&[ALICE, BOB])).query("private=true"), 403)
            .await;
        common_failures(&c, || post(xuids(&[ALICE]))).await;
        let typo = if op.contains("template") {
            format!("/serviceconfigs/{SCID}/sessionTemplates/{TEMPLATE}/batches")
        } else {
            format!("/serviceconfigs/{SCID}/batches")
        };
        c.send(post(xuids(&[ALICE])).path(typo), 404).await;
        c.send(call(op).json(oversized()), 413).await;
        c.assert_covered(op);
    }
}

/// One step of a path into a request body: a property (or map key), or the first item of an array.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Item,
}

/// `value` set at `path` inside `body`, creating the objects and arrays on the way.
fn set_at(body: &mut Value, path: &[Step], value: Value) {
    match path.split_first() {
        None => *body = value,
        Some((Step::Key(key), rest)) => {
            if !body.is_object() {
                *body = json!({});
            }
            let map = body.as_object_mut().expect("just made an object");
            set_at(map.entry(key.as_str()).or_insert(Value::Null), rest, value);
        }
        Some((Step::Item, rest)) => {
            *body = json!([null]);
            set_at(&mut body[0], rest, value);
        }
    }
}

fn dotted(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Key(key) => format!(".{key}"),
            Step::Item => "[0]".to_owned(),
        })
        .collect()
}

impl Spec {
    /// The JSON schema of `operation_id`'s request body.
    fn request_schema(&self, operation_id: &str) -> &Value {
        let (_, _, operation) = self.operation(operation_id);
        let body = self.resolve(&operation["requestBody"]);
        &body["content"]["application/json"]["schema"]
    }

    /// Every writable field under `schema` with a declared JSON type or a closed set of values, with a value
    /// the spec does not allow there (a value of another type; a string outside the `enum`). Read-only
    /// fields are skipped (a server may ignore them); map values are reached through the key `k` (`me`
    /// under `members`).
    fn wrong_values(&self, schema: &Value, path: Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
        let schema = self.resolve(schema);
        let mut parts = vec![schema];
        parts.extend(
            schema
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|part| self.resolve(part)),
        );
        if parts.iter().any(|part| part["readOnly"] == true) {
            return;
        }
        let own = |key: &str| parts.iter().find_map(|part| part.get(key));
        let kind = own("type").and_then(Value::as_str).or_else(|| {
            // An open enum: `anyOf` alternatives of one type.
            let options = own("anyOf")?.as_array()?;
            let kinds: BTreeSet<_> = options
                .iter()
                .map(|option| self.resolve(option)["type"].as_str())
                .collect();
            (kinds.len() == 1).then(|| kinds.into_iter().next().flatten())?
        });
        match kind {
            Some("object") => out.push((path.clone(), json!(7))),
            Some("array") => out.push((path.clone(), json!(7))),
            Some("string") => out.push((path.clone(), json!(7))),
            Some("integer") | Some("number") => out.push((path.clone(), json!("7"))),
            Some("boolean") => out.push((path.clone(), json!("yes"))),
            Some(other) => panic!("unknown schema type {other}"),
            None => {}
        }
        if kind == Some("string")
            && let Some(values) = own("enum")
            && values.as_array().is_some_and(|values| !values.is_empty())
        {
            out.push((path.clone(), json!("not-one-of-the-values")));
        }
        // The other constraints the request bodies declare: a value of the right type that breaks them.
        match own("format").and_then(Value::as_str) {
            Some("int32") => out.push((path.clone(), json!(i64::from(i32::MAX) + 1))),
            Some("int64") => out.push((path.clone(), json!(u64::MAX))),
            _ => {}
        }
        if own("minLength").and_then(Value::as_u64) == Some(1) {
            out.push((path.clone(), json!("")));
        }
        if let Some(max) = own("maxLength").and_then(Value::as_u64) {
            let long = "a".repeat(usize::try_from(max).expect("a small length") + 1);
            out.push((path.clone(), json!(long)));
        }
        if own("pattern").is_some() {
            // The spec's only pattern refuses control characters.
            out.push((path.clone(), json!("a\u{1}b")));
        }
        if own("minItems").and_then(Value::as_u64) == Some(1) {
            out.push((path.clone(), json!([])));
        }
        if let Some(required) = own("required").and_then(Value::as_array)
            && !required.is_empty()
        {
            out.push((path.clone(), json!({})));
            // An object that allows no other key, with one: built only where every required property is a
            // string (a session reference), so that the rest of it is valid.
            let strings = required.iter().all(|key| {
                let property = parts
                    .iter()
                    .find_map(|part| part["properties"].get(key.as_str()?));
                property.is_some_and(|property| {
                    let mut found = Vec::new();
                    self.validate(property, &json!("a"), "", &mut found);
                    found.is_empty()
                })
            });
            if own("additionalProperties") == Some(&Value::Bool(false)) && strings {
                let mut extra: serde_json::Map<String, Value> = required
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|key| (key.to_owned(), json!("a")))
                    .collect();
                extra.insert("unexpected".to_owned(), json!(1));
                out.push((path.clone(), Value::Object(extra)));
            }
        }
        for part in &parts {
            for (key, property) in part
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let mut child = path.clone();
                child.push(Step::Key(key.clone()));
                self.wrong_values(property, child, out);
            }
            if let Some(extra) = part
                .get("additionalProperties")
                .filter(|extra| extra.as_object().is_some_and(|extra| !extra.is_empty()))
            {
                let key = match path.last() {
                    Some(Step::Key(parent)) if parent == "members" => "me",
                    _ => "k",
                };
                let mut child = path.clone();
                child.push(Step::Key(key.to_owned()));
                self.wrong_values(extra, child, out);
            }
        }
        if kind == Some("array")
            && let Some(items) = own("items")
        {
            let mut child = path.clone();
            child.push(Step::Item);
            self.wrong_values(items, child, out);
        }
    }
}

/// Every typed field of every request body, given a value of the wrong type (or outside its `enum`), is
/// refused with a 400 — never accepted and ignored (schemathesis's "schema-violating request accepted").
/// Each wrong value is set in a body that is accepted without it, and the spec's own validator confirms that
/// the result violates the schema.
#[tokio::test]
async fn every_typed_field_of_a_request_body_refuses_a_wrong_value() {
    let c = Checker::start().await;
    let searchable =
        json!({ "constants": { "system": { "capabilities": { "searchable": true } } } });
    c.join(ALICE, "target", searchable, 201).await;
    let reference = json!({ "scid": SCID, "templateName": TEMPLATE, "name": "target" });
    let handle = |kind: &str, extra: Value| {
        with(
            json!({ "type": kind, "version": 1, "sessionRef": reference }),
            extra,
        )
    };
    // (operation, bodies it accepts, how to send one; the session writes go to a new session each time).
    let bases: Vec<(&str, Vec<Value>)> = vec![
        ("write_session", vec![join_body()]),
        (
            "create_handle",
            vec![
                handle("activity", json!({})),
                handle(
                    "invite",
                    json!({ "invitedXuid": BOB.to_string(), "inviteAttributes": { "titleId": "1234" } }),
                ),
                handle("search", json!({ "searchAttributes": { "tags": ["t"] } })),
            ],
        ),
        (
            "query_handles",
            vec![
                json!({ "type": "activity", "scid": SCID, "owners": { "xuids": [ALICE.to_string()] } }),
                json!({ "type": "search", "scid": SCID, "templateName": TEMPLATE }),
            ],
        ),
        (
            "query_sessions_batch",
            vec![json!({ "xuids": [ALICE.to_string()] })],
        ),
    ];
    let mut accepted = Vec::new();
    let mut sent = 0;
    for (operation, bodies) in bases {
        let schema = c.spec.request_schema(operation);
        let mut cases = Vec::new();
        c.spec.wrong_values(schema, Vec::new(), &mut cases);
        assert!(cases.len() > 1, "{operation}: {} cases", cases.len());
        for (index, body) in bodies.iter().enumerate() {
            for (case, (path, wrong)) in cases.iter().enumerate() {
                if path.is_empty() {
                    continue; // A body that is not an object: the robustness tests send those.
                }
                let mut bad = body.clone();
                set_at(&mut bad, path, wrong.clone());
                let mut errors = Vec::new();
                c.spec.validate(schema, &bad, "$", &mut errors);
                assert!(!errors.is_empty(), "{operation}: {bad} is valid");
                let (url, method) = match operation {
                    "write_session" => (session_path(&format!("w{case}")), Method::PUT),
                    "create_handle" => ("/handles".to_owned(), Method::POST),
                    "query_handles" => (
                        "/handles/query?include=relatedInfo".to_owned(),
                        Method::POST,
                    ),
                    _ => (format!("/serviceconfigs/{SCID}/batch"), Method::POST),
                };
                let response = c.h.send(method, ALICE, &url, Some(&bad), &[]).await;
                let status = response.status();
                sent += 1;
                // The one wrong value that is not a 400: an empty `sessionRef.name` of a new handle is valid
                // to MPSD, which fills in a new GUID (the spec's description of `SessionName`), and the
                // session of that new name does not exist.
                let filled = operation == "create_handle"
                    && dotted(path) == ".sessionRef.name"
                    && *wrong == json!("");
                let expected = if filled {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::BAD_REQUEST
                };
                if status != expected {
                    let text = response.text().await.unwrap_or_default();
                    if operation == "create_handle" && status.is_success() {
                        // Delete what was wrongly created, so it cannot turn later cases into 409s.
                        let id: Value = serde_json::from_str(&text).unwrap_or_default();
                        let id = id["id"].as_str().unwrap_or_default();
                        c.h.delete(ALICE, &format!("/handles/{id}")).await;
                    }
                    accepted.push(format!(
                        "{operation} (body {index}) {}={wrong}: {status}, not {expected}: {}",
                        dotted(path),
                        text.chars().take(120).collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(sent > 100, "only {sent} wrong values were sent");
    assert!(
        accepted.is_empty(),
        "{} of {sent} wrong values were not refused:\n{}",
        accepted.len(),
        accepted.join("\n")
    );
}
