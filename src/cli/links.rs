//! `validate` and `ensure`: the shared links of every account, checked and
//! repaired where that is safe.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::exit::{self, EXIT_USAGE};
use crate::cli::output::Output;
use crate::fs::pathfmt::{self, shown};
use crate::links::active::ActiveLink;
use crate::links::validate::validate_all;
use crate::links::{ensure_account, AccountReport, EnsureAction};
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::state::latch::LatchRecord;

/// `validate --json`: the full report, the latch and every problem line.
#[derive(Debug, Serialize)]
struct ValidateJson<'a> {
    /// True when there is no problem at all (the exit code is 0).
    ok: bool,
    /// The configuration file validated.
    #[serde(serialize_with = "pathfmt::path")]
    config: &'a Path,
    /// The active link.
    active: &'a ActiveLink,
    /// The partial-swap latch, when set.
    latch: Option<&'a LatchRecord>,
    /// Every account's link states.
    accounts: &'a [AccountReport],
    /// The problem lines printed on stderr.
    problems: &'a [String],
    /// The warning lines printed on stderr (unmanaged entries).
    warnings: &'a [String],
}

/// Checks everything, read-only: every account's links, the active link
/// and the partial-swap latch (a set latch refuses every swap, so it is a
/// problem an operator must act on).
pub(crate) fn validate(ctx: &Context, json: bool, out: &mut Output) -> u8 {
    let report = validate_all(&ctx.config);
    let latch = ctx.latch.current();
    let mut problems = Vec::new();
    problems.extend(latch.as_ref().map(|l| {
        format!(
            "{}: see 'homeswap latch show', repair the links, then run 'homeswap latch clear --reason TEXT'",
            l.problem_line()
        )
    }));
    problems.extend(report.problems());
    for p in &problems {
        out.err(p.clone());
    }
    let warnings = report.warnings();
    for w in &warnings {
        out.err(w.clone());
    }
    let ok = problems.is_empty();
    if json {
        out.json(&ValidateJson {
            ok,
            config: &ctx.config.path,
            active: &report.active,
            latch: latch.as_ref(),
            accounts: &report.accounts,
            problems: &problems,
            warnings: &warnings,
        });
    } else if ok {
        out.line(format!(
            "ok: {} accounts, {} links each, active account {}",
            report.accounts.len(),
            ctx.config.shared.all_names().count(),
            report.active.account.as_deref().unwrap_or("(none)")
        ));
    } else {
        out.line(format!("{} problem(s) found", problems.len()));
    }
    exit::report(ok)
}

/// Creates what is missing for `accounts` (default: all), refuses the rest.
pub(crate) fn ensure(ctx: &Context, accounts: &[String], dry_run: bool, out: &mut Output) -> u8 {
    let config = &ctx.config;
    let mut homes: Vec<(&str, PathBuf)> = Vec::new();
    let mut unknown = false;
    for name in accounts {
        match home_of(config, name) {
            Ok(home) => homes.push((name, home.to_path_buf())),
            Err(e) => {
                unknown = true;
                out.err(format!("homeswap: {e}"));
            }
        }
    }
    if unknown {
        return EXIT_USAGE;
    }
    if accounts.is_empty() {
        homes = config
            .accounts
            .iter()
            .map(|(n, h)| (n.as_str(), h.clone()))
            .collect();
    }
    let mut all_ok = true;
    let mut changes = 0;
    for (name, home) in homes {
        let report = ensure_account(name, &home, &config.shared, dry_run);
        for step in report.changes() {
            let file = config.shared.file_names().contains(&step.before.link);
            let verb = match (dry_run, step.action, file) {
                (true, EnsureAction::CreateLink, _) => "would create the link",
                (true, _, false) => "would create the target directory",
                (true, _, true) => "would create the target file",
                (false, EnsureAction::CreateLink, _) => "created the link",
                (false, _, false) => "created the target directory",
                (false, _, true) => "created the target file",
            };
            let done = step.after.as_ref().is_none_or(|a| a.is_ok());
            if done {
                changes += 1;
                out.line(format!(
                    "account {name}: {}: {verb} {} -> {}",
                    step.before.link,
                    shown(&step.before.path),
                    shown(&step.before.expected)
                ));
            }
        }
        for p in report.problems() {
            out.err(p);
        }
        all_ok &= report.is_ok();
    }
    if changes == 0 && all_ok {
        out.line("ok: nothing to do".to_string());
    }
    exit::report(all_ok)
}
