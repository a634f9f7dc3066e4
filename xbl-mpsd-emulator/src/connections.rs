//! The accept loop: a cap on concurrent connections, a header-read timeout, and graceful shutdown.
//!
//! `axum::serve` offers neither a connection cap nor a header-read timeout (it sets no hyper timer), so a client
//! that opens connections and never finishes a request head holds a file descriptor forever: 300 of them
//! exhausted the descriptors and stopped the server accepting (issue #11, R8). This loop serves each connection
//! with hyper's HTTP/1.1 server directly:
//!
//! * a connection is accepted only while fewer than `max_connections` are open (a semaphore permit is taken
//!   *before* `accept`), so excess clients wait in the kernel's listen backlog and hold no descriptor here;
//! * hyper's `header_read_timeout` (with a Tokio timer) closes a connection whose request head — or, on a
//!   kept-alive connection, whose next request head — is not complete in time, so half-sent requests and idle
//!   connections cannot hold a slot for longer than that;
//! * slow request bodies are bounded separately by [`crate::body_limit`] (408);
//! * an `accept` error (e.g. `EMFILE`) is logged and retried after a short pause instead of ending the server;
//! * on shutdown no new connection is accepted, every open connection is asked to finish its in-flight request
//!   and close, and the loop waits (at most [`SHUTDOWN_GRACE`]) for them.
//!
//! HTTP/1.1 only (with upgrades, for websockets): MPSD clients speak HTTP/1.1 to the emulator's plain-HTTP
//! loopback port, and hyper's HTTP/2 auto-detection would read the connection preface before any timeout runs.

use std::convert::Infallible;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::config::EmulatorConfig;

/// Changes (or closes) when the server starts to shut down; given to the requests that stream without end (the
/// explorer's live feed), so that they end and let the connection close gracefully.
#[derive(Debug, Clone)]
pub(crate) struct Stopping(pub(crate) watch::Receiver<()>);

/// The path of the explorer's live feed, the one request that streams until it is stopped.
pub(crate) const LIVE_FEED_PATH: &str = "/explorer/events";

/// How long shutdown waits for open connections to finish before giving up on them.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` under `config`'s connection limits until `shutdown` completes.
///
/// # Errors
///
/// Never fails today (accept errors are retried); the `io::Result` keeps the signature of `axum::serve`.
pub(crate) async fn serve<F>(
    listener: TcpListener,
    app: Router,
    config: &EmulatorConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let ceiling = usize::try_from(u32::MAX)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS);
    let max_connections = config.max_connections.clamp(1, ceiling);
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        // Every answer's `Date` (MPSD sends one; the SDK reads it as `Session::retrieved`): hyper's is
        // cached per second, where formatting one per response cost ~1 % of a shared-session write.
        .auto_date_header(true);
    // Dropping the sender tells every connection task to shut down gracefully.
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let stopping = stop_rx.clone();
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(move |request: hyper::Request<Incoming>| -> Request {
                    let mut request = request.map(Body::new);
                    // The explorer's live feed never ends by itself: it ends when shutdown starts.
                    if request.uri().path() == LIVE_FEED_PATH {
                        request.extensions_mut().insert(Stopping(stopping.clone()));
                    }
                    request
                })
                .map_err(|never: Infallible| match never {}),
        );
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    if let Err(error) = connection.await {
                        tracing::debug!(%peer, %error, "connection ended with an error during shutdown");
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    drop(stop_tx);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; leaving them");
    }
    Ok(())
}
