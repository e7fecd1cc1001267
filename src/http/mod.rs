//! HTTP routes of the two kinds of listener, and the one place where
//! library results become HTTP statuses.
//!
//! The read-only listener (what Prometheus and probes reach) serves
//! `/metrics`, `/healthz`, `/readyz` and `GET /api/v1/status` and never
//! anything that changes state. The admin listeners authenticate every
//! request first (bearer token on TCP, peer uid on the Unix socket), then
//! serve `POST /api/v1/swap`, `POST /api/v1/latch/clear` and the status.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use crate::ops::swap::{ClearError, SwapError};
use crate::sidecar::token::AdminToken;
use crate::sidecar::Sidecar;

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a client may take to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Who a connection came in through, and so what it may do.
#[derive(Debug, Clone)]
pub enum Access {
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

/// The response type of every route.
pub type HttpResponse = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json_response(status: StatusCode, value: serde_json::Value) -> HttpResponse {
    let mut body = serde_json::to_vec(&value).expect("JSON values always serialize");
    body.push(b'\n');
    respond(status, "application/json", body)
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    json_response(status, json!({ "error": message.into() }))
}

fn not_allowed(allow: &'static str) -> HttpResponse {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed; use {allow}"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// Serves one request.
pub async fn handle(
    sidecar: Arc<Sidecar>,
    access: Access,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let response = match &access {
        Access::ReadOnly => read_only(&sidecar, &req),
        Access::AdminTcp(token) => match bearer_refusal(token, &req) {
            Some(refusal) => refusal,
            None => admin(sidecar, req).await,
        },
        Access::AdminUnix {
            allowed: false,
            uid,
        } => error(
            StatusCode::FORBIDDEN,
            format!(
                "peer uid {} may not use the admin socket: only uid {} and root may",
                uid.map(|u| u.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                nix::unistd::getuid()
            ),
        ),
        Access::AdminUnix { allowed: true, .. } => admin(sidecar, req).await,
    };
    Ok(response)
}

fn read_only(sidecar: &Sidecar, req: &Request<Incoming>) -> HttpResponse {
    let path = req.uri().path();
    let known = matches!(path, "/metrics" | "/healthz" | "/readyz" | "/api/v1/status");
    if !known {
        let hint = if path.starts_with("/api/v1/") {
            "; the mutating API is served on the admin listener only"
        } else {
            ""
        };
        return error(StatusCode::NOT_FOUND, format!("no route {path}{hint}"));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_allowed("GET");
    }
    match path {
        "/metrics" => respond(
            StatusCode::OK,
            METRICS_CONTENT_TYPE,
            sidecar.metrics.encode(),
        ),
        "/healthz" => healthz(sidecar),
        "/readyz" => readyz(sidecar),
        _ => json_response(StatusCode::OK, sidecar.status_json()),
    }
}

fn healthz(sidecar: &Sidecar) -> HttpResponse {
    // The loop wakes at least every interval; three missed wakes mean it is stuck.
    let limit = sidecar.context().config.serve.interval * 3 + Duration::from_secs(5);
    if sidecar.is_alive(limit) {
        respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
    } else {
        respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "the validation loop has not run recently\n",
        )
    }
}

fn readyz(sidecar: &Sidecar) -> HttpResponse {
    let reasons = match sidecar.latest() {
        None => vec!["no validation has completed yet".to_string()],
        Some(s) => s.not_ready_reasons(),
    };
    if reasons.is_empty() {
        json_response(StatusCode::OK, json!({ "status": "ready" }))
    } else {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "reasons": reasons }),
        )
    }
}

/// 401 without a bearer token, 403 with a wrong one, `None` when it matches.
fn bearer_refusal(token: &AdminToken, req: &Request<Incoming>) -> Option<HttpResponse> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()));
    match presented {
        None => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "missing 'Authorization: Bearer <token>' (the token is in serve.admin.token_file)",
            );
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"homeswap\""),
            );
            Some(r)
        }
        Some(t) if token.matches(t.trim_ascii()) => None,
        Some(_) => Some(error(StatusCode::FORBIDDEN, "wrong admin token")),
    }
}

/// The credentials of an `Authorization: Bearer <token>` header; the
/// scheme is case-insensitive (RFC 7235), the token is not.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

/// The body of `POST /api/v1/swap`: `{"to": "b"}`.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapRequest {
    /// The account to make active.
    pub to: String,
}

/// The body of `POST /api/v1/latch/clear`: `{"reason": "..."}`.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// What the operator repaired (goes into the audit log).
    pub reason: String,
}

/// Parses an admin request body: JSON of exactly the expected fields.
/// The error is the 400 answer's message.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("bad JSON body: {e}"))
}

async fn admin(sidecar: Arc<Sidecar>, req: Request<Incoming>) -> HttpResponse {
    let path = req.uri().path().to_string();
    match (path.as_str(), req.method().clone()) {
        ("/api/v1/swap", Method::POST) => {
            let body: SwapRequest = match read_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let result = blocking(move || sidecar.swap(&body.to)).await;
            match result {
                Ok(r) => json_response(
                    StatusCode::OK,
                    json!({ "active": r.active, "outcome": r.outcome, "from": r.from, "warnings": r.warnings }),
                ),
                Err(e) => json_response(
                    swap_status(&e),
                    json!({ "error": e.to_string(), "outcome": e.outcome(), "errors": e.errors() }),
                ),
            }
        }
        ("/api/v1/latch/clear", Method::POST) => {
            let body: ClearRequest = match read_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            match blocking(move || sidecar.clear_latch(&body.reason)).await {
                Ok(r) => json_response(
                    StatusCode::OK,
                    json!({ "cleared": r.cleared.is_some(), "latch": r.cleared, "active": r.active, "warnings": r.warnings }),
                ),
                Err(e) => {
                    let errors = match &e {
                        ClearError::StillUnhealthy { problems } => problems.clone(),
                        other => vec![other.to_string()],
                    };
                    json_response(
                        clear_status(&e),
                        json!({ "error": e.to_string(), "errors": errors }),
                    )
                }
            }
        }
        ("/api/v1/status", Method::GET) => json_response(StatusCode::OK, sidecar.status_json()),
        ("/api/v1/swap" | "/api/v1/latch/clear", _) => not_allowed("POST"),
        ("/api/v1/status", _) => not_allowed("GET"),
        _ => error(StatusCode::NOT_FOUND, format!("no route {path}")),
    }
}

/// The one place a swap error becomes an HTTP status.
pub fn swap_status(e: &SwapError) -> StatusCode {
    match e {
        SwapError::UnknownAccount { .. } => StatusCode::NOT_FOUND,
        SwapError::Refused { .. } | SwapError::RolledBack { .. } => StatusCode::CONFLICT,
        SwapError::Latched(_) => StatusCode::LOCKED,
        SwapError::Partial { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        SwapError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The one place a latch-clear error becomes an HTTP status.
pub fn clear_status(e: &ClearError) -> StatusCode {
    match e {
        ClearError::NoReason => StatusCode::BAD_REQUEST,
        ClearError::StillUnhealthy { .. } | ClearError::Fs(_) => StatusCode::CONFLICT,
        ClearError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes within [`BODY_TIMEOUT`].
async fn read_json<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
) -> Result<T, HttpResponse> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY).collect(),
    )
    .await;
    let bytes = match collected {
        Err(_) => {
            return Err(error(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            ))
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Ok(Err(e)) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            ))
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    parse_body(&bytes).map_err(|e| error(StatusCode::BAD_REQUEST, e))
}
