//! `xbl-mpsd sessions query …` (find sessions by player or keyword), `xbl-mpsd activity clear` (delete the
//! caller's activity) and `handle invite` to several players: commands on the SDK's `query` module.

use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use xbl_mpsd_api::types::Visibility;
use xbl_mpsd_ext::query::{ActivityCleared, QueryError};
use xbl_mpsd_ext::{MpsdClient, Scid, SessionReference, SessionTemplateName, TitleId, Xuid};

use crate::error::{CliError, FAILED, chain};
use crate::hints::{self, sdk_error};
use crate::{login, output};

/// `xbl-mpsd sessions …`
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Find sessions by player (--xuid) or keyword; prints the results as a JSON array. One --xuid (or none) is
    /// a GET, several are one batch POST
    Query(QueryArgs),
}

/// `sessions query`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SCID to search
    #[arg(long)]
    scid: Scid,
    /// Only the sessions of this template
    #[arg(long)]
    template: Option<SessionTemplateName>,
    /// A player whose sessions to find (repeatable, or comma-separated; at most 100). Without --inactive or
    /// --reservations, only sessions they are active in
    #[arg(long = "xuid", value_name = "XUID", value_delimiter = ',')]
    xuids: Vec<Xuid>,
    /// Only sessions with this keyword (ignoring case)
    #[arg(long)]
    keyword: Option<String>,
    /// Only sessions with this visibility (`private` needs --private)
    #[arg(long, value_enum)]
    visibility: Option<VisibilityArg>,
    /// Only sessions whose major version is at most this (at most the contract version modulo 100)
    #[arg(long)]
    version: Option<u32>,
    /// At most this many results (1 to 100; the service answers at most 100)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    take: Option<u32>,
    /// Private sessions too (only for your own XUID; 403 otherwise)
    #[arg(long)]
    private: bool,
    /// Sessions where the player is only reserved too (needs --xuid; only your own XUID)
    #[arg(long)]
    reservations: bool,
    /// Sessions where the player is a member but not active too (needs --xuid)
    #[arg(long)]
    inactive: bool,
}

/// `--visibility` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum VisibilityArg {
    /// Joinable sessions with a seat left
    Open,
    /// Readable, not joinable
    Visible,
    /// Open sessions with no seat left
    Full,
    /// Private sessions (with --private)
    Private,
}

impl From<VisibilityArg> for Visibility {
    fn from(value: VisibilityArg) -> Self {
        match value {
            VisibilityArg::Open => Self::OPEN,
            VisibilityArg::Visible => Self::VISIBLE,
            VisibilityArg::Full => Self::FULL,
            VisibilityArg::Private => Self::PRIVATE,
        }
    }
}

/// `xbl-mpsd activity …`
#[derive(Debug, Subcommand)]
pub enum ActivityCommand {
    /// Delete your activity handle(s) in a SCID; prints `{"cleared": [ids]}` (empty when there was none)
    Clear(ClearArgs),
}

/// `activity clear`
#[derive(Debug, Args)]
pub struct ClearArgs {
    /// The SCID
    #[arg(long)]
    scid: Scid,
    /// Your XUID [default: the --token when it is a XUID (the emulator), else the signed-in user's]
    #[arg(long)]
    xuid: Option<Xuid>,
}

/// Runs a `sessions` command.
pub async fn run_sessions(command: &SessionsCommand, client: &MpsdClient) -> Result<(), CliError> {
    let SessionsCommand::Query(args) = command;
    let mut query = client
        .query_sessions(args.scid.clone())
        .xuids(args.xuids.iter().copied())
        .private(args.private)
        .reservations(args.reservations)
        .inactive(args.inactive);
    if let Some(template) = &args.template {
        query = query.template(template.clone());
    }
    if let Some(keyword) = &args.keyword {
        query = query.keyword(keyword.clone());
    }
    if let Some(visibility) = args.visibility {
        query = query.visibility(visibility.into());
    }
    if let Some(version) = args.version {
        query = query.version(version);
    }
    if let Some(take) = args.take {
        query = query.take(take);
    }
    let found = match query.send().await {
        Ok(found) => found,
        Err(QueryError::Rule(rule)) => return Err(CliError::Usage(rule.to_string())),
        Err(QueryError::Request(error)) => return Err(sdk_error(error)),
        Err(other) => return Err(CliError::Failed(chain(&other))),
    };
    let documents: Vec<_> = found.iter().map(|found| found.document()).collect();
    // The `results` of the answer as sent (key order kept), else the typed results re-encoded.
    match output::document_value(&json!({ "results": documents })) {
        Value::Object(mut answer) if answer.contains_key("results") => {
            output::json(&answer.remove("results"));
        }
        _ => output::json(&documents),
    }
    Ok(())
}

/// Runs an `activity` command with `client`; `token` (the `--token` text) and `token_cache` (the sign-in cache)
/// tell whose activity it is when `--xuid` does not.
pub async fn run_activity(
    command: &ActivityCommand,
    client: &MpsdClient,
    token: Option<&str>,
    token_cache: Option<&Path>,
) -> Result<(), CliError> {
    let ActivityCommand::Clear(args) = command;
    let owner = match args.xuid {
        Some(xuid) => xuid,
        None => caller_xuid(token, token_cache)?,
    };
    let cleared = client
        .clear_activity(args.scid.clone(), owner)
        .send()
        .await
        .map_err(sdk_error)?;
    let note = match &cleared {
        ActivityCleared::NoActivity => format!("no activity of {owner} to clear in {}", args.scid),
        ActivityCleared::Cleared(id) => format!("cleared activity {id}"),
        ActivityCleared::ClearedSeveral(ids) => format!(
            "cleared {} activities (the service keeps one per user and SCID; several is unexpected)",
            ids.len()
        ),
        other => format!("{other:?}"),
    };
    output::stderr_line(&note);
    let ids: Vec<String> = cleared.deleted().iter().map(ToString::to_string).collect();
    output::json(&json!({ "cleared": ids }));
    Ok(())
}

/// The caller's XUID: the token when it is one (the emulator's tokens are), else the signed-in user's.
fn caller_xuid(token: Option<&str>, token_cache: Option<&Path>) -> Result<Xuid, CliError> {
    if let Some(token) = token {
        return token.parse().map_err(|_| {
            CliError::Usage(
                "give --xuid: the --token is not a XUID, so whose activity to clear is not known"
                    .into(),
            )
        });
    }
    let stored = login::cache(token_cache)?
        .load()
        .map_err(|e| CliError::Failed(chain(&e)))?;
    stored
        .and_then(|stored| stored.account())
        .and_then(|account| account.xuid)
        .ok_or_else(|| {
            CliError::Usage("give --xuid (no --token and no signed-in user with a XUID)".into())
        })
}

/// `handle invite` with several `--to`: one invite per invitee, in order, never retried; one JSON line per
/// invitee on stdout (`{"invitee", "id", "handle"}` or `{"invitee", "error", "status"}`); exit 1 when any
/// failed, after all were tried.
pub async fn invite_many(
    client: &MpsdClient,
    session: &SessionReference,
    invitees: &[Xuid],
    title_id: TitleId,
    context: Option<&str>,
) -> Result<(), CliError> {
    let results = client
        .send_invites(session, invitees.iter().copied(), title_id, context)
        .send()
        .await
        .map_err(sdk_error)?;
    let mut failed = false;
    for result in &results {
        let line = match &result.outcome {
            Ok(created) => json!({
                "invitee": result.invitee.to_string(),
                "id": result.handle_id().map(|id| id.to_string()),
                "handle": created.document,
            }),
            Err(error) => {
                failed = true;
                output::stderr_line(&format!(
                    "xbl-mpsd: the invite to {} failed: {}",
                    result.invitee,
                    chain(error)
                ));
                if let Some(status) = error.status() {
                    hints::print(status);
                }
                json!({
                    "invitee": result.invitee.to_string(),
                    "error": error.to_string(),
                    "status": error.status().map(|s| s.as_u16()),
                })
            }
        };
        output::stdout_line(&line.to_string());
    }
    if failed {
        Err(CliError::Reported(FAILED))
    } else {
        Ok(())
    }
}
