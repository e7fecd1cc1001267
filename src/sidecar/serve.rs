//! `homeswap serve`: the sidecar. It binds its listeners ([`Listeners`]),
//! validates at start, every `serve.interval` and after every file-system
//! notification, counts the swaps of other processes from the audit log,
//! serves the HTTP routes, reloads on SIGHUP and shuts down gracefully on
//! SIGTERM or SIGINT (in-flight requests, a swap among them, finish first).
//!
//! The pieces, each a task: the validation loop and the audit-log loop
//! (`tasks`), the inotify forwarder (`watch`), one accept loop per listener
//! (`accept`), and the signal handler (`signals`). This file starts them
//! and stops them, in that order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Notify};

use crate::http::Access;
use crate::ops::context::Context;
use crate::sidecar::accept::{accept_tcp, accept_unix};
use crate::sidecar::audit_tail::AuditTail;
use crate::sidecar::signals::Signals;
use crate::sidecar::tasks::{audit_loop, validation_loop};
use crate::sidecar::watch::{self as fs_watch, Notifiers, Watcher};
use crate::sidecar::Sidecar;

pub use crate::sidecar::listeners::{bind_tcp, Listeners, ServeError};

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the sidecar until SIGTERM or SIGINT.
/// `ctx` is the context start-up recovery ran on, so a latch it could only
/// hold in memory is the sidecar's latch.
pub fn run(ctx: Context, listeners: Listeners) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let config_path = ctx.config.path.clone();
    let sidecar = Sidecar::new(&config_path, ctx);
    // Before anything else: what the log holds now was counted by whoever
    // ran then (an earlier sidecar among them).
    let tail = AuditTail::at_end(sidecar.context().state.audit());
    runtime.block_on(serve(sidecar, listeners, tail))
}

async fn serve(
    sidecar: Arc<Sidecar>,
    listeners: Listeners,
    tail: AuditTail,
) -> Result<(), ServeError> {
    let signals = Signals::install()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());

    // Validate once before answering anything, so the first scrape is real.
    let first = sidecar.clone();
    let _ = tokio::task::spawn_blocking(move || first.revalidate()).await;

    let notifiers = Notifiers {
        links: Arc::new(Notify::new()),
        audit_log: Arc::new(Notify::new()),
    };
    let watcher = Watcher::new().map(Arc::new);
    if let Some(w) = &watcher {
        w.refresh(&sidecar.context().config);
        tokio::spawn(fs_watch::run(w.clone(), notifiers.clone()));
    }
    let tasks = [
        tokio::spawn(validation_loop(
            sidecar.clone(),
            watcher.clone(),
            notifiers.links.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(audit_loop(
            sidecar.clone(),
            tail,
            notifiers.audit_log.clone(),
            stop_rx.clone(),
        )),
    ];

    let mut accept_loops = Vec::new();
    let read_only = TcpListener::from_std(listeners.read_only).map_err(ServeError::Runtime)?;
    log_ready("read-only listener ready", read_only.local_addr().ok());
    accept_loops.push(tokio::spawn(accept_tcp(
        read_only,
        Access::ReadOnly,
        sidecar.clone(),
        graceful.clone(),
        stop_rx.clone(),
    )));
    if let Some((l, token)) = listeners.admin_tcp {
        let l = TcpListener::from_std(l).map_err(ServeError::Runtime)?;
        log_ready("admin listener ready", l.local_addr().ok());
        accept_loops.push(tokio::spawn(accept_tcp(
            l,
            Access::AdminTcp(Arc::new(token)),
            sidecar.clone(),
            graceful.clone(),
            stop_rx.clone(),
        )));
    }
    let socket_path = match listeners.admin_unix {
        Some((l, path)) => {
            let l = UnixListener::from_std(l).map_err(ServeError::Runtime)?;
            tracing::info!(socket = %crate::fs::pathfmt::shown(&path), "admin socket ready");
            accept_loops.push(tokio::spawn(accept_unix(
                l,
                sidecar.clone(),
                graceful.clone(),
                stop_rx.clone(),
            )));
            Some(path)
        }
        None => None,
    };

    signals.wait_for_stop(&sidecar, watcher.as_deref()).await;
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    let _ = stop_tx.send(true);
    for l in accept_loops.into_iter().chain(tasks) {
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
    tracing::info!("stopped");
    Ok(())
}

fn log_ready(message: &'static str, addr: Option<SocketAddr>) {
    match addr {
        Some(a) => tracing::info!(addr = %a, "{message}"),
        None => tracing::info!("{message}"),
    }
}
