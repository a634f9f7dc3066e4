//! The emulator's session merge and validation (`xbl_mpsd_emulator::check_writes`), fed a JSON array of PUT
//! bodies (or one body), written in turn by two users: it never panics, and every session it accepts
//! renders as a document the spec describes (it decodes as the generated `MultiplayerSession`) whose
//! `changeNumber` grows by one per accepted write.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use xbl_mpsd_api::types::MultiplayerSession;
use xbl_mpsd_emulator::{WriteCheck, check_writes};

const USERS: [u64; 2] = [2533274792693551, 2814679796296491];
/// Enough writes to build up and tear down a session; more only slows the fuzzer down.
const MAX_WRITES: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let bodies = match input {
        Value::Array(items) => items,
        other => vec![other],
    };
    let writes: Vec<(u64, Value)> = bodies
        .into_iter()
        .take(MAX_WRITES)
        .enumerate()
        .map(|(i, body)| (USERS[i % USERS.len()], body))
        .collect();
    let mut last_change: Option<i64> = None;
    for (i, outcome) in check_writes(&writes).into_iter().enumerate() {
        match outcome {
            WriteCheck::Stored(document) => {
                let session: MultiplayerSession = match serde_json::from_value(document.clone()) {
                    Ok(session) => session,
                    Err(e) => panic!("write {i}: the stored session is not a spec document: {e}\n{document}"),
                };
                let change = session.change_number.as_ref().copied().unwrap_or_default();
                if let Some(last) = last_change {
                    assert_eq!(change, last + 1, "write {i}: changeNumber after {last}");
                }
                last_change = Some(change);
            }
            WriteCheck::Deleted => last_change = None,
            WriteCheck::Refused(status, message) => {
                assert!((400..500).contains(&status), "write {i}: {status} {message}");
            }
            other => panic!("write {i}: unknown outcome {other:?}"),
        }
    }
});
