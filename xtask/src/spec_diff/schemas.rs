//! Comparing component schemas: types, enum values, constraints and properties, classified by the
//! directions each schema travels in.

use serde_json::{Map, Value};

use super::spec::*;
use super::{Class, Differ};

impl Differ<'_> {
    pub(super) fn component_schemas(&mut self, base: &Value, head: &Value) {
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
    pub(super) fn schema(&mut self, location: &str, base: &Value, head: &Value, dirs: &Dirs) {
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

    pub(super) fn enums(&mut self, location: &str, base: &Value, head: &Value) {
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

    pub(super) fn constraints(
        &mut self,
        location: &str,
        base: &Value,
        head: &Value,
        ty: Option<&str>,
    ) {
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

    pub(super) fn properties(&mut self, location: &str, base: &Value, head: &Value, dirs: &Dirs) {
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
