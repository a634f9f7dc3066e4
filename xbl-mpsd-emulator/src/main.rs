//! `xbl-mpsd-emulator`: serves an in-memory MPSD until Ctrl-C or SIGTERM.

use std::io::{self, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use xbl_mpsd_emulator::{EmulatorConfig, serve_with_shutdown, shutdown_signal};

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
}

async fn run(args: Args) -> io::Result<()> {
    let config = EmulatorConfig {
        bind_addr: args.listen,
        max_body_bytes: args.max_body_bytes,
        title_id: args.title_id,
        ..EmulatorConfig::default()
    };
    let wanted = config.bind_addr;
    let listener = TcpListener::bind(wanted)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {wanted}: {e}")))?;
    let addr = listener.local_addr()?;
    // The URL alone on stdout (for scripts); the banner for people on stderr.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "http://{addr}")?;
    stdout.flush()?;
    drop(stdout);
    eprint!("{}", xbl_mpsd_emulator::banner(&format!("http://{addr}")));
    serve_with_shutdown(listener, config, shutdown_signal()).await
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
