//! `cargo xtask` entry point.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::codegen::{self, Mode};
use xtask::{evolve, spec_diff};

/// Project automation for xbl-mpsd.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Regenerate the generated files from spec/openapi.yaml; when it rewrites files, print what changed in
    /// the spec since HEAD (additive or breaking).
    Codegen {
        /// Exit non-zero with a diff when a generated file is stale; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// List what changed in spec/openapi.yaml since BASE, each change additive or breaking for callers of
    /// the generated code.
    SpecDiff {
        /// A file (YAML or JSON) or a git revision whose spec/openapi.yaml is the base.
        #[arg(default_value = "HEAD")]
        base: String,
        /// Exit non-zero when a change is breaking.
        #[arg(long)]
        deny_breaking: bool,
    },
    /// Check that additive spec changes regenerate and compile with no hand edit, on a copy of the
    /// workspace (all mutations at once; narrowed down by halves only when that fails).
    Evolve {
        /// Check every mutation alone (also when all together pass).
        #[arg(long)]
        each: bool,
        /// Only these mutations (repeatable): request-field, response-field, query-parameter,
        /// request-header, operation, enum-value, error-status, success-status, response-header.
        #[arg(long = "only", value_name = "MUTATION")]
        only: Vec<String>,
        /// The target directory of the copy's `cargo check` (default: the workspace's target/).
        #[arg(long, value_name = "DIR")]
        target_dir: Option<PathBuf>,
        /// List the mutations and exit.
        #[arg(long)]
        list: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> anyhow::Result<ExitCode> {
    let root = xtask::workspace_root()?;
    match task {
        Task::Codegen { check } => {
            let mode = if check { Mode::Check } else { Mode::Write };
            let report = codegen::run(&root, mode)?;
            print!("{report}");
            if !report.written.is_empty() {
                // What the regenerated code means for callers.
                match spec_diff::run(&root, &spec_diff::Base::Rev("HEAD".into())) {
                    Ok(diff) => print!("spec changes since HEAD: {diff}"),
                    Err(e) => eprintln!("note: no spec diff against HEAD: {e:#}"),
                }
            }
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Task::SpecDiff {
            base,
            deny_breaking,
        } => {
            let base = spec_diff::Base::parse(Some(&base), &root);
            let diff = spec_diff::run(&root, &base)?;
            print!("{} against {base}: {diff}", codegen::SPEC_PATH);
            Ok(if deny_breaking && diff.has_breaking() {
                eprintln!("spec-diff: breaking changes (--deny-breaking)");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Task::Evolve {
            each,
            only,
            target_dir,
            list,
        } => {
            if list {
                for m in evolve::mutations() {
                    println!("{:<16} {}", m.name, m.description);
                }
                return Ok(ExitCode::SUCCESS);
            }
            let options = evolve::Options {
                target_dir,
                each,
                only,
            };
            let report = evolve::run(&root, &options)?;
            print!("{report}");
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
