//! `xbl-mpsd join <activation-uri>` and `xbl-mpsd leave <session-ref|handle-id>`: the SDK's
//! `join_from_activation` and `SessionDelta::leave` for the caller's token.

use std::str::FromStr;

use clap::Args;
use reqwest::StatusCode;
use serde_json::{Map, Value};
use xbl_mpsd_ext::{
    Activation, HandleId, MpsdClient, SessionDelta, SessionReference, SessionTarget, WriteMode,
    WriteOutcome,
};

use crate::error::{CliError, FAILED};
use crate::hints::{self, sdk_error};
use crate::output::{self, OutputMode};

/// `xbl-mpsd join …`
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The activation URI the title received (ms-xbl-multiplayer://inviteHandleAccept?… or
    /// activityHandleJoin?…); the token must be the invited or joining user's
    uri: Activation,
}

/// `xbl-mpsd leave …`
#[derive(Debug, Args)]
pub struct LeaveArgs {
    /// The session: its reference (/serviceconfigs/…/sessions/NAME) or a handle ID pointing to it
    session: Target,
}

/// A session reference or a handle ID, as `leave` accepts them.
#[derive(Clone, Debug)]
struct Target(SessionTarget);

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with('/') || s.contains("/serviceconfigs/") {
            return s
                .parse::<SessionReference>()
                .map(|r| Self(SessionTarget::Reference(r)))
                .map_err(|e| format!("not a session reference: {e}"));
        }
        s.parse::<HandleId>()
            .map(|h| Self(SessionTarget::Handle(h)))
            .map_err(|e| {
                format!(
                    "neither a session reference (/serviceconfigs/SCID/sessionTemplates/T/sessions/NAME) \
                     nor a handle ID: {e}"
                )
            })
    }
}

/// Runs `join`: prints the joined session (with `--output envelope`: status, ETag and the session's
/// reference as `contentLocation`).
pub async fn join(args: &JoinArgs, client: &MpsdClient) -> Result<(), CliError> {
    let outcome = client
        .join_from_activation(&args.uri)
        .await
        .map_err(sdk_error)?;
    print_outcome(outcome)
}

/// Runs `leave`: the caller leaves the session (`members.me: null`, the session must exist).
pub async fn leave(args: &LeaveArgs, client: &MpsdClient) -> Result<(), CliError> {
    let outcome = client
        .write(args.session.0.clone(), SessionDelta::new().leave())
        .mode(WriteMode::UpdateExisting)
        .send()
        .await
        .map_err(sdk_error)?;
    print_outcome(outcome)
}

fn print_outcome(outcome: WriteOutcome) -> Result<(), CliError> {
    let (status, session) = match outcome {
        WriteOutcome::Created(session) => (StatusCode::CREATED, Some(session)),
        WriteOutcome::Updated(session) => (StatusCode::OK, Some(session)),
        WriteOutcome::SessionDeleted => (StatusCode::NO_CONTENT, None),
        WriteOutcome::Accepted {
            status, session, ..
        } => (status, session),
        WriteOutcome::OutOfSync { .. } => {
            output::stderr_line(
                "xbl-mpsd: the session does not exist (HTTP 412 Precondition Failed)",
            );
            hints::print(StatusCode::PRECONDITION_FAILED);
            return Err(CliError::Reported(FAILED));
        }
    };
    let etag = session
        .as_ref()
        .and_then(|s| s.etag())
        .map(|e| e.as_str().to_owned());
    let reference = session
        .as_ref()
        .and_then(|s| s.reference())
        .map(SessionReference::to_uri_path);
    let body = session
        .map(|s| output::document_value(&s.document))
        .unwrap_or(Value::Null);
    if output::mode() == OutputMode::Envelope {
        let mut object = Map::new();
        object.insert("status".to_owned(), Value::from(status.as_u16()));
        object.insert("etag".to_owned(), etag.map_or(Value::Null, Value::String));
        object.insert(
            "contentLocation".to_owned(),
            reference.map_or(Value::Null, Value::String),
        );
        object.insert("body".to_owned(), body);
        output::json(&Value::Object(object));
        return Ok(());
    }
    output::stderr_line(&format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    ));
    if let Some(etag) = etag {
        output::stderr_line(&format!("ETag: {etag}"));
    }
    if let Some(reference) = reference {
        output::stderr_line(&format!("Content-Location: {reference}"));
    }
    if !body.is_null() {
        output::json(&body);
    }
    Ok(())
}
