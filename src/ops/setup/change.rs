//! What an edit of a settings file did, one entry a change, in the
//! operator's words.

use std::fmt;

/// One thing an edit did, as the operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The hook added for an event.
    HookAdded(String),
    /// An older homeswap hook (another configuration, binary or form)
    /// brought up to date.
    HookUpdated(String),
    /// A second homeswap hook in one event taken out.
    HookDuplicateRemoved(String),
    /// homeswap's hook taken out of an event it does not use (any more).
    HookUnusedRemoved(String),
    /// homeswap's hook taken out (`--remove`).
    HookRemoved(String),
    /// The status line added (there was none).
    StatusLineAdded,
    /// homeswap's status line brought up to date.
    StatusLineUpdated,
    /// The user's status line kept, run by homeswap's (`--wrap`).
    StatusLineWrapped(String),
    /// The user's status line put back (`--remove`).
    StatusLineRestored(String),
    /// homeswap's status line taken out (`--remove`; there was none before).
    StatusLineRemoved,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::HookAdded(e) => write!(f, "added homeswap's {e} hook"),
            Change::HookUpdated(e) => write!(
                f,
                "updated homeswap's {e} hook to this configuration and binary"
            ),
            Change::HookDuplicateRemoved(e) => {
                write!(f, "took out a second homeswap hook of {e}")
            }
            Change::HookUnusedRemoved(e) => write!(
                f,
                "took homeswap's hook out of {e}, an event homeswap does not use"
            ),
            Change::HookRemoved(e) => write!(f, "took out homeswap's {e} hook"),
            Change::StatusLineAdded => write!(f, "added homeswap's status line"),
            Change::StatusLineUpdated => write!(
                f,
                "updated homeswap's status line to this configuration and binary"
            ),
            Change::StatusLineWrapped(c) => write!(
                f,
                "kept your status line {c:?}: homeswap's runs it (--wrap) and prints its line after it"
            ),
            Change::StatusLineRestored(c) => write!(f, "put your status line {c:?} back"),
            Change::StatusLineRemoved => write!(f, "took out homeswap's status line"),
        }
    }
}
