//! Session and member custom properties, written and read as the title's own types (serde), and deleted.
//!
//! `cargo run -p xbl-mpsd-ext --example custom_properties`

mod common;

use serde::{Deserialize, Serialize};
use xbl_mpsd_ext::{SessionDelta, WriteMode};

/// The lobby's settings, as the title models them.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Settings {
    map: String,
    rounds: u8,
    friendly_fire: bool,
}

/// What each member publishes about themselves.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Loadout {
    class: String,
    skill: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = common::World::start().await?;
    let (host, guest) = (&world.host, &world.guest);
    let session = world.new_session("custom")?;

    let settings = Settings {
        map: "lava".into(),
        rounds: 3,
        friendly_fire: false,
    };
    let create = SessionDelta::new()
        .join(host.xuid)
        .set_custom("settings", &settings)?
        .set_custom("motd", "welcome")?
        .member_custom(
            "loadout",
            &Loadout {
                class: "medic".into(),
                skill: 1500,
            },
        )?;
    host.client
        .write(&session, create)
        .mode(WriteMode::CreateNew)
        .send()
        .await?;
    let joined = guest
        .client
        .write(
            &session,
            SessionDelta::new().join(guest.xuid).member_custom(
                "loadout",
                &Loadout {
                    class: "scout".into(),
                    skill: 900,
                },
            )?,
        )
        .send()
        .await?;
    let now = joined.session().ok_or("the session is gone")?;

    let read: Settings = now.custom_property("settings")?.ok_or("no settings")?;
    println!("settings: {read:?}");
    for xuid in now.member_xuids() {
        let loadout: Option<Loadout> = now.member_custom_property(xuid, "loadout")?;
        println!("member {xuid}: {loadout:?}");
    }
    if read != settings {
        return Err("the settings did not come back as written".into());
    }

    // A property of the wrong type is an error, not a silent default.
    match now.custom_property::<u32>("motd") {
        Err(e) => println!("reading motd as a number: {e}"),
        Ok(v) => return Err(format!("motd read as a number: {v:?}").into()),
    }

    // Delete one property; the others stay.
    let after = host
        .client
        .write(&session, SessionDelta::new().delete_custom("motd"))
        .send()
        .await?;
    let after = after.session().ok_or("the session is gone")?;
    println!(
        "after delete: motd {:?}, settings kept: {}",
        after.custom_property::<String>("motd")?,
        after.custom_property::<Settings>("settings")?.is_some()
    );

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
