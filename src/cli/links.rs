//! `validate` and `ensure`: the shared links of every account, checked and
//! repaired where that is safe (`ops::validate`, `ops::ensure`), printed.

use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::ops::class::ErrorClass;
use crate::ops::context::Context;
use crate::ops::ensure::ensure;
use crate::ops::validate::validate;

/// Prints every problem and warning of `validate` (or its JSON) and a
/// summary line.
pub(crate) fn validate_cmd(ctx: &Context, json: bool, out: &mut Output) -> Exit {
    let v = validate(ctx);
    for line in v.problems.iter().chain(&v.warnings) {
        out.err(line.clone());
    }
    if json {
        out.json(&v);
    } else if v.ok() {
        out.line(format!(
            "ok: {} accounts, {} links each, active account {}",
            v.accounts.len(),
            ctx.config.shared.all_names().count(),
            v.active.account.as_deref().unwrap_or("(none)")
        ));
    } else {
        out.line(format!("{} problem(s) found", v.problems.len()));
    }
    exit::all_ok(v.ok())
}

/// Prints what `ensure` created for `accounts` (default: all) and what it
/// refused.
pub(crate) fn ensure_cmd(
    ctx: &Context,
    accounts: &[String],
    dry_run: bool,
    out: &mut Output,
) -> Exit {
    let ensured = match ensure(ctx, accounts, dry_run) {
        Ok(e) => e,
        Err(unknown) => {
            for e in &unknown {
                out.err(format!("homeswap: {e}"));
            }
            return Err(ErrorClass::Unknown);
        }
    };
    for a in &ensured.accounts {
        for line in &a.changes {
            out.line(line.clone());
        }
        for p in a.report.problems() {
            out.err(p);
        }
    }
    if ensured.change_count() == 0 && ensured.is_ok() {
        out.line("ok: nothing to do".to_string());
    }
    exit::all_ok(ensured.is_ok())
}
