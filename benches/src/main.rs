//! The xbl-mpsd benchmark harness: one command measures every performance goal of issue #10 as a ratio
//! against a baseline measured in the same run (interleaved, several rounds, min / median / max) and
//! prints the table with PASS/FAIL per goal.
//!
//! ```text
//! cargo run --release -p xbl-mpsd-bench              # the full table (a few minutes)
//! cargo run --release -p xbl-mpsd-bench -- p1 p3     # some rows only (p1 … p10)
//! cargo run --release -p xbl-mpsd-bench -- p7        # consumer build times: minutes, not in the default set
//! cargo run -p xbl-mpsd-bench -- --smoke             # each row once, minimally: checks the harness works
//! ```
//!
//! See BENCHMARKS.md for the latest table and what each row compares.

mod codec;
mod codegen;
mod load_rows;
mod measure;
mod memory;
mod net;
mod p1;
mod p10;
mod p3;
mod p7;
mod p9;
mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::measure::Effort;

const ROWS: [&str; 10] = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"];
/// Rows left out unless named: P7 builds two crates from scratch (minutes).
const NOT_BY_DEFAULT: [&str; 1] = ["p7"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == memory::CHILD_ARG) {
        return memory::serve_child();
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: xbl-mpsd-bench [--smoke] [p1 p2 p3 p4 p5 p6 p7 p8 p9 p10]");
        println!("  no rows named: every row but p7");
        println!(
            "  p7 (consumer build times) builds two crates cold, minutes; only when named, never in --smoke"
        );
        return Ok(());
    }
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut selected: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.to_lowercase())
        .collect();
    if let Some(unknown) = selected.iter().find(|a| !ROWS.contains(&a.as_str())) {
        anyhow::bail!("unknown row {unknown:?}; rows are {ROWS:?}");
    }
    if selected.is_empty() {
        selected = ROWS
            .iter()
            .filter(|row| !NOT_BY_DEFAULT.contains(row))
            .map(|s| (*s).to_owned())
            .collect();
    }
    let effort = if smoke {
        Effort {
            rounds: 1,
            scale: 0.01,
            load: Duration::from_millis(200),
            sessions: 1_000,
        }
    } else {
        Effort {
            rounds: 7,
            scale: 1.0,
            load: Duration::from_millis(1500),
            sessions: 100_000,
        }
    };
    if cfg!(debug_assertions) && !smoke {
        eprintln!("warning: a debug build; figures are only meaningful with --release");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("workspace root")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut rows = Vec::new();
    let wants = |row: &str| selected.iter().any(|s| s == row);
    if wants("p1") || wants("p2") {
        let corpus = corpus(&root)?;
        if wants("p1") {
            eprintln!("P1 …");
            rows.extend(runtime.block_on(p1::rows(effort, &corpus))?);
        }
        if wants("p2") {
            eprintln!("P2 …");
            rows.extend(codec::rows(effort, &corpus)?);
        }
    }
    if wants("p3") {
        eprintln!("P3 …");
        rows.extend(p3::rows(effort)?);
    }
    if wants("p4") {
        eprintln!("P4 …");
        rows.extend(runtime.block_on(load_rows::rows(effort))?);
    }
    if wants("p10") {
        eprintln!("P10 …");
        rows.extend(runtime.block_on(p10::rows(effort))?);
    }
    if wants("p5") {
        eprintln!("P5 …");
        rows.extend(runtime.block_on(memory::rows(effort))?);
    }
    if wants("p8") {
        eprintln!("P8 …");
        rows.extend(runtime.block_on(memory::idle_rows(effort))?);
    }
    if wants("p9") {
        eprintln!("P9 …");
        rows.extend(runtime.block_on(p9::rows(effort))?);
    }
    if smoke {
        println!(
            "P7 skipped in --smoke: it builds two crates cold (minutes); run `xbl-mpsd-bench p7`"
        );
    } else if wants("p7") {
        eprintln!("P7 … (two cold builds: minutes)");
        rows.extend(p7::rows(effort, &root)?);
    }
    if wants("p6") {
        eprintln!("P6 …");
        rows.extend(codegen::rows(effort, &root)?);
    }
    report::print(&rows, smoke);
    println!();
    println!(
        "{} rounds per row ({} for P1){}; {:.0} s in all",
        effort.rounds,
        effort.rounds * p1::P1_ROUNDS_FACTOR,
        if smoke { " (smoke: no verdict)" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The XSAPI fixture: `$XBL_MPSD_CONFORMANCE_DIR/Multiplayer.json`, else the copy vendored in
/// `test-fixtures/xsapi` (as the conformance tests read it).
fn corpus(root: &Path) -> anyhow::Result<Value> {
    let candidates: Vec<PathBuf> = std::env::var_os("XBL_MPSD_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join("test-fixtures/xsapi")])
        .collect();
    let file = candidates
        .iter()
        .map(|dir| dir.join("Multiplayer.json"))
        .find(|file| file.is_file())
        .with_context(|| {
            format!(
                "the XSAPI corpus Multiplayer.json was not found in {candidates:?}; set XBL_MPSD_CONFORMANCE_DIR"
            )
        })?;
    Ok(serde_json::from_str(&std::fs::read_to_string(file)?)?)
}
