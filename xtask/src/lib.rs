//! Project automation for xbl-mpsd.
//!
//! `cargo xtask codegen` regenerates every generated file from `spec/openapi.yaml`;
//! `cargo xtask codegen --check` fails with a diff when a checked-in file is stale.
//! The same check runs as a test in `cargo test --workspace` (see `tests/codegen.rs`).
//! `cargo xtask spec-diff [BASE]` classifies spec changes (and, against a revision, generated-type changes)
//! for callers; `cargo xtask evolve` proves that
//! additive spec changes compile unchanged.

pub mod change;
pub mod codegen;
pub mod enums;
pub mod evolve;
pub mod next_steps;
pub mod operations;
pub mod postprocess;
pub mod spec_diff;
pub mod spec_docs;
pub mod success;
pub mod surface_diff;
pub mod transform;
pub mod validate;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The workspace root, found at run time: from `CARGO_MANIFEST_DIR` (set by `cargo run` and `cargo test`
/// to the xtask crate's directory), else by walking up from the current directory.
///
/// Never from the compile-time manifest path: a stale `xtask` binary in a copied workspace would read and
/// write the original checkout.
pub fn workspace_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    find_workspace_root(manifest_dir.as_deref(), &cwd)
}

/// The workspace root as seen from `manifest_dir` (preferred) or `cwd`: the nearest directory at or above
/// the start whose `Cargo.toml` has a `[workspace]` table.
pub fn find_workspace_root(manifest_dir: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
    let start = match manifest_dir {
        Some(dir) if dir.is_absolute() => dir.to_path_buf(),
        Some(dir) => cwd.join(dir),
        None => cwd.to_path_buf(),
    };
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest)
            && text.lines().any(|line| line.trim() == "[workspace]")
        {
            return Ok(dir.to_path_buf());
        }
    }
    bail!(
        "no workspace Cargo.toml (one with a [workspace] table) at or above {}; run xtask from inside the xbl-mpsd checkout",
        start.display()
    )
}

/// Reads an OpenAPI document (YAML or JSON) as JSON.
pub fn read_spec(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_spec(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Parses an OpenAPI document (YAML or JSON) as JSON.
pub fn parse_spec(text: &str) -> Result<serde_json::Value> {
    Ok(yaml_serde::from_str(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(dir: &Path) -> PathBuf {
        let root = dir.join("ws");
        std::fs::create_dir_all(root.join("xtask/src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"xtask\"]\n",
        )
        .unwrap();
        std::fs::write(
            root.join("xtask/Cargo.toml"),
            "[package]\nname = \"xtask\"\n",
        )
        .unwrap();
        root
    }

    #[test]
    fn the_root_comes_from_the_manifest_dir_given_at_run_time() {
        let tmp = tempfile::tempdir().unwrap();
        let root = workspace(tmp.path());
        let found = find_workspace_root(Some(&root.join("xtask")), Path::new("/")).unwrap();
        assert_eq!(found, root);
    }

    #[test]
    fn without_a_manifest_dir_the_root_is_found_above_the_current_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = workspace(tmp.path());
        let found = find_workspace_root(None, &root.join("xtask/src")).unwrap();
        assert_eq!(found, root);
    }

    #[test]
    fn a_copied_workspace_is_its_own_root() {
        let tmp = tempfile::tempdir().unwrap();
        let original = workspace(tmp.path());
        let copy = tmp.path().join("copy");
        std::fs::create_dir_all(copy.join("xtask")).unwrap();
        std::fs::copy(original.join("Cargo.toml"), copy.join("Cargo.toml")).unwrap();
        let found = find_workspace_root(Some(&copy.join("xtask")), &original).unwrap();
        assert_eq!(found, copy);
    }

    #[test]
    fn outside_a_workspace_the_error_says_where_it_looked() {
        let tmp = tempfile::tempdir().unwrap();
        let err = find_workspace_root(None, tmp.path()).unwrap_err();
        assert!(err.to_string().contains("no workspace Cargo.toml"), "{err}");
    }
}
