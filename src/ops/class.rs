//! What an error means to whoever asked: its [`ErrorClass`]. Every error
//! an operation returns is classified once, beside its variants (an
//! `impl Classified`); the CLI's exit code (`cli/exit.rs`), the HTTP status
//! (`http/errors.rs`) and the sidecar's log level each follow from the
//! class in one `match`, and nothing else decides them.

use crate::config::ConfigError;
use crate::ops::UnknownAccount;

/// The meaning of an error, for the exit code, the HTTP status and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// The request cannot be used: a bad argument or body, an empty
    /// reason, a configuration that cannot be loaded. Exit 2, HTTP 400.
    Usage,
    /// It names an account or a link that is not configured. Exit 2,
    /// HTTP 404.
    Unknown,
    /// Refused, stopped, failed or problems found, with nothing lost: the
    /// previous state is in place (or a re-run finishes). Exit 1, HTTP 409.
    Refused,
    /// The partial-swap latch was set before. Exit 3, HTTP 423.
    Latched,
    /// Ensure and rollback both failed: the latch is set now. Exit 3,
    /// HTTP 500.
    Partial,
    /// Another homeswap held the lock too long; try again. Exit 4,
    /// HTTP 503.
    Busy,
    /// Busy, for an operation whose exit codes have no "busy" (adopt,
    /// latch clear, limits clear): a refusal there. Exit 1, HTTP 503.
    BusyRefused,
}

/// An error that knows its class and its individual errors.
pub(crate) trait Classified: std::error::Error {
    /// What it means.
    fn class(&self) -> ErrorClass;

    /// The individual errors, one line each (JSON answers, log lists,
    /// one-per-line output); the message alone unless the error has more.
    fn errors(&self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl Classified for ConfigError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Usage
    }
}

impl Classified for UnknownAccount {
    fn class(&self) -> ErrorClass {
        ErrorClass::Unknown
    }
}
