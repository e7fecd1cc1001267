//! Exit codes: the one place where a command's end becomes a process's
//! exit code (from the class of what failed, `ops::class`), and the help
//! text that promises them (the contract's CLI table).

use crate::ops::class::{Classified, ErrorClass};

/// Exit code: success.
const EXIT_OK: u8 = 0;
/// Exit code: problems found, something refused, or a swap failed with the
/// previous state in place.
const EXIT_PROBLEMS: u8 = 1;
/// Exit code: usage or configuration error, unknown account.
const EXIT_USAGE: u8 = 2;
/// Exit code: partial swap (latched now or earlier).
const EXIT_PARTIAL: u8 = 3;
/// Exit code: another homeswap held the lock for 5 s.
const EXIT_BUSY: u8 = 4;

/// How a command ended: done, or the class of what failed.
pub(crate) type Exit = Result<(), ErrorClass>;

/// The exit code of a command that ended so.
pub(crate) fn code(end: Exit) -> u8 {
    match end {
        Ok(()) => EXIT_OK,
        Err(ErrorClass::Refused | ErrorClass::BusyRefused) => EXIT_PROBLEMS,
        Err(ErrorClass::Usage | ErrorClass::Unknown) => EXIT_USAGE,
        Err(ErrorClass::Latched | ErrorClass::Partial) => EXIT_PARTIAL,
        Err(ErrorClass::Busy) => EXIT_BUSY,
    }
}

/// The end of a command that failed with `e`.
pub(crate) fn failed(e: &impl Classified) -> Exit {
    Err(e.class())
}

/// The end of `validate` or `ensure`: done when everything is ok (now),
/// else problems found.
pub(crate) fn all_ok(ok: bool) -> Exit {
    if ok {
        Ok(())
    } else {
        Err(ErrorClass::Refused)
    }
}

/// Each command's `--help` lists its own exit codes, and only those.
pub(crate) mod help {
    /// `homeswap --help`: every command's codes at a glance.
    pub(crate) const ALL: &str = "\
Exit codes:
  validate        0 all ok · 1 problems found · 2 usage or configuration error
  ensure          0 all ok now · 1 something refused · 2 usage or configuration error
  swap            0 swapped or already active · 1 failed, state unchanged
                  2 usage, configuration error or unknown account · 3 partial swap · 4 busy
  adopt           0 adopted · 1 conflicts or refused · 2 usage or configuration error · 3 latched
  status          0 · 2 usage or configuration error
  latch show      0 · 2 usage or configuration error
  latch clear     0 · 1 clear refused (still unhealthy) · 2 usage or configuration error
  failover        0 swapped or already moved · 1 exhausted or failed, state unchanged
                  2 usage, configuration error or unknown account · 3 latched · 4 busy
  limits          0 · 2 usage or configuration error
  limits clear    0 cleared · 1 not saved (disk, busy)
                  2 usage, configuration error or unknown account
  account add     0 added · 1 refused, nothing changed · 2 usage or configuration error
  account remove  0 removed · 1 refused, nothing changed
                  2 usage, configuration error or unknown account
  account disable 0 · 1 not saved · 2 usage, configuration error or unknown account
  account enable  0 · 1 not saved · 2 usage, configuration error or unknown account
  hook            0 always (problems go to stderr)
  statusline      0 always (prints a line whatever happens)
  serve           0 stopped gracefully · 1 cannot listen · 2 configuration or token file error
  demo            0 stopped with Ctrl-C · 1 cannot build or serve the sandbox
  init            0 converted · 1 refused or stopped, nothing lost · 2 usage
  setup claude-code 0 done or nothing to do · 1 refused (a settings file that does not parse)
                  2 usage or configuration error
  completions     0 printed · 2 usage (no shell, or an unknown one)

Each command's --help explains its own exit codes. Every command but demo, init and completions
first finishes a swap that a crash interrupted, if any.";

    /// `homeswap validate --help`.
    pub(crate) const VALIDATE: &str = "\
Exit codes:
  0  all ok
  1  problems found (a link, the active link, or the partial-swap latch is set)
  2  usage or configuration error";

    /// `homeswap ensure --help`.
    pub(crate) const ENSURE: &str = "\
Exit codes:
  0  all ok now
  1  something refused (divergent, not_a_link, home_missing, error)
  2  usage or configuration error, unknown account";

    /// `homeswap swap --help`.
    pub(crate) const SWAP: &str = "\
Exit codes:
  0  swapped, or already active
  1  failed, state unchanged (rolled back, or refused before the flip)
  2  usage or configuration error, unknown account
  3  partial swap: the latch is set (now or earlier); see 'homeswap latch show'
  4  busy: another homeswap held the lock for 5 s";

    /// `homeswap adopt --help`.
    pub(crate) const ADOPT: &str = "\
Exit codes:
  0  adopted: the account is ok now
  1  conflicts or refused (nothing changed), or stopped part-way (rerun to finish)
  2  usage or configuration error, unknown account or link
  3  the partial-swap latch is set";

    /// `homeswap status --help`.
    pub(crate) const STATUS: &str = "\
Exit codes:
  0  the status was shown (whatever it says)
  2  usage or configuration error";

    /// `homeswap latch --help`: the two subcommands differ.
    pub(crate) const LATCH: &str = "\
Exit codes: see 'homeswap latch show --help' and 'homeswap latch clear --help'.";

    /// `homeswap latch show --help`.
    pub(crate) const LATCH_SHOW: &str = "\
Exit codes:
  0  the latch was shown, set or not
  2  usage or configuration error";

    /// `homeswap latch clear --help`.
    pub(crate) const LATCH_CLEAR: &str = "\
Exit codes:
  0  cleared, or it was not set
  1  clear refused: the active account is still unhealthy (or another homeswap is busy)
  2  usage or configuration error, empty reason";

    /// `homeswap failover --help`.
    pub(crate) const FAILOVER: &str = "\
Exit codes:
  0  swapped, or already moved (the event was handled before)
  1  no eligible account (exhausted) or the swap failed, state unchanged
  2  usage or configuration error, unknown account, bad --until
  3  the partial-swap latch is set (now or earlier); see 'homeswap latch show'
  4  busy: another homeswap held the lock for 5 s";

    /// `homeswap limits --help`.
    pub(crate) const LIMITS: &str = "\
Exit codes:
  0  the limits were shown
  2  usage or configuration error";

    /// `homeswap limits clear --help`.
    pub(crate) const LIMITS_CLEAR: &str = "\
Exit codes:
  0  cleared, or the account was not limited
  1  not saved: the limits file could not be written, or another homeswap was busy
  2  usage or configuration error, unknown account";

    /// `homeswap account --help`: the subcommands differ.
    pub(crate) const ACCOUNT: &str = "\
Exit codes: see 'homeswap account add --help', 'account remove --help', 'account disable --help'
and 'account enable --help'.";

    /// `homeswap account add --help`.
    pub(crate) const ACCOUNT_ADD: &str = "\
Exit codes:
  0  added: the home, its links and the configuration entry are there
  1  refused, nothing changed: home not empty, name taken, new configuration would not validate
  2  usage or configuration error (a bad name, a relative --home)

Example:
  homeswap account add b                     # home: beside the active link, e.g. ~/.claude-b
  CLAUDE_CONFIG_DIR=~/.claude-b claude       # then /login, and /exit";

    /// `homeswap account remove --help`.
    pub(crate) const ACCOUNT_REMOVE: &str = "\
Exit codes:
  0  removed from the configuration (the home is still there)
  1  refused, nothing changed: the account is active, or it is the only one
  2  usage or configuration error, unknown account";

    /// `homeswap account disable --help`.
    pub(crate) const ACCOUNT_DISABLE: &str = "\
Exit codes:
  0  disabled (or it was already)
  1  not saved: disabled.json could not be written, or another homeswap was busy
  2  usage or configuration error, unknown account";

    /// `homeswap account enable --help`.
    pub(crate) const ACCOUNT_ENABLE: &str = "\
Exit codes:
  0  enabled (or it was not disabled)
  1  not saved: disabled.json could not be written, or another homeswap was busy
  2  usage or configuration error, unknown account";

    /// `homeswap hook --help`.
    pub(crate) const HOOK: &str = "\
Exit codes:
  0  always: a hook must never break Claude Code (problems go to stderr)";

    /// `homeswap statusline --help`.
    pub(crate) const STATUSLINE: &str = "\
Exit codes:
  0  always: a status line must never break Claude Code (problems go to stderr)

Installed in Claude Code's settings.json by 'homeswap setup claude-code':
  {\"statusLine\": {\"type\": \"command\", \"command\": \"homeswap --config '/etc/homeswap.yaml' statusline\"}}
Your own status line is kept (its output comes first):
  ... \"command\": \"homeswap --config '/etc/homeswap.yaml' statusline --wrap '~/bin/my-status'\"";

    /// `homeswap setup --help`: the codes are its subcommand's.
    pub(crate) const SETUP: &str = "\
Exit codes: see 'homeswap setup claude-code --help'.";

    /// `homeswap setup claude-code --help`.
    pub(crate) const SETUP_CLAUDE_CODE: &str = "\
Exit codes:
  0  done, or nothing to do (already set up; a dry run printed its diff)
  1  refused: a settings file does not parse (its line and column named; nothing changed)
  2  usage or configuration error

What it writes (an example: the shared settings.json, no status line before):
  \"hooks\": {
    \"SessionStart\": [{\"hooks\": [{\"type\": \"command\",
      \"command\": \"trap '' TERM; exec homeswap --config '/etc/homeswap.yaml' hook\"}]}],
    \"StopFailure\": [ ...the same... ]
  },
  \"statusLine\": {\"type\": \"command\",
    \"command\": \"homeswap --config '/etc/homeswap.yaml' statusline\"}";

    /// `homeswap serve --help`.
    pub(crate) const SERVE: &str = "\
Exit codes:
  0  stopped gracefully (SIGTERM or SIGINT)
  1  cannot listen (address in use, socket path)
  2  configuration or token file error";

    /// `homeswap init --help`.
    pub(crate) const INIT: &str = "\
Exit codes:
  0  converted (or nothing to do: a dry run)
  1  refused or stopped part-way, nothing lost (rerun the same command to finish)
  2  usage error (bad account name, relative path, no place for the configuration)";

    /// `homeswap completions --help`: the codes, then where each shell
    /// looks for a user's own completions.
    pub(crate) const COMPLETIONS: &str = "\
Exit codes:
  0  the script was printed
  2  usage error: no shell, or one that is not bash, zsh, fish or elvish

Installing one for your user (the Debian package installs bash's, zsh's and fish's for everyone):
  bash    homeswap completions bash > ~/.local/share/bash-completion/completions/homeswap
  zsh     homeswap completions zsh > ~/.zfunc/_homeswap
          (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)
  fish    homeswap completions fish > ~/.config/fish/completions/homeswap.fish
  elvish  eval (homeswap completions elvish | slurp)   in ~/.config/elvish/rc.elv";

    /// `homeswap demo --help`.
    pub(crate) const DEMO: &str = "\
Exit codes:
  0  stopped with Ctrl-C (or SIGTERM)
  1  cannot build the sandbox or serve it";
}
