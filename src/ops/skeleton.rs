//! The one skeleton every operation that changes state runs in, so the
//! latch, the lock and the audit log are handled in one place:
//!
//! 1. [`Operation::check`]: what needs no state: the arguments, and the
//!    latch ([`refuse_if_latched`]) at the point the operation's contract
//!    puts it.
//! 2. Take the state lock, waiting up to the context's lock timeout:
//!    another homeswap holding it all that time is
//!    [`Operation::busy`], a lock file that fails [`Operation::lock_failed`].
//! 3. [`Operation::after_lock`]: what comes first under the lock (for the
//!    operations that flip, finishing a swap a crash interrupted).
//! 4. Read the latch again: another process may have set it meanwhile.
//! 5. [`Operation::run`]: the operation proper.
//! 6. Append its one audit record: how it ended ([`Ended::outcome`] of the
//!    report or the error), the errors, and whom and what it was about
//!    ([`Operation::subject`]; `None`: not recorded, e.g. a dry run). A
//!    record that cannot be written is a warning in the report
//!    ([`Operation::warn`]), never a failure of the operation.
//!
//! An operation run by another that holds the lock already (a failover's
//! swap) runs steps 1, 4, 5 and 6 through [`run_locked`].
//!
//! To add an operation: a type holding its request and what it learns on
//! the way, an `impl Operation` for it, and a public function in its
//! module that calls [`run`].

use std::time::Instant;

use crate::fs::error::FsError;
use crate::ops::class::Classified;
use crate::ops::context::Context;
use crate::state::audit::{self, Action, AuditRecord, Outcome, Subject};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

/// A report or an error: how an operation ended, in the audit log's words.
pub(crate) trait Ended {
    /// The audit log's (and the metrics') outcome.
    fn outcome(&self) -> Outcome;
}

/// An operation as the skeleton runs it.
pub(crate) trait Operation {
    /// What a successful run answers.
    type Report: Ended;
    /// Why a run did not succeed.
    type Error: Ended + Classified;
    /// The audit log's action.
    const ACTION: Action;

    /// The error a set latch refuses the operation with; `None` when the
    /// latch does not refuse it (latch clear, limits clear).
    fn latched(&self, latch: LatchRecord) -> Option<Self::Error>;

    /// Another homeswap held the lock for the whole timeout.
    fn busy(&self, e: LockError) -> Self::Error;

    /// The lock file could not be opened or locked.
    fn lock_failed(&self, e: FsError) -> Self::Error;

    /// Step 1: the checks that need no state, in the contract's order.
    fn check(&mut self, ctx: &Context) -> Result<(), Self::Error>;

    /// Step 3: what comes first under the lock; nothing by default.
    fn after_lock(&mut self, _ctx: &Context) {}

    /// Step 5: the operation, under `lock`.
    fn run(&mut self, ctx: &Context, lock: &StateLock) -> Result<Self::Report, Self::Error>;

    /// Step 6: whom and what the record of `result` is about; `None`
    /// when this run is not recorded.
    fn subject(&self, ctx: &Context, result: &Result<Self::Report, Self::Error>)
        -> Option<Subject>;

    /// Errors a successful run records (none by default).
    fn recorded_errors(_report: &Self::Report) -> Vec<String> {
        Vec::new()
    }

    /// Adds a warning (the audit log could not be written) to a report;
    /// dropped by default.
    fn warn(_report: &mut Self::Report, _warning: String) {}
}

/// Runs `op` through steps 1 to 6.
pub(crate) fn run<O: Operation>(ctx: &Context, op: &mut O) -> Result<O::Report, O::Error> {
    let start = Instant::now();
    let result = check_lock_run(ctx, op);
    record(ctx, op, result, start)
}

/// Runs `op` for a caller that already holds the state lock: steps 1, 4,
/// 5 and 6.
pub(crate) fn run_locked<O: Operation>(
    ctx: &Context,
    op: &mut O,
    lock: &StateLock,
) -> Result<O::Report, O::Error> {
    let start = Instant::now();
    let result = op
        .check(ctx)
        .and_then(|()| refuse_if_latched(ctx, op))
        .and_then(|()| op.run(ctx, lock));
    record(ctx, op, result, start)
}

/// The latch's refusal, when it is set and refuses `op`.
pub(crate) fn refuse_if_latched<O: Operation>(ctx: &Context, op: &O) -> Result<(), O::Error> {
    match ctx.latch.current().and_then(|l| op.latched(l)) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// Steps 1 to 5.
fn check_lock_run<O: Operation>(ctx: &Context, op: &mut O) -> Result<O::Report, O::Error> {
    op.check(ctx)?;
    let lock = StateLock::acquire_or(
        &ctx.state,
        ctx.lock_timeout,
        |e| op.busy(e),
        |e| op.lock_failed(e),
    )?;
    op.after_lock(ctx);
    refuse_if_latched(ctx, op)?;
    op.run(ctx, &lock)
}

/// Step 6.
fn record<O: Operation>(
    ctx: &Context,
    op: &O,
    mut result: Result<O::Report, O::Error>,
    start: Instant,
) -> Result<O::Report, O::Error> {
    let Some(subject) = op.subject(ctx, &result) else {
        return result;
    };
    let (outcome, errors) = match &result {
        Ok(r) => (r.outcome(), O::recorded_errors(r)),
        Err(e) => (e.outcome(), e.errors()),
    };
    let record = AuditRecord::new(O::ACTION, outcome, errors, subject, start.elapsed());
    if let Err(e) = audit::append(&ctx.state, record) {
        if let Ok(r) = &mut result {
            O::warn(r, e.to_string());
        }
    }
    result
}
