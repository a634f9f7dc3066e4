//! RTA fan-out benchmark: 1,000 session subscriptions over 10 RTA connections, one write, 1,000 taps —
//! delivery latency (write sent → tap received by the watcher) p50/p99, against a baseline of 1 subscription
//! over 1 connection measured in the same run. Each of the 10 users is a member of one session on the
//! embedded emulator and holds 100 [`SessionWatch`]es on it: the emulator taps each member's connection once
//! and the SDK fans the tap out to the user's watches.
//!
//! Run: `cargo run --release -p xbl-mpsd-ext --features rta --example rta_fanout [-- ROUNDS]` (default 20
//! rounds; each round is one write).

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use xbl_mpsd_ext::rta::{ChangeTypes, SessionSubscriptions, SessionWatch, WatchEvent};
use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken};

const FIRST_XUID: u64 = 2_533_274_792_690_000;

struct Setup {
    writer: MpsdClient,
    session: SessionReference,
    watches: Vec<SessionWatch>,
    _subscriptions: Vec<SessionSubscriptions>,
}

async fn setup(
    base_url: &str,
    name: &str,
    users: u64,
    per_user: usize,
) -> Result<Setup, Box<dyn std::error::Error>> {
    let session: SessionReference =
        format!("/serviceconfigs/MockScid/sessionTemplates/bench/sessions/{name}").parse()?;
    let mut subscriptions = Vec::new();
    let mut watches = Vec::new();
    let mut writer = None;
    for n in 0..users {
        let xuid = (FIRST_XUID + n).to_string();
        let client = MpsdClient::builder()
            .base_url(base_url)
            .token(XblToken::new("-", &xuid)?)
            .build()?;
        client
            .write(&session, SessionDelta::new().join(xuid.parse()?))
            .send()
            .await?;
        let subs = SessionSubscriptions::start(&client, client.rta().build()?).await?;
        for _ in 0..per_user {
            watches.push(subs.watch(&session, ChangeTypes::CUSTOM_PROPERTY).await?);
        }
        subscriptions.push(subs);
        writer.get_or_insert(client);
    }
    Ok(Setup {
        writer: writer.ok_or("no users")?,
        session,
        watches,
        _subscriptions: subscriptions,
    })
}

/// One write; the latency of every watch's tap for it.
async fn round(setup: &mut Setup, value: u64) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let delta =
        xbl_mpsd_ext::SessionDelta::new().set_custom("v", &serde_json::Value::from(value))?;
    let start = Instant::now();
    let outcome = setup.writer.write(&setup.session, delta).send().await?;
    let number = outcome
        .session()
        .and_then(|s| s.change_number())
        .ok_or("no changeNumber")?;
    let mut waits: FuturesUnordered<_> = setup
        .watches
        .iter_mut()
        .map(|watch| async move {
            loop {
                match watch.next().await {
                    Some(WatchEvent::Tap(tap)) if tap.change_number >= number => {
                        return Some(start.elapsed());
                    }
                    Some(_) => {}
                    None => return None,
                }
            }
        })
        .collect();
    let mut latencies = Vec::new();
    while let Some(latency) = tokio::time::timeout(Duration::from_secs(30), waits.next()).await? {
        latencies.push(latency.ok_or("a watch ended")?);
    }
    Ok(latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn measure(
    base_url: &str,
    name: &str,
    users: u64,
    per_user: usize,
    rounds: u64,
) -> Result<(usize, Duration, Duration), Box<dyn std::error::Error>> {
    let mut setup = setup(base_url, name, users, per_user).await?;
    // Warm-up round, not counted.
    round(&mut setup, 0).await?;
    let mut all = Vec::new();
    for n in 1..=rounds {
        let latencies = round(&mut setup, n).await?;
        if latencies.len() != setup.watches.len() {
            return Err(format!(
                "round {n}: {} taps for {} watches",
                latencies.len(),
                setup.watches.len()
            )
            .into());
        }
        all.extend(latencies);
    }
    all.sort();
    Ok((
        setup.watches.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    let base = emulator.base_url();
    let (n1, b50, b99) = measure(&base, "baseline", 1, 1, rounds).await?;
    let (n2, f50, f99) = measure(&base, "fanout", 10, 100, rounds).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("rta_fanout: {rounds} rounds (one write each), latency = write sent → tap received");
    println!(
        "baseline: {n1} subscription over 1 connection:   p50 {:.3} ms  p99 {:.3} ms",
        ms(b50),
        ms(b99)
    );
    println!(
        "fan-out:  {n2} subscriptions over 10 connections: p50 {:.3} ms  p99 {:.3} ms  ({} taps per write)",
        ms(f50),
        ms(f99),
        n2
    );
    println!(
        "ratio fan-out/baseline: p50 {:.2}x  p99 {:.2}x",
        ms(f50) / ms(b50).max(f64::MIN_POSITIVE),
        ms(f99) / ms(b99).max(f64::MIN_POSITIVE)
    );
    Ok(())
}
