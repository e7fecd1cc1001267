//! The status document: what `homeswap status --json` prints and what
//! `GET /api/v1/status` answers, one type serialized by both.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use crate::fs::pathfmt;
use crate::links::active::ActiveLink;
use crate::links::credentials::CredentialFindings;
use crate::links::validate::{validate_all, ValidationReport};
use crate::links::AccountReport;
use crate::ops::adopt::journal::AdoptJournal;
use crate::ops::context::Context;
use crate::ops::fleet::{self, FleetStatus};
use crate::ops::limits::{self, AccountLimitView};
use crate::ops::usage::{self, UsageView};
use crate::state::latch::LatchRecord;
use crate::state::limits::unix_now;

/// The status of every account, the active link and the latch.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusDocument {
    /// The configuration file in force.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) config: PathBuf,
    /// The state directory (latch, lock, audit log).
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) state_dir: PathBuf,
    /// The active account's name; `null` when no configured account is.
    pub(crate) active: Option<String>,
    /// The active link: its path, its target and what is wrong with it.
    pub(crate) active_link: ActiveLink,
    /// The partial-swap latch; `null` when clear.
    pub(crate) latch: Option<LatchRecord>,
    /// Whether a swap's intent record is present (a swap running, or one a
    /// crash interrupted).
    pub(crate) swap_in_progress: bool,
    /// True when every link is `ok`, a configured account is active and the
    /// latch is clear (what `/readyz` answers 200 for).
    pub(crate) ok: bool,
    /// Why it is not ok, one line each: the latch first, then every link
    /// problem (the `/readyz` reasons).
    pub(crate) problems: Vec<String>,
    /// Other things an operator should know (an interrupted adoption).
    pub(crate) notices: Vec<String>,
    /// Warnings that do not make the layout unready, one line each: every
    /// unmanaged entry (each account's `unmanaged` list has them too), then
    /// every credentials finding (`credentials` has them too).
    pub(crate) warnings: Vec<String>,
    /// Homes that hold the same OAuth refresh token (compared by digest),
    /// and homes whose credentials files share a modification time.
    pub(crate) credentials: CredentialFindings,
    /// Every account's links and their states, sorted by account.
    pub(crate) accounts: Vec<AccountReport>,
    /// Every account's limit, and whether it is disabled, in
    /// `failover.order`.
    pub(crate) limits: Vec<AccountLimitView>,
    /// Why the limits file could not be read (then no limits are known).
    pub(crate) limits_error: Option<String>,
    /// Why the disabled accounts' file could not be read (then none is
    /// known to be disabled; each limit entry's `disabled` says which are).
    pub(crate) disabled_error: Option<String>,
    /// Every account's last known usage (from the statusline), in
    /// `failover.order`, with `failover.threshold`.
    pub(crate) usage: UsageView,
    /// What the fleet view says (limits and usage seen on other
    /// instances, whether it is used and why not); `null` without `fleet`.
    pub(crate) fleet: Option<FleetStatus>,
    /// RFC 3339 time of the validation shown.
    pub(crate) last_validation: String,
}

/// Why a layout is not ready: the latch first, then each link problem.
pub(crate) fn problems(report: &ValidationReport, latch: Option<&LatchRecord>) -> Vec<String> {
    latch
        .map(LatchRecord::problem_line)
        .into_iter()
        .chain(report.problems())
        .collect()
}

impl StatusDocument {
    /// The document for a validation made at `at` and the latch as read then.
    pub(crate) fn new(
        ctx: &Context,
        report: &ValidationReport,
        latch: Option<LatchRecord>,
        at: SystemTime,
    ) -> StatusDocument {
        let problems = problems(report, latch.as_ref());
        let notices = match AdoptJournal::read(&ctx.state) {
            Ok(Some(j)) => j.notices(&ctx.config, &ctx.state.adopt_journal()),
            Ok(None) => Vec::new(),
            Err(e) => vec![e.to_string()],
        };
        let limits = limits::limits(ctx);
        StatusDocument {
            limits: limits.accounts,
            limits_error: limits.error,
            disabled_error: limits.disabled_error,
            usage: usage::usage(ctx),
            fleet: fleet::status(&ctx.config, &ctx.state, unix_now()),
            config: ctx.config.path.clone(),
            state_dir: ctx.config.state_dir.clone(),
            active: report.active.account.clone(),
            active_link: report.active.clone(),
            ok: problems.is_empty(),
            latch,
            swap_in_progress: std::fs::symlink_metadata(ctx.state.intent()).is_ok(),
            problems,
            notices,
            warnings: report.warnings(),
            credentials: report.credentials.clone(),
            accounts: report.accounts.clone(),
            last_validation: humantime::format_rfc3339_seconds(at).to_string(),
        }
    }
}

/// Validates now and returns the status document (the CLI's `status`).
pub(crate) fn status(ctx: &Context) -> StatusDocument {
    let report = validate_all(&ctx.config);
    let latch = ctx.latch.current();
    StatusDocument::new(ctx, &report, latch, SystemTime::now())
}
