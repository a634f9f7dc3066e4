//! A hosted session against the emulator on loopback: created with its activity handle, friends join and
//! leave (reported as changes), an RTA drop (reconnected), the session deleted behind the host's back
//! (created again with its handles, none leaked), an update, and a clean close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use xbl_mpsd_emulator::{Emulator, RunningEmulator};
use xbl_mpsd_ext::hosted::{HostEvent, HostedSession};
use xbl_mpsd_ext::types::{HandleTypeKind, Restriction, Visibility};
use xbl_mpsd_ext::{
    MpsdClient, SessionChange, SessionDelta, SessionReference, WriteOutcome, XblToken, Xuid,
    handles,
};

const HOST: &str = "2533274792693551";
const GUEST: &str = "2814679796296491";
const SCID: &str = "00000000-0000-0000-0000-00007a970ea1";
const GUARD: Duration = Duration::from_secs(10);

fn client_for(emulator: &RunningEmulator, user: &str) -> MpsdClient {
    MpsdClient::builder()
        .base_url(emulator.base_url())
        .token(XblToken::new("-", user).unwrap())
        .build()
        .unwrap()
}

fn xuid(text: &str) -> Xuid {
    text.parse().unwrap()
}

fn lobby(name: &str) -> SessionReference {
    format!("/serviceconfigs/{SCID}/sessionTemplates/lobby/sessions/{name}")
        .parse()
        .unwrap()
}

/// The next event that `wanted` accepts; other events are skipped (errors fail the test).
async fn next_matching(
    hosted: &mut HostedSession,
    wanted: impl Fn(&HostEvent) -> bool,
) -> HostEvent {
    loop {
        let event = tokio::time::timeout(GUARD, hosted.next_event())
            .await
            .expect("an event in time")
            .expect("the hosted session is running");
        if let HostEvent::Error(error) = &event {
            panic!("hosting failed: {error}");
        }
        if wanted(&event) {
            return event;
        }
    }
}

async fn activity_handles(client: &MpsdClient) -> usize {
    client
        .query_handles(handles::activities_query(
            &SCID.parse().unwrap(),
            &[xuid(HOST)],
        ))
        .send()
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_hosted_session_reports_joins_survives_drops_and_deletion_and_closes_cleanly() {
    let emulator = Emulator::start(Default::default()).await.unwrap();
    let host = client_for(&emulator, HOST);
    let guest = client_for(&emulator, GUEST);
    let reference = lobby("hosted");

    let mut hosted = host
        .host(reference.clone(), xuid(HOST))
        .create_with(
            SessionDelta::new()
                .visibility(Visibility::OPEN)
                .max_members(8)
                .join_restriction(Restriction::FOLLOWED)
                .set_custom("world", "survival")
                .unwrap(),
        )
        .check_every(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let session = hosted.session().expect("the created session");
    assert_eq!(session.member_xuids(), [xuid(HOST)]);
    assert_eq!(session.visibility(), Some(&Visibility::OPEN));
    let activity = hosted.handles();
    assert_eq!(activity.len(), 1);
    let document = host.get_handle(activity[0]).send().await.unwrap();
    assert_eq!(document.type_.kind(), HandleTypeKind::Activity);
    assert_eq!(document.session_ref(), Some(&reference));

    // A friend joins through the activity handle: reported as a change.
    guest
        .write(activity[0], SessionDelta::new().join(xuid(GUEST)))
        .send()
        .await
        .unwrap();
    let HostEvent::Changed { changes, .. } = next_matching(&mut hosted, |e| {
        matches!(e, HostEvent::Changed { changes, .. }
            if changes.contains(&SessionChange::MemberJoined { xuid: xuid(GUEST) }))
    })
    .await
    else {
        unreachable!()
    };
    assert!(changes.contains(&SessionChange::MemberJoined { xuid: xuid(GUEST) }));

    // The host updates a property through the hosted session.
    let outcome = hosted
        .update(SessionDelta::new().set_custom("round", &2).unwrap())
        .await
        .unwrap();
    assert!(matches!(outcome, WriteOutcome::Updated(_)));
    assert_eq!(
        hosted
            .session()
            .unwrap()
            .custom_property::<u32>("round")
            .unwrap(),
        Some(2)
    );

    // The friend leaves.
    guest
        .write(&reference, SessionDelta::new().leave())
        .send()
        .await
        .unwrap();
    next_matching(&mut hosted, |e| {
        matches!(e, HostEvent::Changed { changes, .. }
            if changes.contains(&SessionChange::MemberLeft { xuid: xuid(GUEST) }))
    })
    .await;

    // The host's RTA connection drops: the client reconnects and `connection` is written again.
    assert_eq!(emulator.rta().disconnect_user(xuid(HOST).get()), 1);
    next_matching(&mut hosted, |e| matches!(e, HostEvent::Reconnected)).await;
    let now = host.get_session(&reference).send().await.unwrap().unwrap();
    assert_eq!(
        now.member_status(xuid(HOST)),
        Some(xbl_mpsd_ext::MemberStatus::Active)
    );

    // The session is deleted behind the host's back (the host's token used elsewhere leaves it): the
    // hosted session creates it again, with a new activity handle and no handle left over.
    host.write(&reference, SessionDelta::new().leave())
        .send()
        .await
        .unwrap();
    assert_eq!(host.get_session(&reference).send().await.unwrap(), None);
    let HostEvent::Recreated { session } =
        next_matching(&mut hosted, |e| matches!(e, HostEvent::Recreated { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(session.member_xuids(), [xuid(HOST)]);
    assert_eq!(
        session
            .custom_property::<String>("world")
            .unwrap()
            .as_deref(),
        Some("survival")
    );
    assert_eq!(hosted.handles().len(), 1);
    assert_ne!(hosted.handles(), activity, "a new activity handle");
    assert_eq!(activity_handles(&host).await, 1, "no handle leaked");

    // Close: the host leaves (the session is deleted) and the handles are gone.
    hosted.close().await.unwrap();
    assert_eq!(host.get_session(&reference).send().await.unwrap(), None);
    assert_eq!(activity_handles(&host).await, 0);
    emulator.shutdown().await;
}
