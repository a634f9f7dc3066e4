//! `xbl-mpsd validate session|handle <FILE|->`: decode a document with the generated types.
//!
//! Exit codes: 0 when the document decodes (with `--print`, the re-encoded document on stdout: unknown
//! keys and custom sections are kept); 1 when it is JSON but not a valid document (`<path>: <problem>`
//! on stderr, the path of the first problem); 2 when the file cannot be read or is not JSON at all
//! (an input error, as for the operation commands' `--json-body`).

use std::io::Read as _;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::error::Category;
use xbl_mpsd_api::types::{HandleDocument, MultiplayerSession};

use crate::error::{CliError, FAILED};
use crate::output;

/// `xbl-mpsd validate …`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Which document the file holds
    kind: DocumentKind,
    /// The JSON file, or - for standard input
    file: String,
    /// Print the decoded document re-encoded (pretty JSON) on stdout
    #[arg(long)]
    print: bool,
}

/// The documents `validate` knows.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum DocumentKind {
    /// A session document (`MultiplayerSession`)
    Session,
    /// A handle document (`HandleDocument`)
    Handle,
}

/// Runs `validate`.
pub fn run(args: &ValidateArgs) -> Result<(), CliError> {
    let (text, source) = read(&args.file)?;
    match args.kind {
        DocumentKind::Session => check::<MultiplayerSession>(&text, &source, args.print),
        DocumentKind::Handle => check::<HandleDocument>(&text, &source, args.print),
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
    print: bool,
) -> Result<(), CliError> {
    let not_json = |e: serde_json::Error| CliError::Usage(format!("{source} is not JSON: {e}"));
    // Syntax first, so a file that is not JSON is an input error even where it starts like a document.
    serde_json::from_str::<IgnoredAny>(text).map_err(not_json)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document: T = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(document) => document,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.classify() != Category::Data {
                return Err(not_json(inner));
            }
            // The path of the first problem; `.` is the document itself.
            output::stderr_line(&format!("{path}: {inner}"));
            return Err(CliError::Reported(FAILED));
        }
    };
    deserializer.end().map_err(not_json)?;
    if print {
        output::json(&document);
    }
    Ok(())
}
