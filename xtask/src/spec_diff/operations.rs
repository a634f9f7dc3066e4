//! Comparing operations: pairing them, then their parameters, request bodies, responses and typed
//! successes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::spec::*;
use super::{Class, Differ};
use crate::validate::{operation_label, resolve};

impl Differ<'_> {
    /// Pairs the operations of both specs — by `operationId` first (the generated method's name), then, for
    /// those left, by path and method — and compares each pair; the rest are removed or new.
    pub(super) fn operations(&mut self, base: &Value, head: &Value) {
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
    pub(super) fn operation(
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
    pub(super) fn parameters(
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

    pub(super) fn request_body(&mut self, label: &str, base_op: &Value, head_op: &Value) {
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

    pub(super) fn responses(&mut self, label: &str, base_op: &Value, head_op: &Value) {
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
    pub(super) fn typed_successes(&mut self, base: &Value, head: &Value) {
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
}
