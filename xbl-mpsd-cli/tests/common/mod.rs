//! Shared test helpers: the binary, an in-process emulator on an ephemeral loopback port, documents.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub const HOST: &str = "2533274792693551";
pub const GUEST: &str = "2814679796296491";
pub const SCID: &str = "00000000-0000-0000-0000-00007a5b8c9d";
pub const TEMPLATE: &str = "lobby";

/// The binary's own environment variables, removed from every test's command.
pub const ENV_VARS: &[&str] = &[
    "XBL_MPSD_ENDPOINT",
    "XBL_MPSD_TOKEN",
    "XBL_MPSD_USER_HASH",
    "XBL_MPSD_AUTH_ENDPOINT",
    "XBL_MPSD_CLIENT_ID",
    "XBL_MPSD_RTA_ENDPOINT",
];

/// Never the developer's own sign-in: a cache path that does not exist.
fn no_sign_in() -> std::path::PathBuf {
    std::env::temp_dir().join("xbl-mpsd-tests-no-such-dir/signin.json")
}

/// The `xbl-mpsd` binary with a clean environment for its own variables.
pub fn xbl() -> Command {
    let mut cmd = assert_cmd::cargo_bin_cmd!("xbl-mpsd");
    for var in ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.env("XBL_MPSD_TOKEN_CACHE", no_sign_in());
    cmd
}

/// The same, as a `std::process::Command`, for a command whose output is read while it runs.
pub fn xbl_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xbl-mpsd"));
    for var in ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.env("XBL_MPSD_TOKEN_CACHE", no_sign_in());
    cmd
}

/// An emulator served by its own runtime for as long as the value lives.
pub struct Served {
    emulator: RunningEmulator,
    _runtime: tokio::runtime::Runtime,
    pub url: String,
}

pub fn emulator() -> Served {
    emulator_with(EmulatorConfig::default())
}

/// An emulator with `config` (e.g. a sign-in mock the test steers).
pub fn emulator_with(config: EmulatorConfig) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let emulator = runtime
        .block_on(Emulator::start(config))
        .expect("the emulator starts");
    let url = emulator.base_url();
    Served {
        emulator,
        _runtime: runtime,
        url,
    }
}

impl Served {
    /// The binary, pointed at this emulator with `xuid`'s token.
    pub fn as_user(&self, xuid: &str) -> Command {
        let mut cmd = xbl();
        cmd.args(["--endpoint", &self.url, "--token", xuid]);
        cmd
    }
}

/// The options that address session `name`.
pub fn session(name: &str) -> Vec<String> {
    [
        "--scid",
        SCID,
        "--session-template-name",
        TEMPLATE,
        "--session-name",
        name,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A join delta for `members.me`.
pub const JOIN: &str = r#"{"members":{"me":{"constants":{"system":{"initialize":true}},"properties":{"system":{"active":true}}}}}"#;

/// Writes `text` to a new file in a fresh temporary directory; keep the directory alive.
pub fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("doc.json");
    std::fs::write(&path, text).expect("written");
    (dir, path)
}

/// Stdout of an assertion as JSON.
pub fn stdout_json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// A loopback HTTP server that answers the n-th request with `answers[n]` (the last one repeats), each on
/// a connection it then closes. Returns the base URL and the request lines it received
/// (`METHOD /path?query`), in order.
pub fn scripted(answers: Vec<String>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                continue;
            }
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut parts = request_line.split_whitespace();
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            log.lock().unwrap().push(format!("{method} {target}"));
            let answer = answers
                .get(n)
                .or(answers.last())
                .cloned()
                .unwrap_or_default();
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, seen)
}

/// An HTTP answer with `status`, a JSON `body` (none when empty) and `Connection: close`.
pub fn answer(status: u16, extra_headers: &str, body: &str) -> String {
    let content_type = if body.is_empty() {
        String::new()
    } else {
        "content-type: application/json\r\n".to_owned()
    };
    format!(
        "HTTP/1.1 {status} X\r\n{content_type}{extra_headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}
