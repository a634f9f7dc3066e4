//! Generation of `xbl-mpsd-api/src/generated.rs` from `spec/openapi.yaml` with progenitor.
//!
//! The spec stays complete and truthful; [`crate::transform`] derives the generator's input from it.
//! Output is formatted with `prettyplease` (pinned by `Cargo.lock`), so it is byte-identical run to run and
//! independent of the installed rustfmt.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use progenitor_impl::{
    GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl,
};
use serde_json::Value;

use crate::{enums, postprocess, transform};

/// Path of the spec, relative to the workspace root.
pub const SPEC_PATH: &str = "spec/openapi.yaml";
/// Path of the generated client, relative to the workspace root.
pub const CLIENT_PATH: &str = "xbl-mpsd-api/src/generated.rs";
/// Path of the generated command-line operations, relative to the workspace root.
pub const CLI_PATH: &str = "xbl-mpsd-cli/src/generated_cli.rs";
/// Path of the generated `Operation` impls (one per request builder), relative to the workspace root.
pub const OPERATIONS_PATH: &str = "xbl-mpsd-api/src/generated_operations.rs";
/// The crate the generated CLI calls.
const CLIENT_CRATE: &str = "xbl_mpsd_api";

/// Write the files, or only compare them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite stale files.
    Write,
    /// Leave files alone; report the stale ones.
    Check,
}

/// One generated file and its freshly generated contents.
#[derive(Debug)]
pub struct GeneratedFile {
    /// Path relative to the workspace root.
    pub path: &'static str,
    /// What the file must contain.
    pub contents: String,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Files that were already up to date.
    pub fresh: Vec<&'static str>,
    /// Files rewritten (write mode).
    pub written: Vec<&'static str>,
    /// Files that are stale, with a unified diff (check mode).
    pub stale: Vec<(&'static str, String)>,
    /// What a maintainer still does by hand for each operation the rewritten client has and the previous
    /// one had not (write mode; see [`crate::next_steps`]); empty when none is new.
    pub next_steps: String,
}

impl Report {
    /// True when no file is stale.
    pub fn is_clean(&self) -> bool {
        self.stale.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for path in &self.fresh {
            writeln!(f, "up to date: {path}")?;
        }
        for path in &self.written {
            writeln!(f, "wrote: {path}")?;
        }
        for (path, diff) in &self.stale {
            writeln!(f, "{diff}")?;
            writeln!(
                f,
                "stale: {path} differs from what {SPEC_PATH} generates; run `cargo xtask codegen` and commit the result"
            )?;
        }
        f.write_str(&self.next_steps)
    }
}

/// Generates every file in memory.
pub fn generate_all(root: &Path) -> Result<Vec<GeneratedFile>> {
    let spec_path = root.join(SPEC_PATH);
    let text = fs::read_to_string(&spec_path)
        .with_context(|| format!("reading {}", spec_path.display()))?;
    let spec: serde_json::Value =
        yaml_serde::from_str(&text).with_context(|| format!("parsing {SPEC_PATH} as YAML"))?;
    generate_from_spec(&spec)
}

/// Generates every file in memory from `spec` (the parsed `spec/openapi.yaml`).
pub fn generate_from_spec(spec: &serde_json::Value) -> Result<Vec<GeneratedFile>> {
    let spec = spec.clone();
    let mut input = transform::generation_input(&spec)?;
    // One typed success per operation, then a check that names any operation progenitor cannot take.
    crate::success::prepare(&mut input)?;
    let open_enums = enums::open_enums(&spec)?;
    let map_keys = postprocess::map_keys(&spec)?;
    let settings = settings(&spec, &open_enums)?;
    let openapi: openapiv3::OpenAPI = serde_json::from_value(input.clone())
        .context("the transformed spec is not a valid OpenAPI 3.0 document")?;
    let blame = |e: anyhow::Error, output: Output| {
        crate::validate::name_failing_operation(e, &input, |one| {
            let one: openapiv3::OpenAPI = serde_json::from_value(one)?;
            generate(&settings, &one, output, &open_enums, &map_keys).map(drop)
        })
    };
    let client = generate(&settings, &openapi, Output::Client, &open_enums, &map_keys)
        .map_err(|e| blame(e, Output::Client))?;
    let idempotent = crate::operations::idempotent_operations(&spec)?;
    let operations = crate::operations::generate(&client, &idempotent)?;
    Ok(vec![
        GeneratedFile {
            path: CLIENT_PATH,
            contents: client,
        },
        GeneratedFile {
            path: OPERATIONS_PATH,
            contents: format!("{}{operations}", header()),
        },
        GeneratedFile {
            path: CLI_PATH,
            contents: generate(&settings, &openapi, Output::Cli, &open_enums, &map_keys)
                .map_err(|e| blame(e, Output::Cli))?,
        },
    ])
}

/// What to generate from the generation input.
#[derive(Clone, Copy, Debug)]
enum Output {
    /// The typed client (`xbl-mpsd-api`).
    Client,
    /// One clap command per operation, calling the typed client (`xbl-mpsd-cli`).
    Cli,
}

/// What a hand-written replacement type implements (tells progenitor how it may parse and print it).
const STRICT: &[TypeImpl] = &[TypeImpl::FromStr, TypeImpl::Display];
/// `Lenient<T>` and open enums parse any string.
const IRREFUTABLE: &[TypeImpl] = &[
    TypeImpl::FromStr,
    TypeImpl::FromStringIrrefutable,
    TypeImpl::Display,
];

/// The hand-written identifier types of `xbl-mpsd-api` (`ids.rs`, `session_ref.rs`, `lenient.rs`) that the
/// generated code uses instead of the spec's string schemas, by schema name. Parameters take the strict types;
/// document fields take `Lenient<T>`, which keeps what the service sent even when it does not parse (XSAPI's
/// fixtures carry `"id": ""`). Paths are absolute so that they also resolve in the generated CLI.
const ID_TYPES: &[(&str, &str, &[TypeImpl])] = &[
    ("HandleId", "::xbl_mpsd_api::HandleId", STRICT),
    ("Scid", "::xbl_mpsd_api::Scid", STRICT),
    (
        "SessionTemplateName",
        "::xbl_mpsd_api::SessionTemplateName",
        STRICT,
    ),
    ("SessionName", "::xbl_mpsd_api::SessionName", STRICT),
    (
        "SessionReference",
        "::xbl_mpsd_api::SessionReference",
        &[TypeImpl::Display],
    ),
    (
        "Xuid",
        "::xbl_mpsd_api::Lenient<::xbl_mpsd_api::Xuid>",
        IRREFUTABLE,
    ),
    (
        "TitleIdString",
        "::xbl_mpsd_api::Lenient<::xbl_mpsd_api::TitleId>",
        IRREFUTABLE,
    ),
    (
        "HandleIdString",
        "::xbl_mpsd_api::Lenient<::xbl_mpsd_api::HandleId>",
        IRREFUTABLE,
    ),
    ("Guid", "::xbl_mpsd_api::Lenient<::uuid::Uuid>", IRREFUTABLE),
    // Date-times keep the text they arrived with (seven fractional digits) and parse on request.
    ("Timestamp", "::xbl_mpsd_api::Timestamp", IRREFUTABLE),
    // A number written back as it was written (an integer stays an integer).
    ("Number", "::serde_json::Number", STRICT),
];

fn settings(spec: &Value, open_enums: &[enums::OpenEnum]) -> Result<GenerationSettings> {
    let hooks_type = HOOKS_TYPE
        .parse()
        .map_err(|e| anyhow!("`{HOOKS_TYPE}` is not a Rust path: {e}"))?;
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq")
        .with_map_type("::indexmap::IndexMap")
        // Every client carries `xbl_mpsd_api::Hooks` (authorization per request), used by the hand-written
        // `ClientHooks` impl in `xbl-mpsd-api/src/hooks.rs`; `Expected` makes forgetting that impl an error.
        .with_inner_type(hooks_type)
        .with_hooks(HooksMode::Expected);
    for (schema, rust, impls) in ID_TYPES {
        if spec
            .pointer(&format!("/components/schemas/{schema}"))
            .is_none()
        {
            bail!(
                "xtask/src/codegen.rs maps the schema `{schema}` to `{rust}`, but spec/openapi.yaml has no such \
                 schema under components/schemas: update ID_TYPES"
            );
        }
        settings.with_replacement(schema, rust, impls.iter().cloned());
    }
    for e in open_enums {
        settings.with_replacement(
            &e.name,
            format!("::xbl_mpsd_api::types::{}", e.name),
            IRREFUTABLE.iter().cloned(),
        );
    }
    Ok(settings)
}

/// The client's inner type, as a path from inside `xbl-mpsd-api`.
const HOOKS_TYPE: &str = "crate::Hooks";

fn generate(
    settings: &GenerationSettings,
    openapi: &openapiv3::OpenAPI,
    output: Output,
    open_enums: &[enums::OpenEnum],
    map_keys: &[postprocess::MapKey],
) -> Result<String> {
    let mut generator = Generator::new(settings);
    // progenitor panics (rather than erring) on some unsupported specs; turn that into an error.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match output {
        Output::Client => generator.generate_tokens(openapi),
        Output::Cli => generator.cli(openapi, CLIENT_CRATE),
    }))
    .map_err(|payload| {
        anyhow!(
            "progenitor panicked on the generation input: {}",
            crate::validate::panic_message(&*payload)
        )
    })?
    .with_context(|| format!("progenitor could not generate the {output:?} code"))?;
    let mut file: syn::File =
        syn::parse2(tokens).context("progenitor produced tokens that do not parse")?;
    if let Output::Client = output {
        postprocess::types_module(&mut file, open_enums, map_keys)?;
        postprocess::operation_builders(&mut file)?;
        postprocess::body_builders_only(&mut file)?;
    }
    let body = prettyplease::unparse(&file);
    Ok(format!("{}{body}", header()))
}

/// The do-not-edit header of every generated file.
fn header() -> String {
    format!(
        "// @generated by `cargo xtask codegen` from {SPEC_PATH} with progenitor. DO NOT EDIT.\n\
         // Change the spec (or xtask/src/transform.rs) and run `cargo xtask codegen` instead.\n\n"
    )
}

/// Generates, then writes or checks every file.
pub fn run(root: &Path, mode: Mode) -> Result<Report> {
    let mut report = Report::default();
    for file in generate_all(root)? {
        let full: PathBuf = root.join(file.path);
        let current = match fs::read_to_string(&full) {
            Ok(text) => Some(text.replace("\r\n", "\n")),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(err).with_context(|| format!("reading {}", full.display())),
        };
        if current.as_deref() == Some(file.contents.as_str()) {
            report.fresh.push(file.path);
            continue;
        }
        match mode {
            Mode::Write => {
                if file.path == CLIENT_PATH
                    && let Some(old) = &current
                {
                    report.next_steps = crate::next_steps::next_steps(old, &file.contents)
                        .context("finding the operations the spec gained")?;
                }
                fs::write(&full, &file.contents)
                    .with_context(|| format!("writing {}", full.display()))?;
                report.written.push(file.path);
            }
            Mode::Check => {
                let old = current.unwrap_or_default();
                let diff = similar::TextDiff::from_lines(&old, &file.contents)
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("{} (checked in)", file.path),
                        &format!("{} (generated)", file.path),
                    )
                    .to_string();
                report.stale.push((file.path, truncate_diff(diff)));
            }
        }
    }
    Ok(report)
}

/// Keeps a diff readable in a terminal or CI log.
fn truncate_diff(diff: String) -> String {
    const MAX_LINES: usize = 200;
    let total = diff.lines().count();
    if total <= MAX_LINES {
        return diff;
    }
    let mut out: String = diff.lines().take(MAX_LINES).collect::<Vec<_>>().join("\n");
    out.push_str(&format!("\n… {} more diff lines", total - MAX_LINES));
    out
}
