//! `status`: the active account, the latch and every account's links, from
//! the same document `GET /api/v1/status` answers.

use crate::cli::exit::Exit;
use crate::cli::failover::{disabled_text, limit_line};
use crate::cli::fleet::fleet_lines;
use crate::cli::latch::latch_line;
use crate::cli::output::Output;
use crate::fs::pathfmt::shown;
use crate::ops::context::Context;
use crate::ops::status::{status as status_document, StatusDocument};
use crate::ops::usage::AccountUsageView;

/// Shows the state; `--json` prints the status document.
pub(crate) fn status(ctx: &Context, json: bool, out: &mut Output) -> Exit {
    let doc = status_document(ctx);
    if json {
        out.json(&doc);
        return Ok(());
    }
    let active = &doc.active_link;
    out.line(format!("config:   {}", shown(&doc.config)));
    out.line(format!(
        "active:   {} ({} -> {})",
        active.account.as_deref().unwrap_or("(none)"),
        shown(&active.path),
        active
            .target
            .as_deref()
            .map(|t| shown(t).to_string())
            .unwrap_or_else(|| "nothing".into())
    ));
    if active.problem.is_some() {
        out.line(format!("          {active}"));
    }
    out.line(format!("latch:    {}", latch_line(doc.latch.as_ref())));
    if doc.swap_in_progress {
        out.line("swap:     in progress (intent record present)".to_string());
    }
    for n in &doc.notices {
        out.line(format!("adopt:    {n}"));
    }
    for w in &doc.warnings {
        out.err(w.clone());
    }
    account_lines(&doc, out);
    for group in &doc.credentials.duplicated {
        out.line(format!(
            "credentials: accounts {} hold the same OAuth refresh token (compared by digest): the first to refresh logs the others out",
            group.join(", ")
        ));
    }
    for same in &doc.credentials.same_mtime {
        out.line(format!(
            "credentials: accounts {}: .credentials.json with the same modification time ({})",
            same.accounts.join(", "),
            same.mtime
        ));
    }
    failover_lines(&doc, out);
    Ok(())
}

/// What the failover knows: limits, disabled accounts, usage and, with
/// `fleet:`, what other hosts reported.
fn failover_lines(doc: &StatusDocument, out: &mut Output) {
    if let Some(e) = &doc.limits_error {
        out.line(format!("limits:   {e}; no limits are known"));
    }
    for l in doc.limits.iter().filter(|l| l.limited) {
        out.line(format!("limit:    {}", limit_line(l)));
    }
    if let Some(e) = &doc.disabled_error {
        out.line(format!("disabled: {e}; no account is known to be disabled"));
    }
    for (l, d) in doc
        .limits
        .iter()
        .filter_map(|l| l.disabled.as_ref().map(|d| (l, d)))
    {
        out.line(format!("disabled: {} {}", l.account, disabled_text(d)));
    }
    if let Some(e) = &doc.usage.error {
        out.line(format!("usage:    {e}; no usage is known"));
    }
    for u in doc.usage.accounts.iter().filter(|u| u.updated.is_some()) {
        out.line(format!("usage:    {}", usage_line(u)));
    }
    for line in doc.fleet.iter().flat_map(fleet_lines) {
        out.line(format!("fleet:    {line}"));
    }
}

/// `accounts:`, then one line per account: `* a  /home/a  projects=ok ...`.
fn account_lines(doc: &StatusDocument, out: &mut Output) {
    out.line("accounts:".to_string());
    for a in &doc.accounts {
        let states: Vec<String> = a
            .links
            .iter()
            .map(|l| format!("{}={}", l.link, l.state))
            .collect();
        let mark = if doc.active.as_deref() == Some(a.account.as_str()) {
            "*"
        } else {
            " "
        };
        out.line(format!(
            "  {mark} {:<12} {}  {}",
            a.account,
            shown(&a.home),
            states.join(" ")
        ));
    }
}

/// `a: 5h 42% (resets 2026-...Z) · 7d 13% (...) · updated ...`, with the
/// threshold when a window is at it.
fn usage_line(u: &AccountUsageView) -> String {
    let mut parts = Vec::new();
    for (name, w) in [("5h", &u.five_hour), ("7d", &u.seven_day)] {
        if let Some(w) = w {
            parts.push(format!(
                "{name} {}% (resets {})",
                w.used_percentage,
                w.resets_at.as_deref().unwrap_or("unknown")
            ));
        }
    }
    if let (true, Some(t)) = (u.at_threshold, u.threshold) {
        parts.push(format!("at or above its threshold ({t}%)"));
    }
    parts.push(format!(
        "updated {}",
        u.updated.as_deref().unwrap_or("never")
    ));
    format!("{}: {}", u.account, parts.join(" · "))
}
