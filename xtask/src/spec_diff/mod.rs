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

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use spec::{Dir, Dirs};

pub use crate::change::{Change, Class};

mod operations;
mod schemas;
mod spec;

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
mod tests;
