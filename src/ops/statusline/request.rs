//! The threshold failover: `from` the session's account, reason `usage`,
//! until the crossed window's reset. The same path as the hook's: the
//! sidecar over `serve.admin.socket` when one answers (so its metrics count
//! it), else the library here under the swaps' lock, bounded by the
//! deadline.

use std::time::Instant;

use crate::config::Config;
use crate::ops::class::Classified;
use crate::ops::failover::{FailoverError, FailoverOutcome, FailoverReport, FailoverRequest};
use crate::ops::hook::ask::{Answer, AskError, AskSidecar};
use crate::ops::hook::route::{route, Routed};
use crate::ops::skeleton::Ended;
use crate::state::limits::{rfc3339, LimitReason};

/// How a requested failover ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    /// The account it swapped to, if it swapped.
    pub(crate) swapped_to: Option<String>,
    /// What happened, for stderr.
    pub(crate) lines: Vec<String>,
}

/// Requests a failover from `from` until `until` (Unix seconds), asking
/// `sidecar` first where one is configured.
pub(crate) fn request(
    config: &Config,
    sidecar: &dyn AskSidecar,
    from: &str,
    until: Option<u64>,
    deadline: Instant,
) -> Requested {
    let until = until.map(rfc3339);
    let req = FailoverRequest {
        from: Some(from.to_string()),
        reason: LimitReason::Usage,
        until: until.clone(),
        message: None,
    };
    match route(config.clone(), sidecar, &req, until.as_deref(), deadline) {
        Routed::Sidecar(answer) => through_sidecar(from, answer.into_answer()),
        Routed::Here { result, fallback } => here(from, *result, fallback),
    }
}

/// What the sidecar answered.
fn through_sidecar(from: &str, answer: Answer) -> Requested {
    let head = |what: &str| {
        format!("homeswap statusline: usage failover from {from} through the sidecar: {what}")
    };
    match answer {
        Answer::Done {
            outcome,
            active,
            notes,
            ..
        } => {
            let mut lines = vec![head(&format!("200 {}", outcome.as_str()))];
            lines.extend(notes.iter().map(|n| format!("  {n}")));
            Requested {
                swapped_to: active.filter(|_| outcome == FailoverOutcome::Swapped),
                lines,
            }
        }
        Answer::Refused {
            status,
            outcome,
            error,
            errors,
        } => {
            let mut lines = vec![head(&format!("{status} {outcome}: {error}"))];
            lines.extend(errors.iter().map(|n| format!("  {n}")));
            Requested {
                swapped_to: None,
                lines,
            }
        }
    }
}

/// What the library did here, after the sidecar's failure if one was asked.
fn here(
    from: &str,
    result: Result<FailoverReport, FailoverError>,
    fallback: Option<AskError>,
) -> Requested {
    let mut lines: Vec<String> = fallback
        .map(|e| format!("homeswap statusline: {e}; failing over here"))
        .into_iter()
        .collect();
    match result {
        Ok(r) => {
            lines.push(match r.outcome {
                FailoverOutcome::Swapped => format!(
                    "homeswap statusline: usage: failed over {from} -> {}",
                    r.active.as_deref().unwrap_or("(none)")
                ),
                FailoverOutcome::AlreadyMoved => {
                    format!("homeswap statusline: usage: {from}: {}", r.outcome.as_str())
                }
            });
            lines.extend(r.notes.iter().chain(&r.warnings).map(|n| format!("  {n}")));
            Requested {
                swapped_to: r.active.filter(|_| r.outcome == FailoverOutcome::Swapped),
                lines,
            }
        }
        Err(e) => {
            lines.push(format!(
                "homeswap statusline: usage: failover from {from} did not happen ({}): {e}",
                e.outcome().as_str()
            ));
            lines.extend(e.errors().into_iter().map(|x| format!("  {x}")));
            Requested {
                swapped_to: None,
                lines,
            }
        }
    }
}
