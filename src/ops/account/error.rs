//! [`AccountError`]: why `account add`, `remove`, `disable` or `enable`
//! changed nothing, classified once; and what a person is told after the
//! configuration changed.

use crate::ops::class::{Classified, ErrorClass};
use crate::ops::skeleton::Ended;
use crate::ops::UnknownAccount;
use crate::state::audit::Outcome;
use crate::state::lock::LockError;

/// Why `account add`, `remove`, `disable` or `enable` changed nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    /// A bad name or home (exit 2, HTTP 400).
    #[error("{0}")]
    Usage(String),
    /// Not a configured account (exit 2, HTTP 404).
    #[error(transparent)]
    UnknownAccount(#[from] UnknownAccount),
    /// Refused, nothing changed (exit 1): one line per reason.
    #[error("account {account}: {}; nothing changed", .problems.join("; "))]
    Refused {
        /// The account.
        account: String,
        /// Why.
        problems: Vec<String>,
    },
    /// Another homeswap held the lock too long (exit 1).
    #[error("account {account}: nothing changed: {source}")]
    Busy {
        /// The account.
        account: String,
        /// The lock's report.
        source: LockError,
    },
}

impl AccountError {
    /// Refused for one reason.
    pub(crate) fn refused(account: &str, problem: impl Into<String>) -> AccountError {
        AccountError::Refused {
            account: account.to_string(),
            problems: vec![problem.into()],
        }
    }
}

impl Ended for AccountError {
    fn outcome(&self) -> Outcome {
        match self {
            AccountError::Busy { .. } => Outcome::Busy,
            _ => Outcome::Refused,
        }
    }
}

impl Classified for AccountError {
    /// The contract's codes: 1 refused (or not saved), 2 usage, config or
    /// unknown account; a lock held too long is a refusal, as for the
    /// other operations without a busy code.
    fn class(&self) -> ErrorClass {
        match self {
            AccountError::Usage(_) => ErrorClass::Usage,
            AccountError::UnknownAccount(_) => ErrorClass::Unknown,
            AccountError::Refused { .. } => ErrorClass::Refused,
            AccountError::Busy { .. } => ErrorClass::BusyRefused,
        }
    }

    fn errors(&self) -> Vec<String> {
        match self {
            AccountError::Refused { problems, .. } => problems.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// What a person is told after the configuration changed: a sidecar
/// reads it again only when told to.
pub(crate) const RELOAD_HINT: &str = "a running 'homeswap serve' keeps the configuration it loaded until it gets SIGHUP ('systemctl reload homeswap', or 'kill -HUP' its pid)";
