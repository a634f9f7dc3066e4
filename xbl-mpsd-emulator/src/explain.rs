//! What the emulator tells a person: the start banner, and one log line per request.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// An example caller XUID for the banner.
const EXAMPLE_XUID: &str = "2533274792693551";
/// An example SCID for the banner.
const EXAMPLE_SCID: &str = "00000000-0000-0000-0000-00007a5b8c9d";

/// The start banner for an emulator at `base_url` (`http://127.0.0.1:PORT`): the URL, the token format
/// with an example, the contract header, and a first request as `curl` and as `xbl-mpsd`.
///
/// ```
/// let banner = xbl_mpsd_emulator::banner("http://127.0.0.1:8080");
/// assert!(banner.starts_with("MPSD emulator listening on http://127.0.0.1:8080\n"));
/// assert!(banner.contains("X-Xbl-Contract-Version: 107"));
/// ```
pub fn banner(base_url: &str) -> String {
    let path = format!("/serviceconfigs/{EXAMPLE_SCID}/sessionTemplates/lobby/sessions/first");
    let body = format!(
        r#"{{"members":{{"me":{{"constants":{{"system":{{"xuid":"{EXAMPLE_XUID}","initialize":true}}}},"properties":{{"system":{{"active":true}}}}}}}}}}"#
    );
    format!(
        "MPSD emulator listening on {base_url}
  token:    Authorization: XBL3.0 x=<userhash>;<xuid>   (the \"token\" is the caller's decimal XUID; userhash may be -)
            e.g. Authorization: XBL3.0 x=-;{EXAMPLE_XUID}
  contract: X-Xbl-Contract-Version: 107   (104 or later; required on every request)
  try it:   curl -i -X PUT '{base_url}{path}' \\
              -H 'Authorization: XBL3.0 x=-;{EXAMPLE_XUID}' -H 'X-Xbl-Contract-Version: 107' \\
              -H 'Content-Type: application/json' -d '{body}'
  or:       echo '{body}' | XBL_MPSD_ENDPOINT={base_url} XBL_MPSD_TOKEN={EXAMPLE_XUID} \\
              xbl-mpsd write-session --scid {EXAMPLE_SCID} --session-template-name lobby --session-name first --json-body -
  logs:     one line per request on stderr (RUST_LOG=warn silences them); Ctrl-C stops it; the data is in memory
"
    )
}

/// Middleware: one `info` event per request with method, path, status and latency.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    if !tracing::enabled!(target: "xbl_mpsd_emulator::request", tracing::Level::INFO) {
        // Nobody listens: no copy of the method and path.
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "xbl_mpsd_emulator::request",
        "{method} {path} {status} {latency_ms:.1} ms"
    );
    response
}
