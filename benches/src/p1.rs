//! P1/P1': one `PUT /handles/{id}/session` round trip on loopback against a canned server that returns a
//! fixed session, through the SDK, the generated client, a hand-written reqwest call (typed and
//! `Value`) and a raw hyper client (`Value`).

use std::time::Instant;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http::header::{
    AUTHORIZATION, CONTENT_LOCATION, CONTENT_TYPE, DATE, ETAG, HeaderName, HeaderValue,
};
use http::{Method, StatusCode};
use serde_json::Value;
use xbl_mpsd_api::ClientInfo;
use xbl_mpsd_api::types::{MultiplayerSession, MultiplayerSessionRequest};
use xbl_mpsd_ext::{HandleId, MpsdClient, WriteOutcome, XblToken};

use crate::measure::{Effort, Stats, keep, ratios};
use crate::net::{Conn, RequestSpec, serve_fixed};
use crate::report::Row;

const HANDLE: &str = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
const XUID: &str = "2533274792693551";
const CONTRACT: &str = "x-xbl-contract-version";
/// P1 runs this many times the rounds of the other rows (see `rows`).
pub const P1_ROUNDS_FACTOR: usize = 15;

/// The five ways to make the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Sdk,
    Generated,
    ReqwestTyped,
    ReqwestValue,
    Hyper,
}

const VARIANTS: [Variant; 5] = [
    Variant::Sdk,
    Variant::Generated,
    Variant::ReqwestTyped,
    Variant::ReqwestValue,
    Variant::Hyper,
];

struct Bench {
    sdk: MpsdClient,
    http: reqwest::Client,
    url: String,
    auth: HeaderValue,
    handle: HandleId,
    delta: MultiplayerSessionRequest,
    delta_value: Value,
    hyper: Conn,
    spec: RequestSpec,
}

impl Bench {
    /// The hand-written call: PUT `body` (JSON), read the ETag and the answer's body.
    async fn reqwest_put(&self, body: Vec<u8>) -> anyhow::Result<(Option<String>, Bytes)> {
        let response = self
            .http
            .put(&self.url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let etag = etag(response.headers());
        Ok((etag, response.bytes().await?))
    }

    /// Runs `n` calls of `variant`; nanoseconds per call.
    async fn run(&mut self, variant: Variant, n: usize) -> anyhow::Result<f64> {
        let start = Instant::now();
        for _ in 0..n {
            // Every variant builds its delta anew per call, as a caller would.
            match variant {
                Variant::Sdk => {
                    let outcome = self
                        .sdk
                        .write(self.handle, self.delta.clone())
                        .send()
                        .await?;
                    if !matches!(outcome, WriteOutcome::Updated(_)) {
                        bail!("SDK write: unexpected outcome {outcome:?}");
                    }
                    keep(outcome);
                }
                Variant::Generated => {
                    let value = self
                        .sdk
                        .api()
                        .write_session_by_handle()
                        .handle_id(*self.handle.as_uuid())
                        .body(self.delta.clone())
                        .send()
                        .await
                        .map_err(|e| anyhow::anyhow!("generated client: {e}"))?;
                    keep(value);
                }
                Variant::ReqwestTyped => {
                    let delta = self.delta.clone();
                    let (etag, body) = self.reqwest_put(serde_json::to_vec(&delta)?).await?;
                    let session: MultiplayerSession = serde_json::from_slice(&body)?;
                    keep((etag, session));
                }
                Variant::ReqwestValue => {
                    let delta = self.delta_value.clone();
                    let (etag, body) = self.reqwest_put(serde_json::to_vec(&delta)?).await?;
                    let session: Value = serde_json::from_slice(&body)?;
                    keep((etag, session));
                }
                Variant::Hyper => {
                    let delta = self.delta_value.clone();
                    let mut spec = self.spec.clone();
                    spec.body = Bytes::from(serde_json::to_vec(&delta)?);
                    let (status, body) = self.hyper.send(&spec).await?;
                    if !status.is_success() {
                        bail!("raw hyper: status {status}");
                    }
                    let session: Value = serde_json::from_slice(&body)?;
                    keep(session);
                }
            }
        }
        Ok(start.elapsed().as_nanos() as f64 / n as f64)
    }
}

fn etag(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The canned answer: XSAPI's `defaultSessionDocument` with the headers MPSD sends.
fn canned(corpus: &Value) -> anyhow::Result<(Vec<(HeaderName, HeaderValue)>, Bytes)> {
    let document = corpus
        .get("defaultSessionDocument")
        .context("the XSAPI corpus has no defaultSessionDocument")?;
    let body = Bytes::from(serde_json::to_vec(document)?);
    let headers = vec![
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (
            ETAG,
            HeaderValue::from_static("9555A7DE-8B5C-4E4B-9E9A-1C1C1C1C1C1C"),
        ),
        (
            CONTENT_LOCATION,
            HeaderValue::from_static(
                "/serviceconfigs/00000000-0000-0000-0000-000000000000/sessionTemplates/lobby/sessions/bench",
            ),
        ),
        (
            DATE,
            HeaderValue::from_static("Sat, 28 Nov 2026 08:00:00 GMT"),
        ),
    ];
    Ok((headers, body))
}

/// Measures P1 and P1'.
/// `XBL_MPSD_BENCH_P1_PROFILE=<variant>:<calls>` (`sdk`, `generated`, `reqwest-typed`, `reqwest-value`,
/// `hyper`): run that variant alone, `calls` times, for `valgrind --tool=callgrind` (the difference of two
/// call counts is the cost of the calls alone).
fn profile_request() -> anyhow::Result<Option<(Variant, usize)>> {
    let Ok(request) = std::env::var("XBL_MPSD_BENCH_P1_PROFILE") else {
        return Ok(None);
    };
    let (name, calls) = request
        .split_once(':')
        .context("XBL_MPSD_BENCH_P1_PROFILE is <variant>:<calls>")?;
    let variant = match name {
        "sdk" => Variant::Sdk,
        "generated" => Variant::Generated,
        "reqwest-typed" => Variant::ReqwestTyped,
        "reqwest-value" => Variant::ReqwestValue,
        "hyper" => Variant::Hyper,
        other => bail!("XBL_MPSD_BENCH_P1_PROFILE: unknown variant {other:?}"),
    };
    Ok(Some((
        variant,
        calls.parse().context("XBL_MPSD_BENCH_P1_PROFILE: calls")?,
    )))
}

pub async fn rows(effort: Effort, corpus: &Value) -> anyhow::Result<Vec<Row>> {
    let (headers, body) = canned(corpus)?;
    let addr = serve_fixed(StatusCode::OK, headers, body).await?;
    let base = format!("http://{addr}");
    let handle: HandleId = HANDLE.parse()?;
    let sdk = MpsdClient::builder()
        .base_url(&base)
        .token(XblToken::new("-", XUID)?)
        .build()?;
    // The hand-written calls go through the SDK's own `reqwest::Client`: the same connection pool (so the
    // same keep-alive connection, whose tasks sit on the same runtime workers), the same default headers
    // (contract version, User-Agent) and the same timeouts. With a second client the two variants ran on
    // two connections, and how each connection's tasks happened to be placed on the two workers moved the
    // ratio by a few percent either way (BENCHMARKS.md, "What each row compares").
    let http = ClientInfo::client(sdk.api()).clone();
    let delta_value = serde_json::json!({
        "members": { "me": {
            "constants": { "system": { "xuid": XUID, "initialize": true } },
            "properties": { "system": { "active": true }, "custom": { "score": 1200, "map": "lava" } }
        } },
        "properties": { "custom": { "round": 3 } }
    });
    let delta: MultiplayerSessionRequest = serde_json::from_value(delta_value.clone())?;
    let path = format!("/handles/{HANDLE}/session");
    let mut spec = RequestSpec::mpsd(Method::PUT, path.clone(), 0, None);
    spec.headers = vec![
        (
            AUTHORIZATION,
            HeaderValue::from_str(&format!("XBL3.0 x=-;{XUID}"))?,
        ),
        (
            HeaderName::from_static(CONTRACT),
            HeaderValue::from_static("107"),
        ),
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
    ];
    let mut bench = Bench {
        sdk,
        http,
        url: format!("{base}{path}"),
        auth: HeaderValue::from_str(&format!("XBL3.0 x=-;{XUID}"))?,
        handle,
        delta,
        delta_value,
        hyper: Conn::open(addr).await?,
        spec,
    };

    if let Some((variant, calls)) = profile_request()? {
        // One variant alone, for a profiler (BENCHMARKS.md, "How to run"): no row.
        bench.run(variant, calls).await?;
        return Ok(Vec::new());
    }
    let iters = effort.iters(300);
    // Warm-up (connections, allocator).
    for variant in VARIANTS {
        bench.run(variant, iters.div_ceil(5)).await?;
    }
    // Fifteen times the rows' rounds (105, about 20 s in all): a round of P1 is short (~50 ms per variant),
    // and on a shared machine one round's ratio moves by ±30 %, far more than the 5 % the goal leaves; the
    // median of 21 rounds still moved by ±3 % from run to run, that of 105 by about ±1 %.
    let rounds = effort.rounds * P1_ROUNDS_FACTOR;
    let mut times = vec![Vec::new(); VARIANTS.len()];
    for round in 0..rounds {
        for k in 0..VARIANTS.len() {
            let index = (round + k) % VARIANTS.len();
            // A few untimed calls first: the variant before was another code path, and whichever variant
            // comes first in the rotation would otherwise pay for the caches alone.
            bench.run(VARIANTS[index], iters.div_ceil(10)).await?;
            times[index].push(bench.run(VARIANTS[index], iters).await?);
        }
    }
    let at = |v: Variant| &times[VARIANTS.iter().position(|x| *x == v).unwrap_or(0)];
    let sdk = at(Variant::Sdk);
    let typed = at(Variant::ReqwestTyped);
    let generated = at(Variant::Generated);
    let value = at(Variant::ReqwestValue);
    let hyper = at(Variant::Hyper);
    let med = |t: &Vec<f64>| Stats::of(t.clone()).median / 1000.0;
    let detail = format!(
        "median µs/call: SDK {:.1}, generated {:.1}, reqwest typed {:.1}, reqwest Value {:.1}, hyper Value {:.1}",
        med(sdk),
        med(generated),
        med(typed),
        med(value),
        med(hyper)
    );
    Ok(vec![
        Row::at_most(
            "P1",
            "SDK PUT /handles/{id}/session round trip vs hand-written reqwest → same typed struct",
            1.02,
            Stats::of(ratios(sdk, typed)),
            detail,
        ),
        Row::at_most(
            "P1'",
            "same SDK call vs raw hyper client → serde_json::Value",
            1.0,
            Stats::of(ratios(sdk, hyper)),
            format!(
                "generated client vs reqwest typed: {:.2}×",
                Stats::of(ratios(generated, typed)).median
            ),
        ),
    ])
}
