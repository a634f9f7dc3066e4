//! P5: the resident memory of an emulator (a child process) holding many sessions vs the bytes of those
//! session documents as the emulator returns them. P8: the CPU an idle emulator child spends while it holds many
//! sessions whose timers are armed (the timer sweep must sleep until the next deadline, not poll).

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

/// A creating write whose session has an armed timer an hour away: the creator is active and reserves a seat
/// for another user (`reservedRemovalTimeout` 3 600 000 ms).
fn armed_body(owner: u64) -> serde_json::Value {
    json!({
        "constants": { "system": { "maxMembersCount": 8, "reservedRemovalTimeout": 3_600_000 } },
        "members": {
            "me": { "properties": { "system": { "active": true } } },
            "reserve_0": { "constants": { "system": { "xuid": (owner + 1_000_000).to_string() } } }
        }
    })
}

/// An emulator child process; dropping it ends the child.
struct Child(std::process::Child);

impl Child {
    fn spawn() -> anyhow::Result<(Self, SocketAddr)> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg(CHILD_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().context("child stdout")?;
        let child = Self(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr: SocketAddr = line.trim().parse().context("the child's address")?;
        Ok((child, addr))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Closing stdin ends the child.
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Creates `total` sessions named `{prefix}-{n}` over [`CONNECTIONS`] connections; returns the bytes of the
/// documents answered.
async fn create_sessions(
    addr: SocketAddr,
    total: usize,
    prefix: &'static str,
    body: fn(u64, usize) -> serde_json::Value,
) -> anyhow::Result<u64> {
    let bytes = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let bytes = Arc::clone(&bytes);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let owner = xuid(c);
            for n in (c..total).step_by(CONNECTIONS) {
                let spec = RequestSpec::mpsd(
                    Method::PUT,
                    session_path(&format!("{prefix}-{n}")),
                    owner,
                    Some(&body(owner, n)),
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
    Ok(bytes.load(Ordering::Relaxed))
}

/// Measures P5.
pub async fn rows(effort: Effort) -> anyhow::Result<Vec<Row>> {
    let (child, addr) = Child::spawn()?;
    measure(child.0.id(), addr, effort).await
}

async fn measure(pid: u32, addr: SocketAddr, effort: Effort) -> anyhow::Result<Vec<Row>> {
    let empty = rss(pid)?;
    let total = effort.sessions;
    let bytes = create_sessions(addr, total, "memory", create_body).await?;
    let held = rss(pid)?;
    let ratio = held as f64 / bytes as f64;
    Ok(vec![Row {
        id: "P5",
        what: format!(
            "emulator RSS holding {total} sessions vs the bytes of those documents as returned"
        ),
        // ≤ 1.5× since #26 (≤ 2× before).
        goal: Goal::AtMost(1.5),
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

/// The CPU time `pid` has used (user + system), in seconds (`/proc/<pid>/stat`, in USER_HZ = 100 ticks a second).
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').context("a /proc/<pid>/stat line")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |field: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(field - 3)
            .context("a short /proc/<pid>/stat")?
            .parse::<f64>()?)
    };
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

/// The share of one core `pid` spends over `window` while nobody sends it anything.
async fn idle_share(pid: u32, window: std::time::Duration) -> anyhow::Result<f64> {
    let before = cpu_seconds(pid)?;
    let started = std::time::Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs_f64();
    Ok((cpu_seconds(pid)? - before) / elapsed)
}

/// Measures P8: an emulator child's CPU while idle, holding `effort.sessions` sessions whose reservation timer
/// is armed (an hour away), as a share of one core; the same child idle and empty is the reference.
pub async fn idle_rows(effort: Effort) -> anyhow::Result<Vec<Row>> {
    let (child, addr) = Child::spawn()?;
    let pid = child.0.id();
    let window = effort.load * 2;
    let empty = idle_share(pid, window).await?;
    let total = effort.sessions;
    create_sessions(addr, total, "armed", |owner, _| armed_body(owner)).await?;
    // The creation's own work (allocator, connections closing) settles first.
    tokio::time::sleep(window).await;
    let mut shares = Vec::new();
    for _ in 0..effort.rounds.min(3) {
        shares.push(idle_share(pid, window).await?);
    }
    let stats = Stats::of(shares);
    drop(child);
    Ok(vec![Row {
        id: "P8",
        what: format!(
            "emulator CPU while idle holding {total} sessions with armed timers, as a share of one core"
        ),
        goal: Goal::AtMost(0.01),
        detail: format!(
            "{:.1} ms of CPU per idle second with {total} armed sessions (median), {:.1} ms empty; windows of {:.1} s",
            stats.median * 1e3,
            empty * 1e3,
            window.as_secs_f64()
        ),
        stats,
        extra_goal: None,
    }])
}
