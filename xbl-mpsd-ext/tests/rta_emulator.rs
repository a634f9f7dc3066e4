//! RTA end to end against the emulator on 127.0.0.1: taps for other members' writes, change-type filtering,
//! reconnect (re-subscribed, new ConnectionId written, no tap lost afterwards), invite → join, a dropped
//! connection making a member inactive; and the client's protocol handling against a scripted websocket peer
//! (unknown ids, throttling, refusals, the reconnect backoff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use xbl_mpsd_ext::retry::FixedJitter;
use xbl_mpsd_ext::rta::{
    ChangeTypes, ConnectionState, RtaClient, RtaError, RtaStatus, SessionSubscriptions,
    SessionWatch, SubscriptionEvent, WatchEvent,
};
use xbl_mpsd_ext::{
    FakeClock, MpsdClient, SessionDelta, SessionReference, StaticToken, TitleId, WriteOutcome,
    XblToken, handles,
};

mod support;
use support::client_for;

const HOST: &str = "2814679796296491";
const GUEST: &str = "2533274792693551";

fn xuid(text: &str) -> xbl_mpsd_ext::Xuid {
    text.parse().unwrap()
}
/// A generous guard for "the tap arrives" (the expectation is well under a second on loopback).
const GUARD: Duration = Duration::from_secs(10);

fn rta(mpsd: &MpsdClient) -> RtaClient {
    // No jitter: a reconnect after a drop happens at once (XSAPI's first retry waits 0 s + jitter).
    mpsd.rta().jitter(FixedJitter(0.0)).build().unwrap()
}

fn delta(value: Value) -> xbl_mpsd_ext::types::MultiplayerSessionRequest {
    serde_json::from_value(value).unwrap()
}

/// A session with `connectionRequiredForActiveMembers`, created by the host.
async fn session(host: &MpsdClient, name: &str) -> SessionReference {
    let reference: SessionReference =
        format!("/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/{name}")
            .parse()
            .unwrap();
    let body = json!({
        // Inactive members stay (the 107 default, 0, would remove a member whose socket drops at once).
        "constants": {"system": {"capabilities": {"connectionRequiredForActiveMembers": true},
                                 "inactiveRemovalTimeout": null}},
        "members": {"me": {"constants": {"system": {"xuid": HOST, "initialize": false}},
                           "properties": {"system": {"active": true}}}}
    });
    let outcome = host.write(&reference, delta(body)).send().await.unwrap();
    assert!(matches!(outcome, WriteOutcome::Created(_)), "{outcome:?}");
    reference
}

/// An emulator, the host's and the guest's clients, and a session `name` the host created and the guest joined.
async fn host_and_guest(name: &str) -> (RunningEmulator, MpsdClient, MpsdClient, SessionReference) {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (host, guest) = (client_for(&emulator, HOST), client_for(&emulator, GUEST));
    let reference = session(&host, name).await;
    guest
        .write(&reference, SessionDelta::new().join(GUEST.parse().unwrap()))
        .send()
        .await
        .unwrap();
    (emulator, host, guest, reference)
}

fn change_number(outcome: &WriteOutcome) -> u64 {
    outcome
        .session()
        .and_then(|s| s.change_number())
        .expect("a session with a changeNumber")
}

/// The next tap, skipping other events.
async fn next_tap(watch: &mut SessionWatch) -> xbl_mpsd_ext::rta::SessionTap {
    loop {
        match tokio::time::timeout(GUARD, watch.next())
            .await
            .expect("a tap in time")
        {
            Some(WatchEvent::Tap(tap)) => return tap,
            Some(_) => {}
            None => panic!("the watch ended"),
        }
    }
}

/// The first event of `kind` within the guard.
async fn next_matching(
    watch: &mut SessionWatch,
    wanted: impl Fn(&WatchEvent) -> bool,
) -> WatchEvent {
    loop {
        let event = tokio::time::timeout(GUARD, watch.next())
            .await
            .expect("an event in time")
            .expect("the watch is open");
        if wanted(&event) {
            return event;
        }
    }
}

/// The member `xuid`'s `properties.system` in `session`.
fn member_system(session: &xbl_mpsd_ext::Session, xuid: &str) -> Value {
    let doc = serde_json::to_value(&session.document).unwrap();
    doc["members"]
        .as_object()
        .unwrap()
        .values()
        .find(|m| m["constants"]["system"]["xuid"] == xuid)
        .map(|m| m["properties"]["system"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_watcher_is_tapped_for_another_members_write() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (host, guest) = (client_for(&emulator, HOST), client_for(&emulator, GUEST));
    let reference = session(&host, "tapped").await;
    let subscriptions = SessionSubscriptions::start(&host, rta(&host))
        .await
        .unwrap();
    let mut watch = subscriptions
        .watch(&reference, ChangeTypes::EVERYTHING)
        .await
        .unwrap();

    // The subscribing write stored connection and subscription.
    let written = watch.session().unwrap();
    let system = member_system(written, HOST);
    assert_eq!(
        system["connection"],
        json!(subscriptions.connection_id().unwrap())
    );
    assert_eq!(system["subscription"]["id"], json!(watch.subscription_id()));
    assert_eq!(system["subscription"]["changeTypes"], json!(["everything"]));

    let joined = guest
        .write(&reference, SessionDelta::new().join(GUEST.parse().unwrap()))
        .send()
        .await
        .unwrap();
    let tap = next_tap(&mut watch).await;
    assert_eq!(tap.change_number, change_number(&joined));
    assert!(tap.session.matches_ignore_case(&reference));
    assert_eq!(
        Some(tap.branch.to_string()),
        joined
            .session()
            .unwrap()
            .document
            .branch
            .as_ref()
            .map(ToString::to_string)
    );

    // The helper turns the tap into the fresh session (it already saw the tap, so the next change is needed).
    let custom = delta(json!({"properties": {"custom": {"map": "lava"}}}));
    let written = guest.write(&reference, custom).send().await.unwrap();
    let fresh = tokio::time::timeout(GUARD, watch.next_session())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        fresh.document.change_number,
        written.session().unwrap().document.change_number
    );
    assert_eq!(fresh.member_xuids(), [xuid(HOST), xuid(GUEST)]);

    // With what changed: the next tap's session against this one.
    guest
        .write(
            &reference,
            delta(json!({"properties": {"custom": {"map": "ice", "mode": "ctf"}}})),
        )
        .send()
        .await
        .unwrap();
    let update = tokio::time::timeout(GUARD, watch.next_update())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        update.changes,
        [xbl_mpsd_ext::SessionChange::CustomChanged {
            keys: vec!["map".into(), "mode".into()]
        }]
    );
    assert_eq!(
        update
            .session
            .custom_property::<String>("map")
            .unwrap()
            .as_deref(),
        Some("ice")
    );
}

#[tokio::test]
async fn taps_follow_the_subscribed_change_types() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (host, guest) = (client_for(&emulator, HOST), client_for(&emulator, GUEST));
    let reference = session(&host, "filtered").await;
    let subscriptions = SessionSubscriptions::start(&host, rta(&host))
        .await
        .unwrap();
    let mut watch = subscriptions
        .watch(&reference, ChangeTypes::CUSTOM_PROPERTY)
        .await
        .unwrap();

    // A join (membersList) and a member's own property (membersCustomProperty) do not tap ...
    guest
        .write(&reference, SessionDelta::new().join(GUEST.parse().unwrap()))
        .send()
        .await
        .unwrap();
    let member_custom = delta(json!({"members": {"me": {"properties": {"custom": {"ready": 1}}}}}));
    guest.write(&reference, member_custom).send().await.unwrap();
    // ... a session custom property does: the first tap is that write's.
    let custom = delta(json!({"properties": {"custom": {"mode": "ctf"}}}));
    let written = guest.write(&reference, custom).send().await.unwrap();
    let tap = next_tap(&mut watch).await;
    assert_eq!(tap.change_number, change_number(&written));
    assert_eq!(tap.change_types, ChangeTypes::CUSTOM_PROPERTY);
}

#[tokio::test]
async fn taps_continue_after_the_emulator_drops_the_socket() {
    let (emulator, host, guest, reference) = host_and_guest("reconnect").await;
    let subscriptions = SessionSubscriptions::start(&host, rta(&host))
        .await
        .unwrap();
    let mut watch = subscriptions
        .watch(&reference, ChangeTypes::EVERYTHING)
        .await
        .unwrap();
    let before = subscriptions.connection_id().unwrap();

    assert_eq!(emulator.rta().disconnect_all(), 1);
    let event = next_matching(&mut watch, |e| {
        matches!(
            e,
            WatchEvent::Reconnected { .. } | WatchEvent::RewriteFailed { .. }
        )
    })
    .await;
    let WatchEvent::Reconnected { connection_id } = event else {
        panic!("{event:?}");
    };
    assert_ne!(connection_id, before);
    assert_eq!(subscriptions.connection_id().as_ref(), Some(&connection_id));
    assert_eq!(subscriptions.rta().state(), ConnectionState::Connected);
    let stored = host.get_session(&reference).send().await.unwrap().unwrap();
    assert_eq!(
        member_system(&stored, HOST)["connection"],
        json!(connection_id)
    );
    assert_eq!(member_system(&stored, HOST)["active"], json!(true));

    // Every commit after the reconnect taps, in order.
    let mut expected = Vec::new();
    for round in 0..3 {
        let body = delta(json!({"properties": {"custom": {"round": round}}}));
        expected.push(change_number(
            &guest.write(&reference, body).send().await.unwrap(),
        ));
    }
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let tap = next_tap(&mut watch).await;
        if tap.change_number >= expected[0] {
            seen.push(tap.change_number);
        }
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_watch_ends_after_its_last_tap_when_the_client_closes() {
    let (_emulator, host, guest, reference) = host_and_guest("closing").await;
    let subscriptions = SessionSubscriptions::start(&host, rta(&host))
        .await
        .unwrap();
    let mut watch = subscriptions
        .watch(&reference, ChangeTypes::CUSTOM_PROPERTY)
        .await
        .unwrap();
    let body = delta(json!({"properties": {"custom": {"map": "lava"}}}));
    let number = change_number(&guest.write(&reference, body).send().await.unwrap());
    // The tap arrives (well under this on loopback), then the client closes: the tap and the end are queued
    // together.
    tokio::time::sleep(Duration::from_millis(300)).await;
    subscriptions.rta().close();
    tokio::time::timeout(GUARD, async {
        while subscriptions.connection_id().is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    // The tap turns into a read (which drains the end along with it), then the watch ends.
    let read = tokio::time::timeout(GUARD, watch.next_session())
        .await
        .unwrap();
    assert!(read.unwrap().unwrap().change_number() >= Some(number));
    let after = tokio::time::timeout(GUARD, watch.next_session()).await;
    assert!(matches!(after, Ok(None)), "the watch did not end");
}

#[tokio::test]
async fn the_connection_is_recycled_proactively_and_resyncs_reach_the_watch() {
    let (emulator, host, _guest, reference) = host_and_guest("recycled").await;
    // A short lifetime stands in for XSAPI's 90 minutes.
    let rta = host
        .rta()
        .jitter(FixedJitter(0.0))
        .recycle_after(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let subscriptions = SessionSubscriptions::start(&host, rta).await.unwrap();
    let mut watch = subscriptions
        .watch(&reference, ChangeTypes::EVERYTHING)
        .await
        .unwrap();
    let first = subscriptions.connection_id().unwrap();
    let event = next_matching(&mut watch, |e| matches!(e, WatchEvent::Reconnected { .. })).await;
    assert!(matches!(event, WatchEvent::Reconnected { connection_id } if connection_id != first));

    // Resyncs go to the sockets open at the time; retried in case one lands while the socket is recycled.
    tokio::time::timeout(GUARD, async {
        loop {
            emulator.rta().resync_all();
            let event = tokio::time::timeout(Duration::from_millis(200), watch.next()).await;
            if let Ok(Some(WatchEvent::Resync)) = event {
                break;
            }
        }
    })
    .await
    .unwrap();
    // A resync turns into a fresh read.
    let fresh = tokio::time::timeout(GUARD, async {
        loop {
            emulator.rta().resync_all();
            let read = tokio::time::timeout(Duration::from_millis(500), watch.next_session()).await;
            if let Ok(Some(result)) = read {
                break result.unwrap();
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(fresh.member_xuids(), [xuid(HOST), xuid(GUEST)]);
}

#[tokio::test]
async fn an_invite_notification_leads_to_a_join() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (host, guest) = (client_for(&emulator, HOST), client_for(&emulator, GUEST));
    let reference = session(&host, "invited").await;
    let guest_rta = rta(&guest);
    let mut invites = guest_rta
        .invites(GUEST.parse().unwrap(), TitleId::new(1234))
        .await
        .unwrap();
    // An invite for someone else is not delivered to the guest.
    let other = handles::invite_request(
        &reference,
        "2533274792699999".parse().unwrap(),
        TitleId::new(1234),
        None,
    );
    host.create_handle(other).send().await.unwrap();
    let request =
        handles::invite_request(&reference, GUEST.parse().unwrap(), TitleId::new(1234), None);
    let handle = host.create_handle(request).send().await.unwrap();

    let invite = tokio::time::timeout(GUARD, invites.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(invite.handle_id), handle.id());
    assert_eq!(invite.sender_xuid.to_string(), HOST);
    assert_eq!(invite.invited_xuid.to_string(), GUEST);
    assert!(
        invite
            .session
            .as_ref()
            .unwrap()
            .matches_ignore_case(&reference)
    );
    let joined = guest.join_from_invite(&invite).await.unwrap();
    assert_eq!(
        joined.session().unwrap().member_xuids(),
        [xuid(HOST), xuid(GUEST)]
    );
}

#[tokio::test]
async fn a_dropped_connection_makes_the_member_inactive_and_taps_the_others() {
    let (_emulator, host, guest, reference) = host_and_guest("dropped").await;
    let host_subs = SessionSubscriptions::start(&host, rta(&host))
        .await
        .unwrap();
    let mut host_watch = host_subs
        .watch(&reference, ChangeTypes::MEMBERS_STATUS)
        .await
        .unwrap();
    let guest_rta = rta(&guest);
    let guest_subs = SessionSubscriptions::start(&guest, guest_rta.clone())
        .await
        .unwrap();
    let guest_watch = guest_subs
        .watch(&reference, ChangeTypes::EVERYTHING)
        .await
        .unwrap();
    let before = change_number(&WriteOutcome::Updated(Box::new(
        guest_watch.session().unwrap().clone(),
    )));

    guest_rta.close();
    let tap = next_tap(&mut host_watch).await;
    assert!(tap.change_number > before);
    let fresh = host.get_session(&reference).send().await.unwrap().unwrap();
    assert_eq!(member_system(&fresh, GUEST)["active"], json!(false));
    assert_eq!(member_system(&fresh, HOST)["active"], json!(true));
    assert_eq!(fresh.change_number(), Some(tap.change_number));
}

// ---------------------------------------------------------------------------------------------------------
// The client against a scripted peer.

/// Accepts one websocket on `listener` (echoing the subprotocol) and returns it.
async fn accept(
    listener: &TcpListener,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let (stream, _) = listener.accept().await.unwrap();
    tokio_tungstenite::accept_hdr_async(stream, |request: &Request, mut response: Response| {
        assert_eq!(
            request.headers()["sec-websocket-protocol"],
            xbl_mpsd_ext::rta::SUBPROTOCOL
        );
        assert_eq!(request.headers()["authorization"], "XBL3.0 x=-;42");
        response.headers_mut().insert(
            "sec-websocket-protocol",
            xbl_mpsd_ext::rta::SUBPROTOCOL.parse().unwrap(),
        );
        Ok(response)
    })
    .await
    .unwrap()
}

async fn read_json(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
) -> Value {
    loop {
        match socket.next().await.unwrap().unwrap() {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            _ => continue,
        }
    }
}

fn scripted_client(url: String) -> RtaClient {
    RtaClient::builder()
        .url(url)
        .token_provider(StaticToken(XblToken::new("-", "42").unwrap()))
        .clock(Arc::new(FakeClock::default()))
        .jitter(FixedJitter(0.0))
        .recycle_after(None)
        .build()
        .unwrap()
}

#[tokio::test]
async fn unknown_ids_are_dropped_throttling_is_retried_and_refusals_are_typed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/connect", listener.local_addr().unwrap());
    let client = scripted_client(url);
    let peer = tokio::spawn(async move {
        let mut socket = accept(&listener).await;
        // First subscribe: throttled, then (on the retry) accepted.
        let request = read_json(&mut socket).await;
        assert_eq!(request[0], 1);
        assert_eq!(request[2], "https://example.test/a");
        let send = |v: Value| Message::Text(v.to_string().into());
        socket
            .send(send(json!([1, request[1], 1001, 0, null])))
            .await
            .unwrap();
        let retry = read_json(&mut socket).await;
        assert_eq!(retry[2], "https://example.test/a");
        socket
            .send(send(json!([1, retry[1], 0, 7, {"x": 1}])))
            .await
            .unwrap();
        // Events: an unknown id, garbage, then the real one.
        socket
            .send(send(json!([3, 99, {"wrong": true}])))
            .await
            .unwrap();
        socket.send(Message::Text("not json".into())).await.unwrap();
        socket
            .send(send(json!([3, 7, {"right": true}])))
            .await
            .unwrap();
        socket.send(Message::Text("[4]".into())).await.unwrap();
        // Second subscribe: refused.
        let refused = read_json(&mut socket).await;
        socket.send(send(json!([1, refused[1], 1]))).await.unwrap();
        // The first subscription is dropped: unsubscribe [2, seq, 7]; afterwards id 7 is silent.
        let unsubscribe = read_json(&mut socket).await;
        assert_eq!(
            (unsubscribe[0].clone(), unsubscribe[2].clone()),
            (json!(2), json!(7))
        );
        socket
            .send(send(json!([2, unsubscribe[1], 0])))
            .await
            .unwrap();
        socket
    });

    let mut subscription = client.subscribe("https://example.test/a").await.unwrap();
    assert_eq!(subscription.data(), &json!({"x": 1}));
    let event = tokio::time::timeout(GUARD, subscription.next())
        .await
        .unwrap();
    assert_eq!(
        event,
        Some(SubscriptionEvent::Event(json!({"right": true})))
    );
    let event = tokio::time::timeout(GUARD, subscription.next())
        .await
        .unwrap();
    assert_eq!(event, Some(SubscriptionEvent::Resync));
    match client.subscribe("https://example.test/b").await {
        Err(RtaError::Refused { status, .. }) => assert_eq!(status, RtaStatus::UnknownResource),
        other => panic!("{other:?}"),
    }
    drop(subscription);
    let _socket = tokio::time::timeout(GUARD, peer).await.unwrap().unwrap();
}

#[tokio::test]
async fn failed_connects_back_off_like_xsapi_and_report_disconnected() {
    // A port with nothing listening.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/connect", listener.local_addr().unwrap());
    drop(listener);
    let clock = Arc::new(FakeClock::default());
    let client = RtaClient::builder()
        .url(url)
        .token_provider(StaticToken(XblToken::new("-", "42").unwrap()))
        .clock(clock.clone())
        .jitter(FixedJitter(0.5))
        .subscribe_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut states = client.states();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.subscribe("https://example.test/a").await.map(|_| ()) }
    });
    tokio::time::timeout(
        GUARD,
        states.wait_for(|s| *s == ConnectionState::Disconnected),
    )
    .await
    .unwrap()
    .unwrap();
    // The 4th wait is recorded just after the state changes.
    tokio::time::timeout(GUARD, async {
        while clock.sleeps().len() < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    // Before the first connection there is no jitter: 1, 4, 9, 16 s after the 1st..4th failures.
    let sleeps: Vec<u64> = clock
        .sleeps()
        .iter()
        .take(4)
        .map(Duration::as_secs)
        .collect();
    assert_eq!(sleeps, [1, 4, 9, 16]);
    client.close();
    let result = tokio::time::timeout(GUARD, pending).await.unwrap().unwrap();
    assert!(
        matches!(
            result,
            Err(RtaError::Closed | RtaError::SubscribeTimedOut { .. })
        ),
        "{result:?}"
    );
}
