//! `xbl-mpsd`: every MPSD handle-API operation as a command (generated from the spec), activation-URI
//! parsing, document validation, a local emulator and an invite-to-join demo.
//!
//! Exit codes: 0 success; 1 HTTP error status, transport failure, invalid document or failed demo
//! step; 2 usage or input error; 3 no such session (a read answered 204).

use std::process::ExitCode;

mod activation;
mod cli;
mod completions;
mod context;
mod demo;
mod emulator;
mod error;
mod handle;
mod hints;
mod host;
mod join;
#[rustfmt::skip]
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    unused,
    missing_docs
)]
mod generated_cli;
mod login;
mod ops;
mod output;
mod schema;
mod sessions;
mod strict;
mod validate;
mod watch;

#[tokio::main]
async fn main() -> ExitCode {
    // clap prints usage errors and exits with 2 (0 for --help and --version).
    let matches = cli::command().get_matches();
    let mut result = cli::run(&matches).await;
    if let (Ok(()), Some(error)) = (&result, output::stdout_error()) {
        result = Err(error::CliError::Failed(format!(
            "cannot write to standard output: {error}"
        )));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(message) = error.message() {
                output::stderr_line(&format!("xbl-mpsd: {message}"));
            }
            error.exit_code()
        }
    }
}
