//! What to do next after a refusal: one `hint:` line on stderr for 403, 404 and 412, and the mapping
//! of SDK errors (typed commands) to exit codes.

use reqwest::StatusCode;

use crate::error::{CliError, FAILED};
use crate::output;

/// The advice for `status`, if there is one.
pub fn for_status(status: StatusCode) -> Option<&'static str> {
    match status {
        StatusCode::PRECONDITION_FAILED => Some(
            "the session is not in the state the write assumed (it changed since that ETag, exists for \
             --mode create, or is missing for --mode update). Read it again and retry with \
             --mode sync --etag current (the current session is shown above when the service sent it)",
        ),
        StatusCode::NOT_FOUND => Some(
            "nothing at that address: check the SCID, template and session name, or the handle ID \
             (handles go away when their session or the invitation ends)",
        ),
        StatusCode::FORBIDDEN => Some(
            "the caller may not do this: the token's user must be a member (join first), be invited, \
             or the session is private",
        ),
        StatusCode::UNAUTHORIZED => Some(
            "the token was refused: set --token or XBL_MPSD_TOKEN (with the emulator: the caller's decimal XUID)",
        ),
        _ => None,
    }
}

/// Prints the hint for `status` on stderr, if there is one.
pub fn print(status: StatusCode) {
    if let Some(hint) = for_status(status) {
        output::stderr_line(&format!("hint: {hint}"));
    }
}

/// An SDK error of a typed command: the message, then the hint, then exit code 1 (2 for a request that
/// could not be built).
pub fn sdk_error(error: xbl_mpsd_ext::Error) -> CliError {
    use xbl_mpsd_ext::Error as E;
    if let E::InvalidRequest(message) = &error {
        return CliError::Usage(message.clone());
    }
    output::stderr_line(&format!("xbl-mpsd: {}", crate::error::chain(&error)));
    if let Some(status) = error.status() {
        print(status);
    }
    CliError::Reported(FAILED)
}
