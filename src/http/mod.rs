//! HTTP: the routes of the two kinds of listener, and the one place where
//! errors become HTTP answers.
//!
//! The read-only listener (what Prometheus, probes and people reach)
//! serves the status page `GET /`, `/metrics`, `/healthz`, `/readyz` and
//! `GET /api/v1/status` and never
//! anything that changes state ([`read_only`]). The admin listeners
//! authenticate every request first, then serve the mutating API
//! ([`admin`]). Every error answer, whatever produced it, is written by
//! [`errors`] in one shape.

mod admin;
mod body;
mod errors;
mod page;
mod read_only;
mod response;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Request;

use crate::sidecar::token::AdminToken;
use crate::sidecar::Sidecar;

pub use body::{parse_body, ClearRequest, SwapRequest};
pub(crate) use response::HttpResponse;

/// Largest request body accepted; larger ones get 413.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// How long a client may take to send a request body.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Who a connection came in through, and so what it may do.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// The read-only listener.
    ReadOnly,
    /// The TCP admin listener: requests must carry the bearer token.
    AdminTcp(Arc<AdminToken>),
    /// The Unix admin socket: the peer's uid was checked at accept.
    AdminUnix {
        /// Whether the peer is this process's uid or root.
        allowed: bool,
        /// The peer's uid, for the refusal message.
        uid: Option<u32>,
    },
}

/// Serves one request.
pub(crate) async fn handle(
    sidecar: Arc<Sidecar>,
    access: Access,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let response = match &access {
        Access::ReadOnly => read_only::route(&sidecar, &req),
        Access::AdminTcp(token) => match admin::bearer_refusal(token, &req) {
            Some(refusal) => refusal,
            None => admin::route(sidecar, req).await,
        },
        Access::AdminUnix {
            allowed: false,
            uid,
        } => admin::peer_refusal(*uid),
        Access::AdminUnix { allowed: true, .. } => admin::route(sidecar, req).await,
    };
    Ok(response)
}
