//! The read-only listener's routes, what Prometheus and probes reach:
//! `/metrics`, `/healthz`, `/readyz`, `GET /api/v1/status` and the status
//! page `GET /`. Nothing here changes state, whatever the request.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::http::errors::{not_allowed, refuse, ErrorBody, Refusal};
use crate::http::response::{json, respond, HttpResponse};
use crate::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use crate::sidecar::Sidecar;

/// Serves one request of the read-only listener.
pub(crate) fn route(sidecar: &Sidecar, req: &Request<Incoming>) -> HttpResponse {
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
        "/metrics" => respond(
            StatusCode::OK,
            METRICS_CONTENT_TYPE,
            sidecar.metrics.encode(),
        ),
        "/healthz" => healthz(sidecar),
        "/readyz" => readyz(sidecar),
        "/" => crate::http::page::page(sidecar),
        _ => status(sidecar),
    }
}

/// `GET /api/v1/status`, on both kinds of listener.
pub(crate) fn status(sidecar: &Sidecar) -> HttpResponse {
    json(StatusCode::OK, &sidecar.status())
}

/// How long the validation loop may stay silent before `/healthz` fails:
/// it wakes at least every interval, so three missed wakes mean it is
/// stuck. Saturating: no configured interval can overflow it.
pub(crate) fn liveness_limit(interval: Duration) -> Duration {
    interval
        .saturating_mul(3)
        .saturating_add(Duration::from_secs(5))
}

fn healthz(sidecar: &Sidecar) -> HttpResponse {
    let limit = liveness_limit(sidecar.context().config.serve.interval);
    if sidecar.is_alive(limit) {
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

fn readyz(sidecar: &Sidecar) -> HttpResponse {
    let reasons = match sidecar.latest() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_liveness_limit_saturates_instead_of_overflowing() {
        assert_eq!(liveness_limit(Duration::MAX), Duration::MAX);
        assert_eq!(
            liveness_limit(Duration::from_secs(18_000_000_000_000_000_000)),
            Duration::MAX
        );
        assert_eq!(
            liveness_limit(Duration::from_secs(30)),
            Duration::from_secs(95)
        );
    }
}
