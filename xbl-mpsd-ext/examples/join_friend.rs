//! Find a friend's joinable session with a session query, and join it.
//!
//! The friend (the host) plays in an open lobby and a `visible` spectator session; the player (the guest) asks
//! MPSD for the open sessions the friend is active in (`GET …/sessions?xuid=…&visibility=open`; with several
//! friends the same call is one batch POST), picks one with a seat left and no join restriction, and joins it
//! by its session reference. A session with a join restriction (`followed`, `local`) is joined through the
//! friend's activity handle instead (see the `activity_join` example).
//!
//! `cargo run -p xbl-mpsd-ext --example join_friend`

mod common;

use xbl_mpsd_ext::types::{Visibility, VisibilityKind};
use xbl_mpsd_ext::{SessionDelta, WriteMode};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let (friend, player) = (&world.host, &world.guest);
    let lobby = world.new_session("lobby")?;
    let spectators = world.new_session("spectators")?;

    let open = SessionDelta::new()
        .join(friend.xuid)
        .visibility(Visibility::OPEN)
        .max_members(4)
        .keywords(["coop"]);
    friend
        .client
        .write(&lobby, open)
        .mode(WriteMode::CreateNew)
        .send()
        .await?;
    let watch_only = SessionDelta::new()
        .join(friend.xuid)
        .visibility(Visibility::VISIBLE);
    friend
        .client
        .write(&spectators, watch_only)
        .mode(WriteMode::CreateNew)
        .send()
        .await?;
    println!("{} plays in {lobby} and {spectators}", friend.xuid);

    // The player asks where the friend is playing, open sessions only.
    let found = player
        .client
        .query_sessions(world.scid.clone())
        .xuid(friend.xuid)
        .visibility(Visibility::OPEN)
        .send()
        .await?;
    for session in &found {
        println!(
            "found {}: {:?}, {} accepted, keywords {:?}",
            session.session_ref(),
            session.visibility(),
            session.accepted().unwrap_or(0),
            session.keywords()
        );
    }
    let joinable = found
        .iter()
        .find(|s| s.visibility() == Some(VisibilityKind::Open) && s.join_restriction().is_none())
        .ok_or("the friend is in no joinable session")?;
    if !joinable.session_ref().matches_ignore_case(&lobby) {
        return Err(format!("expected the lobby, found {}", joinable.session_ref()).into());
    }

    // Join by reference; `UpdateExisting` (If-Match: *) never creates a session that ended meanwhile.
    let joined = player
        .client
        .write(
            joinable.session_ref(),
            SessionDelta::new().join(player.xuid),
        )
        .mode(WriteMode::UpdateExisting)
        .send()
        .await?;
    let members = joined
        .session()
        .map(|s| s.member_xuids())
        .unwrap_or_default();
    println!("joined {}: members {members:?}", joinable.session_ref());
    if members.len() != 2 {
        return Err("both players should be members".into());
    }

    for (who, session) in [(player, &lobby), (friend, &lobby), (friend, &spectators)] {
        who.client
            .write(session, SessionDelta::new().leave())
            .send()
            .await?;
    }
    world.stop().await;
    Ok(())
}
