//! The swap: flip the active link to another account's home, make sure that
//! account's shared links are right, and undo the flip if they cannot be.
//! The CLI and the admin API both call [`swap`]; there is no other path.
//!
//! `swap(T)`, with `A` the account the active link points at now:
//!
//! 1. If the partial-swap latch is set, refuse; change nothing.
//! 2. If `T` is not configured, fail as a usage error.
//! 3. Take the state lock (waiting up to 5 s, else *busy*). Under it, finish
//!    any swap a crash interrupted (see [`recover`]), then read the latch and
//!    `A` again: another process may have changed them while we waited.
//!    If `T == A`, succeed without changing anything.
//! 4. Refuse before the flip what the flip could only make worse: an active
//!    link that is a real file or directory, or a `T` whose links ensure
//!    would refuse (divergent, not a link, home missing).
//! 5. Write the intent record (A's exact link target, T) durably.
//! 6. **Flip**: create a symlink to T's home under a temporary name beside
//!    the active link, `rename(2)` it over the active link, fsync the
//!    directory. Readers see A or T, never nothing.
//! 7. **Ensure** T's links. On success remove the intent record: swapped.
//! 8. If ensure failed, **roll back**: flip the active link back to exactly
//!    what it held (or remove it, if there was none). On success remove the
//!    intent record and fail with the ensure errors: A is still active.
//! 9. If the rollback failed too, set the **latch** (memory first, then
//!    `latch.json`) and fail as a partial swap. If the latch could not be
//!    persisted, the intent record stays, so the next command retries the
//!    rollback and latches again rather than forget the failure.
//!
//! Every attempt, whatever its end, is one line in the audit log. A
//! failover, which takes the lock itself, runs steps 3 to 9 through
//! `swap_locked`. Steps 6 to 9 (flip, ensure, roll back, latch) are in
//! `flip`, which recovery shares; how a swap or a recovery ends is in
//! `outcome`.

mod flip;
mod latch_clear;
mod outcome;
mod recovery;

use std::path::PathBuf;
use std::time::Instant;

use crate::links::active::ActiveLink;
use crate::links::{ensure_account, EnsureAction};
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::state::audit::{self, now_rfc3339, AuditEntry};
use crate::state::intent::IntentRecord;
use crate::state::lock::StateLock;

use flip::{after_flip, ensure_target, flip, undo};
pub use latch_clear::{clear_latch, ClearError, ClearOutcome, ClearReport};
pub use outcome::{Attempt, Recovery, RecoveryOutcome, SwapError, SwapOutcome, SwapReport};
pub use recovery::recover;
pub(crate) use recovery::recover_locked;

/// Swaps the active account to `to`. See the module documentation.
pub fn swap(ctx: &Context, to: &str) -> Result<SwapReport, SwapError> {
    let start = Instant::now();
    let mut recovered = None;
    let result = swap_steps(ctx, to, &mut recovered);
    audited(ctx, to, result, recovered, start)
}

/// Steps 3 (after the lock and recovery) to 9, for a caller that already
/// holds the state lock (a failover): the same flip, ensure, rollback and
/// latch rules, and the same `swap` line in the audit log.
pub(crate) fn swap_locked(
    ctx: &Context,
    to: &str,
    _held: &StateLock,
) -> Result<SwapReport, SwapError> {
    let start = Instant::now();
    let result = home_of(&ctx.config, to)
        .map_err(SwapError::from)
        .and_then(|home| locked_steps(ctx, to, home.to_path_buf()));
    audited(ctx, to, result, None, start)
}

/// The report of an attempt, appended to the audit log.
fn audited(
    ctx: &Context,
    to: &str,
    result: Result<Steps, SwapError>,
    recovered: Option<Recovery>,
    start: Instant,
) -> Result<SwapReport, SwapError> {
    let duration = start.elapsed();
    let mut entry = AuditEntry::new("swap", "", duration);
    entry.to = Some(to.to_string());
    let mut result = result.map(|(from, outcome, created)| SwapReport {
        from,
        active: to.to_string(),
        outcome,
        created,
        warnings: Vec::new(),
        recovered,
        duration_seconds: duration.as_secs_f64(),
    });
    match &result {
        Ok(r) => {
            entry.from = r.from.clone();
            entry.outcome = r.outcome.as_str().to_string();
        }
        Err(e) => {
            entry.from = match e {
                SwapError::RolledBack { from, .. } | SwapError::Partial { from, .. } => {
                    from.clone()
                }
                _ => ActiveLink::read(&ctx.config).account,
            };
            entry.outcome = e.outcome().to_string();
            entry.errors = e.errors();
        }
    }
    if let Err(e) = audit::append(&ctx.state, &entry) {
        if let Ok(r) = &mut result {
            r.warnings.push(e.to_string());
        }
    }
    result
}

type Steps = (Option<String>, SwapOutcome, Vec<String>);

fn swap_steps(
    ctx: &Context,
    to: &str,
    recovered: &mut Option<Recovery>,
) -> Result<Steps, SwapError> {
    // 1. The latch refuses everything, before anything else is looked at.
    if let Some(l) = ctx.latch.current() {
        return Err(SwapError::Latched(Box::new(l)));
    }
    // 2. Only configured accounts.
    let to_home = home_of(&ctx.config, to)?.to_path_buf();
    // 3. Lock, recover, re-read.
    let _lock = StateLock::acquire_or(
        &ctx.state,
        ctx.lock_timeout,
        |source| SwapError::Busy {
            to: to.to_string(),
            source,
        },
        |e| SwapError::Refused {
            to: to.to_string(),
            problems: vec![e.to_string()],
        },
    )?;
    *recovered = recover_locked(ctx);
    locked_steps(ctx, to, to_home)
}

/// Steps 3 (from the re-read) to 9, under the lock.
fn locked_steps(ctx: &Context, to: &str, to_home: PathBuf) -> Result<Steps, SwapError> {
    let config = &ctx.config;
    if let Some(l) = ctx.latch.current() {
        return Err(SwapError::Latched(Box::new(l)));
    }
    let active = ActiveLink::read(config);
    let from = active.account.clone();
    if active.points_at(&to_home) {
        return Ok((from, SwapOutcome::AlreadyActive, Vec::new()));
    }
    // 4. Refuse what a flip cannot fix.
    let mut problems = Vec::new();
    if !active.is_replaceable() {
        problems.push(active.to_string());
    }
    let plan = ensure_account(to, &to_home, &config.shared, true);
    problems.extend(
        plan.steps
            .iter()
            .filter(|s| s.action == EnsureAction::Refuse)
            .filter_map(|s| s.problem()),
    );
    if !problems.is_empty() {
        return Err(SwapError::Refused {
            to: to.to_string(),
            problems,
        });
    }
    // 5. Intent.
    let intent = IntentRecord {
        from: from.clone(),
        from_target: active.target.clone(),
        to: to.to_string(),
        to_home: to_home.clone(),
        started: now_rfc3339(),
        pid: std::process::id(),
    };
    intent.write(&ctx.state).map_err(|e| SwapError::Refused {
        to: to.to_string(),
        problems: vec![e.to_string()],
    })?;
    // 6. Flip.
    if let Err(e) = flip(&config.active_link, &to_home) {
        let mut errors = vec![e.to_string()];
        errors.extend(
            IntentRecord::remove(&ctx.state)
                .err()
                .map(|e| e.to_string()),
        );
        return Err(SwapError::RolledBack {
            from,
            to: to.to_string(),
            errors,
        });
    }
    // 7. Ensure (a failure at the after-flip failpoint counts as ensure's).
    let ensured = after_flip(to).and_then(|_| ensure_target(ctx, to, &to_home));
    match ensured {
        Ok(created) => {
            // The swap is done; a leftover record would only make the next
            // command re-check an account that is already ok.
            let _ = IntentRecord::remove(&ctx.state);
            Ok((from, SwapOutcome::Swapped, created))
        }
        // 8. and 9.
        Err(errors) => Err(undo(ctx, &intent, errors)),
    }
}
