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
//! * requests go through the SDK's call policy, since the generated code runs on [`MpsdClient::api`]:
//!   idempotent operations are retried (honoring `Retry-After`) and, after a 401, repeated once with a
//!   refreshed token; a write that is not idempotent is sent once;
//! * answers are printed by [`output`]; answers the generated client does not type (204, 304, 412,
//!   error statuses) arrive as `UnexpectedResponse` and are printed from the raw response;
//! * per-field body options the generated code ignores (the body file is required and applied last) are
//!   hidden and renamed (`--version` no longer collides with `-V/--version`); the body's shape and an
//!   example are in `--help` instead;
//! * options the service validates are validated first: `--scid`, `--handle-id` with readable messages,
//!   `--include` against its three values; `--nocommit` is a flag.

use std::fmt::Debug;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Arg, ArgAction, ArgMatches, Command, ValueEnum};
use reqwest::StatusCode;
use serde::Serialize;
use tempfile::TempPath;
use xbl_mpsd_api::{ResponseValue, builder};
use xbl_mpsd_ext::{
    ETag, HandleId, MpsdClient, Scid, SessionName, SessionReference, SessionTarget,
    SessionTemplateName, WriteMode,
};

use crate::error::{CliError, FAILED, NO_SESSION, chain};
use crate::generated_cli::{Cli, CliCommand, CliConfig};
use crate::hints;
use crate::output;
use crate::output::OutputMode;
use crate::schema;

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
/// `--etag current`: read the session's ETag before writing.
const CURRENT: &str = "current";

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
    let operation = command.get_name().replace('-', "_");
    // The generated `about` is the operation's summary and description: the summary goes in lists.
    if let Some(about) = command.get_about().map(ToString::to_string) {
        let summary = about.lines().next().unwrap_or_default().to_owned();
        command = command.about(summary).long_about(about);
    }
    if has_arg(&command, JSON_BODY) {
        let body_required = command
            .get_arguments()
            .any(|arg| arg.get_id() == JSON_BODY && arg.is_required_set());
        command = command.mut_arg(JSON_BODY, |arg| {
            arg.value_parser(body_path).help(
                "The JSON request body: a file, or - for standard input (its shape: see below)",
            )
        });
        if let Some(body) = schema::request_body(&operation) {
            if body_required {
                command = hide_body_fields(command, &body.properties());
            }
            command = command.after_long_help(body.help());
        }
    }
    command = validate_common(command);
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
                    .help("With --mode sync: the ETag the change was made against (If-Match), or `current` to read it first; without it the write only creates"),
            );
    }
    command
}

/// Hides the per-field body options (the required body file is applied after them, so they do
/// nothing) and moves them out of the way of real options (`--version`).
fn hide_body_fields(mut command: Command, properties: &[String]) -> Command {
    let ids: Vec<String> = command
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .filter(|id| properties.iter().any(|p| kebab(p) == *id))
        .collect();
    for id in ids {
        let long = format!("body-{id}");
        command = command.mut_arg(id.as_str(), |arg| arg.long(long).hide(true));
    }
    command
}

/// `invitedXuid` → `invited-xuid`.
fn kebab(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Validation of the options every command shares by name.
fn validate_common(mut command: Command) -> Command {
    for arg in command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect::<Vec<_>>()
    {
        command = match arg.as_str() {
            "scid" if !arg_hidden(&command, &arg) => {
                command.mut_arg("scid", |a| a.value_parser(parse_scid))
            }
            "handle-id" => command.mut_arg("handle-id", |a| a.value_parser(parse_handle_id)),
            "include" => command.mut_arg("include", |a| {
                a.value_parser(parse_include).help(
                    "Extra sections, comma-separated: relatedInfo, customProperties, roleInfo",
                )
            }),
            // A flag (`--nocommit`), still accepting `--nocommit=false`; absent, nothing is sent.
            "nocommit" => command.mut_arg("nocommit", |a| {
                a.action(ArgAction::Set)
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
                    .help("Return the merged session without storing it (?nocommit=true)")
            }),
            _ => command,
        };
    }
    command
}

fn arg_hidden(command: &Command, id: &str) -> bool {
    command
        .get_arguments()
        .any(|a| a.get_id() == id && a.is_hide_set())
}

/// `--scid`: a service configuration ID as the SDK checks it.
fn parse_scid(value: &str) -> Result<Scid, String> {
    value.parse::<Scid>().map_err(|e| {
        format!("not a valid SCID ({e}); a SCID looks like 00000000-0000-0000-0000-00007a5b8c9d")
    })
}

/// `--handle-id`: a handle ID (a GUID) with a readable message.
fn parse_handle_id(value: &str) -> Result<HandleId, String> {
    value.parse::<HandleId>().map_err(|e| {
        format!("{e}; a handle ID is a GUID like 656f5f26-206e-4855-9887-6e4712a22500")
    })
}

/// The values of `--include`.
const INCLUDE_VALUES: [&str; 3] = ["relatedInfo", "customProperties", "roleInfo"];

/// `--include`: a comma-separated list of known sections (exact spelling, as the service expects).
fn parse_include(value: &str) -> Result<String, String> {
    for item in value.split(',') {
        if !INCLUDE_VALUES.contains(&item.trim()) {
            return Err(format!(
                "unknown section {item:?}; expected a comma-separated list of {}",
                INCLUDE_VALUES.join(", ")
            ));
        }
    }
    Ok(value
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(","))
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
    let etag = match matches.get_one::<String>(ETAG).map(String::as_str) {
        Some(CURRENT) => CURRENT_ETAG.lock().ok().and_then(|slot| slot.clone()),
        Some(value) => Some(ETag::new(value)?),
        None => None,
    };
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

/// The ETag `--etag current` read before the write (`None`: the session does not exist yet).
static CURRENT_ETAG: Mutex<Option<ETag>> = Mutex::new(None);

/// For `--mode sync --etag current`: reads the session the write addresses and keeps its ETag.
async fn read_current_etag(client: &MpsdClient, matches: &ArgMatches) -> Result<(), CliError> {
    let etag = matches.try_get_one::<String>(ETAG).ok().flatten();
    if etag.map(String::as_str) != Some(CURRENT) {
        return Ok(());
    }
    let target = if let Some(handle) = matches.try_get_one::<HandleId>("handle-id").ok().flatten() {
        SessionTarget::Handle(*handle)
    } else {
        let scid = matches.try_get_one::<Scid>("scid").ok().flatten();
        let template = matches
            .try_get_one::<SessionTemplateName>("session-template-name")
            .ok()
            .flatten();
        let name = matches
            .try_get_one::<SessionName>("session-name")
            .ok()
            .flatten();
        match (scid, template, name) {
            (Some(scid), Some(template), Some(name)) => SessionTarget::Reference(
                SessionReference::new(scid.clone(), template.clone(), name.clone()),
            ),
            _ => {
                return Err(CliError::Usage(
                    "--etag current: the command names no session to read".to_owned(),
                ));
            }
        }
    };
    let etag = client
        .get_session(target)
        .send()
        .await
        .map_err(crate::hints::sdk_error)?
        .and_then(|session| session.etag().cloned());
    if let Ok(mut slot) = CURRENT_ETAG.lock() {
        *slot = etag;
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
    read_current_etag(client, matches).await?;
    let cli = Cli::new(client.api().clone(), Glue);
    let result = cli.execute(cmd, matches).await;
    let stdin_copy = remove_stdin_copy();
    match result {
        Ok(()) => Ok(()),
        Err(error) => match error.downcast::<xbl_mpsd_api::Error<()>>() {
            Ok(error) => http_failure(error, name(cmd).starts_with("get-")).await,
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

/// Reports what the generated client returned as an error; `Ok` for answers that are successes. A
/// 204 on a read (`read`) is "no session": exit code [`NO_SESSION`].
async fn http_failure(error: xbl_mpsd_api::Error<()>, read: bool) -> Result<(), CliError> {
    use xbl_mpsd_api::Error as E;
    match error {
        E::UnexpectedResponse(response) => match raw_response(response).await {
            Ok(StatusCode::NO_CONTENT) if read => Err(CliError::Reported(NO_SESSION)),
            Ok(status) if status.is_success() || status == StatusCode::NOT_MODIFIED => Ok(()),
            Ok(_) => Err(CliError::Reported(FAILED)),
            Err(e) => Err(CliError::Failed(format!(
                "reading the answer failed: {}",
                chain(&e)
            ))),
        },
        E::ErrorResponse(value) => {
            if output::mode() == OutputMode::Envelope {
                output::envelope(value.status(), value.headers(), serde_json::Value::Null);
            } else {
                output::meta(value.status(), value.headers());
            }
            crate::hints::print(value.status());
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
        if output::mode() == OutputMode::Envelope {
            let body = output::document_value(&**value);
            output::envelope(value.status(), value.headers(), body);
        } else {
            output::meta(value.status(), value.headers());
            output::document(&**value);
        }
    }

    fn success_no_item(&self, value: &ResponseValue<()>) {
        if output::mode() == OutputMode::Envelope {
            output::envelope(value.status(), value.headers(), serde_json::Value::Null);
        } else {
            output::meta(value.status(), value.headers());
        }
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

/// Prints an answer the generated client does not type (204, 304, 412, every error status) and
/// returns its status: status and headers on stderr; the body on stdout for a 2xx, on stderr otherwise
/// (a 412 shows the current session there), then a hint for 403/404/412. With `--output envelope`, the
/// whole answer goes to stdout as one object.
async fn raw_response(response: reqwest::Response) -> Result<StatusCode, reqwest::Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    let success = status.is_success() || status == StatusCode::NOT_MODIFIED;
    if output::mode() == OutputMode::Envelope {
        output::envelope(status, &headers, output::body_value(&body));
        if !success {
            hints::print(status);
        }
        return Ok(status);
    }
    output::meta(status, &headers);
    if !body.is_empty() {
        let text = output::readable_body(&body);
        if success {
            output::stdout_line(&text);
        } else {
            output::stderr_line(&text);
        }
    }
    if !success {
        hints::print(status);
    }
    Ok(status)
}
