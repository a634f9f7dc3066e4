//! A shoulder tap arriving when the other player writes: the host watches its session over RTA, a guest
//! joins and changes a property, and the host sees each change and reads the fresh session.
//!
//! Run: `cargo run -p xbl-mpsd-ext --features rta --example watch_session` (against an embedded emulator).

use std::time::Duration;

use futures::StreamExt;
use xbl_mpsd_ext::rta::{ChangeTypes, SessionSubscriptions, WatchEvent};
use xbl_mpsd_ext::{MpsdClient, SessionDelta, SessionReference, XblToken};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
    let client = |xuid: &str| -> Result<MpsdClient, Box<dyn std::error::Error>> {
        Ok(MpsdClient::builder()
            .base_url(emulator.base_url())
            .token(XblToken::new("-", xuid)?)
            .build()?)
    };
    let (host, guest) = (client("2814679796296491")?, client("2533274792693551")?);
    let session: SessionReference =
        "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/watch-example".parse()?;
    host.write(
        &session,
        SessionDelta::new().join("2814679796296491".parse()?),
    )
    .send()
    .await?;

    // The host's RTA connection (same token, the emulator's /connect) and its session subscription.
    let subscriptions = SessionSubscriptions::start(&host, host.rta().build()?).await?;
    println!("host: ConnectionId {:?}", subscriptions.connection_id());
    let mut watch = subscriptions
        .watch(&session, ChangeTypes::EVERYTHING)
        .await?;
    println!(
        "host: watching {session} (subscription {})",
        watch.subscription_id()
    );

    // The other player joins ...
    let joined = guest
        .write(
            &session,
            SessionDelta::new().join("2533274792693551".parse()?),
        )
        .send()
        .await?;
    println!(
        "guest: joined, changeNumber {:?}",
        joined.session().and_then(|s| s.change_number())
    );
    match tokio::time::timeout(Duration::from_secs(5), watch.next()).await? {
        Some(WatchEvent::Tap(tap)) => println!("host: tap {}", serde_json::to_string(&tap)?),
        other => return Err(format!("expected a tap, got {other:?}").into()),
    }

    // ... and writes a property; the host reads the session the tap announces.
    let delta = xbl_mpsd_ext::SessionDelta::new().set_custom("map", "lava")?;
    guest.write(&session, delta).send().await?;
    let fresh = tokio::time::timeout(Duration::from_secs(5), watch.next_session())
        .await?
        .ok_or("the watch ended")??;
    println!(
        "host: fresh session, changeNumber {:?}, members {:?}, custom {}",
        fresh.document.change_number,
        fresh.member_xuids(),
        serde_json::to_value(&fresh.document)?["properties"]["custom"]
    );
    Ok(())
}
