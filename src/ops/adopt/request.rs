//! What an adoption is asked ([`AdoptRequest`]) and what it answers: the
//! report of a finished one ([`AdoptReport`]) or why it did not end with the
//! account `ok` ([`AdoptError`], classified here once).

use std::path::PathBuf;

use serde::Serialize;

use super::journal::AdoptJournal;
use super::plan::{ItemAction, LinkPlan};
use crate::fs::error::Joined;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::skeleton::Ended;
use crate::ops::UnknownAccount;
use crate::state::audit::{AdoptCounts, Outcome};
use crate::state::latch::LatchRecord;
use crate::state::lock::LockError;

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct AdoptRequest {
    /// The account whose real directories to adopt.
    pub account: String,
    /// Only these links (default: every link that is a real directory).
    pub links: Vec<String>,
    /// Keep a conflicting entry beside the target's instead of refusing.
    pub keep_both: bool,
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Adopt even though the account is the active one.
    pub force_active: bool,
}

/// A successful adoption (or dry run).
#[derive(Debug, Clone, Serialize)]
pub struct AdoptReport {
    /// The account.
    pub(crate) account: String,
    /// True when nothing was changed on purpose (`--dry-run`).
    pub(crate) dry_run: bool,
    /// The plan, one per adopted link.
    pub(crate) plan: Vec<LinkPlan>,
    /// What was done (all zero in a dry run).
    pub counts: AdoptCounts,
    /// The links ensure created where the real directories were.
    pub(crate) created: Vec<String>,
    /// An interrupted adoption finished first (its journal), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resumed: Option<AdoptJournal>,
    /// Things that went wrong without failing the adoption (the audit log).
    pub(crate) warnings: Vec<String>,
}

/// Why an adoption did not end with the account `ok`; its class gives the
/// exit code.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// Not a configured account.
    #[error(transparent)]
    UnknownAccount(#[from] UnknownAccount),
    /// `--link` names no required shared link.
    #[error("account {account}: unknown link {link:?}: the shared links are {}", .known.join(", "))]
    UnknownLink {
        /// The account.
        account: String,
        /// The name asked for.
        link: String,
        /// The configured names.
        known: Vec<String>,
    },
    /// The partial-swap latch is set; nothing was changed.
    #[error("adopt {account} refused: the partial-swap latch is set (swap {} -> {}); repair it first: 'homeswap latch show'", .latch.from.as_deref().unwrap_or("(none)"), .latch.to)]
    Latched {
        /// The account.
        account: String,
        /// The latch.
        latch: Box<LatchRecord>,
    },
    /// The account is the active one; nothing was changed.
    #[error("adopt {account} refused: {account} is the active account ({}), and a live session may be writing into its directories; swap to another account first, or pass --force-active if no session is running", crate::fs::pathfmt::shown(active_link))]
    Active {
        /// The account.
        account: String,
        /// The active link.
        active_link: PathBuf,
    },
    /// Another homeswap held the lock; nothing was changed.
    #[error("adopt {account} not started: {source}")]
    Busy {
        /// The account.
        account: String,
        /// The lock's report.
        source: LockError,
    },
    /// The account could not end `ok`; nothing was changed.
    #[error("adopt {account} refused, nothing changed: {}", Joined(.problems))]
    Refused {
        /// The account.
        account: String,
        /// One line per reason, naming link, path and what to do.
        problems: Vec<String>,
    },
    /// Conflicts and no `--keep-both`; nothing was changed.
    #[error("adopt {account}: {} conflict(s), nothing changed", conflicts(.plan).len())]
    Conflicts {
        /// The account.
        account: String,
        /// The plan, conflicts included.
        plan: Vec<LinkPlan>,
        /// True when this was a dry run.
        dry_run: bool,
    },
    /// Stopped part-way: some entries moved, the rest still in the
    /// account. The journal stays; a re-run finishes.
    #[error("adopt {account}: stopped part-way{}: {}; nothing is lost (every entry is in the account or in the target); fix that, then run 'homeswap adopt {account}' again to finish (journal {})", .link.as_deref().map(|l| format!(" in {l}")).unwrap_or_default(), Joined(.errors), crate::fs::pathfmt::shown(journal))]
    Stopped {
        /// The account.
        account: String,
        /// The link being adopted when it stopped.
        link: Option<String>,
        /// What failed.
        errors: Vec<String>,
        /// The journal left for the re-run.
        journal: PathBuf,
        /// What was done before it stopped.
        counts: Box<AdoptCounts>,
    },
}

impl Ended for AdoptError {
    /// The audit log's outcome.
    fn outcome(&self) -> Outcome {
        match self {
            AdoptError::Conflicts { .. } => Outcome::Conflicts,
            AdoptError::Busy { .. } => Outcome::Busy,
            AdoptError::Stopped { .. } => Outcome::Stopped,
            _ => Outcome::Refused,
        }
    }
}

impl Ended for AdoptReport {
    fn outcome(&self) -> Outcome {
        Outcome::Adopted
    }
}

impl Classified for AdoptError {
    /// Busy is a refusal here: the contract gives adopt no busy code.
    fn class(&self) -> ErrorClass {
        match self {
            AdoptError::UnknownAccount { .. } | AdoptError::UnknownLink { .. } => {
                ErrorClass::Unknown
            }
            AdoptError::Latched { .. } => ErrorClass::Latched,
            AdoptError::Busy { .. } => ErrorClass::BusyRefused,
            AdoptError::Active { .. }
            | AdoptError::Refused { .. }
            | AdoptError::Conflicts { .. }
            | AdoptError::Stopped { .. } => ErrorClass::Refused,
        }
    }

    /// The individual errors, one line each.
    fn errors(&self) -> Vec<String> {
        match self {
            AdoptError::Refused { problems, .. } => problems.clone(),
            AdoptError::Conflicts { account, plan, .. } => conflicts(plan)
                .into_iter()
                .map(|c| format!("account {account}: {c}"))
                .collect(),
            AdoptError::Stopped { errors, .. } => errors.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// One line per conflict: link, both paths and how they differ.
pub(crate) fn conflicts(plan: &[LinkPlan]) -> Vec<String> {
    plan.iter()
        .flat_map(|l| {
            l.conflicts().filter_map(move |c| match &c.action {
                ItemAction::Conflict { clash, .. } => {
                    let (ours, theirs) = l.paths_of(c);
                    Some(format!(
                        "{}: conflict: {} and {}: {clash}",
                        l.link,
                        crate::fs::pathfmt::shown(&ours),
                        crate::fs::pathfmt::shown(&theirs)
                    ))
                }
                ItemAction::Move { .. }
                | ItemAction::Duplicate { .. }
                | ItemAction::Merge { .. } => None,
            })
        })
        .collect()
}
