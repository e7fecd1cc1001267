//! The arguments of each command and command group, apart from the
//! top-level shape in `args.rs` (which re-exports them).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::exit::help;
use crate::sidecar::logging::LogFormat;

/// `homeswap account ...`
#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Add an account: create its home, ensure its links, add it to the
    /// configuration, and say how to log in.
    ///
    /// The home (default: beside the active link, ACTIVE_LINK-NAME) is
    /// created with mode 0700; an existing empty directory is used, one
    /// that holds anything is refused. NAME goes at the end of accounts:
    /// (and of failover.order, if the file lists one) by a text edit that
    /// keeps the file's comments and order; the edited file must parse to
    /// the old configuration plus exactly this account and pass every
    /// check, else nothing is written. Then log in once as the account:
    /// CLAUDE_CONFIG_DIR=HOME claude, then /login (offered when claude is
    /// on PATH and this is a terminal). A running sidecar picks the change
    /// up on SIGHUP.
    #[command(after_help = help::ACCOUNT_ADD)]
    Add {
        /// The new account's name (^[a-z0-9][a-z0-9_-]{0,31}$).
        name: String,
        /// Its home [default: ACTIVE_LINK-NAME].
        #[arg(long, value_name = "DIR")]
        home: Option<PathBuf>,
    },
    /// Take an account out of the configuration; its home stays.
    ///
    /// Refused while it is the active account and when it is the only one.
    /// Its entry leaves accounts: (and failover.order and
    /// failover.thresholds, where the file has them) by the same careful
    /// text edit as add. The home, its credentials and its links are never
    /// touched. A running sidecar picks the change up on SIGHUP.
    #[command(after_help = help::ACCOUNT_REMOVE)]
    Remove {
        /// The account.
        name: String,
    },
    /// Hold an account out of every failover choice until it is enabled.
    ///
    /// Kept in the state dir (disabled.json), shown by status, limits, the
    /// status page and homeswap_account_disabled. The account stays in the
    /// configuration; if it is active it stays active until a swap or
    /// failover moves away. A swap that names it still makes it active
    /// (with a warning): that is your explicit choice.
    #[command(after_help = help::ACCOUNT_DISABLE)]
    Disable {
        /// The account.
        name: String,
        /// Why (shown with it, and in the audit log).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Let a disabled account back into the failover choice.
    #[command(after_help = help::ACCOUNT_ENABLE)]
    Enable {
        /// The account.
        name: String,
    },
}

/// `homeswap setup ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SetupCommand {
    /// Put homeswap's hook and status line into Claude Code's
    /// settings.json, keeping everything else in it.
    ///
    /// Writes the shared settings.json when settings.json is in
    /// shared_files (every home's is a link to it), else every home's own:
    /// the hook for SessionStart and StopFailure (`trap '' TERM; exec
    /// homeswap --config PATH hook`) and the status line (`homeswap
    /// --config PATH statusline`), with this configuration's absolute path.
    /// Every other key and hook stays, in its place and as it was written.
    /// An existing statusLine is kept: homeswap's runs it (`statusline
    /// --wrap 'CMD'`), and --remove puts it back. Run twice, it changes
    /// nothing; an older homeswap entry (another configuration, binary or
    /// form) is updated, not duplicated. A settings.json that is a link
    /// stays a link: its target is rewritten (temporary file beside it,
    /// fsync, rename), with its mode; a missing one is created (0600). A
    /// file that does not parse is refused, naming its line and column,
    /// and nothing is changed. The binary is named `homeswap` when that
    /// is this binary on PATH, else by its absolute path.
    #[command(name = "claude-code", after_help = help::SETUP_CLAUDE_CODE)]
    ClaudeCode(SetupArgs),
}

/// `homeswap setup claude-code ...`
#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Print what would change, as a unified diff, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Take homeswap's hook and status line out again (a status line it
    /// wrapped is put back); nothing else is touched.
    #[arg(long)]
    pub(crate) remove: bool,
}

/// `homeswap failover ...`
#[derive(Debug, Args)]
pub(crate) struct FailoverArgs {
    /// The account that hit its limit [default: the active account, with
    /// the settle rule].
    #[arg(long, value_name = "ACCOUNT")]
    pub(crate) from: Option<String>,
    /// Why.
    #[arg(long, default_value = "manual", value_parser = ["rate_limit", "auth", "usage", "manual"])]
    pub(crate) reason: String,
    /// When the limit ends (RFC 3339, e.g. 2026-01-01T09:46:00Z)
    /// [default: now + failover.cooldown].
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
}

/// `homeswap statusline ...`
#[derive(Debug, Args)]
pub(crate) struct StatuslineArgs {
    /// Also run this status-line command (with `sh -c`, on the same
    /// stdin) and print its output before homeswap's line; one that takes
    /// over 1.5 s is killed with all it started and only homeswap's line
    /// is printed. Keep a script it runs in the shared dir or elsewhere
    /// outside the homes: under ~/.claude it is in one account's home
    /// only, and gone after a swap.
    #[arg(long, value_name = "COMMAND")]
    pub(crate) wrap: Option<String>,
}

/// `homeswap limits [--json]` / `homeswap limits clear ACCOUNT`.
#[derive(Debug, Args)]
pub(crate) struct LimitsArgs {
    /// Print as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// `clear ACCOUNT`.
    #[command(subcommand)]
    pub(crate) command: Option<LimitsCommand>,
}

/// `homeswap limits clear ...`
#[derive(Debug, Subcommand)]
pub(crate) enum LimitsCommand {
    /// End ACCOUNT's limit now (it becomes eligible for failover again).
    #[command(after_help = help::LIMITS_CLEAR)]
    Clear {
        /// The account.
        account: String,
    },
}

/// `homeswap adopt ...`
#[derive(Debug, Args)]
pub(crate) struct AdoptArgs {
    /// The account whose real directories to adopt.
    pub(crate) account: String,
    /// Adopt only this link (repeatable), e.g. --link projects.
    #[arg(long = "link", value_name = "NAME")]
    pub(crate) links: Vec<String>,
    /// On a conflict keep both: the account's copy is moved beside the
    /// target's as NAME.adopted-ACCOUNT-YYYYMMDDTHHMMZ.EXT, and listed
    /// so you can compare them.
    #[arg(long)]
    pub(crate) keep_both: bool,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Adopt even though ACCOUNT is the active account; only when no
    /// session of it is running.
    #[arg(long)]
    pub(crate) force_active: bool,
}

/// `homeswap init ...`
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The existing Claude Code home, e.g. ~/.claude (absolute).
    #[arg(long, value_name = "DIR")]
    pub(crate) from: PathBuf,
    /// The account's name; its home becomes DIR-NAME.
    #[arg(long, value_name = "NAME", default_value = "a")]
    pub(crate) account: String,
    /// The shared dir [default: DIR-shared].
    #[arg(long, value_name = "DIR")]
    pub(crate) shared_dir: Option<PathBuf>,
    /// The state dir [default: DIR-state].
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `homeswap latch ...`
#[derive(Debug, Subcommand)]
pub(crate) enum LatchCommand {
    /// Show whether the latch is set, and the failed swap that set it.
    #[command(after_help = help::LATCH_SHOW)]
    Show {
        /// Print as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Clear the latch once the active account is healthy again.
    ///
    /// Re-validates first and refuses while the active link is not on a
    /// configured account or that account's links are not all ok.
    #[command(after_help = help::LATCH_CLEAR)]
    Clear {
        /// What was repaired (goes into the audit log).
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

/// `homeswap serve ...`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Log as human-readable text or as JSON lines (stderr).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
}

/// `homeswap completions SHELL`
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: CompletionShell,
    /// Shadows the global --config, as demo's does: the script does not
    /// depend on a configuration.
    #[arg(long, value_name = "PATH", hide = true)]
    pub(crate) config: Option<PathBuf>,
}

/// The shells `completions` writes a script for (the contract's four).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
}

/// `homeswap demo ...`
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Build the sandbox here (empty or new) and keep it afterwards;
    /// default: a temporary directory removed at exit.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Log as human-readable text or as JSON lines (stderr).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
    /// Shadows the global --config so demo's help does not offer it: the
    /// demo writes its own configuration.
    // clap does not propagate a global argument into a subcommand that
    // defines one with the same id.
    #[arg(long, value_name = "PATH", hide = true)]
    pub(crate) config: Option<PathBuf>,
}
