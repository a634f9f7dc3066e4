//! P4/P4'/P4'': the emulator under 64 closed-loop connections vs a hello-world hyper server on the same
//! machine, interleaved: GET by handle, PUT each connection on its own session, PUT all on one session.

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use http::Method;
use serde_json::{Value, json};
use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};

use crate::measure::{Effort, Stats, quantile, ratios};
use crate::net::{Conn, LoadResult, RequestSpec, load, serve_hello, xuid};
use crate::report::{Goal, Row};

/// Connections of the load generator.
pub const CONNECTIONS: usize = 64;

/// A session path under the bench SCID.
pub fn session_path(name: &str) -> String {
    format!("/serviceconfigs/MockScid/sessionTemplates/bench/sessions/{name}")
}

/// The delta that makes `xuid` join as an active member.
pub fn join_body(xuid: u64) -> Value {
    json!({ "members": { "me": {
        "constants": { "system": { "xuid": xuid.to_string(), "initialize": true } },
        "properties": { "system": { "active": true } }
    } } })
}

/// A member's own write: a custom property of `members.me`.
fn member_write(n: usize) -> Value {
    json!({ "members": { "me": { "properties": { "custom": { "score": n, "loadout": "sniper" } } } } })
}

/// Sends `spec` once on a fresh connection and checks for a 2xx; the body.
async fn setup(addr: SocketAddr, spec: &RequestSpec) -> anyhow::Result<Value> {
    let mut conn = Conn::open(addr).await?;
    let (status, body) = conn.send(spec).await?;
    if !status.is_success() {
        bail!(
            "setup {} {}: {status} {}",
            spec.method,
            spec.path,
            String::from_utf8_lossy(&body)
        );
    }
    Ok(if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)?
    })
}

/// What the 64 connections do.
#[derive(Clone, Copy, Debug)]
pub enum Scenario {
    /// `GET /handles/{id}/session` of one session (P4).
    GetByHandle,
    /// `PUT` of a member property, each connection on its own session (P4').
    OwnSessionPut,
    /// The same `PUT`, all connections on one session (P4'').
    SharedSessionPut,
}

/// Starts an emulator prepared for `scenario`; the requests of the 64 connections.
pub async fn prepare(scenario: Scenario) -> anyhow::Result<(RunningEmulator, Vec<RequestSpec>)> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let addr: SocketAddr = emulator
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .context("emulator address")?;
    let specs = match scenario {
        Scenario::GetByHandle => {
            let owner = xuid(0);
            let path = session_path("handle-target");
            setup(
                addr,
                &RequestSpec::mpsd(Method::PUT, path, owner, Some(&join_body(owner))),
            )
            .await?;
            let handle = setup(
                addr,
                &RequestSpec::mpsd(
                    Method::POST,
                    "/handles".into(),
                    owner,
                    Some(&json!({
                        "version": 1, "type": "activity",
                        "sessionRef": { "scid": "MockScid", "templateName": "bench", "name": "handle-target" }
                    })),
                ),
            )
            .await?;
            let id = handle
                .get("id")
                .and_then(Value::as_str)
                .context("POST /handles answered no id")?
                .to_owned();
            (0..CONNECTIONS)
                .map(|i| {
                    RequestSpec::mpsd(Method::GET, format!("/handles/{id}/session"), xuid(i), None)
                })
                .collect()
        }
        Scenario::OwnSessionPut | Scenario::SharedSessionPut => {
            // Each connection joins its session (its own, or the one shared by all), then writes its member.
            let mut specs = Vec::with_capacity(CONNECTIONS);
            for i in 0..CONNECTIONS {
                let path = if matches!(scenario, Scenario::OwnSessionPut) {
                    session_path(&format!("own-{i}"))
                } else {
                    session_path("shared")
                };
                setup(
                    addr,
                    &RequestSpec::mpsd(
                        Method::PUT,
                        path.clone(),
                        xuid(i),
                        Some(&join_body(xuid(i))),
                    ),
                )
                .await?;
                specs.push(RequestSpec::mpsd(
                    Method::PUT,
                    path,
                    xuid(i),
                    Some(&member_write(i)),
                ));
            }
            specs
        }
    };
    Ok((emulator, specs))
}

/// The address of a running emulator.
pub fn addr_of(emulator: &RunningEmulator) -> anyhow::Result<SocketAddr> {
    Ok(emulator.base_url().trim_start_matches("http://").parse()?)
}

/// Measures P4, P4' and P4''.
pub async fn rows(effort: Effort) -> anyhow::Result<Vec<Row>> {
    let hello = serve_hello().await?;
    let rounds = effort.rounds.min(5);
    let mut rows = Vec::new();
    for (id, what, scenario, goal, p99_goal) in [
        (
            "P4",
            "emulator GET /handles/{id}/session, 64 connections, vs hello-world hyper",
            Scenario::GetByHandle,
            0.6,
            10.0,
        ),
        (
            "P4'",
            "emulator PUT, 64 connections each on its own session, vs hello-world hyper",
            Scenario::OwnSessionPut,
            0.5,
            10.0,
        ),
        (
            "P4''",
            "emulator PUT, 64 connections on one shared session, vs hello-world hyper",
            Scenario::SharedSessionPut,
            0.35,
            15.0,
        ),
    ] {
        let (emulator, specs) = prepare(scenario).await?;
        let target = addr_of(&emulator)?;
        // The baseline gets the same requests (it reads and ignores them).
        let mut base = Vec::new();
        let mut emu = Vec::new();
        let mut p99s = Vec::new();
        let mut emu_results: Vec<LoadResult> = Vec::new();
        for round in 0..rounds {
            let run = |addr| load(addr, &specs, effort.load);
            let (b, e) = if round % 2 == 0 {
                let b = run(hello).await?;
                (b, run(target).await?)
            } else {
                let e = run(target).await?;
                (run(hello).await?, e)
            };
            if e.failed > 0 || b.failed > 0 {
                bail!(
                    "{id}: {} emulator and {} baseline requests failed",
                    e.failed,
                    b.failed
                );
            }
            base.push(b.throughput());
            emu.push(e.throughput());
            p99s.push(quantile(&e.latencies_us, 0.99) / 1000.0);
            emu_results.push(e);
        }
        emulator.shutdown().await;
        let p99 = Stats::of(p99s);
        let med = |v: &Vec<f64>| Stats::of(v.clone()).median;
        rows.push(Row {
            id,
            what: what.to_owned(),
            goal: Goal::AtLeast(goal),
            stats: Stats::of(ratios(&emu, &base)),
            extra_goal: Some((format!("p99 ≤ {p99_goal} ms"), p99.median <= p99_goal)),
            detail: format!(
                "median req/s: emulator {:.0}, hello-world {:.0}; emulator p99 ms min/median/max {:.1}/{:.1}/{:.1}; p50 {:.2} ms",
                med(&emu),
                med(&base),
                p99.min,
                p99.median,
                p99.max,
                emu_results.last().map_or(f64::NAN, |r| quantile(&r.latencies_us, 0.5) / 1000.0),
            ),
        });
    }
    Ok(rows)
}
