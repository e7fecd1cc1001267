//! [`Api`]: what the HTTP routes may ask of the sidecar, and nothing
//! more: its cached state, its metrics and the operations it runs. The
//! operations are the library's own functions, called exactly as the CLI
//! calls them, with the sidecar's metrics and log lines around them.
//!
//! Every method that touches the file system blocks; async callers run
//! them on tokio's blocking pool.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ops::class::{Classified, ErrorClass};
use crate::ops::failover::{self, FailoverError, FailoverReport, FailoverRequest};
use crate::ops::skeleton::Ended;
use crate::ops::status::StatusDocument;
use crate::ops::swap::{self, ClearError, ClearReport, SwapError, SwapReport};
use crate::sidecar::logging::List;
use crate::sidecar::state::{Sidecar, Snapshot};

/// Logs a failed operation at the level its class gives ([`severe`]).
macro_rules! failed {
    ($class:expr, $($event:tt)+) => {
        if severe($class) {
            tracing::error!($($event)+)
        } else {
            tracing::warn!($($event)+)
        }
    };
}

/// The sidecar as the read-only and admin routes see it.
pub(crate) trait Api: Send + Sync {
    /// The document of `GET /api/v1/status` (the same as `status --json`),
    /// from the latest validation.
    fn status(&self) -> StatusDocument;
    /// The latest validation, if one has completed.
    fn snapshot(&self) -> Option<Snapshot>;
    /// Whether the validation loop has run recently (`/healthz`).
    fn is_alive(&self) -> bool;
    /// How old a validation may be before it is stale.
    fn liveness_limit(&self) -> Duration;
    /// The audit log in force.
    fn audit_log(&self) -> PathBuf;
    /// The metrics, in the text exposition format.
    fn metrics_text(&self) -> Bytes;
    /// A swap, counted, logged and followed by a validation.
    fn swap(&self, to: &str) -> Result<SwapReport, SwapError>;
    /// A failover, counted, logged and followed by a validation.
    fn failover(&self, req: &FailoverRequest) -> Result<FailoverReport, FailoverError>;
    /// A latch clear, logged and followed by a validation.
    fn clear_latch(&self, reason: &str) -> Result<ClearReport, ClearError>;
}

impl Api for Sidecar {
    /// The document of `GET /api/v1/status` (the same as `status --json`).
    fn status(&self) -> StatusDocument {
        let ctx = self.context();
        // The first validation runs before any listener accepts, so this
        // validates here only if a caller comes before it.
        let snapshot = self.latest().unwrap_or_else(|| self.revalidate());
        StatusDocument::new(&ctx, &snapshot.report, snapshot.latch, snapshot.at)
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.latest()
    }

    fn is_alive(&self) -> bool {
        Sidecar::is_alive(self)
    }

    fn liveness_limit(&self) -> Duration {
        Sidecar::liveness_limit(self)
    }

    fn audit_log(&self) -> PathBuf {
        self.context().state.audit()
    }

    fn metrics_text(&self) -> Bytes {
        self.metrics.encode()
    }

    /// Swaps through the library's one swap function, then records the
    /// outcome and revalidates so the metrics show the new state at once.
    fn swap(&self, to: &str) -> Result<SwapReport, SwapError> {
        let ctx = self.context();
        let start = Instant::now();
        let result = swap::swap(&ctx, to);
        let outcome = match &result {
            Ok(r) => r.outcome(),
            Err(e) => e.outcome(),
        };
        self.metrics.observe_swap(outcome, start.elapsed());
        let outcome = outcome.as_str();
        match &result {
            Ok(r) => tracing::info!(to, from = r.from.as_deref(), outcome, "swap"),
            Err(e) => {
                let errors = e.errors();
                let from = e.left_active().and_then(Option::as_deref);
                failed!(
                    e.class(),
                    to,
                    from,
                    outcome,
                    error = %e,
                    error_count = errors.len(),
                    errors = ?List(&errors),
                    "swap failed"
                );
            }
        }
        if let Ok(SwapReport {
            recovered: Some(r), ..
        }) = &result
        {
            tracing::warn!(recovery = %r.summary(), "recovered an interrupted swap");
        }
        self.revalidate();
        result
    }

    /// Fails over through the library's one failover function, then
    /// records the failover (and its swap, if one was attempted) and
    /// revalidates so the metrics show the new state at once.
    fn failover(&self, req: &FailoverRequest) -> Result<FailoverReport, FailoverError> {
        let ctx = self.context();
        let start = Instant::now();
        let result = failover::failover(&ctx, req);
        let (outcome, swap_outcome) = match &result {
            Ok(r) => (r.outcome(), r.swap_outcome),
            Err(e) => (
                e.outcome(),
                match e {
                    FailoverError::Swap { source, .. } => Some(source.outcome()),
                    _ => None,
                },
            ),
        };
        self.metrics.observe_failover(req.reason, outcome);
        if let Some(o) = swap_outcome {
            self.metrics.observe_swap(o, start.elapsed());
        }
        let (reason, outcome) = (req.reason.as_str(), outcome.as_str());
        match &result {
            Ok(r) => tracing::info!(
                reason,
                from = r.from.as_deref(),
                active = r.active.as_deref(),
                outcome,
                "failover"
            ),
            Err(e) => {
                let errors = e.errors();
                failed!(
                    e.class(),
                    reason,
                    from = req.from.as_deref(),
                    outcome,
                    error = %e,
                    error_count = errors.len(),
                    errors = ?List(&errors),
                    "failover failed"
                );
            }
        }
        self.revalidate();
        result
    }

    /// Clears the latch through the library's one clear function.
    fn clear_latch(&self, reason: &str) -> Result<ClearReport, ClearError> {
        let ctx = self.context();
        let result = swap::clear_latch(&ctx, reason);
        match &result {
            Ok(r) if r.cleared.is_some() => tracing::info!(reason, "latch cleared"),
            Ok(_) => {}
            Err(e) => {
                // Only the health problems are a list; other refusals are
                // their message.
                let problems = match e {
                    ClearError::StillUnhealthy { problems } => problems.as_slice(),
                    _ => &[],
                };
                failed!(
                    e.class(),
                    reason,
                    error = %e,
                    error_count = problems.len(),
                    problems = ?List(problems),
                    "latch clear refused"
                );
            }
        }
        self.revalidate();
        result
    }
}

/// Whether a failure is logged as an error rather than a warning: only
/// when it left the latch set (its class says so). The one place the
/// sidecar decides how loud a failed operation is.
fn severe(class: ErrorClass) -> bool {
    match class {
        ErrorClass::Partial => true,
        ErrorClass::Usage
        | ErrorClass::Unknown
        | ErrorClass::Refused
        | ErrorClass::Latched
        | ErrorClass::Busy
        | ErrorClass::BusyRefused => false,
    }
}
