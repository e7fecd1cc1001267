//! `status`: the active account, the latch and every account's links.

use serde_json::json;

use crate::cli::exit::EXIT_OK;
use crate::cli::latch::latch_line;
use crate::cli::output::Output;
use crate::fs::pathfmt::shown;
use crate::links::validate::validate_all;
use crate::ops::context::Context;

/// Shows the state; `--json` for scripts.
pub(crate) fn status(ctx: &Context, json: bool, out: &mut Output) -> u8 {
    let report = validate_all(&ctx.config);
    let latch = ctx.latch.current();
    let in_progress = ctx.state.intent().exists();
    if json {
        out.json(&json!({
            "config": ctx.config.path,
            "active": report.active,
            "latch": latch,
            "swap_in_progress": in_progress,
            "ok": report.is_ok(),
            "accounts": report.accounts,
            "state_dir": ctx.config.state_dir,
        }));
        return EXIT_OK;
    }
    let active = &report.active;
    out.line(format!("config:   {}", shown(&ctx.config.path)));
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
    out.line(format!("latch:    {}", latch_line(latch.as_ref())));
    if in_progress {
        out.line("swap:     in progress (intent record present)".to_string());
    }
    if let Ok(Some(j)) = crate::adopt::journal::AdoptJournal::read(&ctx.state) {
        out.line(format!(
            "adopt:    interrupted for account {} (started {}); run 'homeswap adopt {}' to finish it",
            j.account, j.started, j.account
        ));
    }
    out.line("accounts:".to_string());
    for a in &report.accounts {
        let states: Vec<String> = a
            .links
            .iter()
            .map(|l| format!("{}={}", l.link, l.state))
            .collect();
        let mark = if active.account.as_deref() == Some(a.account.as_str()) {
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
    EXIT_OK
}
