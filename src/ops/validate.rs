//! `validate`: every account's links, the active link and the partial-swap
//! latch, read-only, every problem at once (a set latch refuses every swap,
//! so it is a problem an operator must act on).

use std::path::PathBuf;

use serde::Serialize;

use crate::fs::pathfmt;
use crate::links::active::ActiveLink;
use crate::links::credentials::CredentialFindings;
use crate::links::validate::validate_all;
use crate::links::AccountReport;
use crate::ops::context::Context;
use crate::state::latch::LatchRecord;

/// What `validate` found; also the document of `validate --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Validation {
    /// True when there is no problem at all (`problems` is empty).
    ok: bool,
    /// The configuration file validated.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) config: PathBuf,
    /// The active link.
    pub(crate) active: ActiveLink,
    /// The partial-swap latch, when set.
    pub(crate) latch: Option<LatchRecord>,
    /// Every account's link states.
    pub(crate) accounts: Vec<AccountReport>,
    /// One line per problem: the latch first, then the active link, then
    /// each link.
    pub(crate) problems: Vec<String>,
    /// One line per unmanaged entry (drift) and per credentials finding:
    /// warnings, not problems.
    pub(crate) warnings: Vec<String>,
    /// Homes that hold the same OAuth refresh token, or whose credentials
    /// files share a modification time.
    pub(crate) credentials: CredentialFindings,
}

impl Validation {
    /// True when there is no problem at all.
    pub(crate) fn ok(&self) -> bool {
        self.ok
    }
}

/// Checks everything, read-only.
pub(crate) fn validate(ctx: &Context) -> Validation {
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
    Validation {
        ok: problems.is_empty(),
        config: ctx.config.path.clone(),
        warnings: report.warnings(),
        credentials: report.credentials,
        active: report.active,
        latch,
        accounts: report.accounts,
        problems,
    }
}
