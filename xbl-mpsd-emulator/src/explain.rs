//! What the emulator tells a person: the start banner, and one log line per request.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;

/// An example caller XUID for the banner.
const EXAMPLE_XUID: &str = "2533274792693551";
/// An example SCID for the banner.
const EXAMPLE_SCID: &str = "00000000-0000-0000-0000-00007a5b8c9d";

/// The start banner for an emulator at `base_url` (`http://127.0.0.1:PORT`): the URL, the token format
/// with an example, the contract header, a first request as `curl` and as `xbl-mpsd`, the explorer's URL,
/// and a warning when the address is not a loopback one.
///
/// ```
/// let banner = xbl_mpsd_emulator::banner("http://127.0.0.1:8080");
/// assert!(banner.starts_with("MPSD emulator listening on http://127.0.0.1:8080\n"));
/// assert!(banner.contains("X-Xbl-Contract-Version: 107"));
/// assert!(banner.contains("explorer: http://127.0.0.1:8080/explorer"));
/// assert!(!banner.contains("WARNING"));
/// assert!(xbl_mpsd_emulator::banner("http://192.168.1.20:8080").contains("WARNING:  not bound to loopback"));
/// ```
pub fn banner(base_url: &str) -> String {
    let path = format!("/serviceconfigs/{EXAMPLE_SCID}/sessionTemplates/lobby/sessions/first");
    let body = format!(
        r#"{{"members":{{"me":{{"constants":{{"system":{{"xuid":"{EXAMPLE_XUID}","initialize":true}}}},"properties":{{"system":{{"active":true}}}}}}}}}}"#
    );
    let exposed = if is_loopback(base_url) {
        ""
    } else {
        "  WARNING:  not bound to loopback: anyone who can reach this address can read and write every session
            (the tokens are only XUIDs) and browse them in the explorer. Use --listen 127.0.0.1:PORT
            unless that is what you want.
"
    };
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
  explorer: {base_url}/explorer   (sessions, members, handles, changes, live; read-only unless
            --explorer-actions; needs no token)
  logs:     one line per request on stderr (RUST_LOG=warn silences them); Ctrl-C stops it; the data is in memory
{exposed}"
    )
}

/// Whether the host of `base_url` (`http://HOST:PORT`) is a loopback address or `localhost`.
fn is_loopback(base_url: &str) -> bool {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let host = rest.split('/').next().unwrap_or(rest);
    let host = match host.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One `info` event per request with method, path, status and latency: [`start`](Self::start) before the
/// request is handled, [`finish`](Self::finish) with its response (run by the router's one middleware,
/// `routes::front`).
pub(crate) struct RequestLog {
    started: Instant,
    method: Method,
    path: String,
}

impl RequestLog {
    /// `None` when nobody listens (no copy of the method and path then).
    pub(crate) fn start(request: &Request) -> Option<Self> {
        if !tracing::enabled!(target: "xbl_mpsd_emulator::request", tracing::Level::INFO) {
            return None;
        }
        Some(Self {
            started: Instant::now(),
            method: request.method().clone(),
            path: request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path().to_owned(), ToString::to_string),
        })
    }

    /// Logs the request with `response`'s status.
    pub(crate) fn finish(self, response: &Response) {
        let Self {
            started,
            method,
            path,
        } = self;
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            target: "xbl_mpsd_emulator::request",
            "{method} {path} {status} {latency_ms:.1} ms"
        );
    }
}
