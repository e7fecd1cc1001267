//! `homeswap serve`: the sidecar. It validates at start, every
//! `serve.interval` and after every file-system notification, counts the
//! swaps of other processes from the audit log, hands itself (as its
//! [`Api`]) to the server its caller gives (the CLI: the HTTP routes on the
//! bound `Listeners`), reloads on SIGHUP and
//! shuts down gracefully on SIGTERM or SIGINT (in-flight requests, a swap
//! among them, finish first).
//!
//! The pieces, each a task: the validation loop and the audit-log loop
//! (`tasks`), the fleet view's refreshes (`fleet`), the inotify forwarder
//! (`watch`), the server, and the signal
//! handler (`signals`). This file starts them and stops them, in that
//! order.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use crate::ops::context::Context;
use crate::sidecar::api::Api;
use crate::sidecar::audit_tail::AuditTail;
use crate::sidecar::listeners::ServeError;
use crate::sidecar::signals::Signals;
use crate::sidecar::state::Sidecar;
use crate::sidecar::tasks::{audit_loop, validation_loop};
use crate::sidecar::watch::{self as fs_watch, Notifiers, Watcher};

/// Runs the sidecar until SIGTERM or SIGINT. `ctx` is the context start-up
/// recovery ran on, so a latch it could only hold in memory is the
/// sidecar's latch. `server` is called once, inside the runtime, after the
/// first validation, with the sidecar and the stop signal; the future it
/// returns ends when, after the stop, its requests in flight are done.
pub(crate) fn run<S, F>(ctx: Context, server: S) -> Result<(), ServeError>
where
    S: FnOnce(Arc<dyn Api>, watch::Receiver<bool>) -> Result<F, ServeError>,
    F: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let config_path = ctx.config.path.clone();
    let sidecar = Sidecar::new(&config_path, ctx)?;
    // Before anything else: what the log holds now was counted by whoever
    // ran then (an earlier sidecar among them).
    let tail = AuditTail::at_end(sidecar.context().state.audit());
    runtime.block_on(serve(sidecar, tail, server))
}

async fn serve<S, F>(sidecar: Arc<Sidecar>, tail: AuditTail, server: S) -> Result<(), ServeError>
where
    S: FnOnce(Arc<dyn Api>, watch::Receiver<bool>) -> Result<F, ServeError>,
    F: Future<Output = ()>,
{
    let signals = Signals::install()?;
    let (stop_tx, stop_rx) = watch::channel(false);

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
    // The fleet view: its metrics before the first scrape, then its refreshes.
    crate::sidecar::fleet::prepare(&sidecar);
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
        tokio::spawn(crate::sidecar::fleet::refresh_loop(
            sidecar.clone(),
            stop_rx.clone(),
        )),
    ];
    let served = server(sidecar.clone(), stop_rx)?;

    signals.wait_for_stop(&sidecar, watcher.as_deref()).await;
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    let _ = stop_tx.send(true);
    served.await;
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!("stopped");
    Ok(())
}
