//! `xbl-mpsd emulator`: the local MPSD (`xbl-mpsd-emulator`) until Ctrl-C.

use std::net::SocketAddr;

use clap::Args;
use tokio::net::TcpListener;
use xbl_mpsd_emulator::{EmulatorConfig, serve_router, shutdown_signal, try_router};

use crate::error::CliError;
use crate::output;

/// `xbl-mpsd emulator …`
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port. The URL is printed on stdout
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Title ID reported for activity handles and members
    #[arg(long, default_value_t = EmulatorConfig::default().title_id)]
    title_id: u32,
    /// Keep sessions and handles in this directory (created when missing) and restore them on start; every
    /// write is durable before it is answered. Without it, everything is in memory
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Stop time: the clock stands still until `POST /_emulator/clock` with `{"advanceMs": N}` moves it;
    /// timers then apply as if that time had passed
    #[arg(long)]
    manual_clock: bool,
    /// Let the explorer (`/explorer`) change state: delete a session, remove a member, drop a member's RTA
    /// connection, advance a manual clock. Without it the explorer only reads
    #[arg(long)]
    explorer_actions: bool,
    /// Session templates: `DIR/<template>.json` under every SCID, `DIR/<scid>/<template>.json` under one (it
    /// wins). A bad file stops the emulator; a session of an unknown template is 404. Without it every template
    /// name exists, empty
    #[arg(long, env = "XBL_MPSD_EMULATOR_TEMPLATES")]
    templates: Option<std::path::PathBuf>,
}

/// Logs the emulator's requests (info level unless `RUST_LOG` says otherwise) on stderr, in colour only
/// on a terminal.
fn init_request_log() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("xbl_mpsd_emulator=info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}

/// Serves an emulator until Ctrl-C (or SIGTERM), after printing its URL as one flushed line.
pub async fn run(args: &EmulatorArgs) -> Result<(), CliError> {
    let config = EmulatorConfig {
        bind_addr: args.listen,
        title_id: args.title_id,
        data_dir: args.data_dir.clone(),
        templates: args.templates.clone(),
        explorer_actions: args.explorer_actions,
        clock: if args.manual_clock {
            xbl_mpsd_emulator::Clock::manual()
        } else {
            xbl_mpsd_emulator::Clock::system()
        },
        ..EmulatorConfig::default()
    };
    let failed = |e: std::io::Error| {
        CliError::Failed(format!("emulator: cannot listen on {}: {e}", args.listen))
    };
    let listener = TcpListener::bind(config.bind_addr).await.map_err(failed)?;
    let addr = listener.local_addr().map_err(failed)?;
    let app = try_router(config.clone()).map_err(|e| CliError::Failed(format!("emulator: {e}")))?;
    // The URL alone on stdout (for scripts); the banner and one line per request on stderr.
    output::stdout_line(&format!("http://{addr}"));
    eprint!("{}", xbl_mpsd_emulator::banner(&format!("http://{addr}")));
    init_request_log();
    let failed = |e: std::io::Error| CliError::Failed(format!("emulator on {addr}: {e}"));
    serve_router(listener, app, &config, shutdown_signal())
        .await
        .map_err(failed)
}
