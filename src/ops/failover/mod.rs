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
//!    (wrapping) that is not limited and whose links ensure can make `ok`;
//!    one at or above `failover.threshold` by its last known usage only
//!    when no other is below it (see `choose`). With `fleet`, an account
//!    limited on any instance is skipped too, and the usage is the
//!    freshest known anywhere (see `fleet`). None: answer `exhausted`,
//!    swap nothing.
//! 5. Swap to it through the swap's own core (flip, ensure, rollback,
//!    latch; its own `swap` audit line), remembering the swap for the
//!    settle rule.
//!
//! Every attempt, whatever its end, is one `"action":"failover"` line in
//! the audit log (from, to, reason, until, outcome).

mod choice;
mod choose;
mod fleet;
mod outcome;
pub mod reset;

use std::time::Instant;

use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::ops::swap::{self, recover_locked, Recovery};
use crate::state::audit::{self, AuditEntry};
use crate::state::fleet::FleetAudit;
use crate::state::limits::{rfc3339, unix_now, AccountLimit, LastFailover, LimitsRecord};
use crate::state::lock::StateLock;

pub use choice::choice;
pub use outcome::{FailoverError, FailoverOutcome, FailoverReport, FailoverRequest, RecordedLimit};

/// What a person is told wherever a failover is reported. The contract
/// says running sessions keep the credentials they loaded; the real client
/// (2.1.328, tests/claude_e2e.rs) reloads `.credentials.json` before a
/// request when its modification time changed, so running sessions follow
/// at their next request, except when two homes' files share an mtime.
pub const RESTART_HINT: &str =
    "running Claude Code sessions move to the new account at their next request (Claude Code reloads .credentials.json when its modification time changes); one that does not (two homes' .credentials.json with the same mtime) continues on it once restarted with 'claude --continue' (or --resume)";

/// What the steps found out, for the report and the audit line.
#[derive(Debug, Default)]
struct Trail {
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
}

/// Fails over from `req.from` (default: the active account). See the
/// module documentation.
pub fn failover(ctx: &Context, req: &FailoverRequest) -> Result<FailoverReport, FailoverError> {
    let start = Instant::now();
    let mut trail = Trail {
        from: req.from.clone(),
        ..Trail::default()
    };
    let result = steps(ctx, req, &mut trail);

    let mut entry = AuditEntry::new("failover", "", start.elapsed());
    entry.from = trail.from.clone();
    entry.to = trail.to.clone();
    entry.reason = Some(req.reason.as_str().to_string());
    entry.until = trail.limit.as_ref().map(|l| l.until.clone());
    entry.fleet = trail.fleet.clone();
    match &result {
        Ok(r) => entry.outcome = r.outcome.as_str().to_string(),
        Err(e) => {
            entry.outcome = e.outcome().as_str().to_string();
            entry.errors = e.errors();
        }
    }
    let audit_error = audit::append(&ctx.state, &entry).err();
    result.map(|mut r| {
        r.warnings.extend(audit_error.map(|e| e.to_string()));
        r
    })
}

fn steps(
    ctx: &Context,
    req: &FailoverRequest,
    trail: &mut Trail,
) -> Result<FailoverReport, FailoverError> {
    let config = &ctx.config;
    // Before the lock: what needs no state.
    if let Some(l) = ctx.latch.current() {
        return Err(FailoverError::Latched(Box::new(l)));
    }
    if let Some(from) = &req.from {
        home_of(config, from)?;
    }
    let now = unix_now();
    let reset = reset::reset_time(
        req.until.as_deref(),
        req.message.as_deref(),
        now,
        config.failover.cooldown,
    )
    .map_err(FailoverError::BadRequest)?;
    let lock = StateLock::acquire_or(&ctx.state, ctx.lock_timeout, FailoverError::Busy, |e| {
        FailoverError::Lock(e.to_string())
    })?;
    trail.recovered = recover_locked(ctx);
    // 1. The latch, read again under the lock.
    if let Some(l) = ctx.latch.current() {
        return Err(FailoverError::Latched(Box::new(l)));
    }
    let (mut limits, unreadable) = LimitsRecord::read_or_empty(&ctx.state);
    if let Some(why) = unreadable {
        trail.warnings.push(format!(
            "{why}; no limits are known, and the file is written anew"
        ));
    }
    let active = ActiveLink::read(config).account;
    // 2. Already handled?
    let already = match &req.from {
        Some(from) => active.as_deref() != Some(from.as_str()),
        None => limits
            .last_failover
            .as_ref()
            .is_some_and(|last| now.saturating_sub(last.time) < config.failover.settle.as_secs()),
    };
    if req.from.is_none() {
        trail.from = active.clone();
    }
    let settled = already && req.from.is_none();
    let mut limit_unsaved = false;
    // 3. Record the limit (not under the settle rule: the active account
    // is the one just failed over to).
    if !settled {
        if let Some(from) = &trail.from {
            limits.record(
                from,
                AccountLimit {
                    reason: req.reason,
                    since: now,
                    until: reset.until,
                    source: reset.source,
                },
            );
            trail.limit = Some(RecordedLimit {
                account: from.clone(),
                until: rfc3339(reset.until),
                source: reset.source,
            });
            trail.notes.push(format!("account {from}: {}", reset.note));
            // Saved below: with the settle record in one write when a swap
            // follows (one fsync pair less before the flip), else alone.
            limit_unsaved = true;
        }
    }
    if already {
        if limit_unsaved {
            save_limit(ctx, &mut limits, now, trail);
        }
        trail.notes.push(match &req.from {
            Some(from) => format!(
                "{from} is no longer active ({} is): this limit was already handled",
                active.as_deref().unwrap_or("none")
            ),
            None => format!(
                "a failover swapped less than failover.settle ({}) ago: this is the same event",
                humantime::format_duration(config.failover.settle)
            ),
        });
        return Ok(report(
            FailoverOutcome::AlreadyMoved,
            active,
            req,
            trail,
            None,
        ));
    }
    // 4. Choose, with the usage the statusline recorded and what the fleet
    // view knows (`fleet`: read from the state dir, never the network).
    let chosen = choice::choose(config, &ctx.state, &limits, active.as_deref(), now);
    trail.warnings.extend(chosen.warning);
    trail.notes.extend(chosen.notes);
    trail.fleet = chosen.fleet;
    let to = match chosen.to {
        Ok(to) => to,
        Err(skipped) => {
            if limit_unsaved {
                save_limit(ctx, &mut limits, now, trail);
            }
            return Err(FailoverError::Exhausted {
                from: trail.from.clone(),
                skipped,
                limit: trail.limit.clone(),
            });
        }
    };
    trail.to = Some(to.clone());
    if let Err(problem) = after_choose(&to) {
        if limit_unsaved {
            save_limit(ctx, &mut limits, now, trail);
        }
        return Err(FailoverError::NotStarted {
            from: trail.from.clone(),
            to: to.clone(),
            problem,
        });
    }
    // 5. Swap; the settle window starts now. Remembered before the flip,
    // so a crash after it cannot let a late hook limit the new account.
    let previous = limits.last_failover.replace(LastFailover {
        time: now,
        from: trail.from.clone(),
        to: to.clone(),
    });
    if let Err(e) = limits.write(&ctx.state, now) {
        trail.warnings.push(format!(
            "the limit and the failover were not saved (for the settle rule): {e}"
        ));
    }
    match swap::swap_locked(ctx, &to, &lock) {
        Ok(r) => {
            trail.warnings.extend(r.warnings.iter().cloned());
            let outcome = r.outcome.as_str();
            let mut rep = report(
                FailoverOutcome::Swapped,
                Some(to),
                req,
                trail,
                Some(outcome),
            );
            rep.created = r.created;
            Ok(rep)
        }
        Err(source) => {
            limits.last_failover = previous;
            // Best effort: at worst a later failover without `from` waits
            // out the settle window.
            let _ = limits.write(&ctx.state, unix_now());
            Err(FailoverError::Swap {
                from: trail.from.clone(),
                to,
                source: Box::new(source),
            })
        }
    }
}

/// Writes the limit recorded in step 3; a failure is a warning (the
/// failover goes on from what is in memory).
fn save_limit(ctx: &Context, limits: &mut LimitsRecord, now: u64, trail: &mut Trail) {
    if let Err(e) = limits.write(&ctx.state, now) {
        trail.warnings.push(format!("the limit was not saved: {e}"));
    }
}

fn report(
    outcome: FailoverOutcome,
    active: Option<String>,
    req: &FailoverRequest,
    trail: &mut Trail,
    swap_outcome: Option<&'static str>,
) -> FailoverReport {
    FailoverReport {
        outcome,
        from: trail.from.clone(),
        active,
        reason: req.reason,
        limit: trail.limit.clone(),
        notes: std::mem::take(&mut trail.notes),
        created: Vec::new(),
        warnings: std::mem::take(&mut trail.warnings),
        recovered: trail.recovered.take(),
        swap_outcome,
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
