//! The state directory: where the lock, the intent record, the latch, the
//! adoption journal and the audit log live. Only this module knows the file names.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::fserror::{FsContext, FsError};

/// Paths inside `state_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Wraps the configured directory.
    pub fn new(dir: &Path) -> StateDir {
        StateDir {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `flock` file serializing swaps, clears and recoveries.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The record of a swap in progress (from, to).
    pub fn intent(&self) -> PathBuf {
        self.dir.join("intent.json")
    }

    /// The persisted partial-swap latch.
    pub fn latch(&self) -> PathBuf {
        self.dir.join("latch.json")
    }

    /// The journal of an adoption in progress (`homeswap adopt`).
    pub fn adopt_journal(&self) -> PathBuf {
        self.dir.join("adopt.json")
    }

    /// The append-only audit log.
    pub fn audit(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    /// Creates the directory (mode 0700) if it does not exist yet.
    pub fn create(&self) -> Result<(), FsError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .fs("create the state directory", &self.dir)
    }
}
