//! The failover: an account hit its limit; record it and move the active
//! link to the next account that can take over. The CLI, the admin API and
//! the hook all call [`failover`]; there is no other path.
//!
//! Under the swaps' lock (waiting up to the context's lock timeout, else
//! *busy*), after finishing any swap a crash interrupted:
//!
//! 1. If the latch is set: refuse, change nothing.
//! 2. If `from` was given and the active account is no longer `from`:
//!    record `from`'s limit, answer `already_moved`, swap nothing. If no
//!    `from` was given and a failover swapped within `failover.settle`:
//!    the event was already handled; answer `already_moved`, record
//!    nothing (a late hook must not mark the new account limited).
//! 3. Record the limit of `from` (default: the active account) with its
//!    reason and reset time (see `reset`).
//! 4. Choose the next account after the active one in `failover.order`
//!    (wrapping) that is not disabled (`account disable`), not limited and
//!    whose links ensure can make `ok`; one at or above its threshold
//!    (`failover.thresholds`, else `failover.threshold`) by its last known
//!    usage only when no other is below its own (see `choose`). With
//!    `fleet`, an account limited on any instance is skipped too, and the
//!    usage is the freshest known anywhere (see `fleet`; both joined in
//!    `choice`). None: answer `exhausted`, swap nothing.
//! 5. Swap to it through the swap's own core (flip, ensure, rollback,
//!    latch; its own `swap` audit line), remembering the swap for the
//!    settle rule.
//!
//! Every attempt, whatever its end, is one `"action":"failover"` line in
//! the audit log (from, to, reason, until, outcome): the failover runs in
//! the operations' skeleton (`ops::skeleton`), which takes the lock,
//! finishes any interrupted swap (`after_lock`) and reads the latch again.
//! Here: the checks before the lock, then [`Failover::run`]: record the
//! limit, choose, swap.

mod choice;
mod choose;
mod fleet;
mod outcome;
pub(crate) mod reset;

use std::time::Instant;

use crate::fs::error::FsError;
use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::ops::skeleton::{self, refuse_if_latched, Operation};
use crate::ops::swap::{self, recover_locked, Recovery};
use crate::state::audit::{Action, Subject};
use crate::state::fleet::FleetAudit;
use crate::state::latch::LatchRecord;
use crate::state::limits::{rfc3339, unix_now, AccountLimit, LastFailover, LimitsRecord};
use crate::state::lock::{LockError, StateLock};

use reset::ResetTime;

pub use choice::choice;
pub(crate) use outcome::{
    FailoverError, FailoverOutcome, FailoverReport, FailoverRequest, RecordedLimit,
};

/// What a person is told wherever a failover is reported: running
/// sessions follow at their next request (Claude Code re-reads
/// `.credentials.json` before a request when its modification time
/// changed, and the swap gives the new account's file a time of its own:
/// `ops::swap`, step 5b), so no restart is needed.
pub(crate) const SESSIONS_HINT: &str =
    "running Claude Code sessions go on with the new account at their next request, without a restart (Claude Code re-reads .credentials.json when its modification time changes, and the swap gave the new account's file a time of its own)";

/// Fails over from `req.from` (default: the active account). See the
/// module documentation.
pub(crate) fn failover(
    ctx: &Context,
    req: &FailoverRequest,
) -> Result<FailoverReport, FailoverError> {
    skeleton::run(ctx, &mut Failover::new(req))
}

/// Whether step 2 found the event handled already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// No: go on to choose and swap.
    No,
    /// `from` is no longer active: its limit is recorded, nothing swapped.
    Moved,
    /// No `from`, and a failover swapped within `failover.settle`: the
    /// same event; nothing recorded, nothing swapped.
    Settled,
}

/// One failover attempt and what it found out on the way (for the report
/// and the audit line).
struct Failover<'r> {
    /// What was asked.
    req: &'r FailoverRequest,
    /// The time of the attempt (Unix seconds).
    now: u64,
    /// The limit's end, worked out before the lock.
    reset: Option<ResetTime>,
    /// The account failed over from.
    from: Option<String>,
    /// The account chosen.
    to: Option<String>,
    /// The limit recorded.
    limit: Option<RecordedLimit>,
    /// Sentences for the person reading the output.
    notes: Vec<String>,
    /// Things that went wrong without failing the failover.
    warnings: Vec<String>,
    /// An interrupted swap finished first.
    recovered: Option<Recovery>,
    /// What the fleet view told the choice (with `fleet` only).
    fleet: Option<FleetAudit>,
    /// When the attempt started (its lock budget runs from here).
    started: Instant,
}

impl<'r> Failover<'r> {
    fn new(req: &'r FailoverRequest) -> Failover<'r> {
        Failover {
            req,
            now: unix_now(),
            reset: None,
            from: req.from.clone(),
            to: None,
            limit: None,
            notes: Vec::new(),
            warnings: Vec::new(),
            recovered: None,
            fleet: None,
            started: Instant::now(),
        }
    }
}

impl Operation for Failover<'_> {
    type Report = FailoverReport;
    type Error = FailoverError;
    const ACTION: Action = Action::Failover;

    fn latched(&self, latch: LatchRecord) -> Option<FailoverError> {
        Some(FailoverError::Latched(Box::new(latch)))
    }

    fn busy(&self, e: LockError) -> FailoverError {
        FailoverError::Busy(e)
    }

    fn lock_failed(&self, e: FsError) -> FailoverError {
        FailoverError::Lock(e.to_string())
    }

    /// Before the lock: what needs no state (step 1 first).
    fn check(&mut self, ctx: &Context) -> Result<(), FailoverError> {
        refuse_if_latched(ctx, self)?;
        if let Some(from) = &self.req.from {
            home_of(&ctx.config, from)?;
        }
        let (given, message) = (self.req.until.as_deref(), self.req.message.as_deref());
        let cooldown = ctx.config.failover.cooldown;
        let reset = reset::reset_time(given, message, self.now, cooldown)
            .map_err(FailoverError::BadRequest)?;
        self.reset = Some(reset);
        Ok(())
    }

    fn after_lock(&mut self, ctx: &Context) {
        self.recovered = recover_locked(ctx);
    }

    /// Steps 2 to 5, under the lock (the latch was read again).
    fn run(&mut self, ctx: &Context, lock: &StateLock) -> Result<FailoverReport, FailoverError> {
        let mut limits = self.read_limits(ctx);
        let active = ActiveLink::read(&ctx.config).account;
        if self.req.from.is_none() {
            self.from = active.clone();
        }
        let handled = self.handled(ctx, &limits, active.as_deref());
        // 3. Not under the settle rule: the active account is the one just
        // failed over to.
        if handled != Handled::Settled {
            self.record_limit(&mut limits);
        }
        let chosen = match handled {
            Handled::No => self.choose(ctx, &limits, active.as_deref()).map(Some),
            Handled::Moved | Handled::Settled => Ok(None),
        };
        match chosen {
            Ok(Some(to)) => self.swap_to(ctx, lock, limits, to),
            // No swap follows: the limit is saved alone (a swap saves it
            // with the settle record, in one write).
            stopped => {
                self.save_limit(ctx, &mut limits);
                stopped.map(|_| self.already_moved(ctx, handled, active))
            }
        }
    }

    fn subject(&self, _: &Context, _: &Result<FailoverReport, FailoverError>) -> Option<Subject> {
        Some(Subject {
            from: self.from.clone(),
            to: self.to.clone(),
            reason: Some(self.req.reason.as_str().to_string()),
            until: self.limit.as_ref().map(|l| l.until.clone()),
            fleet: self.fleet.clone(),
            ..Subject::default()
        })
    }

    fn warn(report: &mut FailoverReport, warning: String) {
        report.warnings.push(warning);
    }
}

impl Failover<'_> {
    /// The limits as recorded; an unreadable file is none, written anew.
    fn read_limits(&mut self, ctx: &Context) -> LimitsRecord {
        let (limits, unreadable) = LimitsRecord::read_or_empty(&ctx.state);
        if let Some(why) = unreadable {
            self.warnings.push(format!(
                "{why}; no limits are known, and the file is written anew"
            ));
        }
        limits
    }

    /// Step 2: already handled?
    fn handled(&self, ctx: &Context, limits: &LimitsRecord, active: Option<&str>) -> Handled {
        let settle = ctx.config.failover.settle.as_secs();
        match &self.req.from {
            Some(from) if active != Some(from.as_str()) => Handled::Moved,
            Some(_) => Handled::No,
            None if limits
                .last_failover
                .as_ref()
                .is_some_and(|last| self.now.saturating_sub(last.time) < settle) =>
            {
                Handled::Settled
            }
            None => Handled::No,
        }
    }

    /// Step 3: records the limit of `from` in `limits` (saved by the
    /// caller).
    fn record_limit(&mut self, limits: &mut LimitsRecord) {
        let (Some(from), Some(reset)) = (&self.from, &self.reset) else {
            return;
        };
        let limit = AccountLimit {
            reason: self.req.reason,
            since: self.now,
            until: reset.until,
            source: reset.source,
        };
        limits.record(from, limit);
        self.limit = Some(RecordedLimit {
            account: from.clone(),
            until: rfc3339(reset.until),
            source: reset.source,
        });
        self.notes.push(format!("account {from}: {}", reset.note));
    }

    /// Writes the limit recorded in step 3, if one was; a failure is a
    /// warning (the failover goes on from what is in memory).
    fn save_limit(&mut self, ctx: &Context, limits: &mut LimitsRecord) {
        if self.limit.is_none() {
            return;
        }
        if let Err(e) = limits.write(&ctx.state, self.now) {
            self.warnings.push(format!("the limit was not saved: {e}"));
        }
    }

    /// Step 4: the next account, with the usage the statusline recorded
    /// and what the fleet view knows (read from the state dir, never the
    /// network); then the failpoint between choosing and swapping.
    fn choose(
        &mut self,
        ctx: &Context,
        limits: &LimitsRecord,
        active: Option<&str>,
    ) -> Result<String, FailoverError> {
        let chosen = choice::choose(&ctx.config, &ctx.state, limits, active, self.now);
        self.warnings.extend(chosen.warnings);
        self.notes.extend(chosen.notes);
        self.fleet = chosen.fleet;
        let to = chosen.to.map_err(|skipped| FailoverError::Exhausted {
            from: self.from.clone(),
            skipped,
            limit: self.limit.clone(),
        })?;
        self.to = Some(to.clone());
        after_choose(&to).map_err(|problem| FailoverError::NotStarted {
            from: self.from.clone(),
            to: to.clone(),
            problem,
        })?;
        Ok(to)
    }

    /// Step 5: swaps to `to`; the settle window starts now, remembered
    /// before the flip, so a crash after it cannot let a late hook limit
    /// the new account.
    fn swap_to(
        &mut self,
        ctx: &Context,
        lock: &StateLock,
        mut limits: LimitsRecord,
        to: String,
    ) -> Result<FailoverReport, FailoverError> {
        let previous = limits.last_failover.replace(LastFailover {
            time: self.now,
            from: self.from.clone(),
            to: to.clone(),
        });
        if let Err(e) = limits.write(&ctx.state, self.now) {
            self.warnings.push(format!(
                "the limit and the failover were not saved (for the settle rule): {e}"
            ));
        }
        match swap::swap_locked(ctx, &to, lock, self.started + ctx.lock_timeout) {
            Ok(r) => {
                self.warnings.extend(r.warnings.iter().cloned());
                let mut report = self.report(FailoverOutcome::Swapped, Some(to));
                report.swap_outcome = Some(r.outcome.into());
                report.created = r.created;
                Ok(report)
            }
            Err(source) => {
                limits.last_failover = previous;
                // Best effort: at worst a later failover without `from`
                // waits out the settle window.
                let _ = limits.write(&ctx.state, unix_now());
                Err(FailoverError::Swap {
                    from: self.from.clone(),
                    to,
                    source: Box::new(source),
                })
            }
        }
    }

    /// The answer of step 2: already moved, and why.
    fn already_moved(
        &mut self,
        ctx: &Context,
        handled: Handled,
        active: Option<String>,
    ) -> FailoverReport {
        self.notes.push(match (handled, &self.req.from) {
            (Handled::Moved, Some(from)) => format!(
                "{from} is no longer active ({} is): this limit was already handled",
                active.as_deref().unwrap_or("none")
            ),
            _ => format!(
                "a failover swapped less than failover.settle ({}) ago: this is the same event",
                crate::config::human_duration(ctx.config.failover.settle)
            ),
        });
        self.report(FailoverOutcome::AlreadyMoved, active)
    }

    fn report(&mut self, outcome: FailoverOutcome, active: Option<String>) -> FailoverReport {
        FailoverReport {
            outcome,
            from: self.from.clone(),
            active,
            reason: self.req.reason,
            limit: self.limit.clone(),
            notes: std::mem::take(&mut self.notes),
            created: Vec::new(),
            warnings: std::mem::take(&mut self.warnings),
            recovered: self.recovered.take(),
            swap_outcome: None,
        }
    }
}

/// The failpoint between choosing and swapping (crash tests).
fn after_choose(to: &str) -> Result<(), String> {
    fail::fail_point!("failover::after_choose", |_| Err(format!(
        "account {to}: failpoint failover::after_choose"
    )));
    let _ = to;
    Ok(())
}
