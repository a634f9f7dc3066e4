//! P10: P4' (64 connections, each `PUT`ting its own session) with an explorer page open vs none, interleaved
//! on the same emulator. "A page open" is what the explorer's script does: the live feed
//! (`GET /explorer/events`) held open, and the session's page fetched again after each event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::bail;

use crate::load_rows::{Scenario, addr_of, prepare};
use crate::measure::{Effort, Stats, ratios};
use crate::net::load;
use crate::report::{Goal, Row};

/// An open explorer page: the feed, and a page fetch per event (counted in `fetched`), until aborted.
async fn open_page(base: String, page: String, fetched: Arc<AtomicU64>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut events = client.get(format!("{base}/explorer/events")).send().await?;
    if !events.status().is_success() {
        bail!("GET /explorer/events: {}", events.status());
    }
    while let Some(chunk) = events.chunk().await? {
        if String::from_utf8_lossy(&chunk).contains("event: change") {
            let response = client.get(&page).send().await?;
            if !response.status().is_success() {
                bail!("GET {page}: {}", response.status());
            }
            response.bytes().await?;
            fetched.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Measures P10.
pub async fn rows(effort: Effort) -> anyhow::Result<Vec<Row>> {
    let (emulator, specs) = prepare(Scenario::OwnSessionPut).await?;
    let target = addr_of(&emulator)?;
    let base = emulator.base_url();
    let page = format!("{base}/explorer/sessions/MockScid/bench/own-0");
    let rounds = effort.rounds.min(5);
    let (mut closed, mut open) = (Vec::new(), Vec::new());
    let fetched = Arc::new(AtomicU64::new(0));
    for round in 0..rounds {
        let with_page = async {
            let viewer = tokio::spawn(open_page(base.clone(), page.clone(), Arc::clone(&fetched)));
            // Connected before the load starts.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let result = load(target, &specs, effort.load).await;
            viewer.abort();
            let viewed = viewer.await;
            if let Ok(Err(error)) = viewed {
                bail!("P10: the explorer page failed: {error}");
            }
            result
        };
        let (c, o) = if round % 2 == 0 {
            let c = load(target, &specs, effort.load).await?;
            (c, with_page.await?)
        } else {
            let o = with_page.await?;
            (load(target, &specs, effort.load).await?, o)
        };
        if c.failed > 0 || o.failed > 0 {
            bail!("P10: {} and {} requests failed", c.failed, o.failed);
        }
        closed.push(c.throughput());
        open.push(o.throughput());
    }
    emulator.shutdown().await;
    let med = |v: &Vec<f64>| Stats::of(v.clone()).median;
    Ok(vec![Row {
        id: "P10",
        what: "P4' with an explorer page's live feed open vs without (same emulator, interleaved)"
            .to_owned(),
        goal: Goal::AtLeast(0.95),
        stats: Stats::of(ratios(&open, &closed)),
        extra_goal: None,
        detail: format!(
            "median req/s: page open {:.0}, no page {:.0}; the page was rendered {} times while open",
            med(&open),
            med(&closed),
            fetched.load(Ordering::Relaxed)
        ),
    }])
}
