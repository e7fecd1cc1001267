//! [`InitError`]: why init did not convert the home.

use std::path::PathBuf;

use crate::fs::pathfmt::shown;
use crate::ops::class::{Classified, ErrorClass};

/// Why init did not convert the home; its class gives the exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InitError {
    /// Bad arguments (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Refused before anything changed (exit 1).
    #[error("init refused, nothing changed: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// Stopped part-way (exit 1); the journal stays and a re-run finishes.
    #[error("init stopped part-way: {error}; nothing is lost; fix that, then run the same 'homeswap init' again to finish (journal {})", shown(journal))]
    Stopped {
        /// What failed.
        error: String,
        /// The journal left for the re-run.
        journal: PathBuf,
    },
}

impl Classified for InitError {
    fn class(&self) -> ErrorClass {
        match self {
            InitError::Usage(_) => ErrorClass::Usage,
            InitError::Refused(_) | InitError::Stopped { .. } => ErrorClass::Refused,
        }
    }
}
