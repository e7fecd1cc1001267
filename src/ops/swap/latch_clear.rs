//! Clearing the partial-swap latch: only by an operator, with a reason, and
//! only once the active account validates `ok` again. Every attempt with a
//! reason is one audit line: `cleared`, `not_set` (nothing to clear) or
//! `refused` (still unhealthy, or the lock or the file failed).

use serde::Serialize;

use crate::fs::error::{FsError, Joined};
use crate::links::active::ActiveLink;
use crate::links::validate::validate_all;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::context::Context;
use crate::ops::skeleton::{self, Ended, Operation};
use crate::state::audit::{Action, Outcome, Subject};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

/// A successful latch clear.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClearReport {
    /// The latch that was cleared; `None` when none was set.
    pub(crate) cleared: Option<LatchRecord>,
    /// The account active now.
    pub(crate) active: Option<String>,
    /// Problems writing the audit log.
    pub(crate) warnings: Vec<String>,
}

/// Why the latch was not cleared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClearError {
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

impl Ended for ClearReport {
    fn outcome(&self) -> Outcome {
        match self.cleared {
            Some(_) => Outcome::Cleared,
            None => Outcome::NotSet,
        }
    }
}

impl Ended for ClearError {
    fn outcome(&self) -> Outcome {
        Outcome::Refused
    }
}

impl Classified for ClearError {
    fn class(&self) -> ErrorClass {
        match self {
            ClearError::NoReason => ErrorClass::Usage,
            ClearError::StillUnhealthy { .. } | ClearError::Fs(_) => ErrorClass::Refused,
            ClearError::Busy(_) => ErrorClass::BusyRefused,
        }
    }

    fn errors(&self) -> Vec<String> {
        match self {
            ClearError::StillUnhealthy { problems } => problems.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// Clears the partial-swap latch after re-validating: refused while the
/// active link is not on a configured account whose links are all ok.
pub(crate) fn clear_latch(ctx: &Context, reason: &str) -> Result<ClearReport, ClearError> {
    skeleton::run(ctx, &mut ClearLatch { reason })
}

/// A latch clear, as the skeleton runs it: the latch does not refuse it.
struct ClearLatch<'a> {
    /// The operator's reason.
    reason: &'a str,
}

impl Operation for ClearLatch<'_> {
    type Report = ClearReport;
    type Error = ClearError;
    const ACTION: Action = Action::LatchClear;

    fn latched(&self, _: LatchRecord) -> Option<ClearError> {
        None
    }

    fn busy(&self, e: LockError) -> ClearError {
        ClearError::Busy(e)
    }

    fn lock_failed(&self, e: FsError) -> ClearError {
        ClearError::Fs(e)
    }

    fn check(&mut self, _: &Context) -> Result<(), ClearError> {
        if self.reason.trim().is_empty() {
            return Err(ClearError::NoReason);
        }
        Ok(())
    }

    /// The clear under the lock: the latch cleared (if one was set) and
    /// the account active now.
    fn run(&mut self, ctx: &Context, _lock: &StateLock) -> Result<ClearReport, ClearError> {
        let Some(record) = ctx.latch.current() else {
            return Ok(ClearReport {
                cleared: None,
                active: ActiveLink::read(&ctx.config).account,
                warnings: Vec::new(),
            });
        };
        let report = validate_all(&ctx.config);
        let problems: Vec<String> = match &report.active.account {
            None => vec![report.active.to_string()],
            Some(a) => report
                .account(a)
                .map(|acc| acc.problems().map(ToString::to_string).collect())
                .unwrap_or_default(),
        };
        if !problems.is_empty() {
            return Err(ClearError::StillUnhealthy { problems });
        }
        ctx.latch.clear()?;
        Ok(ClearReport {
            cleared: Some(record),
            active: report.active.account,
            warnings: Vec::new(),
        })
    }

    /// Every attempt with a reason is recorded, with what was cleared.
    fn subject(&self, _: &Context, result: &Result<ClearReport, ClearError>) -> Option<Subject> {
        if let Err(ClearError::NoReason) = result {
            return None;
        }
        let cleared = result.as_ref().ok().and_then(|r| r.cleared.as_ref());
        Some(Subject {
            from: cleared.and_then(|l| l.from.clone()),
            to: cleared.and_then(|l| (!l.to.is_empty()).then(|| l.to.clone())),
            reason: Some(self.reason.to_string()),
            ..Subject::default()
        })
    }

    /// What was cleared when it was no latch record at all.
    fn recorded_errors(report: &ClearReport) -> Vec<String> {
        let cleared = report.cleared.as_ref();
        cleared
            .and_then(|l| l.unreadable.clone())
            .into_iter()
            .collect()
    }

    fn warn(report: &mut ClearReport, warning: String) {
        report.warnings.push(warning);
    }
}
