//! `validate`: every account's links, the active link and the partial-swap
//! latch, read-only, every problem at once (a set latch refuses every swap,
//! so it is a problem an operator must act on).

use std::path::PathBuf;

use serde::Serialize;

use crate::fs::pathfmt;
use crate::links::active::ActiveLink;
use crate::links::validate::validate_all;
use crate::links::AccountReport;
use crate::ops::context::Context;
use crate::state::latch::LatchRecord;

/// What `validate` found; also the document of `validate --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// True when there is no problem at all.
    pub ok: bool,
    /// The configuration file validated.
    #[serde(serialize_with = "pathfmt::path")]
    pub config: PathBuf,
    /// The active link.
    pub active: ActiveLink,
    /// The partial-swap latch, when set.
    pub latch: Option<LatchRecord>,
    /// Every account's link states.
    pub accounts: Vec<AccountReport>,
    /// One line per problem: the latch first, then the active link, then
    /// each link.
    pub problems: Vec<String>,
    /// One line per unmanaged entry (drift: a warning, not a problem).
    pub warnings: Vec<String>,
}

/// Checks everything, read-only.
pub fn validate(ctx: &Context) -> Validation {
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
        active: report.active,
        latch,
        accounts: report.accounts,
        problems,
    }
}
