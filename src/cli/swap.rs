//! `swap ACCOUNT`: the flip, with what it created, warned or rolled back.

use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::ops::class::Classified;
use crate::ops::context::Context;
use crate::ops::swap::{self, SwapError, SwapOutcome};

/// Makes `account` active through the library's one swap function.
pub(crate) fn swap_cmd(ctx: &Context, account: &str, out: &mut Output) -> Exit {
    match swap::swap(ctx, account) {
        Ok(r) => {
            if let Some(rec) = &r.recovered {
                out.err(format!("homeswap: {}", rec.summary()));
            }
            for c in &r.created {
                out.line(format!("account {account}: created {c}"));
            }
            match r.outcome {
                SwapOutcome::Swapped => out.line(format!(
                    "swapped: {} -> {account}",
                    r.from.as_deref().unwrap_or("(none)")
                )),
                SwapOutcome::AlreadyActive => out.line(format!("already active: {account}")),
            }
            for w in &r.warnings {
                out.err(format!("homeswap: warning: {w}"));
            }
            Ok(())
        }
        Err(e) => {
            swap_error_lines(&e, out);
            exit::failed(&e)
        }
    }
}

/// A headline, then one line per error, so each problem is greppable.
fn swap_error_lines(e: &SwapError, out: &mut Output) {
    let or_none = |a: &Option<String>| a.clone().unwrap_or_else(|| "(none)".into());
    let (headline, details) = match e {
        SwapError::Refused { to, problems } => {
            (format!("swap to {to} refused before the flip, nothing changed:"), problems.clone())
        }
        SwapError::RolledBack { from, to, errors } => (
            format!(
                "swap {} -> {to} failed and was rolled back; {} is still active:",
                or_none(from),
                or_none(from)
            ),
            errors.clone(),
        ),
        SwapError::Partial { from, to, .. } => (
            format!(
                "partial swap {} -> {to}: ensure and rollback both failed; the latch is set and every swap is refused until 'homeswap latch clear --reason TEXT':",
                or_none(from)
            ),
            e.errors(),
        ),
        other => (other.to_string(), Vec::new()),
    };
    out.err(format!("homeswap: {headline}"));
    for d in details {
        out.err(format!("  {d}"));
    }
}
