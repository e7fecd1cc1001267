//! The core a swap and a recovery share, steps 6 to 9 of the swap: flip
//! the active link, ensure the new account, roll back, latch.

use std::path::Path;

use super::outcome::SwapError;
use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::links::ensure_account;
use crate::ops::context::Context;
use crate::state::intent::IntentRecord;
use crate::state::latch::LatchRecord;

/// Steps 8 and 9: roll back to the intent's previous target, or latch.
pub(super) fn undo(ctx: &Context, intent: &IntentRecord, mut errors: Vec<String>) -> SwapError {
    match rollback(&ctx.config.active_link, intent.from_target.as_deref()) {
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

/// Step 6: the flip.
pub(super) fn flip(link: &Path, home: &Path) -> Result<(), FsError> {
    fail::fail_point!("swap::flip", |_| Err(failpoint_error(
        "replace the link",
        link,
        "swap::flip"
    )));
    atomic::replace_symlink(link, home)
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
fn rollback(link: &Path, previous: Option<&Path>) -> Result<(), FsError> {
    fail::fail_point!("swap::rollback", |_| Err(failpoint_error(
        "restore the link",
        link,
        "swap::rollback"
    )));
    match previous {
        Some(target) => atomic::replace_symlink(link, target),
        // There was no active link before: the one the flip made goes.
        None => atomic::remove_file(link),
    }
}

#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn failpoint_error(op: &'static str, path: &Path, name: &str) -> FsError {
    FsError::new(op, path, std::io::Error::other(format!("failpoint {name}")))
}
