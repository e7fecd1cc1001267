//! The sockets the sidecar serves on: bound before the runtime starts, so
//! a port in use or a bad token file stops `homeswap serve` at once with a
//! message, before anything is announced.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::fs::pathfmt::shown;
use crate::ops::class::{Classified, ErrorClass};
use crate::sidecar::token::{AdminToken, TokenError};

/// Why the sidecar could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
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
    #[error("cannot create the admin socket {}: {message}", shown(path))]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The metrics could not be registered (a defect).
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

impl Classified for ServeError {
    /// A token file that is missing, empty or loose is a configuration
    /// error; anything else (cannot listen) is a failure.
    fn class(&self) -> ErrorClass {
        match self {
            ServeError::Token(_) => ErrorClass::Usage,
            _ => ErrorClass::Refused,
        }
    }
}

/// The sockets the sidecar serves on, bound before it starts.
#[derive(Debug)]
pub(crate) struct Listeners {
    /// The read-only listener.
    pub(crate) read_only: std::net::TcpListener,
    /// The TCP admin listener and its token.
    pub(crate) admin_tcp: Option<(std::net::TcpListener, AdminToken)>,
    /// The Unix admin socket and its path (removed at shutdown).
    pub(crate) admin_unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
}

impl Listeners {
    /// Binds every listener the configuration names. The token file is
    /// checked here, so a bad one stops the start.
    pub(crate) fn bind(config: &Config) -> Result<Listeners, ServeError> {
        let read_only = bind_tcp(&config.serve.listen, "read-only listener")?;
        let mut admin_tcp = None;
        let mut admin_unix = None;
        if let Some(admin) = &config.serve.admin {
            if let Some(addr) = &admin.listen {
                // Config::load refuses `listen` without `token_file`.
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
pub(crate) fn bind_tcp(
    addr: &str,
    what: &'static str,
) -> Result<std::net::TcpListener, ServeError> {
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
/// sidecar is replaced (and the replacement logged: an operator who finds
/// a socket gone wants to know who removed it); a live one, or anything
/// that is not a socket, is an error (nothing else is ever removed).
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
        tracing::warn!(
            socket = %shown(path),
            "replaced a stale admin socket that nothing was serving on"
        );
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
