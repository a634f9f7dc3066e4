//! How a command fails, and the exit code each failure maps to.

use std::fmt;
use std::process::ExitCode;

/// Exit code of a usage or input error (bad option, unreadable or malformed input file, bad URI).
pub const USAGE: u8 = 2;
/// Exit code of an HTTP error status, a transport failure, an invalid document or a failed demo step.
pub const FAILED: u8 = 1;
/// Exit code of a read that found no session (204): nothing on stdout, not an error of the request.
pub const NO_SESSION: u8 = 3;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum CliError {
    /// Bad options or input: nothing was sent. Exit code 2.
    Usage(String),
    /// The request failed or the service refused it. Exit code 1.
    Failed(String),
    /// Already reported on stderr; only the exit code is left to give.
    Reported(u8),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Usage(_) => USAGE,
            Self::Failed(_) => FAILED,
            Self::Reported(code) => *code,
        })
    }

    /// The message to print on stderr, if it was not printed yet.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Usage(message) | Self::Failed(message) => Some(message),
            Self::Reported(_) => None,
        }
    }

    /// A usage error from anything displayable.
    pub fn usage(error: impl fmt::Display) -> Self {
        Self::Usage(error.to_string())
    }
}

/// An error and its sources on one line: `outer: inner: innermost`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
