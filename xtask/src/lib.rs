//! Project automation for xbl-mpsd.
//!
//! `cargo xtask codegen` regenerates every generated file from `spec/openapi.yaml`;
//! `cargo xtask codegen --check` fails with a diff when a checked-in file is stale.
//! The same check runs as a test in `cargo test --workspace` (see `tests/codegen.rs`).

pub mod codegen;
pub mod enums;
pub mod postprocess;
pub mod transform;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
