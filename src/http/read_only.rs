//! The read-only listener's routes, what Prometheus and probes reach:
//! `/metrics`, `/healthz`, `/readyz`, `GET /api/v1/status` and the status
//! page `GET /`. Nothing here changes state, whatever the request.

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::http::errors::{not_allowed, refuse, ErrorBody, Refusal};
use crate::http::page;
use crate::http::response::{json, respond, HttpResponse};
use crate::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use crate::sidecar::Api;

/// Serves one request of the read-only listener.
pub(crate) fn route(api: &dyn Api, req: &Request<Incoming>) -> HttpResponse {
    let path = req.uri().path();
    let known = matches!(
        path,
        "/" | "/metrics" | "/healthz" | "/readyz" | "/api/v1/status"
    );
    if !known {
        let hint = if path.starts_with("/api/v1/") {
            "; the mutating API is served on the admin listener only"
        } else {
            ""
        };
        return refuse(Refusal::NotFound, format!("no route {path}{hint}"));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_allowed("GET");
    }
    match path {
        "/metrics" => respond(StatusCode::OK, METRICS_CONTENT_TYPE, api.metrics_text()),
        "/healthz" => healthz(api),
        "/readyz" => readyz(api),
        "/" => page::page(api),
        _ => status(api),
    }
}

/// `GET /api/v1/status`, on both kinds of listener.
pub(crate) fn status(api: &dyn Api) -> HttpResponse {
    json(StatusCode::OK, &api.status())
}

/// 200 while the validation loop runs, 503 once it has been silent for
/// longer than the sidecar's liveness limit.
fn healthz(api: &dyn Api) -> HttpResponse {
    if api.is_alive() {
        respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &ErrorBody::single("stalled", "the validation loop has not run recently".into()),
        )
    }
}

/// The `/readyz` answer: ready, or the reasons why not.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Readiness {
    /// Every link ok, a configured account active, no latch.
    Ready {
        /// Always `ready`.
        status: &'static str,
    },
    /// The contract's `reasons`, in the shape of every error answer too.
    NotReady {
        /// `error`, `outcome` (`not_ready`), `errors` (= `reasons`).
        #[serde(flatten)]
        error: ErrorBody,
        /// Why not, one line each.
        reasons: Vec<String>,
    },
}

fn readyz(api: &dyn Api) -> HttpResponse {
    let reasons = match api.snapshot() {
        None => vec!["no validation has completed yet".to_string()],
        Some(s) => s.not_ready_reasons(),
    };
    if reasons.is_empty() {
        return json(StatusCode::OK, &Readiness::Ready { status: "ready" });
    }
    let error = ErrorBody::with_errors("not_ready", "not ready".into(), reasons.clone());
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &Readiness::NotReady { error, reasons },
    )
}
