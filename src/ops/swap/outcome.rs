//! How a swap ends: the report of a successful one, the error of one that
//! did not succeed (with its class and its outcome, the contract's word for
//! the metric label, the audit log and the JSON); and how the recovery of
//! an interrupted one ends.

use std::path::PathBuf;

use serde::Serialize;

use crate::fs::error::Joined;
use crate::fs::pathfmt::shown;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::skeleton::Ended;
use crate::ops::UnknownAccount;
use crate::state::audit::Outcome;
use crate::state::intent::IntentRecord;
use crate::state::latch::LatchRecord;
use crate::state::lock::LockError;

/// How a successful swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SwapOutcome {
    /// The active link now points at the new account.
    Swapped,
    /// The account was already active; nothing changed.
    AlreadyActive,
}

impl From<SwapOutcome> for Outcome {
    fn from(o: SwapOutcome) -> Outcome {
        match o {
            SwapOutcome::Swapped => Outcome::Swapped,
            SwapOutcome::AlreadyActive => Outcome::AlreadyActive,
        }
    }
}

impl Ended for SwapReport {
    fn outcome(&self) -> Outcome {
        self.outcome.into()
    }
}

/// A successful swap.
#[derive(Debug, Clone, Serialize)]
pub struct SwapReport {
    /// The account active before.
    pub(crate) from: Option<String>,
    /// The account active now.
    pub(crate) active: String,
    /// Swapped or already active.
    pub(crate) outcome: SwapOutcome,
    /// What ensure created for the new account.
    pub(crate) created: Vec<String>,
    /// Things that went wrong without failing the swap (e.g. the audit log).
    pub(crate) warnings: Vec<String>,
    /// An interrupted swap finished first, if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recovered: Option<Recovery>,
    /// Wall time of the attempt.
    pub(crate) duration_seconds: f64,
}

/// Why a swap did not succeed. Its class gives the exit code and the HTTP
/// status.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The partial-swap latch is set; nothing was changed.
    #[error("swap refused: the partial-swap latch is set{}; check 'homeswap latch show', repair the links, then run 'homeswap latch clear --reason TEXT'", .0.describe())]
    Latched(Box<LatchRecord>),
    /// `to` is not a configured account.
    #[error(transparent)]
    UnknownAccount(#[from] UnknownAccount),
    /// Another homeswap held the lock too long.
    #[error("swap to {to} not started: {source}")]
    Busy {
        /// The account asked for.
        to: String,
        /// The lock's report.
        source: LockError,
    },
    /// The outgoing account's OAuth refresh held its lock for the whole
    /// lock budget; nothing was changed.
    #[error("swap {} -> {to} not started: {source}", or_none(.from))]
    RefreshBusy {
        /// The account still active.
        from: Option<String>,
        /// The account asked for.
        to: String,
        /// The lock, its holder and the wait.
        source: Box<super::refresh_lock::RefreshBusy>,
    },
    /// Refused before the flip; nothing was changed.
    #[error("swap to {to} refused before the flip, nothing changed: {}", Joined(.problems))]
    Refused {
        /// The account asked for.
        to: String,
        /// One line per reason.
        problems: Vec<String>,
    },
    /// Failed, and the previous state is in place (rolled back, or the
    /// flip itself failed).
    #[error("swap {} -> {to} failed and was rolled back; {} is still active: {}", or_none(.from), or_none(.from), Joined(.errors))]
    RolledBack {
        /// The account still active.
        from: Option<String>,
        /// The account asked for.
        to: String,
        /// What failed.
        errors: Vec<String>,
    },
    /// Ensure and rollback both failed: the latch is now set.
    #[error("partial swap {} -> {to}: ensure and rollback both failed, the latch is set{}: {}; repair the links, then run 'homeswap latch clear --reason TEXT'", or_none(.from), if .latch_error.is_some() { " in memory only" } else { "" }, Joined(.errors))]
    Partial {
        /// The account active before.
        from: Option<String>,
        /// The account asked for.
        to: String,
        /// What failed, ensure's errors then the rollback's.
        errors: Vec<String>,
        /// Why persisting the latch failed, if it did.
        latch_error: Option<String>,
    },
}

/// An optional account for messages.
pub(crate) fn or_none(a: &Option<String>) -> &str {
    a.as_deref().unwrap_or("(none)")
}

impl SwapError {
    /// The account a failed swap left active, where the error says.
    pub(crate) fn left_active(&self) -> Option<&Option<String>> {
        match self {
            SwapError::RolledBack { from, .. }
            | SwapError::Partial { from, .. }
            | SwapError::RefreshBusy { from, .. } => Some(from),
            _ => None,
        }
    }
}

impl Ended for SwapError {
    /// The `homeswap_swaps_total` outcome.
    fn outcome(&self) -> Outcome {
        match self {
            SwapError::Latched(_) | SwapError::UnknownAccount(_) | SwapError::Refused { .. } => {
                Outcome::Refused
            }
            SwapError::Busy { .. } | SwapError::RefreshBusy { .. } => Outcome::Busy,
            SwapError::RolledBack { .. } => Outcome::RolledBack,
            SwapError::Partial { .. } => Outcome::Partial,
        }
    }
}

impl Classified for SwapError {
    fn class(&self) -> ErrorClass {
        match self {
            SwapError::Refused { .. } | SwapError::RolledBack { .. } => ErrorClass::Refused,
            SwapError::UnknownAccount(_) => ErrorClass::Unknown,
            SwapError::Latched(_) => ErrorClass::Latched,
            SwapError::Partial { .. } => ErrorClass::Partial,
            SwapError::Busy { .. } | SwapError::RefreshBusy { .. } => ErrorClass::Busy,
        }
    }

    fn errors(&self) -> Vec<String> {
        match self {
            SwapError::Latched(l) => l.errors_or_why(),
            SwapError::Refused { problems, .. } => problems.clone(),
            SwapError::RolledBack { errors, .. } => errors.clone(),
            SwapError::Partial {
                errors,
                latch_error,
                ..
            } => errors.iter().cloned().chain(latch_error.clone()).collect(),
            SwapError::UnknownAccount(_)
            | SwapError::Busy { .. }
            | SwapError::RefreshBusy { .. } => vec![self.to_string()],
        }
    }
}

/// How recovery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecoveryOutcome {
    /// The interrupted swap was finished.
    Swapped,
    /// It was undone; the previous account is active.
    RolledBack,
    /// Undoing it failed too: the latch is set.
    Partial,
    /// It had crashed before the flip; only the record went.
    NotFlipped,
    /// The active link was changed by someone else since; left alone.
    Superseded,
    /// Only leftover temporaries (or an unreadable record) were found.
    Cleaned,
}

impl RecoveryOutcome {
    /// The name in the audit log and the JSON.
    pub(crate) fn as_str(self) -> &'static str {
        Outcome::from(self).as_str()
    }
}

impl From<RecoveryOutcome> for Outcome {
    fn from(o: RecoveryOutcome) -> Outcome {
        match o {
            RecoveryOutcome::Swapped => Outcome::Swapped,
            RecoveryOutcome::RolledBack => Outcome::RolledBack,
            RecoveryOutcome::Partial => Outcome::Partial,
            RecoveryOutcome::NotFlipped => Outcome::NotFlipped,
            RecoveryOutcome::Superseded => Outcome::Superseded,
            RecoveryOutcome::Cleaned => Outcome::Cleaned,
        }
    }
}

/// What recovery found and did about an interrupted swap.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Recovery {
    /// The interrupted swap, if an intent record was left.
    pub(crate) intent: Option<IntentRecord>,
    /// How it ended.
    pub(crate) outcome: RecoveryOutcome,
    /// Errors met while recovering.
    pub(crate) errors: Vec<String>,
    /// Temporary entries removed.
    #[serde(serialize_with = "crate::fs::pathfmt::paths")]
    pub(crate) removed: Vec<PathBuf>,
}

impl Recovery {
    /// One line for the operator.
    pub(crate) fn summary(&self) -> String {
        let mut s = match &self.intent {
            Some(i) => format!(
                "recovered an interrupted swap {} -> {} (started {} by pid {}): {}",
                or_none(&i.from),
                i.to,
                i.started,
                i.pid,
                self.outcome.as_str()
            ),
            None => "removed leftover temporary links".to_string(),
        };
        if !self.removed.is_empty() {
            let names: Vec<String> = self.removed.iter().map(|p| shown(p).to_string()).collect();
            s.push_str(&format!("; removed {}", names.join(", ")));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!("; {}", Joined(&self.errors)));
        }
        s
    }
}
