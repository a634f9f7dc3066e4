//! `cargo xtask spec-diff [BASE]`: what changed between two versions of `spec/openapi.yaml`, each change
//! classified as **additive** or **breaking** for callers of the code this repository generates from it.
//!
//! The classification follows the generator's output (progenitor's Builder interface, open enums, structs
//! never built with literals outside the generated crate, `xbl-mpsd-ext`'s generic call path), not generic
//! wire compatibility:
//!
//! | change | class | why |
//! |---|---|---|
//! | new operation; new optional parameter, header or request field | additive | a new builder method or setter |
//! | new required parameter or request field; optional → required in a request | breaking | callers that don't set it fail |
//! | removed operation, parameter, field, response header; renamed `operationId` | breaking | a method, setter or field is gone |
//! | renamed path parameter (`{scid}` → `{id}`, same `operationId`) | breaking | the setter `.scid()` is gone |
//! | changed path literals or method, same `operationId` | additive (path) / breaking (method) | the method stays; a new method changes retries |
//! | new response field (required or not) | additive | a new struct field; structs are not built by callers |
//! | required ↔ optional on a response field | breaking | the field's type changes (`T` ↔ `Option<T>`) |
//! | new enum value (closed `enum` or `anyOf` open enum) | additive | enums are open: unknown values decode |
//! | removed enum value | breaking | a known value (constant, match arm) is gone |
//! | type, `format` or `$ref` target changed; string constraints added or all removed | breaking | the Rust type changes |
//! | new status code | additive | new 2xx: a raw success of the generic call path; new error: a typed `Error` |
//! | removed status code | additive | callers handle one case fewer |
//! | the typed success of an operation changes (its schema) | breaking | `ResponseValue<T>` changes |
//!
//! Operations are paired by `operationId` (the generated method's name) first, then by path and method, so a
//! path change is reported as what it does to the generated method, not as one operation removed and another
//! added.
//!
//! The diff itself is hand-written on `serde_json`: no maintained OpenAPI diff library exists on crates.io,
//! and the tools of other registries (oasdiff in Go, `@pb33f/openapi-changes`, which downloads a prebuilt
//! binary, `api-smart-diff` on npm) would put a foreign runtime in `cargo xtask codegen`'s path while their
//! classification is for generic clients (e.g. a new response enum value is breaking there, not here).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::validate::{METHODS, operation_label, resolve};

pub use crate::change::{Change, Class};

/// Every change between two specs, breaking first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecDiff {
    /// The changes, sorted (breaking first, then by location).
    pub changes: Vec<Change>,
}

impl SpecDiff {
    /// The breaking changes.
    pub fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.class == Class::Breaking)
    }

    /// Whether any change is breaking.
    pub fn has_breaking(&self) -> bool {
        self.breaking().next().is_some()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for SpecDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "no change to the API surface");
        }
        let breaking = self.breaking().count();
        writeln!(
            f,
            "{} change(s): {breaking} breaking, {} additive",
            self.changes.len(),
            self.changes.len() - breaking
        )?;
        for change in &self.changes {
            writeln!(f, "  {change}")?;
        }
        Ok(())
    }
}

/// Which way a schema's values travel: callers build requests and read responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    Request,
    Response,
}

type Dirs = BTreeSet<Dir>;

/// The spec-diff engine over two documents.
struct Differ<'a> {
    base_components: &'a Value,
    head_components: &'a Value,
    out: BTreeSet<Change>,
}

/// Compares two OpenAPI documents (as JSON).
pub fn diff(base: &Value, head: &Value) -> SpecDiff {
    let null = Value::Null;
    let mut differ = Differ {
        base_components: base.get("components").unwrap_or(&null),
        head_components: head.get("components").unwrap_or(&null),
        out: BTreeSet::new(),
    };
    differ.operations(base, head);
    differ.typed_successes(base, head);
    differ.component_schemas(base, head);
    SpecDiff {
        changes: differ.out.into_iter().collect(),
    }
}

/// The operations of a spec by `(path, method)`.
fn operations(spec: &Value) -> BTreeMap<(String, &'static str), (&Value, &Value)> {
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
fn path_parameter_renames(base: &str, head: &str) -> Option<Vec<(String, String)>> {
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
fn setter_name(parameter: &str) -> String {
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
fn ref_name(value: &Value) -> Option<&str> {
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
const ANNOTATIONS: [&str; 4] = ["description", "title", "example", "readOnly"];

fn is_required(param: &Value) -> bool {
    param.get("required").and_then(Value::as_bool) == Some(true)
}

/// The parameters of an operation (path-level and operation-level, refs resolved) by `in` and name.
fn parameters<'a>(
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

fn json_media(content: Option<&Value>) -> Option<(&String, &Value)> {
    content?
        .as_object()?
        .iter()
        .find(|(media, _)| media.split(';').next().map(str::trim) == Some("application/json"))
}

fn media_types(content: Option<&Value>) -> BTreeSet<String> {
    content
        .and_then(Value::as_object)
        .map(|c| {
            c.keys()
                .map(|m| m.split(';').next().unwrap_or(m).trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

fn headers(response: &Value) -> BTreeMap<String, &Value> {
    response
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
        .unwrap_or_default()
}

/// The enum values of a schema (closed `enum`, or the alternatives of an open enum), if it has any.
fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
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
fn schema_type(schema: &Value) -> Option<String> {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    let alts = schema.get("anyOf").and_then(Value::as_array)?;
    alts.iter()
        .all(|a| a.get("type").and_then(Value::as_str) == Some("string"))
        .then(|| "string".to_owned())
}

fn is_open_enum(schema: &Value) -> bool {
    schema
        .get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|alts| {
            alts.iter().any(|a| {
                a.get("type").and_then(Value::as_str) == Some("string") && a.get("enum").is_none()
            })
        })
}

fn required_set(schema: &Value) -> BTreeSet<String> {
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

const STRING_CONSTRAINTS: [&str; 3] = ["pattern", "minLength", "maxLength"];
const NUMBER_CONSTRAINTS: [&str; 4] =
    ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];

impl Differ<'_> {
    fn add(&mut self, class: Class, location: impl Into<String>, what: impl Into<String>) {
        self.out.insert(Change {
            class,
            location: location.into(),
            what: what.into(),
        });
    }

    /// Breaking when any direction the schema travels in makes it so.
    fn add_by_dir(
        &mut self,
        dirs: &Dirs,
        request: Class,
        response: Class,
        location: &str,
        what: impl Into<String>,
    ) {
        let class = dirs
            .iter()
            .map(|d| match d {
                Dir::Request => request,
                Dir::Response => response,
            })
            .min()
            .unwrap_or(Class::Breaking);
        self.add(class, location, what);
    }

    /// Pairs the operations of both specs — by `operationId` first (the generated method's name), then, for
    /// those left, by path and method — and compares each pair; the rest are removed or new.
    fn operations(&mut self, base: &Value, head: &Value) {
        let base_ops = operations(base);
        let head_ops = operations(head);
        let id_of = |op: &Value| {
            op.get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let head_by_id: BTreeMap<String, &(String, &'static str)> = head_ops
            .iter()
            .filter_map(|(key, (_, op))| id_of(op).map(|id| (id, key)))
            .collect();
        let mut paired_heads = BTreeSet::new();
        let mut unpaired_bases = Vec::new();
        for (key, (item, op)) in &base_ops {
            match id_of(op).and_then(|id| head_by_id.get(&id).copied()) {
                Some(head_key) => {
                    paired_heads.insert(head_key.clone());
                    let (head_item, head_op) = head_ops[head_key];
                    self.operation(key, (item, op), head_key, (head_item, head_op));
                }
                None => unpaired_bases.push(key),
            }
        }
        for key in unpaired_bases {
            let (item, op) = base_ops[key];
            match head_ops.get(key).filter(|_| !paired_heads.contains(key)) {
                Some((head_item, head_op)) => {
                    paired_heads.insert(key.clone());
                    self.operation(key, (item, op), key, (head_item, head_op));
                }
                None => self.add(
                    Class::Breaking,
                    operation_label(key.1, &key.0, op),
                    "operation removed",
                ),
            }
        }
        for (key, (_, op)) in &head_ops {
            if !paired_heads.contains(key) {
                self.add(
                    Class::Additive,
                    operation_label(key.1, &key.0, op),
                    "new operation",
                );
            }
        }
    }

    /// Compares one operation of the base (at `base_key`) with its counterpart in the head (at `head_key`).
    fn operation(
        &mut self,
        base_key: &(String, &'static str),
        base: (&Value, &Value),
        head_key: &(String, &'static str),
        head: (&Value, &Value),
    ) {
        let (base_item, base_op) = base;
        let (head_item, head_op) = head;
        // Named as callers know it (the base's operationId) unless it moved, then where it is now.
        let label = if base_key == head_key {
            operation_label(base_key.1, &base_key.0, base_op)
        } else {
            operation_label(head_key.1, &head_key.0, head_op)
        };
        let base_id = base_op.get("operationId");
        let head_id = head_op.get("operationId");
        if base_id != head_id {
            self.add(
                Class::Breaking,
                &label,
                format!(
                    "operationId changed from {} to {} (the generated method is renamed)",
                    base_id.unwrap_or(&Value::Null),
                    head_id.unwrap_or(&Value::Null)
                ),
            );
        }
        if base_key.1 != head_key.1 {
            self.add(
                Class::Breaking,
                &label,
                format!(
                    "method changed from {} to {} (the request and its retries change: only GET, DELETE and \
                     x-idempotent operations are retried)",
                    base_key.1.to_uppercase(),
                    head_key.1.to_uppercase()
                ),
            );
        }
        let renamed = path_parameter_renames(&base_key.0, &head_key.0);
        if base_key.0 != head_key.0 {
            match &renamed {
                Some(renames) => {
                    for (old, new) in renames {
                        self.add(
                            Class::Breaking,
                            &label,
                            format!(
                                "path parameter `{old}` renamed to `{new}`: the setter `.{}()` is gone (now `.{}()`)",
                                setter_name(old),
                                setter_name(new)
                            ),
                        );
                    }
                }
                None => self.add(
                    Class::Additive,
                    &label,
                    format!(
                        "path changed from {} (the generated method and its setters are unchanged)",
                        base_key.0
                    ),
                ),
            }
        }
        let renames = renamed.unwrap_or_default();
        self.parameters(&label, (base_item, base_op), (head_item, head_op), &renames);
        self.request_body(&label, base_op, head_op);
        self.responses(&label, base_op, head_op);
    }

    /// Compares the parameters; `renames` pairs path parameters whose placeholder was renamed (already
    /// reported), which are compared with each other instead of being reported removed and new.
    fn parameters(
        &mut self,
        label: &str,
        base: (&Value, &Value),
        head: (&Value, &Value),
        renames: &[(String, String)],
    ) {
        let base_params = parameters(base.0, base.1, self.base_components);
        let head_params = parameters(head.0, head.1, self.head_components);
        let request: Dirs = [Dir::Request].into();
        let renamed_to = |key: &(String, String)| -> (String, String) {
            match renames
                .iter()
                .find(|(old, _)| key.0 == "path" && *old == key.1)
            {
                Some((_, new)) => ("path".to_owned(), new.clone()),
                None => key.clone(),
            }
        };
        let renamed_from: BTreeSet<(String, String)> = renames
            .iter()
            .map(|(_, new)| ("path".to_owned(), new.clone()))
            .collect();
        for (key, param) in &base_params {
            let (location, _) = key;
            let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
            match head_params.get(&renamed_to(key)) {
                None => self.add(
                    Class::Breaking,
                    label,
                    format!("{location} parameter `{name}` removed"),
                ),
                Some(head_param) => {
                    match (is_required(param), is_required(head_param)) {
                        (false, true) => self.add(
                            Class::Breaking,
                            label,
                            format!("{location} parameter `{name}` became required"),
                        ),
                        (true, false) => self.add(
                            Class::Additive,
                            label,
                            format!("{location} parameter `{name}` became optional"),
                        ),
                        _ => {}
                    }
                    if let (Some(b), Some(h)) = (param.get("schema"), head_param.get("schema")) {
                        let at = format!("{label} {location} parameter `{name}`");
                        self.schema(&at, b, h, &request);
                    }
                }
            }
        }
        for (key, param) in &head_params {
            if base_params.contains_key(key) || renamed_from.contains(key) {
                continue;
            }
            let (location, _) = key;
            let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
            if is_required(param) {
                self.add(
                    Class::Breaking,
                    label,
                    format!("new required {location} parameter `{name}`"),
                );
            } else {
                self.add(
                    Class::Additive,
                    label,
                    format!("new optional {location} parameter `{name}`"),
                );
            }
        }
    }

    fn request_body(&mut self, label: &str, base_op: &Value, head_op: &Value) {
        let base = base_op
            .get("requestBody")
            .map(|b| resolve(b, self.base_components));
        let head = head_op
            .get("requestBody")
            .map(|b| resolve(b, self.head_components));
        match (base, head) {
            (None, None) => {}
            (Some(_), None) => self.add(Class::Breaking, label, "request body removed"),
            (None, Some(body)) => {
                let class = if is_required(body) {
                    Class::Breaking
                } else {
                    Class::Additive
                };
                self.add(class, label, "new request body");
            }
            (Some(base), Some(head)) => {
                if !is_required(base) && is_required(head) {
                    self.add(Class::Breaking, label, "request body became required");
                }
                let (bm, hm) = (
                    media_types(base.get("content")),
                    media_types(head.get("content")),
                );
                for removed in bm.difference(&hm) {
                    self.add(
                        Class::Breaking,
                        label,
                        format!("request media type {removed} removed"),
                    );
                }
                for added in hm.difference(&bm) {
                    self.add(
                        Class::Additive,
                        label,
                        format!("new request media type {added}"),
                    );
                }
                if let (Some((_, b)), Some((_, h))) = (
                    json_media(base.get("content")),
                    json_media(head.get("content")),
                ) && let (Some(b), Some(h)) = (b.get("schema"), h.get("schema"))
                {
                    let at = format!("{label} request body");
                    self.schema(&at, b, h, &[Dir::Request].into());
                }
            }
        }
    }

    fn responses(&mut self, label: &str, base_op: &Value, head_op: &Value) {
        let empty = Map::new();
        let base = base_op
            .get("responses")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let head = head_op
            .get("responses")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (code, response) in base {
            let Some(head_response) = head.get(code) else {
                self.add(
                    Class::Additive,
                    label,
                    format!("status {code} no longer documented"),
                );
                continue;
            };
            let b = resolve(response, self.base_components);
            let h = resolve(head_response, self.head_components);
            let (bh, hh) = (headers(b), headers(h));
            for name in bh.keys() {
                if !hh.contains_key(name) {
                    self.add(
                        Class::Breaking,
                        label,
                        format!("response header {name} removed from status {code}"),
                    );
                }
            }
            for name in hh.keys() {
                if !bh.contains_key(name) {
                    self.add(
                        Class::Additive,
                        label,
                        format!("new response header {name} on status {code}"),
                    );
                }
            }
            let (bm, hm) = (media_types(b.get("content")), media_types(h.get("content")));
            for removed in bm.difference(&hm) {
                self.add(
                    Class::Breaking,
                    label,
                    format!("status {code}: media type {removed} removed"),
                );
            }
            for added in hm.difference(&bm) {
                self.add(
                    Class::Additive,
                    label,
                    format!("status {code}: new media type {added}"),
                );
            }
            if let (Some((_, bj)), Some((_, hj))) =
                (json_media(b.get("content")), json_media(h.get("content")))
                && let (Some(bs), Some(hs)) = (bj.get("schema"), hj.get("schema"))
            {
                let at = format!("{label} status {code} body");
                self.schema(&at, bs, hs, &[Dir::Response].into());
            }
        }
        for code in head.keys() {
            if !base.contains_key(code) {
                let kind = if code.starts_with('2') {
                    "a success; the generic call path returns a status it does not type raw"
                } else {
                    "an error; a typed `Error` in xbl-mpsd-ext"
                };
                self.add(
                    Class::Additive,
                    label,
                    format!("new status {code} ({kind})"),
                );
            }
        }
    }

    /// The typed success of each operation (what progenitor returns as `ResponseValue<T>`) must stay.
    fn typed_successes(&mut self, base: &Value, head: &Value) {
        let (Some(base), Some(head)) = (typed_successes(base), typed_successes(head)) else {
            return;
        };
        for (key, (label, base_typed)) in &base {
            if let Some((_, head_typed)) = head.get(key)
                && base_typed != head_typed
            {
                self.add(
                    Class::Breaking,
                    label.clone(),
                    format!(
                        "the generated client's typed success changes from {base_typed} to {head_typed}"
                    ),
                );
            }
        }
    }

    fn component_schemas(&mut self, base: &Value, head: &Value) {
        let empty = Map::new();
        let schemas = |spec: &Value| {
            spec.get("components")
                .and_then(|c| c.get("schemas"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(|| empty.clone())
        };
        let (base_schemas, head_schemas) = (schemas(base), schemas(head));
        let (base_dirs, head_dirs) = (schema_dirs(base), schema_dirs(head));
        for (name, schema) in &base_schemas {
            let location = format!("schema {name}");
            let Some(head_schema) = head_schemas.get(name) else {
                self.add(
                    Class::Breaking,
                    location,
                    "schema removed (its type is gone)",
                );
                continue;
            };
            // Where it travels in either version; unreachable schemas count both ways.
            let mut dirs: Dirs = base_dirs.get(name).cloned().unwrap_or_default();
            dirs.extend(head_dirs.get(name).cloned().unwrap_or_default());
            if dirs.is_empty() {
                dirs = [Dir::Request, Dir::Response].into();
            }
            self.schema(&location, schema, head_schema, &dirs);
        }
        for name in head_schemas.keys() {
            if !base_schemas.contains_key(name) {
                self.add(Class::Additive, format!("schema {name}"), "new schema");
            }
        }
    }

    /// Compares two schemas at `location`; a `$ref` is compared by name only (components are compared
    /// once, by [`Self::component_schemas`]).
    fn schema(&mut self, location: &str, base: &Value, head: &Value, dirs: &Dirs) {
        match (ref_name(base), ref_name(head)) {
            (Some(b), Some(h)) if b == h => return,
            (Some(b), Some(h)) => {
                self.add(
                    Class::Breaking,
                    location,
                    format!("type changed from {b} to {h}"),
                );
                return;
            }
            (Some(b), None) => {
                self.add(
                    Class::Breaking,
                    location,
                    format!("type {b} replaced by an inline schema"),
                );
                return;
            }
            (None, Some(h)) => {
                self.add(
                    Class::Breaking,
                    location,
                    format!("inline schema replaced by type {h}"),
                );
                return;
            }
            (None, None) => {}
        }
        let (bt, ht) = (schema_type(base), schema_type(head));
        if bt != ht {
            self.add(
                Class::Breaking,
                location,
                format!(
                    "type changed from {} to {}",
                    bt.as_deref().unwrap_or("any"),
                    ht.as_deref().unwrap_or("any")
                ),
            );
            return;
        }
        if base.get("format") != head.get("format") {
            self.add(
                Class::Breaking,
                location,
                format!(
                    "format changed from {} to {}",
                    base.get("format").unwrap_or(&Value::Null),
                    head.get("format").unwrap_or(&Value::Null)
                ),
            );
        }
        self.enums(location, base, head);
        self.constraints(location, base, head, bt.as_deref());
        let (bn, hn) = (
            base.get("nullable").and_then(Value::as_bool) == Some(true),
            head.get("nullable").and_then(Value::as_bool) == Some(true),
        );
        if bn != hn {
            self.add_by_dir(
                dirs,
                Class::Additive,
                Class::Breaking,
                location,
                format!("nullable changed to {hn}"),
            );
        }
        self.properties(location, base, head, dirs);
        if let (Some(b), Some(h)) = (base.get("items"), head.get("items")) {
            self.schema(&format!("{location}[]"), b, h, dirs);
        }
        match (
            base.get("additionalProperties"),
            head.get("additionalProperties"),
        ) {
            (Some(b), Some(h)) if b.is_object() && h.is_object() => {
                self.schema(&format!("{location}{{*}}"), b, h, dirs);
            }
            (b, h) if b != h => self.add(
                Class::Breaking,
                location,
                "additionalProperties changed (the map or `extra` field changes)",
            ),
            _ => {}
        }
        if base.get("x-key-type") != head.get("x-key-type") {
            self.add(
                Class::Breaking,
                location,
                format!(
                    "map key type (`x-key-type`) changed from {} to {}",
                    base.get("x-key-type").unwrap_or(&Value::from("String")),
                    head.get("x-key-type").unwrap_or(&Value::from("String"))
                ),
            );
        }
        for key in ["allOf", "oneOf"] {
            if base.get(key) != head.get(key) {
                self.add(Class::Breaking, location, format!("`{key}` changed"));
            }
        }
        if !is_open_enum(base) && !is_open_enum(head) && base.get("anyOf") != head.get("anyOf") {
            self.add(Class::Breaking, location, "`anyOf` changed");
        }
    }

    fn enums(&mut self, location: &str, base: &Value, head: &Value) {
        match (enum_values(base), enum_values(head)) {
            (Some(b), Some(h)) => {
                let added: Vec<&String> = h.difference(&b).collect();
                let removed: Vec<&String> = b.difference(&h).collect();
                if !added.is_empty() {
                    self.add(
                        Class::Additive,
                        location,
                        format!("new enum value(s) {added:?} (enums are open)"),
                    );
                }
                if !removed.is_empty() {
                    self.add(
                        Class::Breaking,
                        location,
                        format!("enum value(s) {removed:?} removed"),
                    );
                }
                if is_open_enum(base) && !is_open_enum(head) {
                    self.add(
                        Class::Breaking,
                        location,
                        "the open enum became closed (values other than the listed ones are refused)",
                    );
                }
            }
            (None, Some(h)) => self.add(
                Class::Breaking,
                location,
                format!("now restricted to the enum values {h:?}"),
            ),
            (Some(_), None) => self.add(
                Class::Breaking,
                location,
                "enum values dropped (the enum type becomes a plain value)",
            ),
            (None, None) => {}
        }
    }

    fn constraints(&mut self, location: &str, base: &Value, head: &Value, ty: Option<&str>) {
        let present = |s: &Value, keys: &[&str]| keys.iter().any(|k| s.get(*k).is_some());
        match ty {
            Some("string") => {
                let (b, h) = (
                    present(base, &STRING_CONSTRAINTS),
                    present(head, &STRING_CONSTRAINTS),
                );
                if b != h {
                    self.add(
                        Class::Breaking,
                        location,
                        "string constraints (pattern/length) added or removed (the generated type \
                         switches between String and a validated newtype)",
                    );
                } else if STRING_CONSTRAINTS
                    .iter()
                    .any(|k| base.get(*k) != head.get(*k))
                {
                    self.add(
                        Class::Additive,
                        location,
                        "string constraints (pattern/length) changed",
                    );
                }
            }
            Some("integer" | "number")
                if NUMBER_CONSTRAINTS
                    .iter()
                    .any(|k| base.get(*k) != head.get(*k)) =>
            {
                self.add(
                    Class::Breaking,
                    location,
                    "numeric bounds changed (the generated integer type may change)",
                );
            }
            _ => {}
        }
    }

    fn properties(&mut self, location: &str, base: &Value, head: &Value, dirs: &Dirs) {
        let empty = Map::new();
        let bp = base
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let hp = head
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let (br, hr) = (required_set(base), required_set(head));
        for (name, schema) in bp {
            let at = format!("{location}.{name}");
            let Some(head_schema) = hp.get(name) else {
                self.add(Class::Breaking, &at, "property removed");
                continue;
            };
            match (br.contains(name), hr.contains(name)) {
                (false, true) => self.add_by_dir(
                    dirs,
                    Class::Breaking,
                    Class::Breaking,
                    &at,
                    "became required",
                ),
                (true, false) => self.add_by_dir(
                    dirs,
                    Class::Additive,
                    Class::Breaking,
                    &at,
                    "became optional",
                ),
                _ => {}
            }
            self.schema(&at, schema, head_schema, dirs);
        }
        for name in hp.keys() {
            if bp.contains_key(name) {
                continue;
            }
            let at = format!("{location}.{name}");
            if hr.contains(name) {
                self.add_by_dir(
                    dirs,
                    Class::Breaking,
                    Class::Additive,
                    &at,
                    "new required property",
                );
            } else {
                self.add(Class::Additive, &at, "new optional property");
            }
        }
    }
}

/// Per component schema, the directions it travels in (transitively through `$ref`s).
fn schema_dirs(spec: &Value) -> BTreeMap<String, Dirs> {
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
type TypedSuccesses = BTreeMap<(String, &'static str), (String, String)>;

/// Per operation, the schema progenitor types as its success (after the transform), or `None` when the
/// spec cannot be transformed.
fn typed_successes(spec: &Value) -> Option<TypedSuccesses> {
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

/// Where the base spec comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// A file (YAML or JSON).
    File(std::path::PathBuf),
    /// A git revision: the spec at `<rev>:spec/openapi.yaml`.
    Rev(String),
}

impl Base {
    /// A file path when one exists at `arg`, else a git revision; `HEAD` when absent.
    pub fn parse(arg: Option<&str>, root: &Path) -> Self {
        match arg {
            None => Self::Rev("HEAD".into()),
            Some(arg) => {
                let path = Path::new(arg);
                let candidates = [path.to_path_buf(), root.join(path)];
                match candidates.into_iter().find(|p| p.is_file()) {
                    Some(file) => Self::File(file),
                    None => Self::Rev(arg.to_owned()),
                }
            }
        }
    }

    /// Reads the base spec.
    pub fn load(&self, root: &Path) -> Result<Value> {
        match self {
            Self::File(path) => crate::read_spec(path),
            Self::Rev(rev) => {
                let spec = crate::codegen::SPEC_PATH;
                let text = git_show(root, rev, spec)?;
                crate::parse_spec(&text).with_context(|| format!("parsing {rev}:{spec}"))
            }
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Rev(rev) => write!(f, "{rev}:{}", crate::codegen::SPEC_PATH),
        }
    }
}

/// The diff of the workspace's spec against `base`; against a git revision, also what changed in the
/// generated types whatever the cause (a generator change shows there and not in the spec,
/// [`crate::surface_diff`]).
pub fn run(root: &Path, base: &Base) -> Result<SpecDiff> {
    let base_spec = base.load(root)?;
    let head = crate::read_spec(&root.join(crate::codegen::SPEC_PATH))?;
    let mut result = diff(&base_spec, &head);
    if let Base::Rev(rev) = base {
        let client = crate::codegen::CLIENT_PATH;
        let before = git_show(root, rev, client)?;
        let now = std::fs::read_to_string(root.join(client))
            .with_context(|| format!("reading {client}"))?;
        result
            .changes
            .extend(crate::surface_diff::diff(&before, &now)?);
        result.changes.sort();
        result.changes.dedup();
    }
    Ok(result)
}

/// The text of `path` at git revision `rev`.
fn git_show(root: &Path, rev: &str, path: &str) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["show", &format!("{rev}:{path}")])
        .output()
        .context("running git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "`git show {rev}:{path}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("{rev}:{path} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(schemas: Value, op: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "paths": {"/things/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": op
            }},
            "components": {"schemas": schemas}
        })
    }

    fn base() -> Value {
        spec(
            json!({
                "ThingRequest": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"},
                    "size": {"type": "integer"},
                    "color": {"$ref": "#/components/schemas/Color"}
                }},
                "Color": {"anyOf": [{"type": "string", "enum": ["red", "blue"]}, {"type": "string"}]},
                "Thing": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"}
                }}
            }),
            json!({
                "operationId": "put_thing",
                "parameters": [{"name": "dry", "in": "query", "schema": {"type": "boolean"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingRequest"}}}},
                "responses": {
                    "200": {"description": "ok", "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"description": "no", "content": {"text/plain": {"schema": {"type": "string"}}}}
                }
            }),
        )
    }

    fn changes(head: &Value) -> Vec<String> {
        diff(&base(), head)
            .changes
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn assert_has(found: &[String], needle: &str) {
        assert!(
            found.iter().any(|c| c.contains(needle)),
            "{needle:?} not in {found:#?}"
        );
    }

    #[test]
    fn identical_specs_have_no_change() {
        assert!(diff(&base(), &base()).is_empty());
    }

    #[test]
    fn additive_changes_are_additive() {
        let mut head = base();
        let schemas = &mut head["components"]["schemas"];
        schemas["ThingRequest"]["properties"]["shape"] = json!({"type": "string"});
        schemas["Thing"]["properties"]["created"] = json!({"type": "string"});
        schemas["Thing"]["required"] = json!(["id", "created"]);
        schemas["Color"]["anyOf"][0]["enum"] = json!(["red", "blue", "green"]);
        let op = &mut head["paths"]["/things/{id}"]["put"];
        op["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "verbose", "in": "query", "schema": {"type": "boolean"}}));
        op["responses"]["429"] = json!({"description": "slow down"});
        op["responses"]["202"] = json!({"description": "accepted"});
        op["responses"]["200"]["headers"]["Expires"] = json!({"schema": {"type": "string"}});
        head["paths"]["/things"] = json!({"get": {"operationId": "list_things",
            "responses": {"200": {"description": "ok"}}}});
        let diff = diff(&base(), &head);
        assert!(!diff.has_breaking(), "{diff}");
        let found: Vec<String> = diff.changes.iter().map(ToString::to_string).collect();
        for needle in [
            "schema ThingRequest.shape: new optional property",
            "schema Thing.created: new required property",
            "schema Color: new enum value(s) [\"green\"]",
            "new optional query parameter `verbose`",
            "new status 429",
            "new status 202",
            "new response header expires on status 200",
            "GET /things (list_things): new operation",
        ] {
            assert_has(&found, needle);
        }
    }

    #[test]
    fn breaking_changes_are_breaking() {
        let mut head = base();
        let schemas = &mut head["components"]["schemas"];
        // Rename a required request field.
        let name = schemas["ThingRequest"]["properties"]["name"].take();
        schemas["ThingRequest"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("name");
        schemas["ThingRequest"]["properties"]["title"] = name;
        schemas["ThingRequest"]["required"] = json!(["title"]);
        // A response field becomes optional, another changes type.
        schemas["Thing"]["required"] = json!([]);
        schemas["Thing"]["properties"]["name"] = json!({"type": "integer"});
        schemas["Color"]["anyOf"][0]["enum"] = json!(["red"]);
        let op = &mut head["paths"]["/things/{id}"]["put"];
        op["parameters"] = json!([{"name": "dry", "in": "query", "required": true, "schema": {"type": "boolean"}}]);
        op["responses"]["200"]["headers"] = json!({});
        let diff = diff(&base(), &head);
        let breaking: Vec<String> = diff.breaking().map(ToString::to_string).collect();
        for needle in [
            "schema ThingRequest.name: property removed",
            "schema ThingRequest.title: new required property",
            "schema Thing.id: became optional",
            "schema Thing.name: type changed from string to integer",
            "schema Color: enum value(s) [\"blue\"] removed",
            "query parameter `dry` became required",
            "response header etag removed from status 200",
        ] {
            assert_has(&breaking, needle);
        }
    }

    #[test]
    fn a_ref_wrapped_in_all_of_to_carry_a_description_is_no_change() {
        let mut head = base();
        head["components"]["schemas"]["ThingRequest"]["properties"]["color"] = json!({
            "allOf": [{"$ref": "#/components/schemas/Color"}],
            "description": "The thing's color.",
            "readOnly": true
        });
        assert!(diff(&base(), &head).is_empty(), "{:#?}", changes(&head));

        // Anything beside the `$ref` that is not an annotation still counts.
        head["components"]["schemas"]["ThingRequest"]["properties"]["color"] = json!({
            "allOf": [{"$ref": "#/components/schemas/Color"}],
            "nullable": true
        });
        assert_has(&changes(&head), "type Color replaced by an inline schema");
    }

    #[test]
    fn a_new_map_key_type_is_breaking() {
        let mut head = base();
        head["components"]["schemas"]["Thing"]["properties"]["parts"] =
            json!({"type": "object", "additionalProperties": {"type": "string"}});
        let mut keyed = head.clone();
        keyed["components"]["schemas"]["Thing"]["properties"]["parts"]["x-key-type"] =
            json!("PartKey");
        let found: Vec<String> = diff(&head, &keyed)
            .changes
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_has(
            &found,
            "map key type (`x-key-type`) changed from \"String\" to \"PartKey\"",
        );
        assert!(
            found.iter().all(|c| c.starts_with("breaking")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_removed_operation_and_a_renamed_operation_id_are_breaking() {
        let mut head = base();
        head["paths"]["/things/{id}"]["put"]["operationId"] = json!("replace_thing");
        assert_has(
            &changes(&head),
            "breaking  PUT /things/{id} (put_thing): operationId changed",
        );
        let mut head = base();
        head["paths"] = json!({});
        assert_has(
            &changes(&head),
            "breaking  PUT /things/{id} (put_thing): operation removed",
        );
    }

    #[test]
    fn operations_are_paired_by_operation_id_so_a_renamed_path_parameter_is_a_gone_setter() {
        let mut head = base();
        let paths = head["paths"].as_object_mut().unwrap();
        let mut item = paths.remove("/things/{id}").unwrap();
        item["parameters"][0]["name"] = json!("thingId");
        paths.insert("/things/{thingId}".into(), item);
        let found = changes(&head);
        assert_has(
            &found,
            "breaking  PUT /things/{thingId} (put_thing): path parameter `id` renamed to `thingId`: the setter `.id()` is gone (now `.thing_id()`)",
        );
        assert!(
            found
                .iter()
                .all(|c| !c.contains("operation removed") && !c.contains("new operation")),
            "{found:#?}"
        );
        assert_eq!(found.len(), 1, "{found:#?}");

        // A literal segment changes: the method and its setters stay.
        let mut head = base();
        let paths = head["paths"].as_object_mut().unwrap();
        let item = paths.remove("/things/{id}").unwrap();
        paths.insert("/items/{id}".into(), item);
        let found = changes(&head);
        assert_eq!(
            found,
            [
                "additive  PUT /items/{id} (put_thing): path changed from /things/{id} (the generated method and its setters are unchanged)"
            ]
        );

        // Another method: breaking (retries change).
        let mut head = base();
        let op = head["paths"]["/things/{id}"]["put"].take();
        let item = head["paths"]["/things/{id}"].as_object_mut().unwrap();
        item.remove("put");
        item.insert("post".into(), op);
        assert_has(&changes(&head), "method changed from PUT to POST");
        assert_eq!(setter_name("sessionTemplateName"), "session_template_name");
        assert_eq!(path_parameter_renames("/a/{x}/b", "/a/{y}/c"), None);
        assert_eq!(path_parameter_renames("/a/{x}", "/a/{x}/b"), None);
    }

    #[test]
    fn a_new_required_field_on_a_shared_schema_is_breaking_through_its_request_use() {
        let mut head = base();
        head["components"]["schemas"]["ThingRequest"]["properties"]["must"] =
            json!({"type": "string"});
        head["components"]["schemas"]["ThingRequest"]["required"] = json!(["name", "must"]);
        assert_has(
            &changes(&head),
            "breaking  schema ThingRequest.must: new required property",
        );
    }

    #[test]
    fn a_second_success_schema_changes_no_typed_success_but_a_new_first_one_does() {
        let mut head = base();
        head["paths"]["/things/{id}"]["put"]["responses"]["201"] = json!({"description": "x",
            "content": {"application/json": {"schema": {"type": "object"}}}});
        assert!(!diff(&base(), &head).has_breaking());
        let mut head = base();
        head["paths"]["/things/{id}"]["put"]["responses"]["200"]["content"]["application/json"]["schema"] =
            json!({"$ref": "#/components/schemas/ThingRequest"});
        assert_has(
            &changes(&head),
            "typed success changes from Thing to ThingRequest",
        );
    }

    #[test]
    fn base_is_a_file_when_one_exists_else_a_git_revision() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("old.yaml");
        std::fs::write(&file, "openapi: 3.0.3\npaths: {}\n").unwrap();
        assert_eq!(
            Base::parse(Some(file.to_str().unwrap()), dir.path()),
            Base::File(file.clone())
        );
        assert_eq!(
            Base::parse(Some("old.yaml"), dir.path()),
            Base::File(dir.path().join("old.yaml"))
        );
        assert_eq!(
            Base::parse(Some("v0.1.0"), dir.path()),
            Base::Rev("v0.1.0".into())
        );
        assert_eq!(Base::parse(None, dir.path()), Base::Rev("HEAD".into()));
        assert_eq!(
            Base::File(file).load(dir.path()).unwrap()["openapi"],
            "3.0.3"
        );
    }

    #[test]
    fn on_the_real_spec_a_renamed_required_field_and_a_removed_operation_are_breaking() {
        let root = crate::workspace_root().unwrap();
        let spec = crate::read_spec(&root.join(crate::codegen::SPEC_PATH)).unwrap();
        let mut head = spec.clone();
        let request = &mut head["components"]["schemas"]["CreateHandleRequest"];
        let version = request["properties"]
            .as_object_mut()
            .unwrap()
            .remove("version")
            .unwrap();
        request["properties"]["handleVersion"] = version;
        request["required"] = json!(["type", "handleVersion", "sessionRef"]);
        head["paths"]["/handles/query"]
            .as_object_mut()
            .unwrap()
            .remove("post");
        let diff = diff(&spec, &head);
        let breaking: Vec<String> = diff.breaking().map(ToString::to_string).collect();
        for needle in [
            "schema CreateHandleRequest.version: property removed",
            "schema CreateHandleRequest.handleVersion: new required property",
            "POST /handles/query (query_handles): operation removed",
        ] {
            assert_has(&breaking, needle);
        }
        assert!(
            diff.changes.iter().all(|c| c.class == Class::Breaking),
            "{diff}"
        );
    }
}
