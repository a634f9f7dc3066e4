//! A hosted session against the emulator on loopback: created with its activity handle, friends join and
//! leave (reported as changes), an RTA drop (reconnected), the session deleted behind the host's back
//! (created again with its handles, none leaked), an update, and a clean close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use xbl_mpsd_emulator::Emulator;
use xbl_mpsd_ext::hosted::{HostEvent, HostedSession};
use xbl_mpsd_ext::types::{HandleTypeKind, Restriction, Visibility};
use xbl_mpsd_ext::{
    MpsdClient, SessionChange, SessionDelta, SessionReference, WriteOutcome, XblToken, Xuid,
    handles,
};

mod support;
use support::client_for;

const HOST: &str = "2533274792693551";
const GUEST: &str = "2814679796296491";
const SCID: &str = "00000000-0000-0000-0000-00007a970ea1";
const GUARD: Duration = Duration::from_secs(10);

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

    // The host's RTA connection drops: the client reconnects and `connection` is written again (or, when the
    // emulator's timers removed the inactive host and deleted the empty session first, the session is created
    // again).
    assert_eq!(emulator.rta().disconnect_user(xuid(HOST).get()), 1);
    next_matching(&mut hosted, |e| {
        matches!(e, HostEvent::Reconnected | HostEvent::Recreated { .. })
    })
    .await;
    let mut errors = Vec::new();
    settled(&mut hosted, &mut errors).await;
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

/// A host token provider whose token can be made to expire: while expired, the current token is one the
/// emulator refuses (401), until the client asks for a refresh.
struct ExpiringToken {
    expired: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refreshes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ExpiringToken {
    fn provider(&self) -> impl xbl_mpsd_ext::TokenProvider + 'static {
        use std::sync::atomic::Ordering;
        let (expired, refreshes) = (self.expired.clone(), self.refreshes.clone());
        xbl_mpsd_ext::FnTokenProvider::new(move |request: xbl_mpsd_ext::TokenRequest| {
            let (expired, refreshes) = (expired.clone(), refreshes.clone());
            async move {
                let token = match request {
                    xbl_mpsd_ext::TokenRequest::Refresh { .. } => {
                        refreshes.fetch_add(1, Ordering::SeqCst);
                        expired.store(false, Ordering::SeqCst);
                        HOST
                    }
                    _ if expired.load(Ordering::SeqCst) => "expired-token",
                    _ => HOST,
                };
                Ok(XblToken::new("-", token)?)
            }
        })
    }
}

/// Waits until the hosted session's latest session has the host, active (errors in between are reported
/// and tolerated: recovering from them is what is being tested).
async fn settled(hosted: &mut HostedSession, errors: &mut Vec<String>) {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let healthy = hosted.session().is_some_and(|s| {
            s.member_status(xuid(HOST)) == Some(xbl_mpsd_ext::MemberStatus::Active)
        });
        if healthy {
            return;
        }
        let now = tokio::time::Instant::now();
        assert!(
            now < deadline,
            "the hosted session did not recover: {errors:?}"
        );
        if let Ok(Some(event)) = tokio::time::timeout(deadline - now, hosted.next_event()).await
            && let HostEvent::Error(error) = event
        {
            errors.push(error.to_string());
        }
    }
}

/// The next event `wanted` accepts, tolerating errors (recorded).
async fn next_tolerant(
    hosted: &mut HostedSession,
    errors: &mut Vec<String>,
    wanted: impl Fn(&HostEvent) -> bool,
) -> HostEvent {
    loop {
        let event = tokio::time::timeout(GUARD, hosted.next_event())
            .await
            .unwrap_or_else(|_| panic!("no expected event in time; errors: {errors:?}"))
            .expect("the hosted session is running");
        if wanted(&event) {
            return event;
        }
        if let HostEvent::Error(error) = event {
            errors.push(error.to_string());
        }
    }
}

#[tokio::test]
async fn a_hosted_session_survives_a_simulated_day_of_timers_drops_refreshes_and_deletion() {
    use std::sync::atomic::Ordering;
    let clock = xbl_mpsd_emulator::Clock::manual();
    let emulator = Emulator::start(xbl_mpsd_emulator::EmulatorConfig {
        clock: clock.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = ExpiringToken {
        expired: Default::default(),
        refreshes: Default::default(),
    };
    let host = MpsdClient::builder()
        .base_url(emulator.base_url())
        .token_provider(token.provider())
        .build()
        .unwrap();
    let guest = client_for(&emulator, GUEST);
    const FRIEND: &str = "2535405290989091";
    let reference = lobby("a-day");
    let mut hosted = host
        .host(reference.clone(), xuid(HOST))
        .create_with(
            SessionDelta::new()
                .visibility(Visibility::OPEN)
                .max_members(8),
        )
        .check_every(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let mut errors = Vec::new();
    let mut recreated = 0;

    for hour in 0..24u32 {
        match hour {
            // A friend joins through the activity handle.
            1 => {
                guest
                    .write(hosted.handles()[0], SessionDelta::new().join(xuid(GUEST)))
                    .send()
                    .await
                    .unwrap();
                next_tolerant(&mut hosted, &mut errors, |e| {
                    matches!(e, HostEvent::Changed { changes, .. }
                        if changes.contains(&SessionChange::MemberJoined { xuid: xuid(GUEST) }))
                })
                .await;
            }
            // The host reserves a slot for another friend who never comes: the reservation times out
            // (reservedRemovalTimeout, 30 s by default) and the member is gone.
            3 => {
                hosted
                    .update(SessionDelta::new().reserve(xuid(FRIEND)))
                    .await
                    .unwrap();
                clock.advance(Duration::from_secs(31));
                next_tolerant(&mut hosted, &mut errors, |e| {
                    matches!(e, HostEvent::Changed { changes, .. }
                        if changes.contains(&SessionChange::MemberLeft { xuid: xuid(FRIEND) }))
                })
                .await;
            }
            // The friend goes inactive and is removed (inactiveRemovalTimeout 0).
            5 => {
                guest
                    .write(&reference, SessionDelta::new().active(false))
                    .send()
                    .await
                    .unwrap();
                next_tolerant(&mut hosted, &mut errors, |e| {
                    matches!(e, HostEvent::Changed { changes, .. }
                        if changes.contains(&SessionChange::MemberLeft { xuid: xuid(GUEST) }))
                })
                .await;
            }
            // The host's token expires: the hosted session's next read is refused (401); the client asks for
            // a new token, repeats the read, and the session goes on (writes are not repeated after a 401, so
            // the update below runs with the new token).
            8 => {
                token.expired.store(true, Ordering::SeqCst);
                let before = hosted.session().and_then(|s| s.change_number());
                guest
                    .write(&reference, SessionDelta::new().join(xuid(GUEST)))
                    .send()
                    .await
                    .unwrap();
                next_tolerant(&mut hosted, &mut errors, |e| {
                    matches!(e, HostEvent::Changed { session, .. } if session.change_number() > before)
                })
                .await;
                assert_eq!(token.refreshes.load(Ordering::SeqCst), 1);
                hosted
                    .update(SessionDelta::new().set_custom("hour", &8).unwrap())
                    .await
                    .unwrap();
                guest
                    .write(&reference, SessionDelta::new().leave())
                    .send()
                    .await
                    .unwrap();
            }
            // The host's RTA connection drops: it is inactive, and may be removed (and the empty session
            // deleted) before the client reconnects; either way the session comes back with the host.
            12 => {
                assert_eq!(emulator.rta().disconnect_user(xuid(HOST).get()), 1);
                if let HostEvent::Recreated { .. } = next_tolerant(&mut hosted, &mut errors, |e| {
                    matches!(
                        e,
                        HostEvent::Reconnected
                            | HostEvent::Recreated { .. }
                            | HostEvent::HostRenewed
                    )
                })
                .await
                {
                    recreated += 1;
                }
            }
            // The session is deleted behind the host's back: created again, with a new activity handle.
            18 => {
                let other = client_for(&emulator, HOST);
                other
                    .write(&reference, SessionDelta::new().leave())
                    .send()
                    .await
                    .unwrap();
                next_tolerant(&mut hosted, &mut errors, |e| {
                    matches!(e, HostEvent::Recreated { .. })
                })
                .await;
                recreated += 1;
            }
            _ => {}
        }
        clock.advance(Duration::from_secs(3600));
        settled(&mut hosted, &mut errors).await;
    }

    // A day later: the session is there, the host active, one activity handle (none leaked).
    let session = host.get_session(&reference).send().await.unwrap().unwrap();
    assert_eq!(
        session.member_status(xuid(HOST)),
        Some(xbl_mpsd_ext::MemberStatus::Active)
    );
    assert!(recreated >= 1);
    assert_eq!(hosted.handles().len(), 1);
    assert_eq!(
        activity_handles(&host).await,
        1,
        "no handle leaked; errors seen: {errors:?}"
    );
    hosted.close().await.unwrap();
    assert_eq!(host.get_session(&reference).send().await.unwrap(), None);
    assert_eq!(activity_handles(&host).await, 0);
    emulator.shutdown().await;
}
