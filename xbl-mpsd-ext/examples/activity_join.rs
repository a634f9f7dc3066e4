//! A player publishes their activity; a friend finds it with an activity query and joins from it.
//!
//! `cargo run -p xbl-mpsd-ext --example activity_join`

mod common;

use xbl_mpsd_ext::types::Visibility;
use xbl_mpsd_ext::{Activation, SessionDelta};
use xbl_mpsd_ext::{ActivationKind, Include, WriteMode, handles};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let (host, guest) = (&world.host, &world.guest);
    let session = world.new_session("activity")?;

    let create = SessionDelta::new()
        .join(host.xuid)
        .visibility(Visibility::OPEN);
    host.client
        .write(&session, create)
        .mode(WriteMode::CreateNew)
        .send()
        .await?;
    host.client
        .create_handle(handles::activity_request(&session))
        .send()
        .await?;
    println!("{} published an activity in {session}", host.xuid);

    // The friend looks for the host's activities in this title.
    let found = guest
        .client
        .query_handles(handles::activities_query(&world.scid, &[host.xuid]))
        .include(Include::RelatedInfo)
        .send()
        .await?;
    let activity = found
        .iter()
        .find(|h| {
            h.session_ref
                .as_ref()
                .is_some_and(|r| r.matches_ignore_case(&session))
        })
        .ok_or("the host's activity was not found")?;
    let handle = activity.id().ok_or("no handle id")?;
    let related = activity.related_info.as_ref();
    println!(
        "found activity {handle}: {} of {} members, visibility {}",
        related.and_then(|r| r.members_count.as_ref()).unwrap_or(&0),
        related
            .and_then(|r| r.max_members_count.as_ref())
            .unwrap_or(&0),
        related
            .and_then(|r| r.visibility.as_ref())
            .map_or("?".into(), ToString::to_string),
    );

    // "Join game": the shell activates the title with this URI.
    let activation = Activation {
        title_id: Some(world.title_id),
        kind: ActivationKind::ActivityHandleJoin {
            handle,
            joiner: guest.xuid,
            joinee: Some(host.xuid),
        },
    };
    let joined = guest.client.join_from_activation(&activation).await?;
    let members = joined
        .session()
        .map(|s| s.member_xuids())
        .unwrap_or_default();
    println!("joined: members {members:?}");
    if members.len() != 2 {
        return Err("both players should be members".into());
    }

    guest
        .client
        .write(&session, SessionDelta::new().leave())
        .send()
        .await?;
    host.client.delete_handle(handle).send().await?;
    host.client
        .write(&session, SessionDelta::new().leave())
        .send()
        .await?;
    world.stop().await;
    Ok(())
}
