//! Two players change one shared custom property at once; a synchronized update keeps both changes, and a
//! change function that refuses aborts without writing.
//!
//! `cargo run -p xbl-mpsd-ext --example synchronized_update`

mod common;

use xbl_mpsd_ext::{Error, Session, SessionDelta, WriteMode};

/// Adds `player` to the session's `ready` list, unless the match already started. A change function
/// returns a future: it could await other work (a lookup, a lock) before answering.
async fn mark_ready(
    current: Option<Session>,
    player: &str,
) -> Result<SessionDelta, Box<dyn std::error::Error + Send + Sync>> {
    let session = current.ok_or("the session does not exist")?;
    if session.custom_property::<bool>("started")?.unwrap_or(false) {
        return Err("the match already started".into());
    }
    let mut ready: Vec<String> = session.custom_property("ready")?.unwrap_or_default();
    if !ready.iter().any(|p| p == player) {
        ready.push(player.to_owned());
    }
    Ok(SessionDelta::new().set_custom("ready", &ready)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let (host, guest) = (&world.host, &world.guest);
    let session = world.new_session("sync")?;
    host.client
        .write(&session, SessionDelta::new().join(host.xuid))
        .mode(WriteMode::CreateNew)
        .send()
        .await?;
    guest
        .client
        .write(&session, SessionDelta::new().join(guest.xuid))
        .send()
        .await?;

    // Both players mark themselves ready at the same time; neither write is lost.
    let (a, b) = tokio::join!(
        host.client
            .synchronized_update(&session, |s| mark_ready(s, "host"))
            .send(),
        guest
            .client
            .synchronized_update(&session, |s| mark_ready(s, "guest"))
            .send(),
    );
    let (a, b) = (a?, b?);
    // e.g. "host: updated (changeNumber 3) after 1 attempt, guest: updated (changeNumber 4) after 2 attempts"
    println!("host: {a}, guest: {b}");
    let now = host
        .client
        .get_session(&session)
        .send()
        .await?
        .ok_or("the session is gone")?;
    let mut ready: Vec<String> = now.custom_property("ready")?.unwrap_or_default();
    ready.sort();
    println!("ready: {ready:?}");
    if ready != ["guest", "host"] {
        return Err("a write was lost".into());
    }

    // Once the match started, the change function refuses, and nothing is written.
    host.client
        .write(&session, SessionDelta::new().set_custom("started", &true)?)
        .send()
        .await?;
    match guest
        .client
        .synchronized_update(&session, |s| mark_ready(s, "guest"))
        .send()
        .await
    {
        Err(Error::UpdateAborted(reason)) => println!("update aborted: {reason}"),
        other => return Err(format!("expected an aborted update, got {other:?}").into()),
    }

    guest
        .client
        .write(&session, SessionDelta::new().leave())
        .send()
        .await?;
    host.client
        .write(&session, SessionDelta::new().leave())
        .send()
        .await?;
    world.stop().await;
    Ok(())
}
