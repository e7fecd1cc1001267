//! Where a failover asked by a Claude Code command (the hook, the status
//! line) runs: the sidecar over `serve.admin.socket` when one answers (so
//! its metrics count it), else the library here under the swaps' lock,
//! both bounded by the caller's deadline. The callers only word the result.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::ops::context::Context;
use crate::ops::failover::{self, FailoverError, FailoverReport, FailoverRequest};

use super::ask::{AskError, AskSidecar, Checked};

/// How long the sidecar gets at most, so a hung one leaves time to act here.
const SIDECAR_AT_MOST: Duration = Duration::from_millis(900);

/// Time kept back from the lock wait to report and exit before the deadline.
const TO_REPORT: Duration = Duration::from_millis(100);

/// Where the failover ran and how it ended.
pub(crate) enum Routed {
    /// The sidecar answered, naming only configured accounts.
    Sidecar(Checked),
    /// It ran here; `fallback` says why when a sidecar was there but did
    /// not answer in time (or properly).
    Here {
        /// The library's result (boxed: a report is large beside an answer).
        result: Box<Result<FailoverReport, FailoverError>>,
        /// The sidecar's failure, when one was asked first.
        fallback: Option<AskError>,
    },
}

/// Runs `req` through the sidecar when one answers, else here. `until` is
/// what the sidecar is sent as the limit's end (RFC 3339); the library
/// here works it out from `req` itself.
pub(crate) fn route(
    config: Config,
    sidecar: &dyn AskSidecar,
    req: &FailoverRequest,
    until: Option<&str>,
    deadline: Instant,
) -> Routed {
    let mut fallback = None;
    if let Some(socket) = config.serve.admin.as_ref().and_then(|a| a.socket.clone()) {
        let sent = FailoverRequest {
            until: until.map(str::to_string),
            message: None,
            ..req.clone()
        };
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .min(SIDECAR_AT_MOST);
        let asked = sidecar
            .failover(&socket, &sent, budget)
            .and_then(|a| a.checked(&config, &socket));
        match asked {
            Ok(answer) => return Routed::Sidecar(answer),
            Err(e @ AskError::NotThere { .. }) => {
                tracing::debug!(error = %e, "no sidecar; failing over here");
            }
            Err(e) => fallback = Some(e),
        }
    }
    let mut ctx = Context::new(config);
    ctx.lock_timeout = deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(TO_REPORT);
    Routed::Here {
        result: Box::new(failover::failover(&ctx, req)),
        fallback,
    }
}
