//! P7: what a consumer pays to build against the SDK. Two throw-away binary crates in a temporary directory
//! make the same `PUT /handles/{id}/session`: one with `xbl-mpsd-ext` (by path, default features:
//! `client.write(handle, delta).send()`), one hand-written with reqwest + serde + serde_json + tokio on the
//! same TLS back-end (reqwest's `rustls`, aws-lc-rs). Both get the workspace's `Cargo.lock`, so the shared
//! dependencies are the same versions, and build offline from the local registry, each in a target directory
//! of its own (`cargo build`, dev profile): cold (an empty target directory), then after touching `main.rs`.
//!
//! Takes minutes (two cold builds of a TLS stack), so it is not in the default set: `xbl-mpsd-bench p7`. The
//! SDK crate's cold build runs with `--timings`; its report stays in the temporary directory and the slowest
//! units are printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::measure::{Effort, Stats, ratios};
use crate::report::Row;

/// The SDK consumer's `main.rs`.
const SDK_MAIN: &str = r#"//! One MPSD write through the SDK.
use xbl_mpsd_ext::{HandleId, MpsdClient, SessionDelta, XblToken};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "https://sessiondirectory.xboxlive.com".to_owned());
    let client = MpsdClient::builder()
        .base_url(base)
        .token(XblToken::new("-", "2533274792690000")?)
        .build()?;
    let handle: HandleId = "3c2c4c8f-6bd4-4a4b-b8d8-2a0f1a6c0c51".parse()?;
    let delta = SessionDelta::new().set_custom("level", &3)?;
    let outcome = client.write(handle, delta).send().await?;
    println!("committed: {}", outcome.is_committed());
    Ok(())
}
"#;

/// The hand-written consumer's `main.rs`: the same request and headers, the answer decoded into a struct.
const HAND_MAIN: &str = r#"//! One MPSD write, hand-written.
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Delta {
    properties: Properties,
}

#[derive(Serialize)]
struct Properties {
    custom: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Session {
    change_number: Option<u64>,
    #[serde(default)]
    members: serde_json::Map<String, serde_json::Value>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "https://sessiondirectory.xboxlive.com".to_owned());
    let client = reqwest::Client::builder().build()?;
    let mut custom = serde_json::Map::new();
    custom.insert("level".to_owned(), 3.into());
    let delta = Delta { properties: Properties { custom } };
    let response = client
        .put(format!("{base}/handles/3c2c4c8f-6bd4-4a4b-b8d8-2a0f1a6c0c51/session"))
        .header("x-xbl-contract-version", "107")
        .header("Authorization", "XBL3.0 x=-;2533274792690000")
        .json(&delta)
        .send()
        .await?;
    let committed = matches!(response.status().as_u16(), 200 | 201);
    let etag = response.headers().get("etag").cloned();
    let session: Session = response.json().await?;
    println!("committed: {committed} {etag:?} {session:?}");
    Ok(())
}
"#;

/// One consumer crate.
struct Consumer {
    dir: PathBuf,
}

impl Consumer {
    fn create(dir: PathBuf, manifest: &str, main: &str, lock: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir.join("src"))?;
        std::fs::write(dir.join("Cargo.toml"), manifest)?;
        std::fs::write(dir.join("src/main.rs"), main)?;
        std::fs::copy(lock, dir.join("Cargo.lock")).context("copy the workspace Cargo.lock")?;
        let consumer = Self { dir };
        // Adjust the copied lockfile to this crate (offline, no build) before anything is timed.
        consumer.cargo(&["metadata", "--offline", "--format-version", "1"])?;
        Ok(consumer)
    }

    fn cargo(&self, args: &[&str]) -> anyhow::Result<()> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(args)
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", self.dir.join("target"))
            .output()
            .with_context(|| format!("cargo {args:?} in {}", self.dir.display()))?;
        if !output.status.success() {
            bail!(
                "cargo {args:?} in {} failed: {}",
                self.dir.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// A cold build: the target directory removed first. Seconds.
    fn cold(&self, timings: bool) -> anyhow::Result<f64> {
        let target = self.dir.join("target");
        if target.exists() {
            std::fs::remove_dir_all(&target)?;
        }
        let mut args = vec!["build", "--offline"];
        if timings {
            args.push("--timings");
        }
        let start = Instant::now();
        self.cargo(&args)?;
        Ok(start.elapsed().as_secs_f64())
    }

    /// A build after `main.rs` was touched (rewritten as it was). Seconds.
    fn touched(&self) -> anyhow::Result<f64> {
        let main = self.dir.join("src/main.rs");
        let text = std::fs::read(&main)?;
        std::fs::write(&main, text)?;
        let start = Instant::now();
        self.cargo(&["build", "--offline"])?;
        Ok(start.elapsed().as_secs_f64())
    }
}

/// The slowest `n` units of the newest `--timings` report under `target`: (unit, seconds).
pub fn top_units(target: &Path, n: usize) -> anyhow::Result<(PathBuf, Vec<(String, f64)>)> {
    let dir = target.join("cargo-timings");
    let report = std::fs::read_dir(&dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("cargo-timing-"))
        })
        .max()
        .context("no cargo-timing-*.html")?;
    let html = std::fs::read_to_string(&report)?;
    let start = html
        .find("UNIT_DATA = ")
        .context("no UNIT_DATA in the timings report")?
        + "UNIT_DATA = ".len();
    let end = start + html[start..].find("];").context("UNIT_DATA not closed")? + 1;
    let units: Vec<Value> = serde_json::from_str(&html[start..end])?;
    let mut top: Vec<(String, f64)> = units
        .iter()
        .map(|unit| {
            let text = |key: &str| unit.get(key).and_then(Value::as_str).unwrap_or("");
            let target = text("target").trim();
            let name = format!(
                "{} {}{}",
                text("name"),
                text("version"),
                if target.is_empty() {
                    String::new()
                } else {
                    format!(" {target}")
                }
            );
            (
                name,
                unit.get("duration").and_then(Value::as_f64).unwrap_or(0.0),
            )
        })
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(n);
    Ok((report, top))
}

/// The P7 rows (cold, touched).
pub fn rows(effort: Effort, root: &Path) -> anyhow::Result<Vec<Row>> {
    let base = std::env::temp_dir().join(format!("xbl-mpsd-bench-p7-{}", std::process::id()));
    let lock = root.join("Cargo.lock");
    let ext = root.join("xbl-mpsd-ext");
    let sdk = Consumer::create(
        base.join("sdk"),
        &format!(
            "[package]\nname = \"p7-sdk\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nxbl-mpsd-ext = {{ path = {:?} }}\n\
             tokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n\n[workspace]\n",
            ext.display().to_string()
        ),
        SDK_MAIN,
        &lock,
    )?;
    let hand = Consumer::create(
        base.join("hand"),
        "[package]\nname = \"p7-hand\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n\
         reqwest = { version = \"0.13\", default-features = false, features = [\"json\", \"rustls\"] }\n\
         serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n\
         tokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }\n\n[workspace]\n",
        HAND_MAIN,
        &lock,
    )?;
    // Cold builds are minutes each: one round (two with --smoke off and more rounds asked for is not worth
    // it on a shared machine; the touched builds repeat).
    let cold_rounds = 1;
    let touch_rounds = effort.rounds.clamp(1, 3);
    let (mut sdk_cold, mut hand_cold) = (Vec::new(), Vec::new());
    for round in 0..cold_rounds {
        eprintln!("P7: cold builds (round {})", round + 1);
        if round % 2 == 0 {
            sdk_cold.push(sdk.cold(true)?);
            hand_cold.push(hand.cold(true)?);
        } else {
            hand_cold.push(hand.cold(true)?);
            sdk_cold.push(sdk.cold(true)?);
        }
    }
    let (mut sdk_touch, mut hand_touch) = (Vec::new(), Vec::new());
    for round in 0..touch_rounds {
        if round % 2 == 0 {
            sdk_touch.push(sdk.touched()?);
            hand_touch.push(hand.touched()?);
        } else {
            hand_touch.push(hand.touched()?);
            sdk_touch.push(sdk.touched()?);
        }
    }
    let (report, top) = top_units(&sdk.dir.join("target"), 10)?;
    let (_, hand_top) = top_units(&hand.dir.join("target"), 5)?;
    let list = |units: &[(String, f64)]| {
        units
            .iter()
            .map(|(name, secs)| format!("{name} {secs:.1} s"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let median = |v: &[f64]| Stats::of(v.to_vec()).median;
    let cold_detail = format!(
        "median s: SDK {:.1}, hand-written {:.1} ({cold_rounds} round); SDK's slowest units: {}; hand-written's: {}; report {}",
        median(&sdk_cold),
        median(&hand_cold),
        list(&top),
        list(&hand_top),
        report.display()
    );
    let touch_detail = format!(
        "median s: SDK {:.2}, hand-written {:.2} ({touch_rounds} rounds)",
        median(&sdk_touch),
        median(&hand_touch)
    );
    Ok(vec![
        Row::at_most(
            "P7",
            "consumer build, cold: one SDK write vs the same call hand-written (reqwest + serde, rustls)",
            1.2,
            Stats::of(ratios(&sdk_cold, &hand_cold)),
            cold_detail,
        ),
        Row::at_most(
            "P7'",
            "consumer build after touching main.rs: the same two crates",
            1.2,
            Stats::of(ratios(&sdk_touch, &hand_touch)),
            touch_detail,
        ),
    ])
}
