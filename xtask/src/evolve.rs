//! `cargo xtask evolve`: proves that additive spec changes never break a caller.
//!
//! It copies the workspace (the files git knows, not `target/`) to `<target-dir>/evolve-workspace`, applies
//! additive [`mutations`] to the copy's `spec/openapi.yaml`, regenerates the copy with [`codegen::run`] and
//! runs `cargo check --workspace --all-targets --locked` there. Every caller in the copy — `xbl-mpsd-ext`,
//! the CLI, the emulator, examples, tests, doc tests' crates — must compile unchanged.
//!
//! All mutations are checked at once (one `cargo check`); only when that fails are they narrowed down —
//! after the unmutated copy, to tell a broken workspace from a breaking mutation — by checking halves of
//! the failing groups (`--each`: every mutation alone), so the failure names the mutation and its first
//! compiler error. The check builds into the workspace's own target directory
//! by default, so the dependencies are the ones `cargo clippy`/`cargo check` already built and only the
//! workspace crates of the copy are compiled.
//!
//! Each mutation is also run through [`crate::spec_diff`]: it must be classified additive, which keeps the
//! classifier and this check in agreement.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::codegen::{self, Mode};
use crate::spec_diff;

/// One additive change to the spec.
#[derive(Clone, Copy)]
pub struct Mutation {
    /// A short name (`request-field`, …).
    pub name: &'static str,
    /// What it adds.
    pub description: &'static str,
    apply: fn(&mut Value) -> Result<()>,
}

impl std::fmt::Debug for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutation")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Mutation {
    /// Applies the mutation to a spec (as JSON).
    pub fn apply(&self, spec: &mut Value) -> Result<()> {
        (self.apply)(spec).with_context(|| format!("applying mutation `{}`", self.name))
    }
}

/// The name every mutation uses for what it adds, so the additions are easy to spot.
pub const PROBE: &str = "evolveProbe";

fn schema_mut<'a>(spec: &'a mut Value, name: &str) -> Result<&'a mut Value> {
    spec.pointer_mut(&format!("/components/schemas/{name}"))
        .with_context(|| format!("the spec has no schema {name}"))
}

fn operation_mut<'a>(spec: &'a mut Value, path: &str, method: &str) -> Result<&'a mut Value> {
    spec.get_mut("paths")
        .and_then(|p| p.get_mut(path))
        .and_then(|item| item.get_mut(method))
        .with_context(|| format!("the spec has no operation {} {path}", method.to_uppercase()))
}

fn add_optional_property(spec: &mut Value, schema: &str) -> Result<()> {
    let properties = schema_mut(spec, schema)?
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .with_context(|| format!("schema {schema} has no properties"))?;
    properties.insert(
        PROBE.into(),
        json!({"type": "string", "description": "Added by `cargo xtask evolve`."}),
    );
    Ok(())
}

fn add_parameter(spec: &mut Value, path: &str, method: &str, parameter: Value) -> Result<()> {
    let op = operation_mut(spec, path, method)?;
    let op = op
        .as_object_mut()
        .context("the operation is not an object")?;
    op.entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .context("`parameters` is not a list")?
        .push(parameter);
    Ok(())
}

fn add_response(
    spec: &mut Value,
    path: &str,
    method: &str,
    code: &str,
    response: Value,
) -> Result<()> {
    let responses = operation_mut(spec, path, method)?
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .context("the operation has no responses")?;
    if responses.contains_key(code) {
        bail!("status {code} is already documented");
    }
    responses.insert(code.into(), response);
    Ok(())
}

/// The first open enum's value list (`anyOf: [{type: string, enum: […]}, {type: string}]`) or closed
/// `enum` among the component schemas, preferring `Visibility`.
fn some_enum_values(spec: &mut Value) -> Result<&mut Vec<Value>> {
    let schemas = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .context("the spec has no component schemas")?;
    let mut names: Vec<String> = schemas.keys().cloned().collect();
    names.sort_by_key(|n| n != "Visibility");
    let name = names
        .into_iter()
        .find(|n| {
            let s = &schemas[n.as_str()];
            s.get("enum").is_some() || s.pointer("/anyOf/0/enum").is_some()
        })
        .context("the spec has no enum schema")?;
    let schema = schemas.get_mut(&name).context("the enum schema vanished")?;
    let list = if schema.get("enum").is_some() {
        schema.get_mut("enum")
    } else {
        schema.pointer_mut("/anyOf/0/enum")
    };
    list.and_then(Value::as_array_mut)
        .context("the enum is not a list")
}

const HANDLE: &str = "/handles/{handleId}";

/// The additive mutations `evolve` checks.
pub fn mutations() -> Vec<Mutation> {
    vec![
        Mutation {
            name: "request-field",
            description: "an optional field on a request type (CreateHandleRequest)",
            apply: |spec| add_optional_property(spec, "CreateHandleRequest"),
        },
        Mutation {
            name: "response-field",
            description: "an optional field on a response type (HandleDocument)",
            apply: |spec| add_optional_property(spec, "HandleDocument"),
        },
        Mutation {
            name: "query-parameter",
            description: "an optional query parameter (GET /handles/{handleId})",
            apply: |spec| {
                add_parameter(
                    spec,
                    HANDLE,
                    "get",
                    json!({"name": PROBE, "in": "query", "required": false, "schema": {"type": "string"}}),
                )
            },
        },
        Mutation {
            name: "request-header",
            description: "an optional request header (POST /handles/query)",
            apply: |spec| {
                add_parameter(
                    spec,
                    "/handles/query",
                    "post",
                    json!({"name": "X-Evolve-Probe", "in": "header", "required": false, "schema": {"type": "string"}}),
                )
            },
        },
        Mutation {
            name: "operation",
            description: "a new operation (GET /handles/{handleId}/evolveProbe)",
            apply: |spec| {
                let paths = spec
                    .get_mut("paths")
                    .and_then(Value::as_object_mut)
                    .context("the spec has no paths")?;
                paths.insert(
                    format!("{HANDLE}/{PROBE}"),
                    json!({
                        "parameters": [
                            {"$ref": "#/components/parameters/HandleId"},
                            {"$ref": "#/components/parameters/ContractVersion"}
                        ],
                        "get": {
                            "operationId": "get_evolve_probe",
                            "tags": ["handles"],
                            "summary": "Added by `cargo xtask evolve`",
                            "description": "Added by `cargo xtask evolve`.",
                            "responses": {
                                "200": {"$ref": "#/components/responses/Handle"},
                                "404": {"$ref": "#/components/responses/NotFound"}
                            }
                        }
                    }),
                );
                Ok(())
            },
        },
        Mutation {
            name: "enum-value",
            description: "a new enum value (Visibility, or the first enum schema)",
            apply: |spec| {
                some_enum_values(spec)?.push(Value::String(PROBE.into()));
                Ok(())
            },
        },
        Mutation {
            name: "error-status",
            description: "a new error status (422 on PUT /handles/{handleId}/session)",
            apply: |spec| {
                add_response(
                    spec,
                    "/handles/{handleId}/session",
                    "put",
                    "422",
                    json!({"description": "Added by `cargo xtask evolve`.",
                           "content": {"text/plain": {"schema": {"type": "string"}}}}),
                )
            },
        },
        Mutation {
            name: "success-status",
            description: "a new success status (202 with a JSON body of another schema on GET /handles/{handleId})",
            apply: |spec| {
                add_response(
                    spec,
                    HANDLE,
                    "get",
                    "202",
                    json!({"description": "Added by `cargo xtask evolve`.",
                           "content": {"application/json": {"schema": {
                               "type": "object", "properties": {PROBE: {"type": "string"}}}}}}),
                )
            },
        },
        Mutation {
            name: "response-header",
            description: "a new response header (X-Evolve-Probe on 200 of GET /handles/{handleId})",
            apply: |spec| {
                let op = operation_mut(spec, HANDLE, "get")?;
                // The 200 is a $ref to a shared response; give this operation its own copy.
                let response = json!({
                    "description": "The handle document.",
                    "headers": {"X-Evolve-Probe": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HandleDocument"}}}
                });
                op.pointer_mut("/responses/200")
                    .map(|r| *r = response)
                    .context("GET /handles/{handleId} has no 200")
            },
        },
    ]
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the copy's `cargo check` builds (default: the workspace's `target/`).
    pub target_dir: Option<PathBuf>,
    /// Check each mutation alone too (instead of narrowing failing groups down by halves).
    pub each: bool,
    /// Only these mutations (by name); all when empty.
    pub only: Vec<String>,
}

/// The result of one `cargo check` of the copy.
#[derive(Clone, Debug)]
pub struct Check {
    /// Which mutations were applied (`none` for the unmutated copy).
    pub label: String,
    /// How long codegen + `cargo check` took.
    pub elapsed: Duration,
    /// The first compiler error (with a few lines of context) when the check failed.
    pub error: Option<String>,
}

/// What a run found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every check made, in order.
    pub checks: Vec<Check>,
    /// The mutations that break a caller, with their first compiler error.
    pub failures: Vec<(String, String)>,
    /// Whether the unmutated copy failed to compile.
    pub baseline_broken: Option<String>,
}

impl Report {
    /// True when every mutation compiled.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty() && self.baseline_broken.is_none()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for check in &self.checks {
            let status = if check.error.is_some() {
                "FAILED"
            } else {
                "ok"
            };
            writeln!(
                f,
                "evolve: {:<60} {status} ({:.1} s)",
                check.label,
                check.elapsed.as_secs_f64()
            )?;
        }
        if let Some(error) = &self.baseline_broken {
            writeln!(
                f,
                "evolve: the copy does not compile even without mutations; fix the workspace first:\n{error}"
            )?;
        }
        for (name, error) in &self.failures {
            writeln!(
                f,
                "evolve: mutation `{name}` breaks a caller (zero hand edits must suffice):\n{error}"
            )?;
        }
        if self.is_clean() {
            writeln!(
                f,
                "evolve: every additive mutation regenerates and compiles unchanged"
            )?;
        }
        Ok(())
    }
}

/// The files to copy: what git tracks plus new files it does not ignore, that exist.
fn workspace_files(root: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("running `git ls-files` (evolve copies the files git knows)")?;
    if !output.status.success() {
        bail!(
            "`git ls-files` failed in {}: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut files: Vec<PathBuf> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        .filter(|name| root.join(name).is_file())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Copies `files` from `root` to a fresh `dest`.
fn copy_workspace(root: &Path, files: &[PathBuf], dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    for file in files {
        let to = dest.join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(root.join(file), &to)
            .with_context(|| format!("copying {} to {}", file.display(), to.display()))?;
    }
    Ok(())
}

/// The first compiler error of `cargo check --message-format short` output, with the lines after it.
pub fn first_error(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("error[") || l.contains(": error:") || l.starts_with("error:"))?;
    Some(
        lines[start..]
            .iter()
            .take(12)
            .copied()
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

struct Copy<'a> {
    dir: PathBuf,
    spec_text: String,
    target_dir: &'a Path,
}

impl Copy<'_> {
    /// Writes the spec with `mutations` applied, regenerates and checks the copy.
    fn check(&self, mutations: &[Mutation]) -> Result<Check> {
        let started = Instant::now();
        let label = if mutations.is_empty() {
            "none (the unmutated copy)".to_owned()
        } else {
            mutations
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut spec = crate::parse_spec(&self.spec_text)?;
        for mutation in mutations {
            mutation.apply(&mut spec)?;
        }
        let spec_path = self.dir.join(codegen::SPEC_PATH);
        let text = if mutations.is_empty() {
            self.spec_text.clone()
        } else {
            serde_json::to_string_pretty(&spec)?
        };
        std::fs::write(&spec_path, text)
            .with_context(|| format!("writing {}", spec_path.display()))?;
        let report = match codegen::run(&self.dir, Mode::Write) {
            Ok(report) => report,
            Err(e) => {
                return Ok(Check {
                    label,
                    elapsed: started.elapsed(),
                    error: Some(format!("code generation failed: {e:#}")),
                });
            }
        };
        if !report.is_clean() {
            bail!("codegen in write mode reported stale files:\n{report}");
        }
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", self.target_dir)
            .args([
                "check",
                "--workspace",
                "--all-targets",
                "--locked",
                "--quiet",
                "--message-format",
                "short",
            ])
            .output()
            .context("running cargo check in the copy")?;
        let error = (!output.status.success()).then(|| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            first_error(&stderr).unwrap_or_else(|| stderr.trim().to_owned())
        });
        Ok(Check {
            label,
            elapsed: started.elapsed(),
            error,
        })
    }
}

/// The mutations selected by `only` (all when empty).
pub fn selected(only: &[String]) -> Result<Vec<Mutation>> {
    let all = mutations();
    if only.is_empty() {
        return Ok(all);
    }
    only.iter()
        .map(|name| {
            all.iter()
                .find(|m| m.name == name)
                .copied()
                .with_context(|| {
                    let names: Vec<&str> = all.iter().map(|m| m.name).collect();
                    format!("no mutation `{name}`; known: {}", names.join(", "))
                })
        })
        .collect()
}

/// Checks that every mutation is classified additive by [`spec_diff`]; names any that is not.
pub fn classify(spec: &Value, mutations: &[Mutation]) -> Result<()> {
    for mutation in mutations {
        let mut head = spec.clone();
        mutation.apply(&mut head)?;
        let diff = spec_diff::diff(spec, &head);
        if diff.is_empty() {
            bail!(
                "mutation `{}` changes nothing spec-diff sees",
                mutation.name
            );
        }
        if diff.has_breaking() {
            bail!(
                "spec-diff classifies the additive mutation `{}` as breaking:\n{diff}",
                mutation.name
            );
        }
    }
    Ok(())
}

/// Runs the check on a copy of the workspace at `root`.
pub fn run(root: &Path, options: &Options) -> Result<Report> {
    let mutations = selected(&options.only)?;
    let spec_text = std::fs::read_to_string(root.join(codegen::SPEC_PATH))
        .with_context(|| format!("reading {}", codegen::SPEC_PATH))?;
    classify(&crate::parse_spec(&spec_text)?, &mutations)?;

    let target_dir = options
        .target_dir
        .clone()
        .unwrap_or_else(|| root.join("target"));
    let copy = Copy {
        dir: target_dir.join("evolve-workspace"),
        spec_text,
        target_dir: &target_dir,
    };
    let files = workspace_files(root)?;
    copy_workspace(root, &files, &copy.dir)?;
    eprintln!(
        "evolve: {} files copied to {}; checking {} mutation(s) into {}",
        files.len(),
        copy.dir.display(),
        mutations.len(),
        target_dir.display()
    );

    let mut report = Report::default();
    let combined = copy.check(&mutations)?;
    let combined_error = combined.error.clone();
    let combined_failed = combined_error.is_some();
    report.checks.push(combined);
    if combined_failed || options.each {
        if combined_failed {
            let baseline = copy.check(&[])?;
            let broken = baseline.error.clone();
            report.checks.push(baseline);
            if let Some(error) = broken {
                report.baseline_broken = Some(error);
                return Ok(report);
            }
        }
        if options.each {
            for mutation in &mutations {
                let check = copy.check(std::slice::from_ref(mutation))?;
                if let Some(error) = &check.error {
                    report
                        .failures
                        .push((mutation.name.to_owned(), error.clone()));
                }
                report.checks.push(check);
            }
        } else if let ([only], Some(error)) = (mutations.as_slice(), combined_error) {
            // One mutation: the combined check already was its own.
            report.failures.push((only.name.to_owned(), error));
        } else {
            // Group testing: halves of a failing group, down to the single mutations that fail (about
            // 2·log2(n) checks per failing mutation instead of n).
            let (left, right) = mutations.split_at(mutations.len() / 2);
            let mut pending: Vec<&[Mutation]> = vec![left, right];
            while let Some(group) = pending.pop() {
                if group.is_empty() {
                    continue;
                }
                let check = copy.check(group)?;
                let error = check.error.clone();
                report.checks.push(check);
                match error {
                    None => {}
                    Some(error) if group.len() == 1 => {
                        report.failures.push((group[0].name.to_owned(), error));
                    }
                    Some(_) => {
                        let (a, b) = group.split_at(group.len() / 2);
                        pending.push(a);
                        pending.push(b);
                    }
                }
            }
        }
        if combined_failed && report.failures.is_empty() {
            report.failures.push((
                "(all together)".into(),
                "each mutation compiles alone, but not all together".into(),
            ));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_spec() -> Value {
        let root = crate::workspace_root().unwrap();
        crate::read_spec(&root.join(codegen::SPEC_PATH)).unwrap()
    }

    #[test]
    fn every_mutation_applies_to_the_real_spec_and_is_additive() {
        let spec = real_spec();
        classify(&spec, &mutations()).unwrap();
        // All at once too.
        let mut all = spec.clone();
        for m in mutations() {
            m.apply(&mut all).unwrap();
        }
        let diff = spec_diff::diff(&spec, &all);
        assert!(!diff.has_breaking(), "{diff}");
        assert!(diff.changes.len() >= mutations().len(), "{diff}");
    }

    #[test]
    fn every_mutated_spec_still_generates() {
        let mut spec = real_spec();
        for m in mutations() {
            m.apply(&mut spec).unwrap();
        }
        let mut input = crate::transform::generation_input(&spec).unwrap();
        crate::success::prepare(&mut input).unwrap();
    }

    #[test]
    fn unknown_mutation_names_are_refused_with_the_known_ones() {
        let err = selected(&["nope".into()]).unwrap_err().to_string();
        assert!(
            err.contains("no mutation `nope`") && err.contains("request-field"),
            "{err}"
        );
        assert_eq!(
            selected(&["operation".into()]).unwrap()[0].name,
            "operation"
        );
    }

    #[test]
    fn the_first_compiler_error_is_found_in_short_output() {
        let out = "warning: unused\nxbl-mpsd-ext/src/handles.rs:42:5: error[E0063]: missing field `evolveProbe`\nerror: could not compile";
        assert_eq!(
            first_error(out).unwrap().lines().next().unwrap(),
            "xbl-mpsd-ext/src/handles.rs:42:5: error[E0063]: missing field `evolveProbe`"
        );
        assert_eq!(first_error("all fine"), None);
    }

    #[test]
    fn the_copy_holds_the_files_git_knows_and_not_target() {
        let root = crate::workspace_root().unwrap();
        let files = workspace_files(&root).unwrap();
        assert!(files.iter().any(|f| f == Path::new(codegen::SPEC_PATH)));
        assert!(files.iter().any(|f| f == Path::new("Cargo.lock")));
        assert!(!files.iter().any(|f| f.starts_with("target")));
        let dir = tempfile::tempdir().unwrap();
        let few: Vec<PathBuf> = vec!["Cargo.toml".into(), codegen::SPEC_PATH.into()];
        copy_workspace(&root, &few, dir.path()).unwrap();
        assert!(dir.path().join(codegen::SPEC_PATH).is_file());
        let copied_root = crate::find_workspace_root(None, &dir.path().join("spec")).unwrap();
        assert_eq!(copied_root, dir.path());
    }
}
