//! `failover`, `limits` and `limits clear`: an account hit its limit, and
//! what is known about every account's limit.

use crate::cli::args::{FailoverArgs, LimitsArgs, LimitsCommand};
use crate::cli::exit::{self, Exit};
use crate::cli::fleet::fleet_lines;
use crate::cli::output::Output;
use crate::fs::pathfmt::one_line;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::context::Context;
use crate::ops::failover::{self, FailoverError, FailoverOutcome, FailoverRequest, SESSIONS_HINT};
use crate::ops::limits::{clear_limit, limits, AccountLimitView, DisabledView};
use crate::state::limits::LimitReason;

/// Fails over through the library's one failover function.
pub(crate) fn failover_cmd(ctx: &Context, args: FailoverArgs, out: &mut Output) -> Exit {
    let Some(reason) = LimitReason::parse(&args.reason) else {
        // clap allows only the four names.
        out.err(format!("homeswap: unknown reason {:?}", args.reason));
        return Err(ErrorClass::Usage);
    };
    let req = FailoverRequest {
        from: args.from,
        reason,
        until: args.until,
        message: None,
    };
    match failover::failover(ctx, &req) {
        Ok(r) => {
            if let Some(rec) = &r.recovered {
                out.err(format!("homeswap: {}", rec.summary()));
            }
            for n in &r.notes {
                out.line(n.clone());
            }
            for c in &r.created {
                out.line(format!("created {c}"));
            }
            let from = r.from.as_deref().unwrap_or("(none)");
            let active = r.active.as_deref().unwrap_or("(none)");
            match r.outcome {
                FailoverOutcome::Swapped => {
                    out.line(format!("failed over: {from} -> {active}"));
                    out.line(SESSIONS_HINT.to_string());
                }
                _ => out.line(format!("already moved: {active} is active")),
            }
            for w in &r.warnings {
                out.err(format!("homeswap: warning: {w}"));
            }
            Ok(())
        }
        Err(e) => {
            failover_error_lines(&e, out);
            exit::failed(&e)
        }
    }
}

/// A headline, then one line per error.
pub(crate) fn failover_error_lines(e: &FailoverError, out: &mut Output) {
    let details = match e {
        FailoverError::Exhausted { .. } | FailoverError::Swap { .. } => e.errors(),
        _ => Vec::new(),
    };
    let headline = match e {
        FailoverError::Exhausted { from, limit, .. } => format!(
            "exhausted: no account to fail over to{}, nothing swapped{}:",
            from.as_deref()
                .map(|f| format!(" from {f}"))
                .unwrap_or_default(),
            limit
                .as_ref()
                .map(|l| format!(" ({} is limited until {})", l.account, l.until))
                .unwrap_or_default()
        ),
        FailoverError::Swap { from, to, source } => format!(
            "failover {} -> {to} did not happen: {}",
            from.as_deref().unwrap_or("(none)"),
            match **source {
                crate::ops::swap::SwapError::Partial { .. } =>
                    "partial swap, the latch is set; repair the links, then run 'homeswap latch clear --reason TEXT'",
                _ => "state unchanged",
            }
        ),
        other => other.to_string(),
    };
    out.err(format!("homeswap: {headline}"));
    for d in details {
        out.err(format!("  {d}"));
    }
}

/// `limits [--json]` or `limits clear ACCOUNT`.
pub(crate) fn limits_cmd(ctx: &Context, args: LimitsArgs, out: &mut Output) -> Exit {
    if let Some(LimitsCommand::Clear { account }) = args.command {
        return match clear_limit(ctx, &account) {
            Ok(true) => {
                out.line(format!("account {account}: limit cleared"));
                Ok(())
            }
            Ok(false) => {
                out.line(format!("account {account}: was not limited"));
                Ok(())
            }
            Err(e) => {
                out.err(format!("homeswap: {e}"));
                exit::failed(&e)
            }
        };
    }
    let view = limits(ctx);
    if args.json {
        out.json(&view);
        return Ok(());
    }
    if let Some(e) = &view.error {
        out.err(format!("homeswap: {e}; no limits are known"));
    }
    if let Some(e) = &view.disabled_error {
        out.err(format!("homeswap: {e}; no account is known to be disabled"));
    }
    for a in &view.accounts {
        out.line(limit_line(a));
    }
    if let Some(l) = &view.last_failover {
        out.line(format!(
            "last failover: {} -> {} at {}",
            l.from.as_deref().unwrap_or("(none)"),
            l.to,
            l.time
        ));
    }
    for line in view.fleet.iter().flat_map(fleet_lines) {
        out.line(format!("fleet: {line}"));
    }
    Ok(())
}

/// `a  limited (rate_limit) until ... (message), since ...` or `b  not
/// limited`, then `· disabled since ...` for an account held out.
pub(crate) fn limit_line(a: &AccountLimitView) -> String {
    let line = limit_only(a);
    match &a.disabled {
        Some(d) => format!("{line} · disabled {}", disabled_text(d)),
        None => line,
    }
}

/// `since 2026-...Z (reason): held out of failover`.
pub(crate) fn disabled_text(d: &DisabledView) -> String {
    let why = d
        .reason
        .as_deref()
        .map(|r| format!(" ({})", one_line(r)))
        .unwrap_or_default();
    format!("since {}{why}: held out of failover", d.since)
}

/// The limit part of [`limit_line`].
fn limit_only(a: &AccountLimitView) -> String {
    match (a.limited, a.reason, &a.until, a.source, &a.since) {
        (true, Some(reason), Some(until), Some(source), Some(since)) => format!(
            "{:<12} limited ({}) until {until} ({}), since {since}",
            a.account,
            reason.as_str(),
            source.as_str()
        ),
        _ => format!("{:<12} not limited", a.account),
    }
}
