//! Serving the sidecar over HTTP: each bound listener gets its accept loop
//! (`accept`), every connection is served by the routes, and after the
//! stop signal the requests in flight finish (within [`DRAIN_TIMEOUT`])
//! and the admin socket is removed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use crate::http::accept::{accept_tcp, accept_unix};
use crate::http::route::Access;
use crate::sidecar::{Api, Listeners, ServeError};

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts serving `api` on `listeners` until `stop` changes (inside the
/// runtime). The future it returns ends when, after the stop, every
/// request in flight has finished.
pub(crate) fn serve(
    listeners: Listeners,
    api: Arc<dyn Api>,
    stop: watch::Receiver<bool>,
) -> Result<impl Future<Output = ()>, ServeError> {
    let graceful = Arc::new(GracefulShutdown::new());
    let mut accept_loops = Vec::new();
    let read_only = TcpListener::from_std(listeners.read_only).map_err(ServeError::Runtime)?;
    log_ready("read-only listener ready", read_only.local_addr().ok());
    accept_loops.push(tokio::spawn(accept_tcp(
        read_only,
        Access::ReadOnly,
        api.clone(),
        graceful.clone(),
        stop.clone(),
    )));
    if let Some((l, token)) = listeners.admin_tcp {
        let l = TcpListener::from_std(l).map_err(ServeError::Runtime)?;
        log_ready("admin listener ready", l.local_addr().ok());
        accept_loops.push(tokio::spawn(accept_tcp(
            l,
            Access::AdminTcp(Arc::new(token)),
            api.clone(),
            graceful.clone(),
            stop.clone(),
        )));
    }
    let socket_path = match listeners.admin_unix {
        Some((l, path)) => {
            let l = UnixListener::from_std(l).map_err(ServeError::Runtime)?;
            tracing::info!(socket = %crate::fs::pathfmt::shown(&path), "admin socket ready");
            accept_loops.push(tokio::spawn(accept_unix(
                l,
                api.clone(),
                graceful.clone(),
                stop.clone(),
            )));
            Some(path)
        }
        None => None,
    };
    Ok(async move {
        for l in accept_loops {
            let _ = l.await;
        }
        if let Ok(graceful) = Arc::try_unwrap(graceful) {
            if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; closing them");
            }
        }
        if let Some(path) = socket_path {
            let _ = std::fs::remove_file(path);
        }
    })
}

fn log_ready(message: &'static str, addr: Option<SocketAddr>) {
    match addr {
        Some(a) => tracing::info!(addr = %a, "{message}"),
        None => tracing::info!("{message}"),
    }
}
