//! Starting, embedding and stopping the emulator.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::rta::RtaControl;

/// Entry point: starts emulator instances.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emulator;

impl Emulator {
    /// Binds `config.bind_addr` (by default `127.0.0.1:0`, an ephemeral loopback port) and serves the emulator
    /// on a background task of the current Tokio runtime until [`RunningEmulator::shutdown`] is called or the
    /// handle is dropped.
    ///
    /// Each instance has its own empty, in-memory directory.
    ///
    /// # Errors
    ///
    /// Fails when the address cannot be bound.
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
        let listener = TcpListener::bind(config.bind_addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (app, hub) = crate::routes::build(config);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Either an explicit shutdown or the handle being dropped stops the server.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningEmulator {
            local_addr,
            rta: RtaControl(hub),
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

/// Builds the emulator as an axum [`Router`], with a fresh empty directory, for embedding in your own server.
///
/// The router carries its own body-size limit (`config.max_body_bytes`); `config.bind_addr` is not used.
pub fn router(config: EmulatorConfig) -> Router {
    crate::routes::router(config)
}

/// Serves the emulator on an already bound `listener` until the future is dropped or the server fails.
///
/// # Errors
///
/// Returns the I/O error that stopped the server.
pub async fn serve(listener: TcpListener, config: EmulatorConfig) -> io::Result<()> {
    axum::serve(listener, router(config)).await
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
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
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
