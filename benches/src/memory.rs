//! P5: the resident memory of an emulator (a child process) holding many sessions vs the bytes of those
//! session documents as the emulator returns them.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use http::Method;
use serde_json::json;

use crate::load_rows::{CONNECTIONS, session_path};
use crate::measure::{Effort, Stats};
use crate::net::{Conn, RequestSpec, xuid};
use crate::report::{Goal, Row};

/// The argument that turns the bench binary into the emulator child.
pub const CHILD_ARG: &str = "--serve-emulator";

/// Child mode: serve an emulator, print its address, exit when stdin closes.
pub fn serve_child() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // 100k sessions from 64 users is over the default per-user session limit (1000), which P5 does
        // not measure.
        let config = xbl_mpsd_emulator::EmulatorConfig {
            max_sessions_per_user: usize::MAX,
            ..xbl_mpsd_emulator::EmulatorConfig::default()
        };
        let emulator = xbl_mpsd_emulator::Emulator::start(config).await?;
        println!("{}", emulator.base_url().trim_start_matches("http://"));
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        })
        .await?;
        emulator.shutdown().await;
        anyhow::Ok(())
    })
}

/// `VmRSS` of `pid` in bytes.
fn rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .context("no VmRSS in /proc/<pid>/status")?;
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .context("VmRSS without a number")?
        .parse()?;
    Ok(kb * 1024)
}

/// A creating write of about 1 KB of session document.
fn create_body(owner: u64, n: usize) -> serde_json::Value {
    json!({
        "constants": {
            "system": { "maxMembersCount": 8, "visibility": "open" },
            "custom": { "mode": "deathmatch", "map": format!("lava-caves-{n}"), "rules": { "timeLimit": 600, "scoreLimit": 50, "friendlyFire": false } }
        },
        "properties": { "custom": { "round": 1, "state": "lobby", "tags": ["ranked", "eu-west"] } },
        "members": { "me": {
            "constants": { "system": { "xuid": owner.to_string(), "initialize": true }, "custom": { "skill": 1234, "region": "eu-west" } },
            "properties": { "system": { "active": true }, "custom": { "loadout": "sniper", "score": 0, "ready": false } }
        } }
    })
}

/// Measures P5.
pub async fn rows(effort: Effort) -> anyhow::Result<Vec<Row>> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg(CHILD_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let result = measure(&mut child, effort).await;
    // Closing stdin ends the child.
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

async fn measure(child: &mut std::process::Child, effort: Effort) -> anyhow::Result<Vec<Row>> {
    let stdout = child.stdout.take().context("child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr: SocketAddr = line.trim().parse().context("the child's address")?;
    let pid = child.id();
    let empty = rss(pid)?;
    let bytes = Arc::new(AtomicU64::new(0));
    let total = effort.sessions;
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let bytes = Arc::clone(&bytes);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let owner = xuid(c);
            for n in (c..total).step_by(CONNECTIONS) {
                let spec = RequestSpec::mpsd(
                    Method::PUT,
                    session_path(&format!("memory-{n}")),
                    owner,
                    Some(&create_body(owner, n)),
                );
                let (status, body) = conn.send(&spec).await?;
                if !status.is_success() {
                    bail!(
                        "creating session {n}: {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let held = rss(pid)?;
    let bytes = bytes.load(Ordering::Relaxed);
    let ratio = held as f64 / bytes as f64;
    Ok(vec![Row {
        id: "P5",
        what: format!(
            "emulator RSS holding {total} sessions vs the bytes of those documents as returned"
        ),
        goal: Goal::AtMost(2.0),
        stats: Stats::of(vec![ratio]),
        extra_goal: None,
        detail: format!(
            "RSS {:.1} MB ({:.1} MB empty) for {:.1} MB of JSON ({} bytes/session); growth alone {:.2}×",
            held as f64 / 1e6,
            empty as f64 / 1e6,
            bytes as f64 / 1e6,
            bytes / total.max(1) as u64,
            held.saturating_sub(empty) as f64 / bytes as f64
        ),
    }])
}
