//! `xbl-mpsd validate <document> <FILE|->`: decode a document with the generated types, then check what
//! the service checks (unknown keys, enumerated values in any case, ranges, a document of the other kind).
//!
//! Exit codes: 0 when the document is valid (`ok: session document (N members)` on stdout, or with
//! `--print` the re-encoded document on stdout and the `ok:` line on stderr); 1 when it is JSON but not
//! a valid document (one `<path>: <problem>` line per problem on stderr, paths and types in JSON terms);
//! 2 when the file cannot be read or is not JSON at all (an input error, as for `--json-body`).

use std::io::Read as _;

use clap::Args;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;
use serde_json::error::Category;
use xbl_mpsd_api::types::{
    CreateHandleRequest, HandleDocument, HandleQueryRequest, HandleQueryResponse,
    MultiplayerSession, MultiplayerSessionRequest, SessionQueryBatchRequest, SessionQueryResponse,
};

use crate::error::{CliError, FAILED};
use crate::output;
use crate::schema::Document;
use crate::strict;

/// `xbl-mpsd validate …`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Which document the file holds
    kind: Document,
    /// The JSON file, or - for standard input
    file: String,
    /// Print the decoded document re-encoded (pretty JSON) on stdout
    #[arg(long)]
    print: bool,
    /// Only decode (the types' shape): skip the service's checks (unknown keys, values, ranges)
    #[arg(long, conflicts_with = "strict")]
    lenient: bool,
    /// The service's checks (the default; kept for scripts that ask for them explicitly)
    #[arg(long)]
    strict: bool,
}

/// Runs `validate`.
pub fn run(args: &ValidateArgs) -> Result<(), CliError> {
    let (text, source) = read(&args.file)?;
    match args.kind {
        Document::Session => check::<MultiplayerSession>(&text, &source, args),
        Document::SessionRequest => check::<MultiplayerSessionRequest>(&text, &source, args),
        Document::Handle => check::<HandleDocument>(&text, &source, args),
        Document::CreateHandle => check::<CreateHandleRequest>(&text, &source, args),
        Document::HandleQuery => check::<HandleQueryRequest>(&text, &source, args),
        Document::HandleQueryResponse => check::<HandleQueryResponse>(&text, &source, args),
        Document::SessionQueryBatch => check::<SessionQueryBatchRequest>(&text, &source, args),
        Document::SessionQueryResponse => check::<SessionQueryResponse>(&text, &source, args),
    }
}

/// The text of `file` (`-`: standard input) and how to name it in messages.
fn read(file: &str) -> Result<(String, String), CliError> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        Ok((text, "standard input".to_owned()))
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::Usage(format!("cannot read {file}: {e}")))?;
        Ok((text, file.to_owned()))
    }
}

fn check<T: DeserializeOwned + Serialize>(
    text: &str,
    source: &str,
    args: &ValidateArgs,
) -> Result<(), CliError> {
    let not_json = |e: serde_json::Error| CliError::Usage(format!("{source} is not JSON: {e}"));
    // Syntax first, so a file that is not JSON is an input error even where it starts like a document.
    serde_json::from_str::<IgnoredAny>(text).map_err(not_json)?;
    let mut problems = Vec::new();
    if !args.lenient {
        let value: Value = serde_json::from_str(text).map_err(not_json)?;
        problems = strict::check(args.kind, &value);
    }
    let mut document = None;
    if problems.is_empty() {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Ok(decoded) => {
                deserializer.end().map_err(not_json)?;
                document = Some(decoded);
            }
            Err(error) => {
                let path = error.path().to_string();
                let inner = error.into_inner();
                if inner.classify() != Category::Data {
                    return Err(not_json(inner));
                }
                problems.push((path, strict::plain(&inner.to_string())));
            }
        }
    }
    if !problems.is_empty() {
        // `.` is the document itself.
        for (path, problem) in problems {
            output::stderr_line(&format!("{path}: {problem}"));
        }
        return Err(CliError::Reported(FAILED));
    }
    let summary = summary(args.kind, text);
    if let Some(document) = document
        && args.print
    {
        output::json(&document);
        output::stderr_line(&summary);
    } else {
        output::stdout_line(&summary);
    }
    Ok(())
}

/// `ok: session document (2 members)`, `ok: handle document (invite)`.
fn summary(kind: Document, text: &str) -> String {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let detail = match kind {
        Document::Session | Document::SessionRequest => {
            let members = value
                .get("members")
                .and_then(Value::as_object)
                .map_or(0, |m| m.values().filter(|v| !v.is_null()).count());
            format!(" ({members} member{})", if members == 1 { "" } else { "s" })
        }
        Document::Handle | Document::CreateHandle => value
            .get("type")
            .and_then(Value::as_str)
            .map(|t| format!(" ({})", t.to_ascii_lowercase()))
            .unwrap_or_default(),
        Document::HandleQueryResponse | Document::SessionQueryResponse => {
            let results = value
                .get("results")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            format!(" ({results} results)")
        }
        Document::HandleQuery | Document::SessionQueryBatch => String::new(),
    };
    format!("ok: {} document{detail}", kind.name().replace('-', " "))
}
