//! `xbl-mpsd-emulator`: serves an MPSD (in memory, or kept in `--data-dir`) until Ctrl-C or SIGTERM.

use std::io::{self, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;
use xbl_mpsd_emulator::{Clock, EmulatorConfig, shutdown_signal, try_router};

/// A local, in-memory Xbox Live Multiplayer Session Directory (MPSD).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "XBL_MPSD_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = EmulatorConfig::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Title ID reported for activity handles and members.
    #[arg(long, default_value_t = EmulatorConfig::default().title_id)]
    title_id: u32,
    /// Keep sessions and handles in this directory (created when missing) and restore them on start; every
    /// write is durable before it is answered. Without it, everything is in memory.
    #[arg(long, env = "XBL_MPSD_EMULATOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Most connections served at once; more wait in the listen backlog.
    #[arg(long, default_value_t = EmulatorConfig::default().max_connections)]
    max_connections: usize,
    /// Seconds a client has to send a request head (idle kept-alive connections close after it too).
    #[arg(long, default_value_t = EmulatorConfig::default().header_read_timeout.as_secs())]
    header_read_timeout_secs: u64,
    /// Most sessions one user may have created (and that still exist); more is 403.
    #[arg(long, default_value_t = EmulatorConfig::default().max_sessions_per_user)]
    max_sessions_per_user: usize,
    /// Most handles one user may have created (and that still exist); more is 403.
    #[arg(long, default_value_t = EmulatorConfig::default().max_handles_per_user)]
    max_handles_per_user: usize,
    /// Largest session document, in bytes of JSON; a write that would exceed it is 413.
    #[arg(long, default_value_t = EmulatorConfig::default().max_session_bytes)]
    max_session_bytes: usize,
    /// Stop time: the clock stands still (from the start time, whole seconds) until `POST /_emulator/clock`
    /// with `{"advanceMs": N}` moves it; timers then apply as if that time had passed.
    #[arg(long)]
    manual_clock: bool,
    /// Session templates: DIR/<template>.json under every SCID, DIR/<scid>/<template>.json under one (it wins);
    /// each `{"contractVersion": 107, "constants": {"system": …, "custom": …}, "roleTypes": …}`. A bad file stops
    /// the emulator; a session of an unknown template is 404. Without it every template name exists, empty.
    #[arg(long, env = "XBL_MPSD_EMULATOR_TEMPLATES")]
    templates: Option<PathBuf>,
    /// Let the explorer (/explorer) change state: delete a session, remove a member, drop a member's RTA
    /// connection, advance a manual clock. Without it the explorer only reads.
    #[arg(long)]
    explorer_actions: bool,
}

async fn run(args: Args) -> io::Result<()> {
    let config = EmulatorConfig {
        bind_addr: args.listen,
        max_body_bytes: args.max_body_bytes,
        title_id: args.title_id,
        data_dir: args.data_dir,
        templates: args.templates,
        explorer_actions: args.explorer_actions,
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
        max_sessions_per_user: args.max_sessions_per_user,
        max_handles_per_user: args.max_handles_per_user,
        max_session_bytes: args.max_session_bytes,
        clock: if args.manual_clock {
            Clock::manual()
        } else {
            Clock::system()
        },
        ..EmulatorConfig::default()
    };
    let wanted = config.bind_addr;
    let listener = TcpListener::bind(wanted)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {wanted}: {e}")))?;
    let addr = listener.local_addr()?;
    // Opened (and restored) before the URL is printed: a client that read it finds the stored directory.
    let app = try_router(config.clone())?;
    // The URL alone on stdout (for scripts); the banner for people on stderr.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "http://{addr}")?;
    stdout.flush()?;
    drop(stdout);
    eprint!("{}", xbl_mpsd_emulator::banner(&format!("http://{addr}")));
    xbl_mpsd_emulator::serve_router(listener, app, &config, shutdown_signal()).await
}

#[tokio::main]
async fn main() -> ExitCode {
    // One line per request at info level unless RUST_LOG says otherwise; colours only on a terminal.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_env_filter(filter)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xbl-mpsd-emulator: {error}");
            ExitCode::FAILURE
        }
    }
}
