//! The operation commands, one per spec operation.
//!
//! `generated_cli.rs` (progenitor, from `spec/openapi.yaml`) defines each command's options and how
//! they become a request. This module only adapts them, for every command alike, so a new operation
//! in the spec becomes a command with `cargo xtask codegen` and no edit here:
//!
//! * the name is the operationId in kebab case (`write-session-by-handle`);
//! * `--json-body -` reads the body from standard input;
//! * commands with `--if-match` (the session writes) get `--mode` and `--etag`, mapped to the
//!   precondition headers by [`WriteMode::precondition_headers`] in the `CliConfig` hooks;
//! * answers are printed by [`output`]; answers the generated client does not type (204, 304, 412,
//!   error statuses) arrive as `UnexpectedResponse` and are printed from the raw response.

use std::fmt::Debug;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Arg, ArgMatches, Command, ValueEnum};
use serde::Serialize;
use tempfile::TempPath;
use xbl_mpsd_api::{ResponseValue, builder};
use xbl_mpsd_ext::{ETag, MpsdClient, WriteMode};

use crate::error::{CliError, FAILED, chain};
use crate::generated_cli::{Cli, CliCommand, CliConfig};
use crate::output;

/// The generated argument that names the request body file.
const JSON_BODY: &str = "json-body";
/// A generated flag the generated code never reads (progenitor's unfinished body templates).
const JSON_BODY_TEMPLATE: &str = "json-body-template";
/// The generated argument that marks a conditional write.
const IF_MATCH: &str = "if-match";
/// The other precondition header.
const IF_NONE_MATCH: &str = "if-none-match";
/// Our write-mode options.
const MODE: &str = "mode";
const ETAG: &str = "etag";

/// The command name of an operation: its operationId in kebab case.
pub fn name(cmd: CliCommand) -> String {
    cmd.operation_id().replace('_', "-")
}

/// The operation whose command is `name`, if any.
pub fn find(name: &str) -> Option<CliCommand> {
    CliCommand::iter().find(|cmd| self::name(*cmd) == name)
}

/// Every operation command, adapted.
pub fn commands() -> impl Iterator<Item = Command> {
    CliCommand::iter().map(|cmd| adapt(Cli::<Glue>::get_command(cmd).name(name(cmd))))
}

fn has_arg(command: &Command, id: &str) -> bool {
    command.get_arguments().any(|arg| arg.get_id() == id)
}

fn adapt(mut command: Command) -> Command {
    // The generated `about` is the operation's summary and description: the summary goes in lists.
    if let Some(about) = command.get_about().map(ToString::to_string) {
        let summary = about.lines().next().unwrap_or_default().to_owned();
        command = command.about(summary).long_about(about);
    }
    if has_arg(&command, JSON_BODY) {
        command = command.mut_arg(JSON_BODY, |arg| {
            arg.value_parser(body_path)
                .help("The JSON request body: a file, or - for standard input")
        });
    }
    if has_arg(&command, JSON_BODY_TEMPLATE) {
        command = command.mut_arg(JSON_BODY_TEMPLATE, |arg| arg.hide(true));
    }
    if has_arg(&command, IF_MATCH) {
        command = command
            .arg(
                Arg::new(MODE)
                    .long(MODE)
                    .value_parser(clap::value_parser!(Mode))
                    .conflicts_with_all([IF_MATCH, IF_NONE_MATCH])
                    .help("Write mode (XSAPI's); sets If-Match/If-None-Match"),
            )
            .arg(
                Arg::new(ETAG)
                    .long(ETAG)
                    .requires(MODE)
                    .help("With --mode sync: the ETag the change was made against (If-Match); without it the write only creates"),
            );
    }
    command
}

/// XSAPI's write modes, as `--mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Create only (`If-None-Match: *`); 412 if the session exists.
    Create,
    /// Update only (`If-Match: *`); fails if the session does not exist.
    Update,
    /// Create or update (no precondition).
    Upsert,
    /// Update only the version `--etag` names (`If-Match: <etag>`); create only without `--etag`.
    Sync,
}

/// The write mode `--mode`/`--etag` ask for, if any.
fn write_mode(matches: &ArgMatches) -> anyhow::Result<Option<WriteMode>> {
    let Some(mode) = matches.get_one::<Mode>(MODE).copied() else {
        return Ok(None);
    };
    let etag = matches
        .get_one::<String>(ETAG)
        .map(|value| ETag::new(value.as_str()))
        .transpose()?;
    if etag.is_some() && mode != Mode::Sync {
        anyhow::bail!("--etag goes with --mode sync only");
    }
    Ok(Some(match mode {
        Mode::Create => WriteMode::CreateNew,
        Mode::Update => WriteMode::UpdateExisting,
        Mode::Upsert => WriteMode::UpdateOrCreateNew,
        Mode::Sync => WriteMode::SynchronizedUpdate { etag },
    }))
}

/// Sets the precondition headers of `--mode` on a write builder.
fn apply_mode<B: Clone>(
    matches: &ArgMatches,
    request: &mut B,
    if_match: impl FnOnce(B, String) -> B,
    if_none_match: impl FnOnce(B, String) -> B,
) -> anyhow::Result<()> {
    if let Some(mode) = write_mode(matches)? {
        let (im, inm) = mode.precondition_headers();
        if let Some(value) = im {
            *request = if_match(request.clone(), value.to_owned());
        }
        if let Some(value) = inm {
            *request = if_none_match(request.clone(), value.to_owned());
        }
    }
    Ok(())
}

/// The copy of standard input that `--json-body -` reads (the generated code reads a path).
static STDIN_COPY: Mutex<Option<TempPath>> = Mutex::new(None);

/// `--json-body` values: a path, or `-` for standard input (copied to a temporary file).
fn body_path(value: &str) -> Result<PathBuf, String> {
    if value != "-" {
        return Ok(PathBuf::from(value));
    }
    let mut text = Vec::new();
    std::io::stdin()
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let mut file = tempfile::Builder::new()
        .prefix("xbl-mpsd-stdin-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| format!("cannot copy standard input: {e}"))?;
    file.write_all(&text)
        .map_err(|e| format!("cannot copy standard input: {e}"))?;
    let path = file.into_temp_path();
    let copy = path.to_path_buf();
    if let Ok(mut slot) = STDIN_COPY.lock() {
        *slot = Some(path);
    }
    Ok(copy)
}

/// Removes the copy of standard input; returns its path, if there was one.
fn remove_stdin_copy() -> Option<PathBuf> {
    let path = STDIN_COPY.lock().ok()?.take()?;
    let shown = path.to_path_buf();
    drop(path);
    Some(shown)
}

/// Runs the operation `cmd` with its parsed options, through `client`'s configured wire client.
pub async fn run(
    cmd: CliCommand,
    client: &MpsdClient,
    matches: &ArgMatches,
) -> Result<(), CliError> {
    let cli = Cli::new(client.api().clone(), Glue);
    let result = cli.execute(cmd, matches).await;
    let stdin_copy = remove_stdin_copy();
    match result {
        Ok(()) => Ok(()),
        Err(error) => match error.downcast::<xbl_mpsd_api::Error<()>>() {
            Ok(error) => http_failure(error).await,
            // Everything else happened before sending: reading or decoding the body, `--mode`.
            Err(error) => {
                let mut message = format!("{error:#}");
                if let Some(path) = stdin_copy {
                    message = message.replace(&path.display().to_string(), "standard input");
                }
                Err(CliError::Usage(message))
            }
        },
    }
}

/// Reports what the generated client returned as an error; `Ok` for answers that are successes.
async fn http_failure(error: xbl_mpsd_api::Error<()>) -> Result<(), CliError> {
    use xbl_mpsd_api::Error as E;
    match error {
        E::UnexpectedResponse(response) => match output::raw_response(response).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(CliError::Reported(FAILED)),
            Err(e) => Err(CliError::Failed(format!(
                "reading the answer failed: {}",
                chain(&e)
            ))),
        },
        E::ErrorResponse(value) => {
            output::meta(value.status(), value.headers());
            Err(CliError::Reported(FAILED))
        }
        // The docs say an activity POST may answer success without a body.
        E::InvalidResponsePayload(body, _) if body.is_empty() => {
            output::stderr_line("(success without a body)");
            Ok(())
        }
        E::InvalidResponsePayload(body, e) => {
            output::stderr_line(&output::readable_body(&body));
            Err(CliError::Failed(format!(
                "the answer does not match the spec: {e}"
            )))
        }
        E::InvalidRequest(message) => Err(CliError::Usage(message)),
        E::CommunicationError(e) | E::InvalidUpgrade(e) | E::ResponseBodyError(e) => {
            Err(CliError::Failed(chain(&e)))
        }
        E::Custom(message) => Err(CliError::Failed(message)),
    }
}

/// The [`CliConfig`] of the generated commands: printing and the write-mode hooks.
struct Glue;

impl CliConfig for Glue {
    fn success_item<T>(&self, value: &ResponseValue<T>)
    where
        T: schemars::JsonSchema + Serialize + Debug,
    {
        output::meta(value.status(), value.headers());
        output::json(&**value);
    }

    fn success_no_item(&self, value: &ResponseValue<()>) {
        output::meta(value.status(), value.headers());
    }

    // Errors are reported by `run`, which owns them (and so can read the body).
    fn error<T>(&self, _: &xbl_mpsd_api::Error<T>)
    where
        T: schemars::JsonSchema + Serialize + Debug,
    {
    }

    // No operation is paginated.
    fn list_start<T>(&self)
    where
        T: schemars::JsonSchema + Serialize + Debug,
    {
    }

    fn list_item<T>(&self, value: &T)
    where
        T: schemars::JsonSchema + Serialize + Debug,
    {
        output::json(value);
    }

    fn list_end_success<T>(&self)
    where
        T: schemars::JsonSchema + Serialize + Debug,
    {
    }

    fn list_end_error<T>(&self, _: &xbl_mpsd_api::Error<T>)
    where
        T: schemars::JsonSchema + Serialize + Debug,
    {
    }

    fn execute_write_session_by_handle(
        &self,
        matches: &ArgMatches,
        request: &mut builder::WriteSessionByHandle,
    ) -> anyhow::Result<()> {
        apply_mode(
            matches,
            request,
            |r, v| r.if_match(v),
            |r, v| r.if_none_match(v),
        )
    }

    fn execute_write_session(
        &self,
        matches: &ArgMatches,
        request: &mut builder::WriteSession,
    ) -> anyhow::Result<()> {
        apply_mode(
            matches,
            request,
            |r, v| r.if_match(v),
            |r, v| r.if_none_match(v),
        )
    }
}
