//! The accept loops, one per listener, and the serving of one connection:
//! HTTP/1.1 with a header timeout, watched by the graceful shutdown so
//! that requests in flight finish before the process exits.

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use crate::http::route::{handle, Access};
use crate::sidecar::Api;

/// A client must send its request headers within this time; idle
/// keep-alive connections are closed after it too.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an accept loop pauses after a failed accept (out of
/// descriptors and the like), rather than spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Accepts TCP connections until `stop` changes.
pub(crate) async fn accept_tcp(
    listener: TcpListener,
    access: Access,
    api: Arc<dyn Api>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        serve_connection(stream, access.clone(), api.clone(), &graceful);
    }
}

/// Accepts admin-socket connections until `stop` changes; a peer that is
/// neither this process's uid nor root gets 403 on every request.
pub(crate) async fn accept_unix(
    listener: UnixListener,
    api: Arc<dyn Api>,
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
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let uid = stream.peer_cred().ok().map(|c| c.uid());
        let allowed = matches!(uid, Some(u) if u == own || u == 0);
        if !allowed {
            // An unknown uid is left out of the event rather than logged as a placeholder.
            tracing::warn!(peer_uid = uid, "admin socket: peer refused");
        }
        serve_connection(
            stream,
            Access::AdminUnix { allowed, uid },
            api.clone(),
            &graceful,
        );
    }
}

/// Serves one connection on its own task.
fn serve_connection<S>(stream: S, access: Access, api: Arc<dyn Api>, graceful: &GracefulShutdown)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(api.clone(), access.clone(), req));
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
