//! End to end: the SDK against a real emulator on loopback — invite → activation URI → join by handle,
//! join through an activity, a synchronized update that conflicts and recovers, leaving until the
//! session is deleted, and many concurrent synchronized updates through one handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;

use serde_json::{Value, json};
use xbl_mpsd_api::types::MultiplayerSessionRequest;
use xbl_mpsd_emulator::{Emulator, EmulatorConfig};
use xbl_mpsd_ext::{
    Activation, ActivationKind, HandleId, Include, MpsdClient, SessionDelta, SessionReference,
    TitleId, WriteMode, WriteOutcome, Xuid, handles,
};

mod support;
use support::client_for;

const HOST: &str = "2533274792693551";
const GUEST: &str = "2814679796296491";

fn xuid(s: &str) -> Xuid {
    s.parse().unwrap()
}

fn delta(value: Value) -> MultiplayerSessionRequest {
    serde_json::from_value(value).unwrap()
}

fn lobby(name: &str) -> SessionReference {
    format!("/serviceconfigs/00000000-0000-0000-0000-00007a970ea1/sessionTemplates/lobby/sessions/{name}")
        .parse()
        .unwrap()
}

/// The host creates an open session with itself as the first member.
async fn host_session(host: &MpsdClient, name: &str) -> SessionReference {
    let reference = lobby(name);
    let mut create: MultiplayerSessionRequest = SessionDelta::new().join(xuid(HOST)).into();
    create.constants = xbl_mpsd_api::Nullable::Value(
        serde_json::from_value(json!({
            "system": {"maxMembersCount": 100, "visibility": "open", "inviteProtocol": "game"},
            "custom": {"mode": "coop"}
        }))
        .unwrap(),
    );
    let outcome = host
        .write(&reference, create)
        .mode(WriteMode::CreateNew)
        .send()
        .await
        .unwrap();
    assert!(matches!(outcome, WriteOutcome::Created(_)), "{outcome:?}");
    reference
}

fn handle_id(document: &xbl_mpsd_api::types::HandleDocument) -> HandleId {
    document
        .id
        .as_ref()
        .and_then(|id| id.value())
        .expect("the handle has an id")
}

#[tokio::test]
async fn invite_activation_join_and_leave_until_the_session_is_deleted() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let guest = client_for(&emulator, GUEST);
    let reference = host_session(&host, "invite-join").await;

    // The host invites the guest.
    let invite = host
        .create_handle(handles::invite_request(
            &reference,
            xuid(GUEST),
            TitleId::new(0x7a97_0ea1),
            Some("level=3"),
        ))
        .send()
        .await
        .unwrap()
        .document
        .expect("an invite document");
    assert_eq!(
        invite.invited_xuid.as_ref().and_then(|x| x.value()),
        Some(xuid(GUEST))
    );
    assert_eq!(
        invite.sender_xuid.as_ref().and_then(|x| x.value()),
        Some(xuid(HOST))
    );

    // The shell hands the guest's title an activation URI; the title parses it and joins.
    let uri = Activation {
        title_id: Some(TitleId::new(0x7a97_0ea1)),
        kind: ActivationKind::InviteHandleAccept {
            handle: handle_id(&invite),
            invited: xuid(GUEST),
            sender: Some(xuid(HOST)),
            context: None,
        },
    }
    .to_uri();
    let activation: Activation = uri.parse().unwrap();
    let joined = guest.join_from_activation(&activation).await.unwrap();
    let WriteOutcome::Updated(session) = joined else {
        panic!("expected the join to update the session, got {joined:?}")
    };
    assert_eq!(session.member_xuids(), [xuid(HOST), xuid(GUEST)]);
    assert_eq!(
        session.reference(),
        Some(&reference),
        "learned from Content-Location"
    );
    assert!(session.etag().is_some());

    // Both see two members.
    for client in [&host, &guest] {
        let seen = client
            .get_session(&reference)
            .send()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.member_xuids(), [xuid(HOST), xuid(GUEST)]);
        assert_eq!(seen.member_count(), 2);
    }

    // The guest leaves; the host leaves last and the session is deleted (204).
    let left = guest
        .write(&reference, SessionDelta::new().leave())
        .send()
        .await
        .unwrap();
    assert!(
        matches!(&left, WriteOutcome::Updated(s) if s.member_xuids() == [xuid(HOST)]),
        "{left:?}"
    );
    let last = host
        .write(&reference, SessionDelta::new().leave())
        .send()
        .await
        .unwrap();
    assert_eq!(last, WriteOutcome::SessionDeleted);
    assert_eq!(host.get_session(&reference).send().await.unwrap(), None);
    // The invite outlives the session: reading through it answers "no session".
    assert_eq!(
        guest.get_session(handle_id(&invite)).send().await.unwrap(),
        None
    );

    emulator.shutdown().await;
}

#[tokio::test]
async fn join_through_an_activity_handle_found_by_query() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let guest = client_for(&emulator, GUEST);
    let reference = host_session(&host, "activity-join").await;

    host.create_handle(handles::activity_request(&reference))
        .send()
        .await
        .unwrap();
    let found = guest
        .query_handles(handles::activities_query(&reference.scid, &[xuid(HOST)]))
        .include(Include::RelatedInfo)
        .include(Include::CustomProperties)
        .send()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let activity = &found[0];
    assert_eq!(
        activity.owner_xuid.as_ref().and_then(|x| x.value()),
        Some(xuid(HOST))
    );
    assert_eq!(
        activity
            .related_info
            .as_ref()
            .and_then(|r| r.members_count.as_ref()),
        Some(&1)
    );

    let uri = format!(
        "ms-xbl-multiplayer://activityHandleJoin?&handle={}&joinerXuid={GUEST}&joineeXuid={HOST}",
        activity.id.as_ref().unwrap().to_string().to_uppercase()
    );
    let activation: Activation = uri.parse().unwrap();
    let joined = guest.join_from_activation(&activation).await.unwrap();
    assert_eq!(
        joined.session().unwrap().member_xuids(),
        [xuid(HOST), xuid(GUEST)]
    );

    // A stale handle is a typed error, not a panic.
    host.delete_handle(handle_id(activity))
        .send()
        .await
        .unwrap();
    let err = guest.join_from_activation(&activation).await.unwrap_err();
    assert!(
        matches!(err, xbl_mpsd_ext::Error::HandleNotFound { .. }),
        "{err:?}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_synchronized_update_that_conflicts_recovers_without_losing_either_write() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let guest = client_for(&emulator, GUEST);
    let reference = host_session(&host, "sync").await;
    guest
        .write(&reference, SessionDelta::new().join(xuid(GUEST)))
        .send()
        .await
        .unwrap();

    // Both read the same version.
    let host_view = host.get_session(&reference).send().await.unwrap().unwrap();
    let guest_view = guest.get_session(&reference).send().await.unwrap().unwrap();
    assert_eq!(host_view.etag(), guest_view.etag());

    // The host writes first; the guest's write against the old version is out of sync.
    let host_write = host
        .write(
            &reference,
            delta(json!({"properties": {"custom": {"map": "lava"}}})),
        )
        .mode(WriteMode::SynchronizedUpdate {
            etag: host_view.etag().cloned(),
        })
        .send()
        .await
        .unwrap();
    assert!(matches!(host_write, WriteOutcome::Updated(_)));
    let stale = guest
        .write(
            &reference,
            delta(json!({"properties": {"custom": {"ready": [GUEST]}}})),
        )
        .mode(WriteMode::SynchronizedUpdate {
            etag: guest_view.etag().cloned(),
        })
        .send()
        .await
        .unwrap();
    let WriteOutcome::OutOfSync {
        current: Some(current),
        ..
    } = stale
    else {
        panic!("expected OutOfSync with the current session, got {stale:?}")
    };
    assert_ne!(current.etag(), guest_view.etag());

    // The helper retries from the current session and keeps the host's write.
    let recovered = guest
        .synchronized_update(&reference, |session| {
            let map = session.and_then(|s| {
                s.document
                    .properties
                    .as_ref()?
                    .custom
                    .as_ref()?
                    .get("map")
                    .cloned()
            });
            assert_eq!(map, Some(json!("lava")), "the change sees the host's write");
            std::future::ready(Ok::<_, std::convert::Infallible>(delta(
                json!({"properties": {"custom": {"ready": [GUEST]}}}),
            )))
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        recovered.attempts, 1,
        "the first write already had the current ETag"
    );
    let custom = recovered
        .outcome
        .session()
        .and_then(|s| s.document.properties.as_ref()?.custom.as_ref().cloned())
        .unwrap();
    assert_eq!(custom.0, json!({"map": "lava", "ready": [GUEST]}));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_synchronized_updates_through_one_handle_lose_no_write() {
    const TASKS: usize = 64;
    const UPDATES: usize = 50;
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let reference = host_session(&host, "concurrency").await;
    let activity = host
        .create_handle(handles::activity_request(&reference))
        .send()
        .await
        .unwrap()
        .document
        .unwrap();
    let handle = handle_id(&activity);
    let before = host.get_session(handle).send().await.unwrap().unwrap();
    let first_change = before.change_number().unwrap();

    let attempts = NonZeroU32::new(10_000).unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let client = host.clone();
            tokio::spawn(async move {
                for update in 0..UPDATES {
                    let key = format!("t{task}-u{update}");
                    let outcome = client
                        .synchronized_update(handle, |_| {
                            let key = key.clone();
                            async move {
                                Ok::<_, std::convert::Infallible>(delta(
                                    json!({"properties": {"custom": {key: task}}}),
                                ))
                            }
                        })
                        .attempts(attempts)
                        .send()
                        .await
                        .unwrap();
                    assert!(
                        matches!(outcome.outcome, WriteOutcome::Updated(_)),
                        "{outcome:?}"
                    );
                    assert!(outcome.attempts <= attempts.get(), "{outcome:?}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    let after = host.get_session(handle).send().await.unwrap().unwrap();
    let custom = after
        .document
        .properties
        .as_ref()
        .and_then(|p| p.custom.as_ref())
        .and_then(|c| c.as_object())
        .unwrap();
    for task in 0..TASKS {
        for update in 0..UPDATES {
            assert!(
                custom.contains_key(&format!("t{task}-u{update}")),
                "t{task}-u{update} lost"
            );
        }
    }
    assert_eq!(custom.len(), TASKS * UPDATES, "no other key appeared");
    assert_eq!(
        after.change_number().unwrap() - first_change,
        (TASKS * UPDATES) as u64,
        "changeNumber counts every commit"
    );
    emulator.shutdown().await;
}
