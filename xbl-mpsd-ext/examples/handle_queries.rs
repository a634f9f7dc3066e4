//! Handles of every kind: activity, invite, search and transfer, then queries over activities and search
//! handles, reading, and deleting.
//!
//! `cargo run -p xbl-mpsd-ext --example handle_queries`

mod common;

use xbl_mpsd_ext::types::{HandleTypeKind, SearchAttributes, Visibility};
use xbl_mpsd_ext::{Include, SessionDelta, WriteMode, handles};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let host = &world.host;
    let lobby = world.new_session("lobby")?;
    let game = world.new_session("game")?;
    for session in [&lobby, &game] {
        // Search handles need the `searchable` capability; `merge_json` sets what no method names.
        let create = SessionDelta::new().join(host.xuid)
            .visibility(Visibility::OPEN)
            .merge_json(serde_json::json!({"constants": {"system": {"capabilities": {"searchable": true}}}}))?;
        host.client
            .write(session, create)
            .mode(WriteMode::CreateNew)
            .send()
            .await?;
    }

    let mut created = Vec::new();
    let mut attributes = SearchAttributes::default();
    attributes.tags = vec!["casual".to_owned()].into();
    attributes
        .strings
        .get_or_insert_with(Default::default)
        .insert("map".to_owned(), "lava".to_owned());
    for request in [
        handles::activity_request(&lobby),
        handles::invite_request(&lobby, world.guest.xuid, world.title_id, None),
        handles::search_request(&lobby, attributes),
        handles::transfer_request(&game, &lobby),
    ] {
        let document = host
            .client
            .create_handle(request)
            .send()
            .await?
            .document
            .ok_or("no handle document")?;
        let id = document.id().ok_or("no handle id")?;
        println!("created a {} handle {id}", document.type_);
        created.push((document.type_.kind(), id));
    }

    // Activities of the host in this title, with the session's joinability.
    let activities = host
        .client
        .query_handles(handles::activities_query(&world.scid, &[host.xuid]))
        .include(Include::RelatedInfo)
        .send()
        .await?;
    println!("{} activity handle(s)", activities.len());

    // Search handles of the lobby template (the real service also takes an OData filter such as
    // `strings/map eq 'lava'`).
    let found = host
        .client
        .query_handles(handles::search_query(
            &world.scid,
            &lobby.template_name,
            None,
        ))
        .include(Include::CustomProperties)
        .send()
        .await?;
    println!("{} search handle(s) of the lobby template", found.len());

    for (kind, id) in &created {
        let document = host.client.get_handle(*id).send().await?;
        match document.type_.kind() {
            HandleTypeKind::Invite => println!("invite {id} for {:?}", document.invited_xuid),
            HandleTypeKind::Transfer => {
                println!("transfer {id} from {:?}", document.origin_session_ref)
            }
            other => println!("{other:?} handle {id}"),
        }
        if *kind != HandleTypeKind::Invite {
            host.client.delete_handle(*id).send().await?;
        }
    }

    for session in [&lobby, &game] {
        host.client
            .write(session, SessionDelta::new().leave())
            .send()
            .await?;
    }
    world.stop().await;
    Ok(())
}
