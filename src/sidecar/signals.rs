//! The signals the sidecar acts on: SIGTERM and SIGINT stop it, SIGHUP
//! reloads its configuration.

use std::sync::Arc;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::sidecar::listeners::ServeError;
use crate::sidecar::watch::Watcher;
use crate::sidecar::Sidecar;

/// The installed signal streams. Installed before any listener is
/// announced: until then SIGHUP's default action would kill the process.
pub(crate) struct Signals {
    /// SIGTERM: stop gracefully.
    term: Signal,
    /// SIGINT: stop gracefully.
    int: Signal,
    /// SIGHUP: reload the configuration.
    hup: Signal,
}

impl Signals {
    /// Installs the three handlers.
    pub(crate) fn install() -> Result<Signals, ServeError> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(ServeError::Runtime)?,
            int: signal(SignalKind::interrupt()).map_err(ServeError::Runtime)?,
            hup: signal(SignalKind::hangup()).map_err(ServeError::Runtime)?,
        })
    }

    /// Returns on SIGTERM or SIGINT; reloads the configuration on SIGHUP.
    pub(crate) async fn wait_for_stop(self, sidecar: &Arc<Sidecar>, watcher: Option<&Watcher>) {
        let Signals {
            mut term,
            mut int,
            mut hup,
        } = self;
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = int.recv() => return,
                _ = hup.recv() => reload(sidecar, watcher).await,
            }
        }
    }
}

/// Reloads the configuration; on error the one in force stays.
async fn reload(sidecar: &Arc<Sidecar>, watcher: Option<&Watcher>) {
    let s = sidecar.clone();
    match tokio::task::spawn_blocking(move || s.reload()).await {
        Ok(Ok(())) => {
            tracing::info!("configuration reloaded");
            if let Some(w) = watcher {
                w.refresh(&sidecar.context().config);
            }
            sidecar.validate_now.notify_one();
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "configuration not reloaded; keeping the one in force")
        }
        Err(e) => tracing::error!(error = %e, "configuration reload failed"),
    }
}
