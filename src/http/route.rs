//! One request: who it came in through ([`Access`]), and so which routes
//! answer it.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use crate::http::admin;
use crate::http::read_only;
use crate::http::response::HttpResponse;
use crate::sidecar::token::AdminToken;
use crate::sidecar::Api;

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
    api: Arc<dyn Api>,
    access: Access,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let response = match &access {
        Access::ReadOnly => read_only::route(api.as_ref(), &req),
        Access::AdminTcp(token) => match admin::bearer_refusal(token, &req) {
            Some(refusal) => refusal,
            None => admin::route(api, req).await,
        },
        Access::AdminUnix {
            allowed: false,
            uid,
        } => admin::peer_refusal(*uid),
        Access::AdminUnix { allowed: true, .. } => admin::route(api, req).await,
    };
    Ok(response)
}
