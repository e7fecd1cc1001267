//! `homeswap serve`: the sidecar. It binds its listeners, validates at
//! start, every `serve.interval` and after every file-system notification,
//! serves the HTTP routes, reloads on SIGHUP and shuts down gracefully on
//! SIGTERM or SIGINT (in-flight requests, a swap among them, finish first).
//!
//! The pieces, each a task: the validation loop, the inotify forwarder,
//! one accept loop per listener, and the signal handler.

use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

use crate::config::Config;
use crate::http::{self, Access};
use crate::ops::context::Context;
use crate::sidecar::token::{AdminToken, TokenError};
use crate::sidecar::watch::Watcher;
use crate::sidecar::Sidecar;

/// A client must send its request headers within this time; idle
/// keep-alive connections are closed after it too.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long after a notification the loop waits, so that a burst of
/// changes (a whole home re-created) costs one validation, not hundreds.
pub const COALESCE: Duration = Duration::from_millis(50);

/// How long shutdown waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the sidecar could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The admin token file is unusable.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A TCP address could not be bound.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Which listener.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The Unix socket could not be created.
    #[error("cannot create the admin socket {}: {message}", path.display())]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// The sockets the sidecar serves on, bound before it starts.
#[derive(Debug)]
pub struct Listeners {
    /// The read-only listener.
    pub read_only: std::net::TcpListener,
    /// The TCP admin listener and its token.
    pub admin_tcp: Option<(std::net::TcpListener, AdminToken)>,
    /// The Unix admin socket and its path (removed at shutdown).
    pub admin_unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
}

impl Listeners {
    /// Binds every listener the configuration names. The token file is
    /// checked here, so a bad one stops the start.
    pub fn bind(config: &Config) -> Result<Listeners, ServeError> {
        let read_only = bind_tcp(&config.serve.listen, "read-only listener")?;
        let mut admin_tcp = None;
        let mut admin_unix = None;
        if let Some(admin) = &config.serve.admin {
            if let Some(addr) = &admin.listen {
                let path = admin
                    .token_file
                    .as_deref()
                    .expect("config requires token_file with listen");
                let token = AdminToken::load(path)?;
                admin_tcp = Some((bind_tcp(addr, "admin listener")?, token));
            }
            if let Some(path) = &admin.socket {
                admin_unix = Some((bind_unix(path)?, path.clone()));
            }
        }
        Ok(Listeners {
            read_only,
            admin_tcp,
            admin_unix,
        })
    }
}

/// Binds a TCP address, non-blocking for tokio.
pub fn bind_tcp(addr: &str, what: &'static str) -> Result<std::net::TcpListener, ServeError> {
    let bind_err = |source| ServeError::Bind {
        addr: addr.to_string(),
        what,
        source,
    };
    let l = std::net::TcpListener::bind(addr).map_err(bind_err)?;
    l.set_nonblocking(true).map_err(bind_err)?;
    Ok(l)
}

/// Creates the admin socket with mode 0600. A stale socket left by a dead
/// sidecar is replaced; a live one, or anything that is not a socket, is
/// an error (nothing else is ever removed).
fn bind_unix(path: &Path) -> Result<std::os::unix::net::UnixListener, ServeError> {
    let fail = |message: String| ServeError::Socket {
        path: path.to_path_buf(),
        message,
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(fail(
                "something that is not a socket is there; move it away".into(),
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(fail("another process is serving on it".into()));
        }
        std::fs::remove_file(path)
            .map_err(|e| fail(format!("cannot remove the stale socket: {e}")))?;
    }
    // No other thread runs yet, so narrowing the umask here is safe; it
    // keeps the socket private from its first moment, not just after chmod.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let l = bound.map_err(|e| fail(e.to_string()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(e.to_string()))?;
    l.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
    Ok(l)
}

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
    runtime.block_on(serve(sidecar, listeners))
}

async fn serve(sidecar: Arc<Sidecar>, listeners: Listeners) -> Result<(), ServeError> {
    let signals = Signals::install()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());

    // Validate once before answering anything, so the first scrape is real.
    let first = sidecar.clone();
    let _ = tokio::task::spawn_blocking(move || first.revalidate()).await;

    let watcher = Watcher::new().map(Arc::new);
    if let Some(w) = &watcher {
        w.refresh(&sidecar.context().config);
        tokio::spawn(crate::sidecar::watch::run(w.clone(), sidecar.clone()));
    }
    let validation = tokio::spawn(validation_loop(
        sidecar.clone(),
        watcher.clone(),
        stop_rx.clone(),
    ));

    let mut accept_loops = Vec::new();
    let read_only = TcpListener::from_std(listeners.read_only).map_err(ServeError::Runtime)?;
    log_ready("read-only listener ready", &read_only.local_addr().ok());
    accept_loops.push(tokio::spawn(accept_tcp(
        read_only,
        Access::ReadOnly,
        sidecar.clone(),
        graceful.clone(),
        stop_rx.clone(),
    )));
    if let Some((l, token)) = listeners.admin_tcp {
        let l = TcpListener::from_std(l).map_err(ServeError::Runtime)?;
        log_ready("admin listener ready", &l.local_addr().ok());
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
            tracing::info!(socket = %path.display(), "admin socket ready");
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

    wait_for_stop(signals, &sidecar, watcher.as_deref()).await;
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    let _ = stop_tx.send(true);
    for l in accept_loops {
        let _ = l.await;
    }
    let _ = validation.await;
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

fn log_ready(message: &'static str, addr: &Option<SocketAddr>) {
    match addr {
        Some(a) => tracing::info!(addr = %a, "{message}"),
        None => tracing::info!("{message}"),
    }
}

/// Validates every interval, and soon after every notification.
async fn validation_loop(
    sidecar: Arc<Sidecar>,
    watcher: Option<Arc<Watcher>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let interval = sidecar.context().config.serve.interval;
        let notified = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = sidecar.validate_now.notified() => {
                tokio::time::sleep(COALESCE).await;
                // The validation below sees whatever the burst changed, so a
                // wake-up stored during the pause would only validate again.
                forget_stored_wakeup(&sidecar.validate_now).await;
                true
            }
            _ = stop.changed() => return,
        };
        let (s, w) = (sidecar.clone(), watcher.clone());
        let _ = tokio::task::spawn_blocking(move || {
            let changed = s.revalidate_changed();
            // New directories to watch appear only with a notification or a
            // changed report; an unchanged periodic pass skips the re-adding
            // of every watch (thousands of path lookups at 1,000 accounts).
            if let Some(w) = w.filter(|_| notified || changed) {
                w.refresh(&s.context().config);
            }
        })
        .await;
    }
}

/// Consumes a wake-up stored in `notify`, if any, without waiting.
async fn forget_stored_wakeup(notify: &tokio::sync::Notify) {
    tokio::select! {
        biased;
        _ = notify.notified() => {}
        _ = std::future::ready(()) => {}
    }
}

/// The signals the sidecar acts on. Installed before any listener is
/// announced: until then SIGHUP's default action would kill the process.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> Result<Signals, ServeError> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(ServeError::Runtime)?,
            int: signal(SignalKind::interrupt()).map_err(ServeError::Runtime)?,
            hup: signal(SignalKind::hangup()).map_err(ServeError::Runtime)?,
        })
    }
}

/// Returns on SIGTERM or SIGINT; reloads the configuration on SIGHUP.
async fn wait_for_stop(signals: Signals, sidecar: &Arc<Sidecar>, watcher: Option<&Watcher>) {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {
                let s = sidecar.clone();
                match tokio::task::spawn_blocking(move || s.reload()).await {
                    Ok(Ok(())) => {
                        tracing::info!("configuration reloaded");
                        if let Some(w) = watcher {
                            w.refresh(&sidecar.context().config);
                        }
                        sidecar.validate_now.notify_one();
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "configuration not reloaded; keeping the one in force"),
                    Err(e) => tracing::error!(error = %e, "configuration reload failed"),
                }
            }
        }
    }
}

async fn accept_tcp(
    listener: TcpListener,
    access: Access,
    sidecar: Arc<Sidecar>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        serve_connection(stream, access.clone(), sidecar.clone(), &graceful);
    }
}

async fn accept_unix(
    listener: UnixListener,
    sidecar: Arc<Sidecar>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    let own = nix::unistd::getuid().as_raw();
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed on the admin socket");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let uid = stream.peer_cred().ok().map(|c| c.uid());
        let allowed = matches!(uid, Some(u) if u == own || u == 0);
        if !allowed {
            tracing::warn!(peer_uid = ?uid, "admin socket: peer refused");
        }
        serve_connection(
            stream,
            Access::AdminUnix { allowed, uid },
            sidecar.clone(),
            &graceful,
        );
    }
}

fn serve_connection<S>(
    stream: S,
    access: Access,
    sidecar: Arc<Sidecar>,
    graceful: &GracefulShutdown,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| http::handle(sidecar.clone(), access.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
}
