//! Every merge meaning a delta can have reaches the service through the typed SDK: set, clear to empty
//! (`"keywords": []`, `"turn": []`), delete (`null`: matchmaking, a custom key, a member's custom key, the
//! host) and leave unchanged (absent). Each write is read back from a real emulator on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use xbl_mpsd_emulator::Emulator;
use xbl_mpsd_ext::types::SessionPropertiesSystemMatchmaking;
use xbl_mpsd_ext::{
    MpsdClient, Session, SessionDelta, SessionReference, WriteMode, WriteOutcome, Xuid,
};

mod support;
use support::client_for;

const HOST: &str = "2533274792693551";

fn lobby(name: &str) -> SessionReference {
    format!("/serviceconfigs/00000000-0000-0000-0000-00007a970ea1/sessionTemplates/lobby/sessions/{name}")
        .parse()
        .unwrap()
}

async fn read(client: &MpsdClient, reference: &SessionReference) -> Session {
    client
        .get_session(reference)
        .send()
        .await
        .unwrap()
        .expect("the session exists")
}

/// The session's `properties.system`, as JSON from the body the service sent.
fn system(session: &Session) -> Value {
    let raw: Value =
        serde_json::from_slice(session.raw_json().expect("read from the service")).unwrap();
    raw["properties"]["system"].clone()
}

async fn write(client: &MpsdClient, reference: &SessionReference, delta: SessionDelta) {
    let outcome = client
        .write(reference, delta)
        .mode(WriteMode::UpdateOrCreateNew)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(outcome, WriteOutcome::Created(_) | WriteOutcome::Updated(_)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn set_clear_delete_and_unchanged_each_reach_the_service() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let me: Xuid = HOST.parse().unwrap();
    let reference = lobby("lossless");

    // Set: keywords, turn, matchmaking, custom properties (session and member), the host.
    let mut matchmaking = SessionPropertiesSystemMatchmaking::default();
    matchmaking.server_connection_string = "server-1".to_owned().into();
    let set = SessionDelta::new()
        .join(me)
        .keywords(["a", "b"])
        .turn([0])
        .matchmaking(matchmaking)
        .set_custom("map", "lava")
        .unwrap()
        .set_custom("mode", "ctf")
        .unwrap()
        .member_custom("team", "red")
        .unwrap();
    write(&host, &reference, set).await;
    let session = read(&host, &reference).await;
    assert_eq!(session.keywords(), ["a", "b"]);
    assert_eq!(session.turn(), [0]);
    assert_eq!(
        system(&session)["matchmaking"]["serverConnectionString"],
        "server-1"
    );
    assert_eq!(
        session.custom_property::<String>("map").unwrap().as_deref(),
        Some("lava")
    );

    // Clear to empty and delete, in one delta; `mode` and the member's `team` are left unchanged.
    let clear = SessionDelta::new()
        .keywords(Vec::<String>::new())
        .turn([])
        .delete_matchmaking()
        .delete_custom("map");
    let body = serde_json::to_value(&clear).unwrap();
    assert_eq!(
        body,
        json!({"properties": {
            "system": {"keywords": [], "turn": [], "matchmaking": null},
            "custom": {"map": null}
        }})
    );
    write(&host, &reference, clear).await;
    let session = read(&host, &reference).await;
    assert!(session.keywords().is_empty(), "{:?}", session.keywords());
    assert!(session.turn().is_empty());
    let system = system(&session);
    assert!(system.get("matchmaking").is_none(), "{system}");
    assert_eq!(session.custom_property::<String>("map").unwrap(), None);
    assert_eq!(
        session
            .custom_property::<String>("mode")
            .unwrap()
            .as_deref(),
        Some("ctf")
    );
    assert_eq!(
        session
            .member_custom_property::<String>(me, "team")
            .unwrap()
            .as_deref(),
        Some("red")
    );

    // Delete a member's custom key.
    write(
        &host,
        &reference,
        SessionDelta::new().delete_member_custom("team"),
    )
    .await;
    let session = read(&host, &reference).await;
    assert_eq!(
        session
            .member_custom_property::<String>(me, "team")
            .unwrap(),
        None
    );

    // Leave: `members.me: null`; the last member leaving deletes the session.
    let outcome = host
        .write(&reference, SessionDelta::new().leave())
        .send()
        .await
        .unwrap();
    assert_eq!(outcome, WriteOutcome::SessionDeleted);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_session_read_and_written_back_whole_changes_nothing() {
    // Read-modify-write of the whole document through the typed layer: what was read is sent back
    // unchanged (timestamps keep their text, empty lists stay, unknown keys survive).
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let reference = lobby("whole");
    let create = SessionDelta::new()
        .join(HOST.parse().unwrap())
        .keywords(Vec::<String>::new())
        .merge_json(json!({"properties": {"custom": {"empty": {}, "list": [], "gone": null}}}))
        .unwrap();
    write(&host, &reference, create).await;
    let session = read(&host, &reference).await;
    let raw: Value = serde_json::from_slice(session.raw_json().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&session.document).unwrap(), raw);
    assert_eq!(raw["properties"]["system"]["keywords"], json!([]));
    assert_eq!(
        raw["properties"]["custom"],
        json!({"empty": {}, "list": []})
    );
    emulator.shutdown().await;
}
