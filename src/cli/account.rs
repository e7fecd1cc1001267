//! `account add | remove | disable | enable`: what each did, and for a new
//! account how to log in (offered to run when `claude` is on PATH and
//! this is a terminal).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::args::AccountCommand;
use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::fs::pathfmt::{shell_word, shown};
use crate::ops::account::{
    add_account, disable_account, enable_account, remove_account, AccountError, AddReport,
    AddRequest, HoldReport, RemoveReport,
};
use crate::ops::context::Context;
use crate::state::audit::Outcome;

/// Runs one `account` subcommand.
pub(crate) fn account_cmd(ctx: &Context, command: AccountCommand, out: &mut Output) -> Exit {
    let (verb, result) = match command {
        AccountCommand::Add { name, home } => {
            let req = AddRequest {
                account: name,
                home,
            };
            ("add", add_account(ctx, &req).map(|r| added(&r, out)))
        }
        AccountCommand::Remove { name } => (
            "remove",
            remove_account(ctx, &name).map(|r| removed(&r, out)),
        ),
        AccountCommand::Disable { name, reason } => (
            "disable",
            disable_account(ctx, &name, reason.as_deref()).map(|r| held(&r, out)),
        ),
        AccountCommand::Enable { name } => {
            ("enable", enable_account(ctx, &name).map(|r| held(&r, out)))
        }
    };
    result.or_else(|e| {
        error_lines(verb, &e, out);
        exit::failed(&e)
    })
}

/// A refusal as a headline and one line per reason; anything else on one line.
fn error_lines(verb: &str, e: &AccountError, out: &mut Output) {
    match e {
        AccountError::Refused { account, problems } => {
            out.err(format!(
                "homeswap: account {verb} {account} refused, nothing changed:"
            ));
            for p in problems {
                out.err(format!("  {p}"));
            }
        }
        other => out.err(format!("homeswap: {other}")),
    }
}

/// What `account add` did, and how to log in.
fn added(r: &AddReport, out: &mut Output) {
    let a = &r.account;
    out.line(if r.home_created {
        format!(
            "account {a}: created its home {} (mode 0700)",
            shown(&r.home)
        )
    } else {
        format!(
            "account {a}: its home is the existing directory {} (it held nothing but its links)",
            shown(&r.home)
        )
    });
    if !r.links_created.is_empty() {
        out.line(format!(
            "account {a}: created its links {}",
            r.links_created.join(", ")
        ));
    }
    out.line(format!("account {a}: added to {}", shown(&r.config)));
    notes(&r.notes, &r.warnings, out);
    let login = format!("CLAUDE_CONFIG_DIR={} claude", shell_word(&r.home));
    out.line(String::new());
    out.line(format!(
        "Log in as {a} once (its credentials stay in its home):"
    ));
    out.line(format!("  {login}"));
    out.line("then type /login in Claude Code, and /exit when it is done.".to_string());
    offer_login(&r.home, out);
    out.line(format!(
        "Then 'homeswap swap {a}' makes it the active account; a failover moves to it when the active account hits its limit."
    ));
}

/// Runs `claude` for the login, if it is on PATH, this is a terminal and
/// the person says yes.
fn offer_login(home: &Path, out: &mut Output) {
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let Some(claude) = terminal.then(|| on_path("claude")).flatten() else {
        return;
    };
    print!("Run it now? [Y/n] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return;
    }
    if !matches!(answer.trim().to_lowercase().as_str(), "" | "y" | "yes") {
        return;
    }
    match std::process::Command::new(&claude)
        .env("CLAUDE_CONFIG_DIR", home)
        .status()
    {
        Ok(status) => out.line(format!("claude ended ({status}).")),
        Err(e) => out.err(format!("homeswap: cannot run {}: {e}", shown(&claude))),
    }
}

/// The first executable file named `name` in a directory of `$PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// What `account remove` did, and where the home still is.
fn removed(r: &RemoveReport, out: &mut Output) {
    let a = &r.account;
    out.line(format!("account {a}: removed from {}", shown(&r.config)));
    out.line(format!(
        "account {a}: its home {} is still there, with its credentials: homeswap never deletes a home; delete it yourself once you no longer need it (its links only point into the shared dir, so that leaves the shared data alone)",
        shown(&r.home)
    ));
    notes(&r.notes, &r.warnings, out);
}

/// What `account disable` or `account enable` did.
fn held(r: &HoldReport, out: &mut Output) {
    let a = &r.account;
    let since = r.since.as_deref().unwrap_or("?");
    let reason = r
        .reason
        .as_deref()
        .map(|why| format!(" ({})", crate::fs::pathfmt::one_line(why)))
        .unwrap_or_default();
    out.line(match r.outcome {
        Outcome::Disabled => format!("account {a}: disabled since {since}{reason}: held out of every failover choice"),
        Outcome::AlreadyDisabled => format!("account {a}: already disabled since {since}{reason}"),
        Outcome::Enabled => format!("account {a}: enabled: failover may choose it again (it was disabled since {since}{reason})"),
        _ => format!("account {a}: was not disabled"),
    });
    notes(&r.notes, &r.warnings, out);
}

/// Notes on stdout, warnings on stderr.
fn notes(notes: &[String], warnings: &[String], out: &mut Output) {
    for n in notes {
        out.line(n.clone());
    }
    for w in warnings {
        out.err(format!("homeswap: warning: {w}"));
    }
}
