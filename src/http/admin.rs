//! The admin listeners' routes: authentication first (bearer token on TCP,
//! peer uid on the Unix socket), then `POST /api/v1/swap`,
//! `POST /api/v1/latch/clear`, `POST /api/v1/failover` and the status. Every mutation is the
//! library's own function, run on tokio's blocking pool.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::http::body::{read_json, ClearRequest, FailoverAnswer, FailoverBody, SwapRequest};
use crate::http::errors::{
    clear_failure, failover_failure, not_allowed, refuse, swap_failure, unauthorized, Refusal,
};
use crate::http::read_only::status;
use crate::http::response::{json, HttpResponse};
use crate::ops::failover::FailoverRequest;
use crate::ops::swap::SwapOutcome;
use crate::sidecar::token::AdminToken;
use crate::sidecar::Api;
use crate::state::latch::LatchRecord;
use crate::state::limits::LimitReason;

/// 401 without a bearer token, 403 with a wrong one, `None` when it matches.
pub(crate) fn bearer_refusal(token: &AdminToken, req: &Request<Incoming>) -> Option<HttpResponse> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()));
    match presented {
        None => Some(unauthorized()),
        Some(t) if token.matches(t.trim_ascii()) => None,
        Some(_) => Some(refuse(Refusal::Forbidden, "wrong admin token")),
    }
}

/// 403 for a Unix-socket peer of another uid.
pub(crate) fn peer_refusal(uid: Option<u32>) -> HttpResponse {
    refuse(
        Refusal::Forbidden,
        format!(
            "peer uid {} may not use the admin socket: only uid {} and root may",
            uid.map(|u| u.to_string())
                .unwrap_or_else(|| "unknown".into()),
            nix::unistd::getuid()
        ),
    )
}

/// The credentials of an `Authorization: Bearer <token>` header; the
/// scheme is case-insensitive (RFC 7235), the token is not.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

/// The 200 answer of `POST /api/v1/swap`.
#[derive(Debug, Serialize)]
struct Swapped<'a> {
    /// The account active now.
    active: &'a str,
    /// `swapped` or `already_active`.
    outcome: SwapOutcome,
    /// The account active before (`null`: none was).
    from: Option<&'a str>,
    /// What went wrong without failing the swap (e.g. the audit log).
    warnings: &'a [String],
}

/// The 200 answer of `POST /api/v1/latch/clear`.
#[derive(Debug, Serialize)]
struct Cleared<'a> {
    /// Whether a latch was set and is clear now (false: none was set).
    cleared: bool,
    /// The latch that was cleared.
    latch: Option<&'a LatchRecord>,
    /// The account active now.
    active: Option<&'a str>,
    /// What went wrong without failing the clear (e.g. the audit log).
    warnings: &'a [String],
}

/// Serves one authenticated admin request.
pub(crate) async fn route(api: Arc<dyn Api>, req: Request<Incoming>) -> HttpResponse {
    let path = req.uri().path().to_string();
    match (path.as_str(), req.method().clone()) {
        ("/api/v1/swap", Method::POST) => swap(api, req).await,
        ("/api/v1/latch/clear", Method::POST) => clear_latch(api, req).await,
        ("/api/v1/failover", Method::POST) => failover(api, req).await,
        ("/api/v1/status", Method::GET) => status(api.as_ref()),
        ("/api/v1/swap" | "/api/v1/latch/clear" | "/api/v1/failover", _) => not_allowed("POST"),
        ("/api/v1/status", _) => not_allowed("GET"),
        _ => refuse(Refusal::NotFound, format!("no route {path}")),
    }
}

/// `POST /api/v1/swap`.
async fn swap(api: Arc<dyn Api>, req: Request<Incoming>) -> HttpResponse {
    let body: SwapRequest = match read_json(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match blocking(move || api.swap(&body.to)).await {
        Ok(r) => json(
            StatusCode::OK,
            &Swapped {
                active: &r.active,
                outcome: r.outcome,
                from: r.from.as_deref(),
                warnings: &r.warnings,
            },
        ),
        Err(e) => swap_failure(&e),
    }
}

/// `POST /api/v1/latch/clear`.
async fn clear_latch(api: Arc<dyn Api>, req: Request<Incoming>) -> HttpResponse {
    let body: ClearRequest = match read_json(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match blocking(move || api.clear_latch(&body.reason)).await {
        Ok(r) => json(
            StatusCode::OK,
            &Cleared {
                cleared: r.cleared.is_some(),
                latch: r.cleared.as_ref(),
                active: r.active.as_deref(),
                warnings: &r.warnings,
            },
        ),
        Err(e) => clear_failure(&e),
    }
}

/// `POST /api/v1/failover`.
async fn failover(api: Arc<dyn Api>, req: Request<Incoming>) -> HttpResponse {
    let body: FailoverBody = match read_json(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let reason = match body.reason.as_deref() {
        None => LimitReason::Manual,
        Some(r) => match LimitReason::parse(r) {
            Some(r) => r,
            None => {
                return refuse(
                    Refusal::BadRequest,
                    format!("unknown reason {r:?}: give rate_limit, auth, usage or manual"),
                )
            }
        },
    };
    let req = FailoverRequest {
        from: body.from,
        reason,
        until: body.until,
        message: None,
    };
    match blocking(move || api.failover(&req)).await {
        Ok(r) => json(StatusCode::OK, &FailoverAnswer::of(r)),
        Err(e) => failover_failure(&e),
    }
}

/// Runs `f` on the blocking pool; a panic in it goes on in this task (and
/// hyper answers by closing the connection), as it would have inline. A
/// blocking task is never cancelled (tokio cancels only tasks not yet
/// started, at runtime shutdown, and then this task is dropped too), so the
/// join error is always a panic.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
