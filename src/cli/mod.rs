//! The operator's command line: argument definitions, output, and the one
//! place where library results become exit codes.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::adopt::plan::{ItemAction, LinkPlan};
use crate::adopt::{self, AdoptError, AdoptRequest};
use crate::config::{self, Config, ConfigError};
use crate::fs::pathfmt::shown;
use crate::links::validate::validate_all;
use crate::links::{ensure_account, EnsureAction};
use crate::ops::context::Context;
use crate::ops::swap::{self, ClearError, SwapError, SwapOutcome};
use crate::sidecar::demo;
use crate::sidecar::logging::{self, LogFormat};
use crate::sidecar::serve::{self, Listeners, ServeError};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: problems found, something refused, or a swap failed with the
/// previous state in place.
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit code: usage or configuration error, unknown account.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: partial swap (latched now or earlier).
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: another homeswap held the lock for 5 s.
pub const EXIT_BUSY: u8 = 4;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  problems found, something refused, or a swap failed and was rolled back
  2  usage or configuration error, unknown account
  3  partial swap: the latch is set (see 'homeswap latch show')
  4  busy: another homeswap held the lock for 5 s

Every command first finishes a swap that a crash interrupted, if any.";

/// Keeps the shared links of several Claude Code account homes consistent
/// and fails over between accounts atomically.
///
/// Every account home must expose session-env, file-history and projects
/// (or the names set in `shared:`) as symlinks into one shared directory;
/// otherwise a fail-over silently forks transcripts and breaks resume and
/// undo. homeswap checks that, repairs what is safe to repair, and flips
/// the active link with rollback.
#[derive(Debug, Parser)]
#[command(name = "homeswap", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// The YAML configuration file.
    #[arg(long, global = true, value_name = "PATH", env = config::CONFIG_ENV)]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every account's shared links and the active link (read-only).
    ///
    /// Reports every problem of every account at once, one line each on
    /// stderr: account, link, state, paths and what to do.
    /// Exit 0 all ok, 1 problems found, 2 usage or configuration error.
    Validate {
        /// Print the full report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Create missing shared links and target directories.
    ///
    /// Creates only what is missing; refuses (and reports) a divergent link,
    /// a file or directory where a link belongs, or a missing home. Never
    /// deletes, moves or overwrites anything; running it twice changes
    /// nothing the second time.
    /// Exit 0 all ok now, 1 something refused, 2 usage or configuration error.
    Ensure {
        /// Accounts to ensure (default: all).
        #[arg(value_name = "ACCOUNT")]
        accounts: Vec<String>,
        /// Print what would be done and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make ACCOUNT the active account: flip the active link atomically,
    /// ensure the account's links, and roll back if that fails.
    ///
    /// Exit 0 swapped or already active, 1 failed with the previous account
    /// still active, 2 unknown account, 3 partial swap (latched), 4 busy.
    Swap {
        /// The account to make active.
        account: String,
    },
    /// Move real directories that sit where ACCOUNT's shared links belong
    /// into the shared targets, then link them. Nothing is overwritten; only
    /// byte-identical duplicates are removed.
    ///
    /// For when `validate` says `not_a_link: ... is a directory` (Claude Code
    /// ran before the home was linked). Default: every such link of ACCOUNT.
    /// First prints the plan: `move` (not in the target yet), `duplicate`
    /// (the target has the same bytes; the account's copy is removed),
    /// `conflict` (same path, different contents). With a conflict and no
    /// --keep-both nothing changes. Then it moves each entry (rename, never
    /// replacing; copy and verify across file systems), removes the emptied
    /// directory with rmdir and creates the link. Interrupted? Run the same
    /// command again: it finishes from where it stopped (journal in
    /// state_dir). Refused while the latch is set and while ACCOUNT is the
    /// active account (a live session may be writing).
    ///
    /// Exit 0 adopted (the account is ok now), 1 conflicts or refused
    /// (nothing changed) or stopped part-way (rerun to finish), 2 unknown
    /// account or link, 3 the partial-swap latch is set.
    Adopt {
        /// The account whose real directories to adopt.
        account: String,
        /// Adopt only this link (repeatable), e.g. --link projects.
        #[arg(long = "link", value_name = "NAME")]
        links: Vec<String>,
        /// On a conflict keep both: the account's copy is moved beside the
        /// target's as NAME.adopted-ACCOUNT-YYYYMMDDTHHMMZ.EXT, and listed
        /// so you can compare them.
        #[arg(long)]
        keep_both: bool,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Adopt even though ACCOUNT is the active account; only when no
        /// session of it is running.
        #[arg(long)]
        force_active: bool,
    },
    /// Show the active account, the latch and every account's link states.
    Status {
        /// Print as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show or clear the partial-swap latch.
    #[command(subcommand)]
    Latch(LatchCommand),
    /// Run the sidecar: validation loop, Prometheus metrics, health probes
    /// and the admin API, until SIGTERM or SIGINT; SIGHUP reloads the
    /// configuration.
    ///
    /// Validates at start, every serve.interval and within a second of any
    /// change under a home, the shared dir or the active link's directory.
    /// Read-only listener (serve.listen): GET /metrics, /healthz, /readyz,
    /// /api/v1/status. Admin listeners (serve.admin): POST /api/v1/swap,
    /// POST /api/v1/latch/clear, GET /api/v1/status.
    Serve {
        /// Log as human-readable text or as JSON lines (stderr).
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Build a sandbox of two accounts and serve it on 127.0.0.1.
    ///
    /// Prints the URLs, the admin token and curl lines to paste. Uses ports
    /// 9464/9465, or free ones if those are taken. No configuration needed.
    Demo {
        /// Build the sandbox here (empty or new) and keep it afterwards;
        /// default: a temporary directory removed at exit.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Log as human-readable text or as JSON lines (stderr).
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
}

/// `homeswap latch ...`
#[derive(Debug, Subcommand)]
pub enum LatchCommand {
    /// Show whether the latch is set, and the failed swap that set it.
    Show {
        /// Print as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Clear the latch once the active account is healthy again.
    ///
    /// Re-validates first and refuses (exit 1) while the active link is not
    /// on a configured account or that account's links are not all ok.
    Clear {
        /// What was repaired (goes into the audit log).
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let mut out = Output;
    if let Command::Demo { dir, log_format } = &cli.command {
        logging::init(*log_format);
        return match demo::run(dir.as_deref()) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                out.err(format!("homeswap: {e}"));
                EXIT_PROBLEMS
            }
        };
    }
    let code = match load(cli.config.as_deref()) {
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            EXIT_USAGE
        }
        Ok(ctx) => {
            if let Command::Serve { log_format } = cli.command {
                logging::init(log_format);
            }
            if let Some(r) = swap::recover(&ctx) {
                tracing::warn!(recovery = %r.summary(), "recovered before starting");
                out.err(format!("homeswap: {}", r.summary()));
            }
            match cli.command {
                Command::Serve { .. } => serve_cmd(ctx, &mut out),
                command => dispatch(&ctx, command, &mut out),
            }
        }
    };
    code
}

fn serve_cmd(ctx: Context, out: &mut Output) -> u8 {
    let listeners = match Listeners::bind(&ctx.config) {
        Ok(l) => l,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            return serve_exit_code(&e);
        }
    };
    match serve::run(ctx, listeners) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            serve_exit_code(&e)
        }
    }
}

/// A token file that is missing, empty or loose is a configuration error.
fn serve_exit_code(e: &ServeError) -> u8 {
    match e {
        ServeError::Token(_) => EXIT_USAGE,
        _ => EXIT_PROBLEMS,
    }
}

fn load(flag: Option<&std::path::Path>) -> Result<Context, ConfigError> {
    let path = config::locate(flag)?;
    Ok(Context::new(Config::load(&path)?))
}

fn dispatch(ctx: &Context, command: Command, out: &mut Output) -> u8 {
    match command {
        Command::Validate { json } => validate(ctx, json, out),
        Command::Ensure { accounts, dry_run } => ensure(ctx, &accounts, dry_run, out),
        Command::Swap { account } => swap_cmd(ctx, &account, out),
        Command::Adopt {
            account,
            links,
            keep_both,
            dry_run,
            force_active,
        } => {
            let req = AdoptRequest {
                account,
                links,
                keep_both,
                dry_run,
                force_active,
            };
            adopt_cmd(ctx, &req, out)
        }
        Command::Status { json } => status(ctx, json, out),
        Command::Latch(LatchCommand::Show { json }) => latch_show(ctx, json, out),
        Command::Latch(LatchCommand::Clear { reason }) => latch_clear(ctx, &reason, out),
        Command::Serve { .. } | Command::Demo { .. } => unreachable!("handled in run()"),
    }
}

fn validate(ctx: &Context, json: bool, out: &mut Output) -> u8 {
    let report = validate_all(&ctx.config);
    let problems = report.problems();
    for p in &problems {
        out.err(p.clone());
    }
    if json {
        out.json(&json!({
            "ok": report.is_ok(),
            "active": report.active,
            "accounts": report.accounts,
            "problems": problems,
        }));
    } else if problems.is_empty() {
        out.line(format!(
            "ok: {} accounts, {} links each, active account {}",
            report.accounts.len(),
            ctx.config.shared.names().len(),
            report.active.account.as_deref().unwrap_or("(none)")
        ));
    } else {
        out.line(format!("{} problem(s) found", problems.len()));
    }
    if report.is_ok() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    }
}

fn ensure(ctx: &Context, accounts: &[String], dry_run: bool, out: &mut Output) -> u8 {
    let config = &ctx.config;
    let unknown: Vec<&String> = accounts
        .iter()
        .filter(|a| config.home(a).is_none())
        .collect();
    if !unknown.is_empty() {
        for a in unknown {
            out.err(format!(
                "homeswap: unknown account {a:?}: configured accounts are {}",
                config
                    .accounts
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return EXIT_USAGE;
    }
    let names: Vec<&String> = if accounts.is_empty() {
        config.accounts.keys().collect()
    } else {
        accounts.iter().collect()
    };
    let mut all_ok = true;
    let mut changes = 0;
    for name in names {
        let home = config.home(name).expect("checked above");
        let report = ensure_account(name, home, &config.shared, dry_run);
        for step in report.changes() {
            let verb = match (dry_run, step.action) {
                (true, EnsureAction::CreateLink) => "would create the link",
                (true, _) => "would create the target directory",
                (false, EnsureAction::CreateLink) => "created the link",
                (false, _) => "created the target directory",
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
    if all_ok {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    }
}

fn swap_cmd(ctx: &Context, account: &str, out: &mut Output) -> u8 {
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
            EXIT_OK
        }
        Err(e) => {
            swap_error_lines(&e, out);
            swap_exit_code(&e)
        }
    }
}

/// The one place a swap error becomes an exit code.
pub fn swap_exit_code(e: &SwapError) -> u8 {
    match e {
        SwapError::Refused { .. } | SwapError::RolledBack { .. } => EXIT_PROBLEMS,
        SwapError::UnknownAccount { .. } => EXIT_USAGE,
        SwapError::Latched(_) | SwapError::Partial { .. } => EXIT_PARTIAL,
        SwapError::Busy { .. } => EXIT_BUSY,
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

fn adopt_cmd(ctx: &Context, req: &AdoptRequest, out: &mut Output) -> u8 {
    let account = &req.account;
    match adopt::adopt(ctx, req) {
        Ok(r) => {
            if let Some(j) = &r.resumed {
                out.err(format!(
                    "homeswap: finished an interrupted adoption of account {} (started {} by pid {})",
                    j.account, j.started, j.pid
                ));
            }
            plan_lines(account, &r.plan, out);
            if r.dry_run {
                out.line("dry run: nothing changed".to_string());
                return EXIT_OK;
            }
            let c = &r.counts;
            out.line(format!(
                "adopted account {account}: {} moved, {} duplicate(s) removed, {} kept both",
                c.moved, c.duplicates, c.kept_both
            ));
            for l in &r.created {
                out.line(format!("account {account}: {l}"));
            }
            if !c.kept_both_files.is_empty() {
                out.line(format!(
                    "{} file(s) need a look: each is the account's copy, kept beside the target's file of the original name; compare them and delete what you do not need:",
                    c.kept_both_files.len()
                ));
                for f in &c.kept_both_files {
                    out.line(format!("  {}", shown(f)));
                }
            }
            out.line(format!("ok: account {account} validates ok"));
            for w in &r.warnings {
                out.err(format!("homeswap: warning: {w}"));
            }
            EXIT_OK
        }
        Err(e) => {
            adopt_error_lines(&e, out);
            adopt_exit_code(&e)
        }
    }
}

/// The plan, one line per entry, under one header line per link.
fn plan_lines(account: &str, plan: &[LinkPlan], out: &mut Output) {
    for l in plan {
        out.line(format!(
            "plan for account {account}: {}: {} -> {}{}: {} to move, {} duplicate(s), {} conflict(s)",
            l.link,
            shown(&l.real),
            shown(&l.target),
            if l.target_exists { "" } else { " (created)" },
            l.moves(),
            l.duplicates(),
            l.conflicts().count()
        ));
        for item in &l.items {
            let path = shown(&item.path);
            out.line(match &item.action {
                ItemAction::Move { kind } => format!("  move       {path} ({kind})"),
                ItemAction::Duplicate { kind } => {
                    format!("  duplicate  {path} ({kind}, same in the target)")
                }
                ItemAction::Conflict { clash, .. } => format!("  conflict   {path}: {clash}"),
            });
        }
    }
}

/// The one place an adopt error becomes an exit code.
pub fn adopt_exit_code(e: &AdoptError) -> u8 {
    match e {
        AdoptError::UnknownAccount { .. } | AdoptError::UnknownLink { .. } => EXIT_USAGE,
        AdoptError::Latched { .. } => EXIT_PARTIAL,
        AdoptError::Active { .. }
        | AdoptError::Busy { .. }
        | AdoptError::Refused { .. }
        | AdoptError::Conflicts { .. }
        | AdoptError::Stopped { .. } => EXIT_PROBLEMS,
    }
}

/// A headline, then one line per problem.
fn adopt_error_lines(e: &AdoptError, out: &mut Output) {
    match e {
        AdoptError::Refused { account, problems } => {
            out.err(format!(
                "homeswap: adopt {account} refused, nothing changed:"
            ));
            for p in problems {
                out.err(format!("  {p}"));
            }
        }
        AdoptError::Conflicts {
            account,
            plan,
            dry_run,
        } => {
            plan_lines(account, plan, out);
            for c in adopt::conflicts(plan) {
                out.err(format!("account {account}: {c}"));
            }
            out.err(format!(
                "homeswap: adopt {account}: {} conflict(s){}; compare each pair and resolve it by hand, or run 'homeswap adopt {account} --keep-both' to keep both copies (the account's copy is renamed NAME.adopted-{account}-STAMP.EXT beside the target's)",
                adopt::conflicts(plan).len(),
                if *dry_run { " (dry run)" } else { ", nothing changed" }
            ));
        }
        AdoptError::Stopped { errors, .. } => {
            out.err(format!("homeswap: {e}"));
            for d in errors {
                out.err(format!("  {d}"));
            }
        }
        other => out.err(format!("homeswap: {other}")),
    }
}

fn status(ctx: &Context, json: bool, out: &mut Output) -> u8 {
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

fn latch_line(latch: Option<&crate::state::latch::LatchRecord>) -> String {
    match latch {
        None => "clear".to_string(),
        Some(l) => format!(
            "SET since {} (swap {} -> {}, pid {}): {}",
            if l.set_at.is_empty() { "?" } else { &l.set_at },
            l.from.as_deref().unwrap_or("(none)"),
            l.to,
            l.pid,
            l.errors.join("; ")
        ),
    }
}

fn latch_show(ctx: &Context, json: bool, out: &mut Output) -> u8 {
    let latch = ctx.latch.current();
    if json {
        out.json(&json!({ "set": latch.is_some(), "latch": latch }));
    } else {
        out.line(format!("latch: {}", latch_line(latch.as_ref())));
    }
    EXIT_OK
}

fn latch_clear(ctx: &Context, reason: &str, out: &mut Output) -> u8 {
    match swap::clear_latch(ctx, reason) {
        Ok(r) => {
            match &r.cleared {
                None => out.line("the latch is not set; nothing to clear".to_string()),
                Some(l) => out.line(format!(
                    "latch cleared (set {} by swap {} -> {}); active account {} is ok",
                    l.set_at,
                    l.from.as_deref().unwrap_or("(none)"),
                    l.to,
                    r.active.as_deref().unwrap_or("(none)")
                )),
            }
            for w in &r.warnings {
                out.err(format!("homeswap: warning: {w}"));
            }
            EXIT_OK
        }
        Err(ClearError::NoReason) => {
            out.err(format!("homeswap: {}", ClearError::NoReason));
            EXIT_USAGE
        }
        Err(ClearError::StillUnhealthy { problems }) => {
            out.err(
                "homeswap: latch not cleared: the active account is not healthy yet:".to_string(),
            );
            for p in problems {
                out.err(format!("  {p}"));
            }
            EXIT_PROBLEMS
        }
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            EXIT_PROBLEMS
        }
    }
}

/// Where a command writes: results to stdout, problems to stderr, one line
/// each. A closed pipe is not a reason to panic.
struct Output;

impl Output {
    fn line(&mut self, s: String) {
        let _ = writeln!(std::io::stdout().lock(), "{s}");
    }

    fn err(&mut self, s: String) {
        let _ = writeln!(std::io::stderr().lock(), "{s}");
    }

    fn json(&mut self, v: &serde_json::Value) {
        self.line(serde_json::to_string_pretty(v).expect("JSON values always serialize"));
    }
}
