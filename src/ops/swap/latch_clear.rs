//! Clearing the partial-swap latch: only by an operator, with a reason, and
//! only once the active account validates `ok` again. Every attempt with a
//! reason is one audit line: `cleared`, `not_set` (nothing to clear) or
//! `refused` (still unhealthy, or the lock or the file failed).

use std::time::Instant;

use serde::Serialize;

use crate::fs::error::{FsError, Joined};
use crate::links::active::ActiveLink;
use crate::links::validate::validate_all;
use crate::ops::context::Context;
use crate::state::audit::{self, AuditEntry};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

/// How a latch clear attempt ended: its audit-log outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearOutcome {
    /// The latch was set and is clear now.
    Cleared,
    /// There was nothing to clear.
    NotSet,
    /// Still unhealthy, or the lock or the file failed.
    Refused,
}

impl ClearOutcome {
    /// The name in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            ClearOutcome::Cleared => "cleared",
            ClearOutcome::NotSet => "not_set",
            ClearOutcome::Refused => "refused",
        }
    }
}

/// A successful latch clear.
#[derive(Debug, Clone, Serialize)]
pub struct ClearReport {
    /// The latch that was cleared; `None` when none was set.
    pub cleared: Option<LatchRecord>,
    /// The account active now.
    pub active: Option<String>,
    /// Problems writing the audit log.
    pub warnings: Vec<String>,
}

/// Why the latch was not cleared.
#[derive(Debug, thiserror::Error)]
pub enum ClearError {
    /// The reason is empty.
    #[error(
        "a reason is required: say what was repaired, e.g. --reason 'relinked b/projects by hand'"
    )]
    NoReason,
    /// The active account does not validate ok.
    #[error("latch not cleared: the active account is not healthy yet: {}", Joined(.problems))]
    StillUnhealthy {
        /// One line per problem.
        problems: Vec<String>,
    },
    /// Another homeswap held the lock.
    #[error("latch not cleared: {0}")]
    Busy(LockError),
    /// The latch file could not be removed.
    #[error("latch not cleared: {0}")]
    Fs(#[from] FsError),
}

/// Clears the partial-swap latch after re-validating: refused while the
/// active link is not on a configured account whose links are all ok.
pub fn clear_latch(ctx: &Context, reason: &str) -> Result<ClearReport, ClearError> {
    if reason.trim().is_empty() {
        return Err(ClearError::NoReason);
    }
    let start = Instant::now();
    let result = clear_locked(ctx);
    let outcome = match &result {
        Ok((Some(_), _)) => ClearOutcome::Cleared,
        Ok((None, _)) => ClearOutcome::NotSet,
        Err(_) => ClearOutcome::Refused,
    };
    let mut entry = AuditEntry::new("latch_clear", outcome.as_str(), start.elapsed());
    entry.reason = Some(reason.to_string());
    match &result {
        Ok((Some(record), _)) => {
            entry.from = record.from.clone();
            entry.to = (!record.to.is_empty()).then(|| record.to.clone());
            // What was cleared when it was no latch record at all.
            entry.errors = record.unreadable.iter().cloned().collect();
        }
        Ok((None, _)) => {}
        Err(ClearError::StillUnhealthy { problems }) => entry.errors = problems.clone(),
        Err(e) => entry.errors = vec![e.to_string()],
    }
    let audit_warning = audit::append(&ctx.state, &entry)
        .err()
        .map(|e| e.to_string());
    let (cleared, active) = result?;
    Ok(ClearReport {
        cleared,
        active,
        warnings: audit_warning.into_iter().collect(),
    })
}

/// The clear under the lock: the latch cleared (if one was set) and the
/// account active now.
fn clear_locked(ctx: &Context) -> Result<(Option<LatchRecord>, Option<String>), ClearError> {
    let _lock = StateLock::acquire_or(
        &ctx.state,
        ctx.lock_timeout,
        ClearError::Busy,
        ClearError::Fs,
    )?;
    let Some(record) = ctx.latch.current() else {
        return Ok((None, ActiveLink::read(&ctx.config).account));
    };
    let report = validate_all(&ctx.config);
    let mut problems = Vec::new();
    match &report.active.account {
        None => problems.push(report.active.to_string()),
        Some(a) => {
            if let Some(acc) = report.account(a) {
                problems.extend(acc.problems().map(ToString::to_string));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ClearError::StillUnhealthy { problems });
    }
    ctx.latch.clear()?;
    Ok((Some(record), report.active.account))
}
