//! P2/P2': typed session decode and encode vs `serde_json::Value` on the XSAPI corpus's session
//! documents and a synthetic 100-member session.

use anyhow::Context as _;
use serde_json::{Map, Value};
use xbl_mpsd_api::types::MultiplayerSession;

use crate::measure::{Effort, Stats, interleave, keep, ratios};
use crate::report::Row;

/// The full session documents of the XSAPI fixture.
const CORPUS_SESSIONS: [&str; 4] = [
    "defaultSessionDocument",
    "MultiplayerResponseForComparingSessions",
    "largeSessionDocument",
    "sessionWithInitialTeamResponseJson",
];

/// `defaultSessionDocument` with 100 members (copies of its first member, XUIDs and indices made
/// distinct).
fn hundred_members(corpus: &Value) -> anyhow::Result<Value> {
    let mut doc = corpus
        .get("defaultSessionDocument")
        .cloned()
        .context("no defaultSessionDocument")?;
    let template = doc
        .pointer("/members/0")
        .cloned()
        .context("defaultSessionDocument has no member 0")?;
    let mut members = Map::new();
    for index in 0..100u64 {
        let mut member = template.clone();
        if let Some(system) = member.pointer_mut("/constants/system") {
            system["index"] = Value::from(index);
            system["xuid"] = Value::from((2_533_274_790_000_000 + index).to_string());
        }
        member["next"] = Value::from(index + 1);
        members.insert(index.to_string(), member);
    }
    doc["members"] = Value::Object(members);
    doc["membersInfo"] =
        serde_json::json!({"first": 0, "next": 100, "count": 100, "accepted": 100, "active": 100});
    Ok(doc)
}

/// Measures P2 and P2'.
pub fn rows(effort: Effort, corpus: &Value) -> anyhow::Result<Vec<Row>> {
    let mut documents = Vec::new();
    for name in CORPUS_SESSIONS {
        documents.push(
            corpus
                .get(name)
                .cloned()
                .with_context(|| format!("no {name}"))?,
        );
    }
    documents.push(hundred_members(corpus)?);
    let bytes: Vec<Vec<u8>> = documents
        .iter()
        .map(serde_json::to_vec)
        .collect::<Result<_, _>>()?;
    let typed: Vec<MultiplayerSession> = bytes
        .iter()
        .map(|b| serde_json::from_slice(b))
        .collect::<Result<_, _>>()
        .context("a corpus session does not decode into MultiplayerSession")?;
    let values: Vec<Value> = bytes
        .iter()
        .map(|b| serde_json::from_slice(b))
        .collect::<Result<_, _>>()?;
    let total: usize = bytes.iter().map(Vec::len).sum();
    let iters = effort.iters(400);

    let mut decode_typed = || {
        for b in &bytes {
            keep(serde_json::from_slice::<MultiplayerSession>(b).ok());
        }
    };
    let mut decode_value = || {
        for b in &bytes {
            keep(serde_json::from_slice::<Value>(b).ok());
        }
    };
    let decode = interleave(
        effort.rounds,
        iters,
        &mut [&mut decode_typed, &mut decode_value],
    );
    let mut encode_typed = || {
        for t in &typed {
            keep(serde_json::to_vec(t).ok());
        }
    };
    let mut encode_value = || {
        for v in &values {
            keep(serde_json::to_vec(v).ok());
        }
    };
    let encode = interleave(
        effort.rounds,
        iters,
        &mut [&mut encode_typed, &mut encode_value],
    );
    let us = |t: &Vec<f64>| Stats::of(t.clone()).median / 1000.0;
    Ok(vec![
        Row::at_most(
            "P2",
            "typed session decode vs serde_json::Value (4 XSAPI sessions + a 100-member session)",
            0.7,
            Stats::of(ratios(&decode[0], &decode[1])),
            format!(
                "{total} bytes per pass; median µs/pass typed {:.0}, Value {:.0}",
                us(&decode[0]),
                us(&decode[1])
            ),
        ),
        Row::at_most(
            "P2'",
            "typed session encode vs serde_json::Value (same documents)",
            0.9,
            Stats::of(ratios(&encode[0], &encode[1])),
            format!(
                "median µs/pass typed {:.0}, Value {:.0}",
                us(&encode[0]),
                us(&encode[1])
            ),
        ),
    ])
}
