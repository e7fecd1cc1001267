//! `ensure`: creates what is missing for the chosen accounts (default:
//! all) and refuses the rest, never deleting, moving or overwriting. The
//! CLI prints what it did; the demo builds its sandbox with it.

use crate::config::SharedLinks;
use crate::fs::pathfmt::shown;
use crate::links::{ensure_account, EnsureAction, EnsureReport, EnsureStep};
use crate::ops::context::Context;
use crate::ops::{home_of, UnknownAccount};

/// What ensure did to one account.
#[derive(Debug, Clone)]
pub(crate) struct AccountEnsured {
    /// What it found, did and left, link by link.
    pub(crate) report: EnsureReport,
    /// One line per change made (in a dry run: that would be made), e.g.
    /// `account a: projects: created the link <home>/projects -> <target>`.
    pub(crate) changes: Vec<String>,
}

/// What ensure did to every chosen account, in the order asked.
#[derive(Debug, Clone)]
pub(crate) struct Ensured {
    /// One entry per account.
    pub(crate) accounts: Vec<AccountEnsured>,
}

impl Ensured {
    /// True when every link of every chosen account is (or, in a dry run,
    /// would be) `ok`.
    pub(crate) fn is_ok(&self) -> bool {
        self.accounts.iter().all(|a| a.report.is_ok())
    }

    /// One line per link that is not `ok` afterwards, account by account.
    pub(crate) fn problems(&self) -> Vec<String> {
        self.accounts
            .iter()
            .flat_map(|a| a.report.problems())
            .collect()
    }

    /// How many changes were made (or would be).
    pub(crate) fn change_count(&self) -> usize {
        self.accounts.iter().map(|a| a.changes.len()).sum()
    }
}

/// Ensures `accounts` (empty: every configured account, by name). Names
/// that are not configured refuse the whole command, each named.
pub(crate) fn ensure(
    ctx: &Context,
    accounts: &[String],
    dry_run: bool,
) -> Result<Ensured, Vec<UnknownAccount>> {
    let config = &ctx.config;
    let mut homes = Vec::new();
    let mut unknown = Vec::new();
    for name in accounts {
        match home_of(config, name) {
            Ok(home) => homes.push((name.as_str(), home.to_path_buf())),
            Err(e) => unknown.push(e),
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    if accounts.is_empty() {
        homes = config
            .accounts
            .iter()
            .map(|(n, h)| (n.as_str(), h.clone()))
            .collect();
    }
    let accounts = homes
        .into_iter()
        .map(|(name, home)| {
            let report = ensure_account(name, &home, &config.shared, dry_run);
            let changes = report
                .changes()
                .filter(|s| s.after.as_ref().is_none_or(|a| a.is_ok()))
                .map(|s| change_line(name, s, &config.shared, dry_run))
                .collect();
            AccountEnsured { report, changes }
        })
        .collect();
    Ok(Ensured { accounts })
}

/// `account a: projects: created the link <path> -> <target>`.
fn change_line(account: &str, step: &EnsureStep, shared: &SharedLinks, dry_run: bool) -> String {
    let file = shared.file_names().contains(&step.before.link);
    let verb = match (dry_run, step.action, file) {
        (true, EnsureAction::CreateLink, _) => "would create the link",
        (true, _, false) => "would create the target directory",
        (true, _, true) => "would create the target file",
        (false, EnsureAction::CreateLink, _) => "created the link",
        (false, _, false) => "created the target directory",
        (false, _, true) => "created the target file",
    };
    format!(
        "account {account}: {}: {verb} {} -> {}",
        step.before.link,
        shown(&step.before.path),
        shown(&step.before.expected)
    )
}
