//! The adoption journal: written before the first entry moves and removed
//! when the account's links are `ok`, so that a re-run after a crash knows
//! an adoption was under way and finishes it with the same choices.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::state::StateDir;

/// An adoption in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptJournal {
    /// The account whose real directories are being adopted.
    pub account: String,
    /// The links being adopted.
    pub links: Vec<String>,
    /// Whether conflicting entries are kept beside the target's.
    pub keep_both: bool,
    /// The stamp in kept-both names (`20261124T1200Z`), kept across a
    /// resume so a re-run names the same way.
    pub stamp: String,
    /// The kept-both entries so far, each recorded before it is moved, so
    /// that the run which finishes still tells the operator about them.
    #[serde(default, serialize_with = "crate::fs::pathfmt::paths")]
    pub kept_both: Vec<PathBuf>,
    /// RFC 3339 start time.
    pub started: String,
    /// The process that started it.
    pub pid: u32,
}

impl AdoptJournal {
    /// Writes the journal durably (atomically replacing an older one).
    pub fn write(&self, state: &StateDir) -> Result<(), FsError> {
        state.write_record(&state.adopt_journal(), "write the adoption journal", self)
    }

    /// Reads the journal an interrupted adoption left, if any.
    pub fn read(state: &StateDir) -> Result<Option<AdoptJournal>, FsError> {
        StateDir::read_record(
            &state.adopt_journal(),
            "read the adoption journal",
            "parse the adoption journal",
        )
    }

    /// Removes the journal once the adoption is complete.
    pub fn remove(state: &StateDir) -> Result<(), FsError> {
        atomic::remove_file(&state.adopt_journal())
    }
}
