//! `xbl-mpsd host`: keeps a session published (the caller as its host, an activity handle, invite handles)
//! and prints one JSON line per event until Ctrl-C, then closes it (leaves, deletes its handles).

use std::io::Write as _;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use xbl_mpsd_ext::hosted::{HostEvent, HostedSession};
use xbl_mpsd_ext::rta::rta_url_for;
use xbl_mpsd_ext::types::{Restriction, Visibility};
use xbl_mpsd_ext::{Session, SessionDelta, SessionReference, TitleId, Xuid};

use crate::context::Global;
use crate::error::{CliError, chain};

/// Options of `host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// The session to host: `/serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}` (created
    /// when it does not exist)
    session: String,
    /// The host's XUID (default: the token, when it is a XUID as with the emulator)
    #[arg(long)]
    xuid: Option<String>,
    /// Who can see the session (a constant: taken when the session is created)
    #[arg(long, default_value = "open")]
    visibility: String,
    /// Who may join: none, local or followed
    #[arg(long, default_value = "followed")]
    join_restriction: String,
    /// The most members (a constant; 1–100, or up to 1000 for large sessions)
    #[arg(long)]
    max_members: Option<u16>,
    /// A keyword of the session (repeat for several)
    #[arg(long = "keyword")]
    keywords: Vec<String>,
    /// Invite this XUID (an invite handle; repeat for several)
    #[arg(long = "invite")]
    invites: Vec<String>,
    /// The title ID of the invites (decimal)
    #[arg(long, default_value = "1234")]
    title_id: u32,
    /// Do not publish an activity handle
    #[arg(long)]
    no_activity: bool,
    /// Seconds between re-reads when nothing else made one
    #[arg(long, default_value = "300")]
    check_every: u64,
    /// The RTA websocket URL (default: wss://rta.xboxlive.com/connect for the public service, else
    /// `ws(s)://<endpoint host>/connect`)
    #[arg(long, env = "XBL_MPSD_RTA_ENDPOINT")]
    rta_endpoint: Option<String>,
    /// Stop (and close the session) after this many event lines (default: until Ctrl-C)
    #[arg(long)]
    count: Option<u64>,
}

/// Prints one JSON value on a line of stdout, flushed at once.
fn print_line(value: &Value) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("stdout: {e}")))
}

fn summary(session: &Session) -> Value {
    json!({
        "changeNumber": session.change_number(),
        "members": session.member_xuids().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// One event as a JSON line.
fn event_line(event: &HostEvent) -> Value {
    match event {
        HostEvent::Changed { session, changes } => {
            json!({"event": "changed", "session": summary(session), "changes": changes})
        }
        HostEvent::Recreated { session } => {
            json!({"event": "recreated", "session": summary(session)})
        }
        HostEvent::HostRenewed => json!({"event": "hostRenewed"}),
        HostEvent::Reconnected => json!({"event": "reconnected"}),
        HostEvent::Resubscribed => json!({"event": "resubscribed"}),
        HostEvent::Error(error) => json!({"event": "error", "message": chain(error)}),
        other => json!({"event": other.to_string()}),
    }
}

/// Runs `host`.
pub async fn run(args: &HostArgs, global: &Global) -> Result<(), CliError> {
    let reference: SessionReference = args
        .session
        .parse()
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.session)))?;
    let xuid_text = args
        .xuid
        .clone()
        .or_else(|| global.token_text().map(str::to_owned))
        .ok_or_else(|| CliError::Usage("host needs --xuid (the host's XUID)".to_owned()))?;
    let xuid: Xuid = xuid_text
        .parse()
        .map_err(|e| CliError::Usage(format!("--xuid: {e}")))?;
    let restriction = Restriction::from(args.join_restriction.as_str());
    let mut create = SessionDelta::new()
        .visibility(Visibility::from(args.visibility.as_str()))
        .join_restriction(restriction);
    if let Some(max) = args.max_members {
        create = create.max_members(max);
    }
    if !args.keywords.is_empty() {
        create = create.keywords(args.keywords.iter().cloned());
    }
    let client = global.client()?;
    let url = args
        .rta_endpoint
        .clone()
        .unwrap_or_else(|| rta_url_for(client.base_url()));
    let rta = client.rta().url(url).build().map_err(CliError::usage)?;
    let mut builder = client
        .host(reference.clone(), xuid)
        .create_with(create)
        .activity(!args.no_activity)
        .check_every(Duration::from_secs(args.check_every.max(1)))
        .rta(rta);
    for invitee in &args.invites {
        let invitee: Xuid = invitee
            .parse()
            .map_err(|e| CliError::Usage(format!("--invite: {e}")))?;
        builder = builder.invite(invitee, TitleId::new(args.title_id), None);
    }
    let mut hosted = builder
        .start()
        .await
        .map_err(|e| CliError::Failed(chain(&e)))?;
    print_line(&json!({
        "event": "started",
        "session": reference.to_uri_path(),
        "handles": hosted.handles().iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))?;
    let printed = tokio::select! {
        result = events(args, &mut hosted) => result,
        () = xbl_mpsd_emulator::shutdown_signal() => Ok(()),
    };
    let closed = hosted
        .close()
        .await
        .map_err(|e| CliError::Failed(chain(&e)));
    printed?;
    closed?;
    print_line(&json!({"event": "closed"}))
}

async fn events(args: &HostArgs, hosted: &mut HostedSession) -> Result<(), CliError> {
    let mut printed = 0;
    while args.count.is_none_or(|count| printed < count) {
        let Some(event) = hosted.next_event().await else {
            return Err(CliError::Failed("the hosted session stopped".to_owned()));
        };
        print_line(&event_line(&event))?;
        printed += 1;
    }
    Ok(())
}
