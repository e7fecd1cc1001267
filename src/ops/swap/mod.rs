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
//!    would refuse (divergent, not a link, home missing). Then make `T`'s
//!    missing links: a session that writes through the active link the
//!    moment it flips must find them, not create a real file in `T`'s home
//!    (a failure here is left to step 7, which rolls back).
//! 5. Write the intent record (A's exact link target, T, A's home) durably.
//!
//!    5a. Take A's **OAuth refresh lock** the way Claude Code takes it
//!    (`refresh_lock`): wait for a refresh of A in progress to end, within
//!    the lock budget (else *busy*: the record goes, nothing changed), and
//!    hold it until the swap ends. A refresh cut in two by the flip writes
//!    its new tokens to T's file, where they are thrown away, and A, its
//!    old refresh token spent, is logged out.
//!
//!    5b. Give T's `.credentials.json` a **fresh modification time**, clear of
//!    every other home's (its content untouched): a running Claude Code
//!    re-reads the file only when its mtime differs from the one it last
//!    loaded, so every session follows the flip at its next request.
//! 6. **Flip**: create a symlink to T's home under a temporary name beside
//!    the active link, note the flip (its mtime, A, T) in the flip history
//!    `<state_dir>/flips.json` (which account served a request:
//!    `ops::served`), `rename(2)` it over the active link, fsync the
//!    directory. Readers see A or T, never nothing.
//! 7. **Ensure** T's links. On success remove the intent record: swapped
//!    (with a warning when T is disabled: asked for by name, it goes
//!    ahead; failover never chooses it).
//! 8. If ensure failed, **roll back**: flip the active link back to exactly
//!    what it held (or remove it, if there was none). On success remove the
//!    intent record and fail with the ensure errors: A is still active.
//! 9. If the rollback failed too, set the **latch** (memory first, then
//!    `latch.json`) and fail as a partial swap. If the latch could not be
//!    persisted, the intent record stays, so the next command retries the
//!    rollback and latches again rather than forget the failure.
//!
//! A's refresh lock is released when the swap ends, whichever of 7 to 9
//! ended it (and by recovery, after a crash).
//!
//! Steps 1 to 3 and the audit line are the operations' skeleton
//! (`ops::skeleton`): every attempt, whatever its end, is one line in the
//! audit log. A failover, which takes the lock itself, runs steps 3 to 9
//! through `swap_locked`. Steps 6 to 9 (flip, ensure, roll back, latch) are
//! in `flip`, which recovery shares; how a swap or a recovery ends is in
//! `outcome`.

mod flip;
mod latch_clear;
mod outcome;
mod recovery;
mod refresh_lock;
mod refresh_owner;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::fs::error::FsError;
use crate::links::active::ActiveLink;
use crate::links::credentials::{self, Freshened};
use crate::links::{ensure_account, EnsureAction};
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::ops::skeleton::{self, refuse_if_latched, Operation};
use crate::state::audit::{now_rfc3339, Action, Subject};
use crate::state::disabled::DisabledRecord;
use crate::state::intent::IntentRecord;
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

use flip::{after_flip, ensure_target, flip, undo};
pub(crate) use latch_clear::{clear_latch, ClearError, ClearReport};
pub use outcome::SwapError;
pub(crate) use outcome::{Recovery, SwapOutcome, SwapReport};
pub(crate) use recovery::recover;
pub(crate) use recovery::recover_locked;
use refresh_lock::{RefreshLock, Taken};

/// Swaps the active account to `to`. See the module documentation.
pub fn swap(ctx: &Context, to: &str) -> Result<SwapReport, SwapError> {
    let deadline = Instant::now() + ctx.lock_timeout;
    skeleton::run(ctx, &mut Swap::new(to, true, deadline))
}

/// Steps 3 (after the lock and recovery) to 9, for a caller that already
/// holds the state lock (a failover): the same flip, ensure, rollback and
/// latch rules, and the same `swap` line in the audit log. `deadline` ends
/// the caller's lock budget, which step 5a's wait shares.
pub(crate) fn swap_locked(
    ctx: &Context,
    to: &str,
    held: &StateLock,
    deadline: Instant,
) -> Result<SwapReport, SwapError> {
    skeleton::run_locked(ctx, &mut Swap::new(to, false, deadline), held)
}

/// One swap attempt, as the skeleton runs it.
struct Swap<'a> {
    /// The account asked for.
    to: &'a str,
    /// Its home, once step 2 found it configured.
    to_home: PathBuf,
    /// Whether to finish an interrupted swap first (not when a failover,
    /// which did that already, runs it).
    recovers: bool,
    /// The interrupted swap finished first, if there was one.
    recovered: Option<Recovery>,
    /// When the attempt started.
    start: Instant,
    /// When the lock budget ends (step 5a waits no longer).
    deadline: Instant,
}

impl<'a> Swap<'a> {
    fn new(to: &'a str, recovers: bool, deadline: Instant) -> Swap<'a> {
        Swap {
            to,
            to_home: PathBuf::new(),
            recovers,
            recovered: None,
            start: Instant::now(),
            deadline,
        }
    }

    fn refused(&self, problems: Vec<String>) -> SwapError {
        SwapError::Refused {
            to: self.to.to_string(),
            problems,
        }
    }
}

impl Operation for Swap<'_> {
    type Report = SwapReport;
    type Error = SwapError;
    const ACTION: Action = Action::Swap;

    fn latched(&self, latch: LatchRecord) -> Option<SwapError> {
        Some(SwapError::Latched(Box::new(latch)))
    }

    fn busy(&self, source: LockError) -> SwapError {
        SwapError::Busy {
            to: self.to.to_string(),
            source,
        }
    }

    fn lock_failed(&self, e: FsError) -> SwapError {
        self.refused(vec![e.to_string()])
    }

    /// Steps 1 and 2: the latch refuses everything, before anything else
    /// is looked at; then only configured accounts.
    fn check(&mut self, ctx: &Context) -> Result<(), SwapError> {
        refuse_if_latched(ctx, self)?;
        self.to_home = home_of(&ctx.config, self.to)?.to_path_buf();
        Ok(())
    }

    fn after_lock(&mut self, ctx: &Context) {
        if self.recovers {
            self.recovered = recover_locked(ctx);
        }
    }

    fn run(&mut self, ctx: &Context, _lock: &StateLock) -> Result<SwapReport, SwapError> {
        let flipped = self.locked_steps(ctx)?;
        let mut warnings = flipped.warnings;
        if flipped.outcome == SwapOutcome::Swapped {
            warnings.extend(disabled_warning(ctx, self.to));
        }
        Ok(SwapReport {
            from: flipped.from,
            active: self.to.to_string(),
            outcome: flipped.outcome,
            created: flipped.created,
            warnings,
            recovered: self.recovered.take(),
            duration_seconds: self.start.elapsed().as_secs_f64(),
        })
    }

    fn subject(&self, ctx: &Context, result: &Result<SwapReport, SwapError>) -> Option<Subject> {
        let from = match result {
            Ok(r) => r.from.clone(),
            Err(e) => match e.left_active() {
                Some(from) => from.clone(),
                None => ActiveLink::read(&ctx.config).account,
            },
        };
        Some(Subject {
            from,
            to: Some(self.to.to_string()),
            ..Subject::default()
        })
    }

    fn warn(report: &mut SwapReport, warning: String) {
        report.warnings.push(warning);
    }
}

/// The warning of a swap to an account held out of failover: asked for
/// by name, it goes ahead (failover never chooses one).
fn disabled_warning(ctx: &Context, to: &str) -> Option<String> {
    let (record, _) = DisabledRecord::read_or_empty(&ctx.state);
    record.get(to).map(|d| {
        format!(
            "account {to} is disabled (since {}): swapped because it was asked for by name; failover still skips it until 'homeswap account enable {to}'",
            crate::state::limits::rfc3339(d.since)
        )
    })
}

/// A swap that ended well, for its report.
struct Flipped {
    /// The account active before.
    from: Option<String>,
    /// Swapped or already active.
    outcome: SwapOutcome,
    /// What ensure created for the new account.
    created: Vec<String>,
    /// What went wrong without failing the swap (steps 5a and 5b).
    warnings: Vec<String>,
}

impl Swap<'_> {
    /// Steps 3 (from the re-read) to 9, under the lock.
    fn locked_steps(&self, ctx: &Context) -> Result<Flipped, SwapError> {
        let active = ActiveLink::read(&ctx.config);
        let from = active.account.clone();
        if active.points_at(&self.to_home) {
            return Ok(Flipped {
                from,
                outcome: SwapOutcome::AlreadyActive,
                created: Vec::new(),
                warnings: Vec::new(),
            });
        }
        self.refuse_what_a_flip_cannot_fix(ctx, &active)?;
        // (The `swap::ensure` failpoint fails this one as well: an ensure
        // that fails makes nothing.)
        let mut created = ensure_target(ctx, self.to, &self.to_home).unwrap_or_default();
        let from_home = from.as_deref().and_then(|a| ctx.config.home(a));
        // 5. Intent.
        let intent = IntentRecord {
            from: from.clone(),
            from_target: active.target.clone(),
            to: self.to.to_string(),
            to_home: self.to_home.clone(),
            started: now_rfc3339(),
            pid: std::process::id(),
            refresh_lock: from_home.map(Path::to_path_buf),
        };
        intent
            .write(&ctx.state)
            .map_err(|e| self.refused(vec![e.to_string()]))?;
        let mut warnings = Vec::new();
        // 5a. The outgoing home's refresh lock, held until this returns.
        let _refresh = self.take_refresh_lock(ctx, from.as_deref(), from_home, &mut warnings)?;
        // 5b. A modification time of T's credentials no session has seen.
        warnings.extend(self.give_a_fresh_mtime(ctx));
        // 6. Flip.
        if let Err(e) = flip(ctx, &self.to_home) {
            let mut errors = vec![e.to_string()];
            errors.extend(
                IntentRecord::remove(&ctx.state)
                    .err()
                    .map(|e| e.to_string()),
            );
            return Err(SwapError::RolledBack {
                from,
                to: self.to.to_string(),
                errors,
            });
        }
        // 7. Ensure (a failure at the after-flip failpoint counts as ensure's).
        match after_flip(self.to).and_then(|_| ensure_target(ctx, self.to, &self.to_home)) {
            Ok(more) => {
                // The swap is done; a leftover record would only make the
                // next command re-check an account that is already ok.
                let _ = IntentRecord::remove(&ctx.state);
                created.extend(more);
                Ok(Flipped {
                    from,
                    outcome: SwapOutcome::Swapped,
                    created,
                    warnings,
                })
            }
            // 8. and 9.
            Err(errors) => Err(undo(ctx, &intent, errors)),
        }
    }

    /// Step 5a: the outgoing home's OAuth refresh lock, taken as Claude
    /// Code takes it; busy (the intent record removed: nothing changed)
    /// when a refresh of it does not end within the swap's deadline.
    fn take_refresh_lock(
        &self,
        ctx: &Context,
        from: Option<&str>,
        from_home: Option<&Path>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<RefreshLock>, SwapError> {
        let (Some(account), Some(home)) = (from, from_home) else {
            return Ok(None);
        };
        match RefreshLock::take(account, home, self.deadline) {
            Ok(Taken::Held(lock)) => Ok(Some(lock)),
            Ok(Taken::NoHome) => Ok(None),
            Ok(Taken::Skipped(why)) => {
                warnings.push(why);
                Ok(None)
            }
            Err(busy) => {
                let _ = IntentRecord::remove(&ctx.state);
                Err(SwapError::RefreshBusy {
                    from: from.map(str::to_string),
                    to: self.to.to_string(),
                    source: Box::new(busy),
                })
            }
        }
    }

    /// Step 5b: T's `.credentials.json` gets a modification time of now,
    /// clear of every other configured home's; a warning when it could
    /// not be set (sessions whose last credentials share its old time then
    /// keep them until restarted).
    fn give_a_fresh_mtime(&self, ctx: &Context) -> Option<String> {
        let others = credentials::times_of(
            ctx.config
                .accounts
                .values()
                .map(PathBuf::as_path)
                .filter(|h| *h != self.to_home.as_path()),
        );
        match credentials::give_fresh_mtime(&self.to_home, &others) {
            Ok(Freshened::Moved(_) | Freshened::NoFile) => None,
            Err(e) => Some(format!(
                "account {}: {e}: a running Claude Code session whose last credentials file had the same modification time keeps its old credentials until it is restarted ('claude --continue')",
                self.to
            )),
        }
    }

    /// Step 4: an active link a flip cannot replace, or a target whose
    /// links ensure would refuse.
    fn refuse_what_a_flip_cannot_fix(
        &self,
        ctx: &Context,
        active: &ActiveLink,
    ) -> Result<(), SwapError> {
        let mut problems = Vec::new();
        if !active.is_replaceable() {
            problems.push(active.to_string());
        }
        let plan = ensure_account(self.to, &self.to_home, &ctx.config.shared, true);
        problems.extend(
            plan.steps
                .iter()
                .filter(|s| s.action == EnsureAction::Refuse)
                .filter_map(|s| s.problem()),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(self.refused(problems))
        }
    }
}
