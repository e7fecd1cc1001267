//! The core a swap and a recovery share, steps 6 to 9 of the swap: flip
//! the active link, ensure the new account, roll back, latch.

use std::path::Path;

use super::outcome::SwapError;
use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::links::ensure_account;
use crate::ops::context::Context;
use crate::state::flips::{FlipHistory, FlipRecord};
use crate::state::intent::IntentRecord;
use crate::state::latch::LatchRecord;
use crate::state::StateDir;

/// Steps 8 and 9: roll back to the intent's previous target, or latch.
pub(super) fn undo(ctx: &Context, intent: &IntentRecord, mut errors: Vec<String>) -> SwapError {
    match rollback(ctx, intent.from_target.as_deref()) {
        Ok(()) => {
            if let Err(e) = IntentRecord::remove(&ctx.state) {
                errors.push(e.to_string());
            }
            SwapError::RolledBack {
                from: intent.from.clone(),
                to: intent.to.clone(),
                errors,
            }
        }
        Err(e) => {
            errors.push(format!("rollback failed: {e}"));
            let record = LatchRecord::new(intent.from.clone(), &intent.to, errors.clone());
            let latch_error = match ctx.latch.set(record) {
                Ok(()) => {
                    // The latch now carries the failure; the record may go.
                    let _ = IntentRecord::remove(&ctx.state);
                    None
                }
                Err(e) => Some(format!("the latch holds in memory only: {e}")),
            };
            SwapError::Partial {
                from: intent.from.clone(),
                to: intent.to.clone(),
                errors,
                latch_error,
            }
        }
    }
}

/// Step 6: the flip, noted in the flip history first (`noted_replace`).
pub(super) fn flip(ctx: &Context, home: &Path) -> Result<(), FsError> {
    let link = &ctx.config.active_link;
    fail::fail_point!("swap::flip", |_| Err(failpoint_error(
        "replace the link",
        link,
        "swap::flip"
    )));
    noted_replace(&ctx.state, link, home)
}

/// Replaces the active link, noting the flip in `<state_dir>/flips.json`
/// before the new link is renamed into place (the served-account model
/// reads when each flip happened there); a note whose rename failed is
/// withdrawn. A note that cannot be written costs only that knowledge: the
/// flip goes on, and readers doubt the time before the live link's flip.
fn noted_replace(state: &StateDir, link: &Path, target: &Path) -> Result<(), FsError> {
    let mut noted = None;
    let result = atomic::replace_symlink_noting(link, target, |r| {
        let flip = FlipRecord {
            at_ns: r.made_ns,
            from: r.old.as_ref().map(|(t, _)| t.clone()),
            from_since_ns: r.old.as_ref().map(|(_, since)| *since),
            to: Some(target.to_path_buf()),
        };
        match FlipHistory::note(state, flip) {
            Ok(()) => noted = Some(r.made_ns),
            Err(e) => tracing::warn!(error = %e, "the flip is not noted in the flip history"),
        }
    });
    if let (Err(_), Some(at)) = (&result, noted) {
        let _ = FlipHistory::withdraw(state, at);
    }
    result
}

/// The `swap::after_flip` failpoint, between the flip and ensure.
pub(super) fn after_flip(to: &str) -> Result<(), Vec<String>> {
    fail::fail_point!("swap::after_flip", |_| Err(vec![format!(
        "account {to}: failpoint swap::after_flip"
    )]));
    let _ = to;
    Ok(())
}

/// Step 7: ensure of the new account: what it created, or why it failed.
pub(super) fn ensure_target(
    ctx: &Context,
    to: &str,
    home: &Path,
) -> Result<Vec<String>, Vec<String>> {
    fail::fail_point!("swap::ensure", |_| Err(vec![format!(
        "account {to}: ensure failed: failpoint swap::ensure"
    )]));
    let report = ensure_account(to, home, &ctx.config.shared, false);
    if report.is_ok() {
        Ok(report
            .changes()
            .map(|s| {
                format!(
                    "{}: {}",
                    crate::fs::pathfmt::shown(&s.before.path),
                    s.action
                )
            })
            .collect())
    } else {
        Err(report.problems())
    }
}

/// Step 8: the active link back to `previous` (removed if there was none).
fn rollback(ctx: &Context, previous: Option<&Path>) -> Result<(), FsError> {
    let link = &ctx.config.active_link;
    fail::fail_point!("swap::rollback", |_| Err(failpoint_error(
        "restore the link",
        link,
        "swap::rollback"
    )));
    match previous {
        Some(target) => noted_replace(&ctx.state, link, target),
        // There was no active link before: the one the flip made goes.
        None => atomic::remove_file(link),
    }
}

#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn failpoint_error(op: &'static str, path: &Path, name: &str) -> FsError {
    FsError::new(op, path, std::io::Error::other(format!("failpoint {name}")))
}
