//! What every example needs: two signed-in players and a session name, on an embedded emulator by default
//! or on a real MPSD endpoint when `XBL_MPSD_ENDPOINT` is set.
//!
//! Against a real endpoint, set `XBL_MPSD_ENDPOINT`, `XBL_MPSD_SCID`, `XBL_MPSD_TITLE_ID` (decimal) and, for
//! each player, `XBL_MPSD_HOST_TOKEN` / `XBL_MPSD_GUEST_TOKEN` (`<user hash>;<XSTS token>`) and
//! `XBL_MPSD_HOST_XUID` / `XBL_MPSD_GUEST_XUID`.

#![allow(dead_code)]

use std::env;
use std::error::Error;

use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use xbl_mpsd_ext::{MpsdClient, Scid, SessionReference, TitleId, XblToken, Xuid};

/// A signed-in player.
pub struct Player {
    /// The player's XUID.
    pub xuid: Xuid,
    /// A client with the player's token.
    pub client: MpsdClient,
}

/// Where an example runs.
pub struct World {
    /// The host (creates sessions, invites).
    pub host: Player,
    /// The guest (joins).
    pub guest: Player,
    /// The title's service configuration id.
    pub scid: Scid,
    /// The title id.
    pub title_id: TitleId,
    /// The emulator, when the example runs on one (dropped last).
    pub emulator: Option<RunningEmulator>,
}

impl World {
    /// The embedded emulator, or the real service when `XBL_MPSD_ENDPOINT` is set.
    pub async fn start() -> Result<Self, Box<dyn Error>> {
        match env::var("XBL_MPSD_ENDPOINT") {
            Ok(endpoint) => Self::real(&endpoint),
            Err(_) => Self::emulated().await,
        }
    }

    async fn emulated() -> Result<Self, Box<dyn Error>> {
        let emulator = Emulator::start(EmulatorConfig::default()).await?;
        let player = |xuid: &str| -> Result<Player, Box<dyn Error>> {
            // The emulator's token is the caller's XUID.
            let client = MpsdClient::builder()
                .base_url(emulator.base_url())
                .token(XblToken::new("-", xuid)?)
                .build()?;
            Ok(Player {
                xuid: xuid.parse()?,
                client,
            })
        };
        Ok(Self {
            host: player("2533274792693551")?,
            guest: player("2814679796296491")?,
            scid: "00000000-0000-0000-0000-00007a970ea1".parse()?,
            title_id: TitleId::new(0x7a97_0ea1),
            emulator: Some(emulator),
        })
    }

    fn real(endpoint: &str) -> Result<Self, Box<dyn Error>> {
        let var = |name: &str| env::var(name).map_err(|_| format!("{name} is not set"));
        let player = |who: &str| -> Result<Player, Box<dyn Error>> {
            let token = var(&format!("XBL_MPSD_{who}_TOKEN"))?;
            let (user_hash, xsts) = token
                .split_once(';')
                .ok_or_else(|| format!("XBL_MPSD_{who}_TOKEN is not `<user hash>;<XSTS token>`"))?;
            let client = MpsdClient::builder()
                .base_url(endpoint)
                .token(XblToken::new(user_hash, xsts)?)
                .build()?;
            Ok(Player {
                xuid: var(&format!("XBL_MPSD_{who}_XUID"))?.parse()?,
                client,
            })
        };
        Ok(Self {
            host: player("HOST")?,
            guest: player("GUEST")?,
            scid: var("XBL_MPSD_SCID")?.parse()?,
            title_id: var("XBL_MPSD_TITLE_ID")?.parse()?,
            emulator: None,
        })
    }

    /// A fresh session of the `lobby` template (a new name each run).
    pub fn new_session(&self, what: &str) -> Result<SessionReference, Box<dyn Error>> {
        Ok(SessionReference::new(
            self.scid.clone(),
            "lobby".parse()?,
            format!("{what}-{}", uuid::Uuid::new_v4().simple()).parse()?,
        ))
    }

    /// Stops the emulator, if any.
    pub async fn stop(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}
