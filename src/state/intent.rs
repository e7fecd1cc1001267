//! The intent record: written before a flip and removed when the swap ends,
//! so a swap interrupted by a crash is found and finished or rolled back by
//! the next command.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::state::StateDir;

/// A swap in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IntentRecord {
    /// The account active before, if the active link was on one.
    pub(crate) from: Option<String>,
    /// What the active link held before (restored by a rollback); `None`
    /// when there was no active link. Kept byte for byte.
    #[serde(default, with = "crate::fs::pathfmt::exact")]
    pub(crate) from_target: Option<PathBuf>,
    /// The account being swapped to.
    pub(crate) to: String,
    /// Its home, the flip's target.
    pub(crate) to_home: PathBuf,
    /// RFC 3339 start time.
    pub(crate) started: String,
    /// The process that started it.
    pub(crate) pid: u32,
    /// The outgoing home whose OAuth refresh lock the swap takes for the
    /// flip (recovery releases one a crash left); absent with no outgoing
    /// account, and in records of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_lock: Option<PathBuf>,
}

impl IntentRecord {
    /// Writes the record durably before the flip.
    pub(crate) fn write(&self, state: &StateDir) -> Result<(), FsError> {
        state.write_record(&state.intent(), "write the intent record", self)
    }

    /// Reads the record left by an unfinished swap, if any.
    pub(crate) fn read(state: &StateDir) -> Result<Option<IntentRecord>, FsError> {
        StateDir::read_record(
            &state.intent(),
            "read the intent record",
            "parse the intent record",
        )
    }

    /// Removes the record when the swap has ended.
    pub(crate) fn remove(state: &StateDir) -> Result<(), FsError> {
        atomic::remove_file(&state.intent())
    }
}
