//! The threshold failover: `from` the session's account, reason `usage`,
//! until the crossed window's reset. The same path as the hook's: the
//! sidecar over `serve.admin.socket` when one answers (so its metrics count
//! it), else the library here under the swaps' lock, bounded by the
//! deadline.

use std::time::Instant;

use crate::config::Config;
use crate::ops::failover::{FailoverOutcome, FailoverRequest};
use crate::ops::hook::route::{route, Routed};
use crate::state::limits::{rfc3339, LimitReason};

/// How a requested failover ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    /// `swapped`, `already_moved`, `exhausted`, `busy`, ...
    pub outcome: String,
    /// The account active afterwards, when known.
    pub active: Option<String>,
    /// What happened, for stderr.
    pub lines: Vec<String>,
}

/// Requests a failover from `from` until `until` (Unix seconds).
pub fn request(config: &Config, from: &str, until: Option<u64>, deadline: Instant) -> Requested {
    let until = until.map(rfc3339);
    let req = FailoverRequest {
        from: Some(from.to_string()),
        reason: LimitReason::Usage,
        until: until.clone(),
        message: None,
    };
    let (result, fallback) = match route(config.clone(), &req, until.as_deref(), deadline) {
        Routed::Sidecar(status, a) => {
            let mut lines = vec![format!(
                "homeswap statusline: usage failover from {from} through the sidecar: {status} {}{}",
                a.outcome,
                a.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            )];
            lines.extend(a.notes.iter().chain(&a.errors).map(|n| format!("  {n}")));
            return Requested {
                outcome: a.outcome,
                active: a.active,
                lines,
            };
        }
        Routed::Here { result, fallback } => (*result, fallback),
    };
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
                _ => format!("homeswap statusline: usage: {from}: {}", r.outcome.as_str()),
            });
            lines.extend(r.notes.iter().chain(&r.warnings).map(|n| format!("  {n}")));
            Requested {
                outcome: r.outcome.as_str().to_string(),
                active: r.active,
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
                outcome: e.outcome().as_str().to_string(),
                active: None,
                lines,
            }
        }
    }
}
