//! Session templates (`--templates DIR`): what a session starts as.
//!
//! "A session template uses the same format as an HTTP PUT request to create or modify a session. The difference
//! is that the template is limited to constants" (DOCS `live-session-templates.md`), plus a top-level `roleTypes`
//! (DOCS `live-multiplayer-roles.md`). A file holds `{"contractVersion": 107, "constants": {"system": …,
//! "custom": …}, "roleTypes": …}`:
//!
//! * `DIR/<template>.json` is that template under every SCID; `DIR/<scid>/<template>.json` under one SCID, and it
//!   wins over the first. Names are matched ignoring case, as session paths are.
//! * Contract 104/105 templates (`constants.system.timeouts {reserved, inactive, ready, sessionEmpty}`,
//!   `managedInitialization {…, autoEvaluate}`) are translated to the 107 names at load, with the 104 defaults
//!   for what they leave out (DOCS `live-xbox-multiplayer-session-directory.md`, "Contract schema update").
//! * Every file is checked at start (the rules a session's constants are checked by); a bad file stops the
//!   emulator with an error naming the file and the JSON path.
//! * Without a directory, every template name exists and is empty: sessions get the 107 defaults and whatever
//!   constants their creator sends.
//!
//! A session starts as a copy of its template's constants. The creator may add constants the template leaves
//! unset, or restate a template's value; a different value, or a key added inside an object the template sets
//! (`capabilities: {}` locks the capabilities), is 409 (DOCS `live-mpsd-status-codes.md`: "constants in the
//! request conflict with constants in the session or session template"). `custom` merges per key.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::session::validate;

/// The longest template name (XSAPI's buffers hold 99 characters).
const MAX_NAME_LEN: usize = 99;

/// One loaded template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    /// The name as the file spells it (`None`: the built-in empty template).
    pub(crate) name: Option<String>,
    /// `contractVersion`.
    pub(crate) contract_version: u32,
    /// `constants.system`, in 107 form.
    pub(crate) system: Map<String, Value>,
    /// `constants.custom`, when set.
    pub(crate) custom: Option<Value>,
    /// `roleTypes`, when set.
    pub(crate) role_types: Option<Value>,
    /// The document `GET …/sessiontemplates/{name}` answers: the file as written, with its `contractVersion`.
    pub(crate) document: Value,
}

impl Template {
    /// The built-in template of every name when no directory is configured: no constants, contract 107.
    pub(crate) fn empty() -> Self {
        Self {
            name: None,
            contract_version: 107,
            system: Map::new(),
            custom: None,
            role_types: None,
            document: Value::Null,
        }
    }

    /// The document to serve for `name`: the file, or for the built-in template the 107 defaults written out.
    pub(crate) fn document(&self) -> Value {
        if self.name.is_some() {
            return self.document.clone();
        }
        let mut constants = crate::session::default_constants();
        constants.insert("custom".to_owned(), json!({}));
        json!({ "contractVersion": self.contract_version, "constants": constants })
    }

    /// Merges the creator's `constants` over this template's: the new session's constants (`defaults` already
    /// holding the 107 defaults). 409 on a conflict.
    pub(crate) fn merge_constants(
        &self,
        defaults: &mut Map<String, Value>,
        patch: &Map<String, Value>,
    ) -> ApiResult<()> {
        let conflict = |path: String| {
            let template = self.name.as_deref().unwrap_or_default();
            ApiError::conflict(format!(
                "{path} conflicts with session template '{template}': constants in the request conflict with \
                 constants in the session or session template"
            ))
        };
        let Some(Value::Object(system)) = defaults.get_mut("system") else {
            return Ok(());
        };
        for (key, value) in &self.system {
            // Explicit nulls are kept: a null timeout means "infinite".
            system.insert(key.clone(), value.clone());
        }
        if let Some(Value::Object(given)) = patch.get("system") {
            for (key, value) in given {
                match self.system.get(key) {
                    Some(fixed) => {
                        if let Some(path) =
                            template_conflict(fixed, value, &format!("constants.system.{key}"))
                        {
                            return Err(conflict(path));
                        }
                    }
                    None => {
                        system.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        let custom = match (&self.custom, patch.get("custom")) {
            (None, None) => None,
            (Some(fixed), None) => Some(fixed.clone()),
            (None, Some(given)) => Some(given.clone()),
            (Some(Value::Object(fixed)), Some(Value::Object(given))) => {
                let mut merged = fixed.clone();
                for (key, value) in given {
                    match fixed.get(key) {
                        Some(fixed) => {
                            if let Some(path) =
                                template_conflict(fixed, value, &format!("constants.custom.{key}"))
                            {
                                return Err(conflict(path));
                            }
                        }
                        None => {
                            merged.insert(key.clone(), value.clone());
                        }
                    }
                }
                Some(Value::Object(merged))
            }
            (Some(fixed), Some(given)) => match template_conflict(fixed, given, "constants.custom")
            {
                Some(path) => return Err(conflict(path)),
                None => Some(fixed.clone()),
            },
        };
        if let Some(custom) = custom {
            defaults.insert("custom".to_owned(), custom);
        }
        Ok(())
    }
}

/// Where restating `given` over the template's `fixed` value changes it: equal values and restated parts of an
/// object are fine; a different value, or a key the template's object does not have, is a conflict.
fn template_conflict(fixed: &Value, given: &Value, path: &str) -> Option<String> {
    match (fixed, given) {
        (Value::Object(fixed), Value::Object(given)) => given.iter().find_map(|(key, value)| {
            let path = format!("{path}.{key}");
            match fixed.get(key) {
                Some(fixed) => template_conflict(fixed, value, &path),
                None => Some(path),
            }
        }),
        _ if fixed == given => None,
        _ => Some(path.to_owned()),
    }
}

/// What a template name finds under a SCID.
#[derive(Debug, Clone)]
pub(crate) enum Lookup {
    /// A template file.
    Found(Arc<Template>),
    /// No directory is configured: every name is the built-in empty template.
    Builtin,
    /// A directory is configured and has no such template: 404.
    Unknown,
}

/// The templates of a directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Templates {
    /// Whether a directory is configured (otherwise every name is the built-in template).
    configured: bool,
    /// `DIR/<template>.json`, by lower-case name.
    global: HashMap<String, Arc<Template>>,
    /// `DIR/<scid>/<template>.json`, by lower-case SCID and name.
    by_scid: HashMap<String, HashMap<String, Arc<Template>>>,
}

impl Templates {
    /// Loads every template of `dir`, checking each.
    ///
    /// # Errors
    ///
    /// The directory cannot be read, or a file is not a valid template: the error names the file and the JSON
    /// path of the problem.
    pub(crate) fn load(dir: &Path) -> io::Result<Self> {
        let mut templates = Self {
            configured: true,
            ..Self::default()
        };
        let entries = read_dir(dir)?;
        for path in entries {
            if path.is_dir() {
                let Some(scid) = path.file_name().and_then(|name| name.to_str()) else {
                    continue;
                };
                let mut scoped = HashMap::new();
                for file in read_dir(&path)? {
                    if let Some((name, template)) = load_file(&file)? {
                        scoped.insert(name, Arc::new(template));
                    }
                }
                templates.by_scid.insert(scid.to_lowercase(), scoped);
            } else if let Some((name, template)) = load_file(&path)? {
                templates.global.insert(name, Arc::new(template));
            }
        }
        let count =
            templates.global.len() + templates.by_scid.values().map(HashMap::len).sum::<usize>();
        tracing::info!(dir = %dir.display(), count, "session templates loaded");
        Ok(templates)
    }

    /// The template `name` under `scid`.
    pub(crate) fn find(&self, scid: &str, name: &str) -> Lookup {
        if !self.configured {
            return Lookup::Builtin;
        }
        let name = name.to_lowercase();
        self.by_scid
            .get(&scid.to_lowercase())
            .and_then(|scoped| scoped.get(&name))
            .or_else(|| self.global.get(&name))
            .map_or(Lookup::Unknown, |template| {
                Lookup::Found(Arc::clone(template))
            })
    }

    /// The template a session at `scid`/`name` is made from; 404 (text) when a directory is configured and has
    /// no such template.
    pub(crate) fn template_for(&self, scid: &str, name: &str) -> ApiResult<Arc<Template>> {
        match self.find(scid, name) {
            Lookup::Found(template) => Ok(template),
            Lookup::Builtin => Ok(Arc::clone(builtin())),
            Lookup::Unknown => Err(ApiError::not_found(format!(
                "The requested session template was not found: '{name}' is not a session template of SCID {scid}"
            ))),
        }
    }

    /// Every loaded template, sorted: `(SCID or None for every SCID, name, template)`.
    pub(crate) fn all(&self) -> Vec<(Option<String>, String, Arc<Template>)> {
        let global = self
            .global
            .iter()
            .map(|(name, template)| (None, name.clone(), Arc::clone(template)));
        let scoped = self.by_scid.iter().flat_map(|(scid, scoped)| {
            scoped
                .iter()
                .map(|(name, template)| (Some(scid.clone()), name.clone(), Arc::clone(template)))
        });
        let mut all: Vec<_> = global.chain(scoped).collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }

    /// The templates under `scid`, by name: `(name, contractVersion)`.
    pub(crate) fn list(&self, scid: &str) -> Vec<(String, u32)> {
        let mut found: HashMap<String, &Template> = self
            .global
            .iter()
            .map(|(key, template)| (key.clone(), &**template))
            .collect();
        if let Some(scoped) = self.by_scid.get(&scid.to_lowercase()) {
            for (key, template) in scoped {
                found.insert(key.clone(), template);
            }
        }
        let mut list: Vec<(String, u32)> = found
            .into_values()
            .map(|template| {
                (
                    template.name.clone().unwrap_or_default(),
                    template.contract_version,
                )
            })
            .collect();
        list.sort();
        list
    }
}

/// The built-in empty template, shared.
fn builtin() -> &'static Arc<Template> {
    static BUILTIN: std::sync::OnceLock<Arc<Template>> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| Arc::new(Template::empty()))
}

/// The entries of `dir`, sorted (so that errors are reported in a stable order).
fn read_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let context = |error: io::Error| {
        io::Error::new(
            error.kind(),
            format!("session templates: cannot read {}: {error}", dir.display()),
        )
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(context)? {
        entries.push(entry.map_err(context)?.path());
    }
    entries.sort();
    Ok(entries)
}

/// A template file's error: `<file>: <problem>` (the problem starts with the JSON path).
fn invalid(file: &Path, problem: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("session template {}: {problem}", file.display()),
    )
}

/// Loads `file` if it is a `.json` file: `(lower-case name, template)`.
fn load_file(file: &Path) -> io::Result<Option<(String, Template)>> {
    if file.extension().and_then(|ext| ext.to_str()) != Some("json") || file.is_dir() {
        return Ok(None);
    }
    let Some(name) = file.file_stem().and_then(|stem| stem.to_str()) else {
        return Err(invalid(file, "the file name is not UTF-8"));
    };
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(invalid(
            file,
            format!(
                "the template name '{name}' must be 1 to {MAX_NAME_LEN} characters, no control characters"
            ),
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|error| invalid(file, error))?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|error| invalid(file, format!("$: not valid JSON ({error})")))?;
    let template = parse(name, document).map_err(|problem| invalid(file, problem))?;
    Ok(Some((name.to_lowercase(), template)))
}

/// Checks and translates one template document; the error starts with the JSON path (`$.…`).
fn parse(name: &str, document: Value) -> Result<Template, String> {
    let Value::Object(map) = &document else {
        return Err("$: a template must be a JSON object".to_owned());
    };
    if let Some(key) = map
        .keys()
        .find(|key| !matches!(key.as_str(), "contractVersion" | "constants" | "roleTypes"))
    {
        return Err(format!(
            "$.{key}: a template holds only contractVersion, constants and roleTypes"
        ));
    }
    let contract_version = match map.get("contractVersion") {
        None => 107,
        Some(value) => value
            .as_u64()
            .and_then(|version| u32::try_from(version).ok())
            .filter(|version| *version >= 104)
            .ok_or_else(|| {
                format!("$.contractVersion: must be 104, 105, 107 or later, not {value}")
            })?,
    };
    let path = |error: ApiError| match error {
        ApiError::Text(_, message) => format!("$.{message}"),
        ApiError::PreconditionFailed(_) => "$: invalid".to_owned(),
    };
    let empty = Map::new();
    let constants = match map.get("constants") {
        None => &empty,
        Some(value) => validate::bag(value, "constants").map_err(path)?,
    };
    let mut system = match constants.get("system") {
        None | Some(Value::Null) => Map::new(),
        Some(value) => validate::object(value, "constants.system")
            .map_err(path)?
            .clone(),
    };
    if contract_version < 107 {
        translate_104(&mut system).map_err(|problem| format!("$.constants.system.{problem}"))?;
    }
    validate::session_constants(&system).map_err(path)?;
    let role_types = map
        .get("roleTypes")
        .filter(|value| !value.is_null())
        .cloned();
    if let Some(role_types) = &role_types {
        validate::object(role_types, "roleTypes").map_err(path)?;
        validate::role_types(Some(role_types)).map_err(path)?;
    }
    let mut document = document.clone();
    document["contractVersion"] = json!(contract_version);
    Ok(Template {
        name: Some(name.to_owned()),
        contract_version,
        system,
        custom: constants.get("custom").cloned(),
        role_types,
        document,
    })
}

/// Translates a 104/105 `constants.system` to 107: `timeouts {reserved, inactive, ready, sessionEmpty}` become the
/// four `…Timeout` keys (104's inactive default, 2 hours, when unset), `managedInitialization` becomes
/// `memberInitialization` (`autoEvaluate` → `externalEvaluation: !autoEvaluate`; 104's 5000 ms join and
/// measurement timeouts and 2 members needed to start when unset).
fn translate_104(system: &mut Map<String, Value>) -> Result<(), String> {
    if let Some(timeouts) = system.shift_remove("timeouts") {
        let Value::Object(timeouts) = timeouts else {
            return Err("timeouts: must be an object".to_owned());
        };
        for (old, new) in [
            ("reserved", "reservedRemovalTimeout"),
            ("inactive", "inactiveRemovalTimeout"),
            ("ready", "readyRemovalTimeout"),
            ("sessionEmpty", "sessionEmptyTimeout"),
        ] {
            if let Some(value) = timeouts.get(old) {
                system.insert(new.to_owned(), value.clone());
            }
        }
    }
    system
        .entry("inactiveRemovalTimeout")
        .or_insert(json!(7_200_000));
    if let Some(init) = system.shift_remove("managedInitialization") {
        let Value::Object(mut init) = init else {
            return Err("managedInitialization: must be an object".to_owned());
        };
        if let Some(auto) = init.shift_remove("autoEvaluate") {
            let auto = auto
                .as_bool()
                .ok_or("managedInitialization.autoEvaluate: must be a boolean")?;
            init.insert("externalEvaluation".to_owned(), json!(!auto));
        }
        init.entry("joinTimeout").or_insert(json!(5_000));
        init.entry("measurementTimeout").or_insert(json!(5_000));
        init.entry("membersNeededToStart").or_insert(json!(2));
        system.insert("memberInitialization".to_owned(), Value::Object(init));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(system: Value, custom: Option<Value>) -> Template {
        Template {
            name: Some("t".to_owned()),
            system: system.as_object().cloned().unwrap_or_default(),
            custom,
            ..Template::empty()
        }
    }

    fn merged(template: &Template, patch: Value) -> ApiResult<Value> {
        let mut constants = Map::new();
        constants.insert("system".to_owned(), json!({ "version": 1 }));
        template.merge_constants(&mut constants, patch.as_object().unwrap())?;
        Ok(Value::Object(constants))
    }

    #[test]
    fn the_creator_adds_and_restates_but_does_not_change() {
        let t = template(
            json!({ "maxMembersCount": 8, "capabilities": { "connectivity": true }, "sessionEmptyTimeout": null }),
            Some(json!({ "map": "lava", "rules": { "a": 1 } })),
        );
        let ok = merged(
            &t,
            json!({ "system": { "version": 1, "maxMembersCount": 8, "visibility": "private",
                                "capabilities": { "connectivity": true }, "sessionEmptyTimeout": null },
                    "custom": { "mode": "ctf", "map": "lava" } }),
        )
        .unwrap();
        assert_eq!(ok["system"]["visibility"], "private");
        assert_eq!(ok["system"]["sessionEmptyTimeout"], Value::Null);
        assert_eq!(
            ok["custom"],
            json!({ "map": "lava", "rules": { "a": 1 }, "mode": "ctf" })
        );
        for (patch, path) in [
            (
                json!({ "system": { "maxMembersCount": 9 } }),
                "constants.system.maxMembersCount",
            ),
            (
                json!({ "system": { "capabilities": { "crossPlay": true } } }),
                "constants.system.capabilities.crossPlay",
            ),
            (
                json!({ "system": { "sessionEmptyTimeout": 0 } }),
                "constants.system.sessionEmptyTimeout",
            ),
            (
                json!({ "custom": { "map": "ice" } }),
                "constants.custom.map",
            ),
            (
                json!({ "custom": { "rules": { "b": 2 } } }),
                "constants.custom.rules.b",
            ),
        ] {
            match merged(&t, patch.clone()) {
                Err(ApiError::Text(status, message)) => {
                    assert_eq!(status, 409);
                    assert!(message.starts_with(path), "{patch}: {message}");
                }
                other => panic!("{patch}: {other:?}"),
            }
        }
    }

    #[test]
    fn templates_are_checked_and_104_is_translated() {
        let bad = [
            (json!([]), "$: a template must be a JSON object"),
            (json!({ "members": {} }), "$.members"),
            (json!({ "contractVersion": 99 }), "$.contractVersion"),
            (
                json!({ "constants": { "system": { "maxMembersCount": 0 } } }),
                "$.constants.system.maxMembersCount",
            ),
            (json!({ "constants": { "other": 1 } }), "$.constants.other"),
            (
                json!({ "constants": { "system": { "reservedRemovalTimeout": -1 } } }),
                "$.constants.system.reservedRemovalTimeout",
            ),
            (
                json!({ "constants": { "system": { "memberInitialization": { "evaluationTimeout": 5 } } } }),
                "$.constants.system.memberInitialization.evaluationTimeout",
            ),
            (json!({ "roleTypes": 3 }), "$.roleTypes"),
        ];
        for (document, path) in bad {
            let problem = parse("t", document.clone()).unwrap_err();
            assert!(problem.starts_with(path), "{document}: {problem}");
        }
        let old = parse(
            "old",
            json!({ "contractVersion": 104, "constants": { "system": {
                "timeouts": { "reserved": 1000, "sessionEmpty": null },
                "managedInitialization": { "autoEvaluate": true } } } }),
        )
        .unwrap();
        assert_eq!(old.contract_version, 104);
        assert_eq!(
            Value::Object(old.system),
            json!({ "reservedRemovalTimeout": 1000, "sessionEmptyTimeout": null,
                    "inactiveRemovalTimeout": 7_200_000,
                    "memberInitialization": { "externalEvaluation": false, "joinTimeout": 5000,
                                              "measurementTimeout": 5000, "membersNeededToStart": 2 } })
        );
    }
}
