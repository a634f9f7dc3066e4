//! The session diff on XSAPI's own comparison fixture: `defaultSessionDocument` against
//! `MultiplayerResponseForComparingSessions` (test-fixtures/xsapi/Multiplayer.json), the pair XSAPI's
//! `XblMultiplayerSessionCompare` tests use. They differ in member 0's XUID (12345 → 1234, so the second
//! document lists XUID 1234 twice) and in the matchmaking target session. XSAPI reports
//! `MemberListChange | MatchmakingStatusChange` when it looks for the first document's members in the second;
//! here: member 12345 left (1234 was there before and still is) and matchmaking changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use xbl_mpsd_ext::diff::{Matchmaking, SessionChange, diff};
use xbl_mpsd_ext::types::MultiplayerSession;

fn fixture(name: &str) -> MultiplayerSession {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../test-fixtures/xsapi/Multiplayer.json"
    );
    let corpus: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(corpus[name].clone()).unwrap()
}

#[test]
fn xsapis_comparison_pair_gives_the_member_list_and_matchmaking_changes() {
    let before = fixture("defaultSessionDocument");
    let after = fixture("MultiplayerResponseForComparingSessions");
    let changes = diff(&before, &after);
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(
        changes[0],
        SessionChange::MemberLeft {
            xuid: "12345".parse().unwrap()
        }
    );
    let SessionChange::MatchmakingChanged {
        from: Some(Matchmaking {
            target: Some(from), ..
        }),
        to: Some(Matchmaking {
            target: Some(to), ..
        }),
    } = &changes[1]
    else {
        panic!("{changes:#?}");
    };
    assert_eq!(from.name.as_str(), "2D58F65F-0E3C-4F1F-8277-2BC9873FDB23");
    assert_eq!(to.name.as_str(), "12345678-0E3C-4F1F-8277-2BC9873FDB23");
    // The other way round: 12345 joined.
    let back = diff(&after, &before);
    assert_eq!(
        back[0],
        SessionChange::MemberJoined {
            xuid: "12345".parse().unwrap()
        }
    );
    assert_eq!(back.len(), 2);
    assert!(diff(&before, &before).is_empty());
}

#[test]
fn every_fixture_session_compared_with_itself_has_no_change() {
    for name in [
        "defaultSessionDocument",
        "MultiplayerResponseForComparingSessions",
        "largeSessionDocument",
        "sessionWithInitialTeamResponseJson",
    ] {
        let session = fixture(name);
        assert!(diff(&session, &session).is_empty(), "{name}");
    }
}
