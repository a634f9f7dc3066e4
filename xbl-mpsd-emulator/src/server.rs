//! Starting, embedding and stopping the emulator.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Clock;
use crate::config::EmulatorConfig;
use crate::rta::RtaControl;
use crate::store::Store;

/// Entry point: starts emulator instances.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emulator;

impl Emulator {
    /// Binds `config.bind_addr` (by default `127.0.0.1:0`, an ephemeral loopback port) and serves the emulator
    /// on a background task of the current Tokio runtime until [`RunningEmulator::shutdown`] is called or the
    /// handle is dropped.
    ///
    /// Each instance has its own empty, in-memory directory, or — with `config.data_dir` — the directory stored
    /// there.
    ///
    /// # Errors
    ///
    /// Fails when the address cannot be bound (the error names it) or the data directory cannot be opened.
    ///
    /// # Example
    ///
    /// ```
    /// use xbl_mpsd_emulator::{Emulator, EmulatorConfig};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// runtime.block_on(async {
    ///     let emulator = Emulator::start(EmulatorConfig::default()).await?;
    ///     let url = emulator.base_url();
    ///     assert!(url.starts_with("http://127.0.0.1:"));
    ///     // Point an MPSD client at `url`, e.g. PUT {url}/serviceconfigs/{scid}/sessionTemplates/{t}/sessions/{n}
    ///     // with `Authorization: XBL3.0 x=-;<xuid>` and `X-Xbl-Contract-Version: 107`.
    ///     emulator.shutdown().await;
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub async fn start(config: EmulatorConfig) -> io::Result<RunningEmulator> {
        let wanted = config.bind_addr;
        let listener = TcpListener::bind(wanted)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {wanted}: {e}")))?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (app, hub, store) = crate::routes::build(config.clone(), Store::open(&config)?);
        let clock = config.clock.clone();
        let task = tokio::spawn(async move {
            let stopped = async move {
                // Either an explicit shutdown or the handle being dropped stops the server.
                let _ = stopped.await;
            };
            crate::connections::serve(listener, app, &config, stopped).await
        });
        Ok(RunningEmulator {
            local_addr,
            rta: RtaControl(hub),
            store,
            clock,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running emulator instance. Dropping it stops the server; [`RunningEmulator::shutdown`] also waits for it.
#[derive(Debug)]
pub struct RunningEmulator {
    local_addr: SocketAddr,
    rta: RtaControl,
    store: Arc<Store>,
    clock: Clock,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningEmulator {
    /// The base URL to point an MPSD client at, e.g. `http://127.0.0.1:49152` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The RTA websocket URL, `ws://127.0.0.1:PORT/connect`: point an RTA client at it.
    pub fn rta_url(&self) -> String {
        format!("ws://{}/connect", self.local_addr)
    }

    /// Controls of the RTA endpoint (drop sockets, send resyncs), for tests.
    pub fn rta(&self) -> &RtaControl {
        &self.rta
    }

    /// The emulator's clock ([`EmulatorConfig::clock`]): with a manual clock, [`Clock::advance`] moves the time
    /// and applies the timers that fell due before it returns.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// How many sessions the emulator holds in memory. A session deleted by a write or by a timer (the sweep
    /// included) is no longer counted.
    pub fn session_count(&self) -> usize {
        self.store.session_count()
    }

    /// The earliest pending timer of any session (what the sweep waits for), if any.
    pub fn next_timer(&self) -> Option<std::time::SystemTime> {
        self.store.earliest_deadline().map(Into::into)
    }

    /// The address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server to stop.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "emulator server task ended abnormally");
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Builds the emulator as an axum [`Router`], with a fresh empty in-memory directory, for embedding in your own
/// server. `config.data_dir` is not used here; [`try_router`] honours it.
///
/// The router carries its own body-size limit (`config.max_body_bytes`, answered 413) and body-read timeout
/// (`config.body_read_timeout`, answered 408); the connection limits (`max_connections`,
/// `header_read_timeout`) belong to the server you embed it in. `config.bind_addr` is not used.
pub fn router(config: EmulatorConfig) -> Router {
    let store = Store::in_memory(&config);
    crate::routes::router(config, store)
}

/// Like [`router`], but with the directory stored in `config.data_dir` when it is set (created when missing):
/// every write is durable before it is answered, and the stored sessions and handles are served from the start.
///
/// # Errors
///
/// Fails when the data directory cannot be created, opened (e.g. another process holds it) or read.
pub fn try_router(config: EmulatorConfig) -> io::Result<Router> {
    let store = Store::open(&config)?;
    Ok(crate::routes::router(config, store))
}

/// Serves the emulator on an already bound `listener` until the future is dropped or the server fails.
///
/// Connections are capped at `config.max_connections` and a request head must arrive within
/// `config.header_read_timeout` (see the crate README, "Limits").
///
/// # Errors
///
/// Returns the I/O error that stopped the server.
pub async fn serve(listener: TcpListener, config: EmulatorConfig) -> io::Result<()> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

/// Like [`serve`], but stops gracefully once `shutdown` completes.
///
/// # Errors
///
/// Returns the I/O error that stopped the server.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    config: EmulatorConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = try_router(config.clone())?;
    crate::connections::serve(listener, app, &config, shutdown).await
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM: the shutdown future for [`serve_with_shutdown`] in a program
/// that serves until it is stopped.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Serves a router built by [`try_router`] (or [`router`]) on `listener` with `config`'s connection limits
/// (`max_connections`, `header_read_timeout`) until `shutdown` completes.
///
/// # Errors
///
/// Returns the I/O error that stopped the server.
pub async fn serve_router<F>(
    listener: TcpListener,
    app: Router,
    config: &EmulatorConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    crate::connections::serve(listener, app, config, shutdown).await
}
