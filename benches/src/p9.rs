//! P9: RTA shoulder-tap latency (write sent → tap received by the watcher) at 1,000 session subscriptions over
//! 10 connections, against 1 subscription over 1 connection, both on one embedded emulator (its `/connect`
//! websocket) and the SDK's RTA client ([`SessionSubscriptions`], [`SessionWatch`]).
//!
//! Each of the fan-out's 10 users is a member of one session and holds 100 watches on it: the emulator taps
//! each member's connection once per write and the SDK fans the tap out to the user's watches. A round times a
//! batch of writes of each set-up, in alternating order, and takes each batch's p99 over all its taps; the row
//! is the ratio of the two p99s per round. (This was `xbl-mpsd-ext/examples/rta_fanout.rs`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt;
use xbl_mpsd_emulator::{Emulator, EmulatorConfig};
use xbl_mpsd_ext::rta::{ChangeTypes, SessionSubscriptions, SessionWatch, WatchEvent};
use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken};

use crate::measure::{Effort, Stats, ratios};
use crate::report::Row;

/// XUIDs of the users (`FIRST_XUID + n`), apart from the other rows' users.
const FIRST_XUID: u64 = 2_533_274_792_690_000;
/// The longest a write may take to reach all its watches.
const TAP_TIMEOUT: Duration = Duration::from_secs(30);

/// Every write sets a new value, so that every write changes a custom property.
static VALUE: AtomicU64 = AtomicU64::new(0);

/// One set-up: `users` members of one session, each with its own RTA connection and `per_user` watches on the
/// session; the first user writes.
pub struct Fanout {
    writer: MpsdClient,
    session: SessionReference,
    watches: Vec<SessionWatch>,
    _subscriptions: Vec<SessionSubscriptions>,
}

impl Fanout {
    /// Joins `users` users to session `name` on the emulator at `base_url` and opens their watches.
    pub async fn start(
        base_url: &str,
        name: &str,
        users: u64,
        per_user: usize,
    ) -> anyhow::Result<Self> {
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
        Ok(Self {
            writer: writer.context("no users")?,
            session,
            watches,
            _subscriptions: subscriptions,
        })
    }

    /// The number of watches (taps per write).
    pub fn watches(&self) -> usize {
        self.watches.len()
    }

    /// One write; how long the write took (its answer received) and the latency of every watch's tap for it.
    pub async fn write(&mut self) -> anyhow::Result<(Duration, Vec<Duration>)> {
        let value = VALUE.fetch_add(1, Ordering::Relaxed);
        let delta = SessionDelta::new().set_custom("v", &serde_json::Value::from(value))?;
        let start = Instant::now();
        let outcome = self.writer.write(&self.session, delta).send().await?;
        let number = outcome
            .session()
            .and_then(|s| s.change_number())
            .context("no changeNumber")?;
        let written = start.elapsed();
        let expected = self.watches.len();
        // The watches are read in order, in this task, under one timeout: a watch whose tap has arrived yields
        // it at once, and its latency is when it does. (A `FuturesUnordered` of the 1,000 reads, with a timer per
        // tap, added the harness's own allocation, wake-up and timer per watch to every later watch's latency.)
        let watches = &mut self.watches;
        let latencies = tokio::time::timeout(TAP_TIMEOUT, async move {
            let mut latencies = Vec::with_capacity(expected);
            for watch in watches.iter_mut() {
                loop {
                    match watch.next().await {
                        Some(WatchEvent::Tap(tap)) if tap.change_number >= number => {
                            latencies.push(start.elapsed());
                            break;
                        }
                        Some(_) => {}
                        None => bail!("a watch ended"),
                    }
                }
            }
            Ok(latencies)
        })
        .await
        .context("a tap did not arrive in time")??;
        Ok((written, latencies))
    }

    /// `writes` writes (after one untimed write); every tap's latency, sorted, and the median write's.
    pub async fn batch(&mut self, writes: usize) -> anyhow::Result<(Vec<Duration>, Duration)> {
        self.write().await?;
        let mut all = Vec::with_capacity(writes * self.watches.len());
        let mut written = Vec::with_capacity(writes);
        for _ in 0..writes {
            let (write, taps) = self.write().await?;
            written.push(write);
            all.extend(taps);
        }
        all.sort();
        written.sort();
        let median = written.get(written.len() / 2).copied().unwrap_or_default();
        Ok((all, median))
    }
}

/// The `q` quantile (0..=1) of sorted latencies, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Users × watches per user of the fan-out, and writes per round of the fan-out and the baseline (the
/// baseline gets 100 taps per round so that its p99 is not just its maximum).
fn shape(effort: Effort) -> (u64, usize, usize, usize) {
    if effort.scale < 1.0 {
        (2, 2, 2, 2)
    } else {
        (10, 100, 10, 100)
    }
}

/// The P9 row.
pub async fn rows(effort: Effort) -> anyhow::Result<Vec<Row>> {
    let (users, per_user, fanout_writes, baseline_writes) = shape(effort);
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let base = emulator.base_url();
    let mut baseline = Fanout::start(&base, "p9-baseline", 1, 1).await?;
    let mut fanout = Fanout::start(&base, "p9-fanout", users, per_user).await?;
    let (mut b99, mut f99, mut b50, mut f50) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut b_write, mut f_write) = (Vec::new(), Vec::new());
    for round in 0..effort.rounds {
        let ((b, bw), (f, fw)) = if round % 2 == 0 {
            let b = baseline.batch(baseline_writes).await?;
            (b, fanout.batch(fanout_writes).await?)
        } else {
            let f = fanout.batch(fanout_writes).await?;
            (baseline.batch(baseline_writes).await?, f)
        };
        b99.push(quantile_ms(&b, 0.99));
        f99.push(quantile_ms(&f, 0.99));
        b50.push(quantile_ms(&b, 0.5));
        f50.push(quantile_ms(&f, 0.5));
        b_write.push(bw.as_secs_f64() * 1000.0);
        f_write.push(fw.as_secs_f64() * 1000.0);
    }
    let median = |v: &[f64]| Stats::of(v.to_vec()).median;
    let detail = format!(
        "median ms over rounds: {} subscriptions over {users} connections p50 {:.2} p99 {:.2} (the write's answer {:.2}); 1 over 1 p50 {:.2} p99 {:.2} (answer {:.2}); p50 ratio {:.2}×; {fanout_writes} writes ({} taps) vs {baseline_writes} per round",
        fanout.watches(),
        median(&f50),
        median(&f99),
        median(&f_write),
        median(&b50),
        median(&b99),
        median(&b_write),
        Stats::of(ratios(&f50, &b50)).median,
        fanout_writes * fanout.watches(),
    );
    let what = format!(
        "RTA tap p99 (write → tap received), {} subscriptions over {users} connections vs 1 over 1",
        fanout.watches()
    );
    drop((baseline, fanout));
    emulator.shutdown().await;
    Ok(vec![Row::at_most(
        "P9",
        &what,
        2.0,
        Stats::of(ratios(&f99, &b99)),
        detail,
    )])
}
