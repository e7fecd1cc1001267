//! The command line's shape: every command, argument and help text. Parsing
//! only; what the commands do lives in one file per command group.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cli::exit::help;
use crate::sidecar::logging::LogFormat;

/// Keeps the shared links of several Claude Code account homes consistent
/// and fails over between accounts atomically.
///
/// Every account home must expose session-env, file-history and projects
/// (or the names set in `shared:`) as symlinks into one shared directory;
/// otherwise a fail-over silently forks transcripts and breaks resume and
/// undo. homeswap checks that, repairs what is safe to repair, and flips
/// the active link with rollback.
#[derive(Debug, Parser)]
#[command(name = "homeswap", version, after_help = help::ALL, max_term_width = 100)]
pub struct Cli {
    /// The YAML configuration file [default: $HOMESWAP_CONFIG, else
    /// $XDG_CONFIG_HOME/homeswap/config.yaml, i.e.
    /// ~/.config/homeswap/config.yaml].
    // Not clap's `env =`: with the variable set, clap's usage lines showed
    // `--config <PATH>` as if it were required. `config::locate` reads it.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands, grouped by what they need before they run.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The operator's commands: each loads the configuration and first
    /// finishes a swap that a crash interrupted.
    #[command(flatten)]
    Operator(OperatorCommand),
    /// Run the sidecar: validation loop, Prometheus metrics, health probes
    /// and the admin API, until SIGTERM or SIGINT; SIGHUP reloads the
    /// configuration.
    ///
    /// Validates at start, every serve.interval and within a second of any
    /// change under a home, the shared dir or the active link's directory.
    /// Read-only listener (serve.listen): GET /metrics, /healthz, /readyz,
    /// /api/v1/status. Admin listeners (serve.admin): POST /api/v1/swap,
    /// POST /api/v1/latch/clear, POST /api/v1/failover, GET /api/v1/status.
    #[command(after_help = help::SERVE)]
    Serve(ServeArgs),
    /// Claude Code hook command: reads one hook event (JSON) on stdin.
    ///
    /// For Claude Code's `hooks` setting (SessionStart and StopFailure);
    /// `homeswap setup claude-code` installs it.
    /// SessionStart remembers when the session started and on which
    /// account; StopFailure with error rate_limit (or authentication_failed,
    /// billing_error) fails over from the account that served the failed
    /// request (the active link's flips, the session's transcript; where
    /// that cannot be told, nothing is done, and said), through the sidecar's
    /// admin socket when one answers, else itself. Prints nothing on stdout,
    /// says what happened on stderr, answers within 2 s, and always exits 0.
    #[command(after_help = help::HOOK)]
    Hook,
    /// Claude Code status-line command: reads the status JSON on stdin and
    /// prints one line, e.g. `a · 5h 42% · 7d 13%`.
    ///
    /// For Claude Code's `statusLine` setting (`homeswap setup
    /// claude-code` installs it). Records the session's usage
    /// (rate_limits.five_hour and seven_day: percent used, reset time) in
    /// the state dir when it changed, for the account that served the
    /// request the numbers come from (an update that repeats the session's
    /// previous one records nothing; where the account cannot be told,
    /// nothing is recorded and the line shows `?`). When a window reaches
    /// failover.threshold it fails over from
    /// that account (reason usage, until the window's reset), through the
    /// sidecar's admin socket when one answers, else itself; once per
    /// crossing: again only after the usage dropped below the threshold or
    /// the window reset. Marks the line when the account is limited
    /// (`limited until 14:05`) or the latch is set (`LATCHED`). Bad or
    /// missing JSON or no rate_limits (API-key users) still print a line.
    /// Answers within 2 s and always exits 0.
    #[command(after_help = help::STATUSLINE)]
    Statusline(StatuslineArgs),
    /// Turn one existing Claude Code home into homeswap's layout, losing
    /// nothing, and write the configuration (to --config, else
    /// $HOMESWAP_CONFIG, else ~/.config/homeswap/config.yaml).
    ///
    /// DIR moves to DIR-NAME (the account's home), its shared entries
    /// (projects, file-history, history.jsonl, settings.json, ...: the
    /// recommended set of examples/claude-code.yaml) move into the shared
    /// dir, each leaving its link, and DIR becomes the active link, in one
    /// atomic step: a tool opening DIR meanwhile finds the old directory or
    /// the link. ~/.claude.json is copied into the home (never removed).
    /// Refused, changing nothing, if the configuration file exists, if DIR
    /// is already a link, or if a path it would create exists. At the
    /// default place, the configuration's directory is created (mode 0700);
    /// elsewhere it must exist. Journaled:
    /// interrupted, run the same command again and it finishes. Prints the
    /// CLAUDE_CONFIG_DIR line to use and how to add a second account.
    #[command(after_help = help::INIT)]
    Init(InitArgs),
    /// Build a sandbox of two accounts and serve it on 127.0.0.1.
    ///
    /// Prints the URLs, the admin token and lines to paste (curl, breaking
    /// and repairing a link). Uses ports 9464/9465, or free ones if those
    /// are taken (and says so). Needs no configuration: it writes its own.
    #[command(after_help = help::DEMO)]
    Demo(DemoArgs),
    /// Print a shell completion script for bash, zsh, fish or elvish.
    ///
    /// Generated from the same definitions as this help, so it offers every
    /// command and option of this version. Needs no configuration. The
    /// Debian package installs bash's, zsh's and fish's.
    #[command(after_help = help::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the man page, homeswap(1), as roff on stdout. Hidden: it is
    /// for packagers (packaging/build-deb), not a command people look for.
    #[command(hide = true)]
    Manpage,
}

/// The commands that work on a configuration.
#[derive(Debug, Subcommand)]
pub(crate) enum OperatorCommand {
    /// Check every account's shared links, the active link and the
    /// partial-swap latch (read-only).
    ///
    /// Reports every problem of every account at once, one line each on
    /// stderr: account, link, state, paths and what to do. A set latch is a
    /// problem too.
    #[command(after_help = help::VALIDATE)]
    Validate {
        /// Print the full report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Create missing shared links and target directories (empty target
    /// files for shared_files).
    ///
    /// Creates only what is missing; refuses (and reports) a divergent link,
    /// a file or directory where a link belongs, or a missing home. Never
    /// deletes, moves or overwrites anything; running it twice changes
    /// nothing the second time.
    #[command(after_help = help::ENSURE)]
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
    #[command(after_help = help::SWAP)]
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
    /// directory with rmdir and creates the link. A regular file where a
    /// file link (shared_files) belongs is adopted too: moved, removed as a
    /// duplicate, `merge`d line by line for *.jsonl (the target keeps its
    /// lines and gains the account's missing ones), else a conflict.
    /// Interrupted? Run the same
    /// command again: it finishes from where it stopped (journal in
    /// state_dir). Refused while the latch is set and while ACCOUNT is the
    /// active account (a live session may be writing).
    #[command(after_help = help::ADOPT)]
    Adopt(AdoptArgs),
    /// Show the active account, the latch, every account's link states,
    /// limits and usage (with `fleet:`, also those seen on other hosts).
    #[command(after_help = help::STATUS)]
    Status {
        /// Print as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show or clear the partial-swap latch.
    #[command(subcommand, after_help = help::LATCH)]
    Latch(LatchCommand),
    /// An account hit its limit: record it and make the next account in
    /// failover.order active.
    ///
    /// Records the limit of --from (default: the active account) until
    /// --until, else failover.cooldown. With --from, when the active
    /// account is no longer that account, the event was already handled
    /// (already_moved). Without --from, a failover that swapped within
    /// failover.settle means the same (nothing is recorded). Skips accounts
    /// that are limited (with `fleet:`, also on any other host of the
    /// fleet, as its Prometheus last said) or whose links cannot be made
    /// ok; none left: exhausted, nothing swapped. Running Claude Code
    /// sessions move to the new account at their next request, without a
    /// restart.
    #[command(after_help = help::FAILOVER)]
    Failover(FailoverArgs),
    /// Show every account's limit (with `fleet:`, also those other hosts
    /// report), or end one by hand.
    #[command(args_conflicts_with_subcommands = true, after_help = help::LIMITS)]
    Limits(LimitsArgs),
    /// Add, remove, disable or enable an account.
    #[command(subcommand, after_help = help::ACCOUNT)]
    Account(AccountCommand),
    /// Put homeswap's hook and status line into a client's settings.
    #[command(subcommand, after_help = help::SETUP)]
    Setup(SetupCommand),
}

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
