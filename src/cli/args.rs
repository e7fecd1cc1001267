//! The command line's shape: every command, argument and help text. Parsing
//! only; what the commands do lives in one file per command group.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cli::exit::help;

pub(crate) use crate::cli::subargs::*;

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
