//! A hosted, friend-joinable lobby kept alive by the SDK: the host publishes it (session, activity handle,
//! RTA subscription), a friend finds the activity and joins, the host sees the join as a typed change, and
//! closes the lobby (leaves, deletes its handles).
//!
//! Run: `cargo run -p xbl-mpsd-ext --features rta --example host_session` (against an embedded emulator; see
//! `examples/common/mod.rs` for the real service).

mod common;

use std::time::Duration;

use xbl_mpsd_ext::hosted::HostEvent;
use xbl_mpsd_ext::types::{Restriction, Visibility};
use xbl_mpsd_ext::{SessionChange, SessionDelta, handles};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let (host, guest) = (&world.host, &world.guest);

    // The host's lobby: open to followers, 8 players, kept alive until closed.
    let mut lobby = host
        .client
        .host(world.new_session("lobby")?, host.xuid)
        .create_with(
            SessionDelta::new()
                .visibility(Visibility::OPEN)
                .max_members(8)
                .join_restriction(Restriction::FOLLOWED)
                .set_custom("world", "survival")?,
        )
        .start()
        .await?;
    println!("host: lobby published, handles {:?}", lobby.handles());

    // A friend finds the host's activity and joins through its handle.
    let query = handles::activities_query(&world.scid, &[host.xuid]);
    let activity = guest.client.query_handles(query).send().await?;
    let handle = activity.first().and_then(|a| a.id()).ok_or("no activity")?;
    guest
        .client
        .write(handle, SessionDelta::new().join(guest.xuid))
        .send()
        .await?;
    println!("guest: joined through activity {handle}");

    // The host sees the join as a typed change.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), lobby.next_event()).await? {
            Some(HostEvent::Changed { changes, .. }) => {
                println!("host: {changes:?}");
                if changes.contains(&SessionChange::MemberJoined { xuid: guest.xuid }) {
                    break;
                }
            }
            Some(HostEvent::Error(error)) => return Err(error.into()),
            Some(other) => println!("host: {other}"),
            None => return Err("the lobby stopped".into()),
        }
    }
    lobby.close().await?;
    println!("host: lobby closed");
    world.stop().await;
    Ok(())
}
