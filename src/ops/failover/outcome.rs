//! How a failover ends: the request, the report of one that succeeded, the
//! error of one that did not (with its class and its outcome, the `outcome`
//! label of `homeswap_failovers_total` and of the audit log).

use serde::{Deserialize, Serialize};

use crate::fs::error::Joined;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::skeleton::Ended;
use crate::ops::swap::{Recovery, SwapError};
use crate::ops::UnknownAccount;
use crate::state::audit::Outcome;
use crate::state::latch::LatchRecord;
use crate::state::limits::{LimitReason, UntilSource};
use crate::state::lock::LockError;

/// What the CLI, the admin API and the hook ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailoverRequest {
    /// The account that hit its limit; `None`: the active one, with the
    /// settle rule.
    pub(crate) from: Option<String>,
    /// Why.
    pub(crate) reason: LimitReason,
    /// The limit's end as given (RFC 3339).
    pub(crate) until: Option<String>,
    /// Claude Code's message, read for a reset time when `until` is absent.
    pub(crate) message: Option<String>,
}

/// How a failover that succeeded ended (every outcome of an attempt is an
/// [`Outcome`], [`Outcome::FAILOVER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FailoverOutcome {
    /// Swapped to the next account.
    Swapped,
    /// The event was already handled (the `from` account is no longer
    /// active, or a failover swapped within `failover.settle`).
    AlreadyMoved,
}

impl FailoverOutcome {
    /// The contract's name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            FailoverOutcome::Swapped => Outcome::Swapped.as_str(),
            FailoverOutcome::AlreadyMoved => Outcome::AlreadyMoved.as_str(),
        }
    }
}

impl From<FailoverOutcome> for Outcome {
    fn from(o: FailoverOutcome) -> Outcome {
        match o {
            FailoverOutcome::Swapped => Outcome::Swapped,
            FailoverOutcome::AlreadyMoved => Outcome::AlreadyMoved,
        }
    }
}

impl Ended for FailoverReport {
    fn outcome(&self) -> Outcome {
        self.outcome.into()
    }
}

/// The limit a failover recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedLimit {
    /// The limited account.
    pub(crate) account: String,
    /// RFC 3339 end of the limit.
    pub(crate) until: String,
    /// Where the end came from.
    pub(crate) source: UntilSource,
}

/// A failover that swapped or found the event already handled.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailoverReport {
    /// `swapped` or `already_moved`.
    pub(crate) outcome: FailoverOutcome,
    /// The account failed over from (the limited one), if known.
    pub(crate) from: Option<String>,
    /// The account active now.
    pub(crate) active: Option<String>,
    /// Why.
    pub(crate) reason: LimitReason,
    /// The limit recorded (none under the settle rule).
    pub(crate) limit: Option<RecordedLimit>,
    /// What was decided and why, one sentence each (the reset time used,
    /// the settle rule).
    pub(crate) notes: Vec<String>,
    /// What ensure created for the new account.
    pub(crate) created: Vec<String>,
    /// Things that went wrong without failing the failover.
    pub(crate) warnings: Vec<String>,
    /// An interrupted swap finished first, if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recovered: Option<Recovery>,
    /// The swap's own outcome, when one was attempted (for
    /// `homeswap_swaps_total`).
    #[serde(skip)]
    pub(crate) swap_outcome: Option<Outcome>,
}

/// Why a failover did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FailoverError {
    /// The partial-swap latch is set; nothing was changed.
    #[error("failover refused: the partial-swap latch is set {}; check 'homeswap latch show', repair the links, then run 'homeswap latch clear --reason TEXT'", .0.describe())]
    Latched(Box<LatchRecord>),
    /// `from` is not a configured account.
    #[error(transparent)]
    UnknownAccount(#[from] UnknownAccount),
    /// The request cannot be used (a bad `until`).
    #[error("{0}")]
    BadRequest(String),
    /// Another homeswap held the lock too long.
    #[error("failover not started: {0}")]
    Busy(LockError),
    /// The lock file could not be used: refused before anything changed.
    #[error("failover refused, nothing changed: {0}")]
    Lock(String),
    /// No account is eligible; nothing was swapped.
    #[error("exhausted: no account to fail over to{}, nothing swapped: {}", from_part(.from), Joined(.skipped))]
    Exhausted {
        /// The account that hit its limit.
        from: Option<String>,
        /// Each account and why it was skipped.
        skipped: Vec<String>,
        /// The limit recorded, if any.
        limit: Option<RecordedLimit>,
    },
    /// Stopped after choosing, before the swap (the `failover::after_choose`
    /// failpoint): nothing changed.
    #[error("failover {} -> {to} stopped before the swap, nothing changed: {problem}", from_or_none(.from))]
    NotStarted {
        /// The account that hit its limit.
        from: Option<String>,
        /// The chosen account.
        to: String,
        /// Why.
        problem: String,
    },
    /// The swap to the chosen account did not succeed.
    #[error("failover {} -> {to}: {source}", from_or_none(.from))]
    Swap {
        /// The account that hit its limit.
        from: Option<String>,
        /// The chosen account.
        to: String,
        /// The swap's error.
        source: Box<SwapError>,
    },
}

fn from_part(from: &Option<String>) -> String {
    from.as_deref()
        .map(|f| format!(" from {f}"))
        .unwrap_or_default()
}

fn from_or_none(from: &Option<String>) -> &str {
    from.as_deref().unwrap_or("(none)")
}

impl Ended for FailoverError {
    /// The `homeswap_failovers_total` outcome.
    fn outcome(&self) -> Outcome {
        match self {
            FailoverError::Latched(_)
            | FailoverError::UnknownAccount(_)
            | FailoverError::BadRequest(_)
            | FailoverError::Lock(_)
            | FailoverError::NotStarted { .. } => Outcome::Refused,
            FailoverError::Busy(_) => Outcome::Busy,
            FailoverError::Exhausted { .. } => Outcome::Exhausted,
            FailoverError::Swap { source, .. } => match source.outcome() {
                Outcome::RolledBack => Outcome::Failed,
                other => other,
            },
        }
    }
}

impl Classified for FailoverError {
    fn class(&self) -> ErrorClass {
        match self {
            FailoverError::UnknownAccount(_) => ErrorClass::Unknown,
            FailoverError::BadRequest(_) => ErrorClass::Usage,
            FailoverError::Latched(_) => ErrorClass::Latched,
            FailoverError::Busy(_) => ErrorClass::Busy,
            FailoverError::Lock(_)
            | FailoverError::NotStarted { .. }
            | FailoverError::Exhausted { .. } => ErrorClass::Refused,
            FailoverError::Swap { source, .. } => source.class(),
        }
    }

    fn errors(&self) -> Vec<String> {
        match self {
            FailoverError::Exhausted { skipped, .. } => skipped.clone(),
            FailoverError::Swap { source, .. } => source.errors(),
            FailoverError::Latched(l) => l.errors_or_why(),
            other => vec![other.to_string()],
        }
    }
}
