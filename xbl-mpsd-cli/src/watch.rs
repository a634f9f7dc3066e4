//! `xbl-mpsd watch`: session-change taps and game invites over Real-Time Activity, one JSON line each.

use std::io::Write as _;

use clap::Args;
use futures::StreamExt;
use xbl_mpsd_ext::rta::{ChangeTypes, RtaClient, SessionSubscriptions, WatchEvent, rta_url_for};
use xbl_mpsd_ext::{HandleId, MpsdClient, SessionReference, SessionTarget, TitleId, Xuid};

use crate::context::Global;
use crate::error::{CliError, chain};

/// Options of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The session to watch: a session path (`/serviceconfigs/{scid}/sessionTemplates/{t}/sessions/{n}`) or a
    /// handle ID. Watching writes `members.me` (connection and subscription), as MPSD only taps members
    #[arg(required_unless_present = "invites", conflicts_with = "invites")]
    target: Option<String>,
    /// The change types to be tapped for, comma-separated (everything, host, initialization,
    /// matchmakingStatus, membersList, membersStatus, joinability, customProperty, membersCustomProperty)
    #[arg(long, default_value = "everything")]
    changes: String,
    /// Print the session after each tap (one GET per burst of taps) instead of the tap
    #[arg(long, conflicts_with = "invites")]
    fetch: bool,
    /// Print game-invite notifications instead of session taps
    #[arg(long)]
    invites: bool,
    /// The invited user's XUID for --invites (default: the token, when it is a XUID as with the emulator)
    #[arg(long)]
    xuid: Option<String>,
    /// The title ID of --invites notifications (decimal)
    #[arg(long, default_value = "1234")]
    title_id: u32,
    /// The RTA websocket URL (default: wss://rta.xboxlive.com/connect for the public service, else
    /// `ws(s)://<endpoint host>/connect`)
    #[arg(long, env = "XBL_MPSD_RTA_ENDPOINT")]
    rta_endpoint: Option<String>,
    /// Stop after this many lines (default: until Ctrl-C)
    #[arg(long)]
    count: Option<u64>,
}

/// Runs `watch`.
pub async fn run(args: &WatchArgs, global: &Global) -> Result<(), CliError> {
    let client = global.client()?;
    let url = args
        .rta_endpoint
        .clone()
        .unwrap_or_else(|| rta_url_for(client.base_url()));
    let rta = client.rta().url(url).build().map_err(CliError::usage)?;
    let lines = async {
        if args.invites {
            invites(args, global, &rta).await
        } else {
            taps(args, &client, rta.clone()).await
        }
    };
    tokio::select! {
        result = lines => result,
        () = xbl_mpsd_emulator::shutdown_signal() => Ok(()),
    }
}

/// Prints one JSON value on a line of stdout, flushed at once.
fn print_line(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string(value).map_err(|e| CliError::Failed(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("stdout: {e}")))
}

async fn taps(args: &WatchArgs, client: &MpsdClient, rta: RtaClient) -> Result<(), CliError> {
    let changes: ChangeTypes = args.changes.parse().map_err(CliError::usage)?;
    let text = args.target.as_deref().unwrap_or_default();
    let target = if let Ok(handle) = text.parse::<HandleId>() {
        SessionTarget::Handle(handle)
    } else {
        let reference: SessionReference = text.parse().map_err(|e| {
            CliError::Usage(format!(
                "{text:?} is neither a handle ID nor a session path: {e}"
            ))
        })?;
        SessionTarget::Reference(reference)
    };
    let failed = |e: &dyn std::error::Error| CliError::Failed(chain(e));
    let subscriptions = SessionSubscriptions::start(client, rta)
        .await
        .map_err(|e| failed(&e))?;
    let mut watch = subscriptions
        .watch(target, changes)
        .await
        .map_err(|e| failed(&e))?;
    eprintln!(
        "watching {} (ConnectionId {}, subscription {})",
        watch.reference(),
        subscriptions
            .connection_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        watch.subscription_id()
    );
    let mut printed = 0;
    while args.count.is_none_or(|count| printed < count) {
        if args.fetch {
            match watch.next_session().await {
                Some(Ok(session)) => print_line(&session.document)?,
                Some(Err(error)) => return Err(failed(&error)),
                None => return Err(CliError::Failed("the RTA subscription ended".to_owned())),
            }
        } else {
            match watch.next().await {
                Some(WatchEvent::Tap(tap)) => print_line(&tap)?,
                Some(WatchEvent::Resync) => {
                    print_line(&serde_json::json!({"resync": true}))?;
                }
                Some(WatchEvent::Reconnected { connection_id }) => {
                    eprintln!("reconnected; ConnectionId {connection_id} written");
                    continue;
                }
                Some(WatchEvent::RewriteFailed { message }) => {
                    eprintln!("reconnected, but writing the new ConnectionId failed: {message}");
                    continue;
                }
                Some(_) => continue,
                None => return Err(CliError::Failed("the RTA subscription ended".to_owned())),
            }
        }
        printed += 1;
    }
    Ok(())
}

async fn invites(args: &WatchArgs, global: &Global, rta: &RtaClient) -> Result<(), CliError> {
    let xuid_text = args
        .xuid
        .clone()
        .or_else(|| global.token_text().map(str::to_owned))
        .ok_or_else(|| CliError::Usage("--invites needs --xuid (the invited user)".to_owned()))?;
    let xuid: Xuid = xuid_text
        .parse()
        .map_err(|e| CliError::Usage(format!("--xuid: {e}")))?;
    let mut invites = rta
        .invites(xuid, TitleId::new(args.title_id))
        .await
        .map_err(|e| CliError::Failed(chain(&e)))?;
    eprintln!("waiting for invites to {xuid}");
    let mut printed = 0;
    while args.count.is_none_or(|count| printed < count) {
        let Some(invite) = invites.next().await else {
            return Err(CliError::Failed("the RTA subscription ended".to_owned()));
        };
        print_line(&invite)?;
        printed += 1;
    }
    Ok(())
}
