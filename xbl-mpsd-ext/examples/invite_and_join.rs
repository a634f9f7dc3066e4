//! The host creates a session and invites a friend; the friend accepts and joins through the invite handle.
//!
//! `cargo run -p xbl-mpsd-ext --example invite_and_join` (an embedded emulator; see `common/mod.rs` for the
//! variables that point it at the real service).

mod common;

use xbl_mpsd_ext::types::{InviteProtocol, Visibility};
use xbl_mpsd_ext::{Activation, SessionDelta, WriteMode, WriteOutcome, handles};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let (host, guest) = (&world.host, &world.guest);
    let session = world.new_session("invite")?;

    // 1. The host creates an open session with itself as the first member.
    let create = SessionDelta::new()
        .join(host.xuid)
        .max_members(4)
        .visibility(Visibility::OPEN)
        .invite_protocol(InviteProtocol::GAME);
    let created = host
        .client
        .write(&session, create)
        .mode(WriteMode::CreateNew)
        .send()
        .await?;
    println!(
        "created {session}: {:?}",
        created.session().map(|s| s.member_xuids())
    );

    // 2. The host invites the guest; the service answers the invite handle.
    let invite = handles::invite_request(&session, guest.xuid, world.title_id, Some("level=3"));
    let handle = host
        .client
        .create_handle(invite)
        .send()
        .await?
        .id()
        .ok_or("the service answered no invite handle id")?;
    println!("invite handle {handle}");

    // 3. The guest accepts: the title is activated with this URI and joins through the handle.
    let activation: Activation = format!(
        "ms-xbl-multiplayer://inviteHandleAccept?handle={handle}&invitedXuid={}&senderXuid={}&context=level%3D3",
        guest.xuid, host.xuid
    )
    .parse()?;
    if let xbl_mpsd_ext::ActivationKind::InviteHandleAccept { context, .. } = &activation.kind {
        println!("the invite's context: {context:?}");
    }
    let joined = guest.client.join_from_activation(&activation).await?;
    let WriteOutcome::Updated(joined) = joined else {
        return Err(format!("the join answered {joined:?}").into());
    };
    let members = joined.member_xuids();
    println!("joined {:?}: members {members:?}", joined.reference());
    if members != [host.xuid, guest.xuid] {
        return Err("both players should be members".into());
    }

    // 4. Both leave; the last one out deletes the session.
    guest
        .client
        .write(&session, xbl_mpsd_ext::SessionDelta::new().leave())
        .send()
        .await?;
    let last = host
        .client
        .write(&session, xbl_mpsd_ext::SessionDelta::new().leave())
        .send()
        .await?;
    println!(
        "after both left: {}",
        if last.session().is_none() {
            "session deleted"
        } else {
            "session kept"
        }
    );
    world.stop().await;
    Ok(())
}
