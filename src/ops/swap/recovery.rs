//! Crash recovery: a swap interrupted by a crash leaves its intent record
//! (and perhaps temporaries); the next homeswap command or sidecar start
//! finishes or undoes it, before anything else, by the swap's own rules.
//!
//! Only when no other homeswap holds the lock (a held lock means a live
//! swap owns the record). Under the lock:
//!
//! 1. Remove leftover temporaries beside the active link and the state
//!    files.
//! 2. Read the intent record. An unreadable one cannot be acted on: move it
//!    aside (kept for the operator) so it stops blocking recovery.
//!
//!    2a. Release the OAuth refresh lock the interrupted swap held on the
//!    outgoing home (only if its owner record names the crashed process),
//!    and the temporaries of that record.
//! 3. Judge the record against the configuration in force:
//!    a. the active link points at the record's target home, and that home
//!    is still the configured home of the record's account: the crash
//!    came after the flip; ensure decides: ok → the swap is done
//!    (`swapped`), else roll back, or latch if that fails;
//!    b. the active link points at the target home, but that account is no
//!    longer configured there (removed or renamed since): nothing is
//!    written under that path; roll back to what the link held before
//!    (`rolled_back`), or latch if that fails;
//!    c. the active link still holds what it held before: the crash came
//!    before the flip (`not_flipped`);
//!    d. anything else: someone changed the link since; leave it
//!    (`superseded`).
//! 4. Remove the record and write one audit line (the skeleton's record;
//!    recovery runs inside the lock of whoever called it, so not through
//!    the skeleton itself).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::flip::{ensure_target, undo};
use super::outcome::{Recovery, RecoveryOutcome, SwapError};
use super::refresh_lock::release_left_by;
use crate::fs::atomic;
use crate::fs::pathfmt::shown;
use crate::fs::DirFd;
use crate::links::active::ActiveLink;
use crate::ops::class::Classified;
use crate::ops::context::Context;
use crate::state::audit::{self, Action, AuditRecord, Subject};
use crate::state::intent::IntentRecord;
use crate::state::lock::StateLock;

/// Finishes a swap that a crash interrupted and removes leftover temporary
/// links, if there is anything to do and no other homeswap is at work.
/// Every command calls this first. Returns what was done.
pub(crate) fn recover(ctx: &Context) -> Option<Recovery> {
    let intent_left = std::fs::symlink_metadata(ctx.state.intent()).is_ok();
    if !intent_left && !temp_paths(ctx).iter().any(|p| atomic::has_leftovers(p)) {
        return None;
    }
    // A held lock means a live operation owns the record and the
    // temporaries: nothing is interrupted, so leave them.
    let _lock = StateLock::acquire(&ctx.state, Duration::ZERO).ok()?;
    recover_locked(ctx)
}

/// The entries whose temporaries a crash may leave: the active link (a
/// flip) and the state files written atomically.
fn temp_paths(ctx: &Context) -> [PathBuf; 5] {
    [
        ctx.config.active_link.clone(),
        ctx.state.intent(),
        ctx.state.latch(),
        ctx.state.limits(),
        ctx.state.flips(),
    ]
}

/// Recovery proper; the caller holds the lock.
pub(crate) fn recover_locked(ctx: &Context) -> Option<Recovery> {
    let start = Instant::now();
    let mut errors = Vec::new();
    let mut removed = Vec::new();
    // 1. Temporaries.
    for path in temp_paths(ctx) {
        match atomic::remove_leftovers(&path) {
            Ok(r) => removed.extend(r),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // 2. The record.
    let intent = match IntentRecord::read(&ctx.state) {
        Ok(i) => i,
        Err(e) => {
            errors.push(set_aside_unreadable(ctx, &e.to_string()));
            None
        }
    };
    // 2a. The refresh lock.
    if let Some(i) = &intent {
        if let Some(home) = &i.refresh_lock {
            match release_left_by(home, i.pid) {
                Ok(r) => removed.extend(r),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if intent.is_none() && removed.is_empty() && errors.is_empty() {
        return None;
    }
    // 3. and 4.
    let outcome = match &intent {
        None => RecoveryOutcome::Cleaned,
        Some(i) => finish_interrupted(ctx, i, &mut errors),
    };
    let recovery = Recovery {
        intent,
        outcome,
        errors,
        removed,
    };
    if let Some(i) = &recovery.intent {
        let subject = Subject {
            from: i.from.clone(),
            to: Some(i.to.clone()),
            ..Subject::default()
        };
        let errors = recovery.errors.clone();
        let record = AuditRecord::new(
            Action::Recover,
            outcome.into(),
            errors,
            subject,
            start.elapsed(),
        );
        // Best effort: the recovery is done whether or not it is recorded.
        let _ = audit::append(&ctx.state, record);
    }
    Some(recovery)
}

/// Step 2's fallback: moves an unreadable record aside and says exactly
/// what happened to it.
fn set_aside_unreadable(ctx: &Context, why: &str) -> String {
    set_aside_as(ctx, why, &ctx.state.intent_aside())
}

/// Moves the record to `aside`, never over anything already there.
fn set_aside_as(ctx: &Context, why: &str, aside: &Path) -> String {
    let intent = ctx.state.intent();
    let moved = DirFd::open_following(ctx.state.dir()).and_then(|dir| {
        let name = |p: &Path| p.file_name().unwrap_or_default().to_os_string();
        dir.rename_noreplace(&name(&intent), &dir, &name(aside))
    });
    match moved {
        Ok(()) => format!(
            "{why}; moved aside to {} for you to read (the swap it recorded cannot be finished automatically: check 'homeswap validate')",
            shown(aside)
        ),
        Err(e) => format!(
            "{why}; it could not be moved aside to {} ({e}); remove {} by hand after reading it",
            shown(aside),
            shown(&ctx.state.intent())
        ),
    }
}

/// Step 3: applies the swap's own rules to an interrupted swap, judged
/// against the configuration in force.
fn finish_interrupted(
    ctx: &Context,
    intent: &IntentRecord,
    errors: &mut Vec<String>,
) -> RecoveryOutcome {
    let active = ActiveLink::read(&ctx.config);
    let still_configured = ctx.config.home(&intent.to) == Some(intent.to_home.as_path());
    let outcome = if active.points_at(&intent.to_home) {
        // a. and b.: crashed after the flip.
        let ensured = if still_configured {
            ensure_target(ctx, &intent.to, &intent.to_home)
        } else {
            Err(vec![format!(
                "account {} is no longer configured with home {}; the interrupted swap to it is undone and nothing is written there",
                intent.to,
                shown(&intent.to_home)
            )])
        };
        match ensured {
            Ok(_) => RecoveryOutcome::Swapped,
            // undo removes the record itself (or keeps it when the latch
            // could not be persisted, so the next command retries).
            Err(e) => {
                return match undo(ctx, intent, e) {
                    SwapError::RolledBack { errors: e, .. } => {
                        errors.extend(e);
                        RecoveryOutcome::RolledBack
                    }
                    other => {
                        errors.extend(other.errors());
                        RecoveryOutcome::Partial
                    }
                };
            }
        }
    } else if active.target == intent.from_target {
        // c.
        RecoveryOutcome::NotFlipped
    } else {
        // d.
        errors.push(format!(
            "{} was changed by someone else since the swap started; left as it is",
            shown(&active.path)
        ));
        RecoveryOutcome::Superseded
    };
    if let Err(e) = IntentRecord::remove(&ctx.state) {
        errors.push(e.to_string());
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn context(root: &Path) -> Context {
        let yaml = format!(
            "accounts:\n  a: {r}/a\nactive_link: {r}/active\nshared_dir: {r}/shared\nstate_dir: {r}/state\n",
            r = root.display()
        );
        Context::new(Config::parse(&root.join("c.yaml"), &yaml).unwrap())
    }

    #[test]
    fn an_unreadable_intent_that_cannot_be_moved_aside_is_not_said_to_be() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        ctx.state.create().unwrap();
        std::fs::write(ctx.state.intent(), b"{garbage").unwrap();
        // Something already where the record would be moved: it is never
        // replaced, so the move fails.
        let aside = ctx.state.dir().join("intent.json.unreadable-taken");
        std::fs::write(&aside, b"an earlier record").unwrap();

        let said = set_aside_as(&ctx, "unreadable", &aside);
        assert!(!said.contains("; moved aside to"), "{said}");
        assert!(said.contains("could not be moved aside"), "{said}");
        assert!(ctx.state.intent().exists(), "left where it was");
        assert_eq!(std::fs::read(&aside).unwrap(), b"an earlier record");
    }

    #[test]
    fn an_unreadable_intent_is_moved_aside_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        ctx.state.create().unwrap();
        std::fs::write(ctx.state.intent(), b"{garbage").unwrap();
        let r = recover(&ctx).expect("something was found");
        assert!(r.errors[0].contains("; moved aside to"), "{:?}", r.errors);
        assert!(!ctx.state.intent().exists());
        // A second unreadable record gets a name of its own.
        std::fs::write(ctx.state.intent(), b"{garbage").unwrap();
        recover(&ctx).expect("something was found");
        let asides = std::fs::read_dir(ctx.state.dir())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("intent.json.unreadable-")
            })
            .count();
        assert_eq!(asides, 2);
    }
}
