//! P6: `cargo xtask codegen --check`, warm, wall time.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::bail;

use crate::measure::{Effort, Stats};
use crate::report::{Goal, Row};

fn run(root: &Path) -> anyhow::Result<f64> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = Instant::now();
    let output = Command::new(cargo)
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "codegen",
            "--check",
        ])
        .output()?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "cargo xtask codegen --check failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(seconds)
}

/// Measures P6 (one untimed warm-up run first).
pub fn rows(effort: Effort, root: &Path) -> anyhow::Result<Vec<Row>> {
    run(root)?;
    let times = (0..effort.rounds.min(5))
        .map(|_| run(root))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    Ok(vec![Row {
        id: "P6",
        what: "`cargo xtask codegen --check`, warm, wall time".to_owned(),
        goal: Goal::SecondsAtMost(1.0),
        stats: Stats::of(times),
        extra_goal: None,
        detail: "absolute seconds (includes cargo's freshness check); the only non-ratio row"
            .to_owned(),
    }])
}
