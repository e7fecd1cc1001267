//! The partial-swap latch: set when a swap's rollback failed too, so the
//! active link may point at an account whose shared links are broken.
//!
//! While it is set every swap is refused. It lives in memory (so it holds
//! even if the disk refuses it) and in `<state_dir>/latch.json` (so a crash
//! or restart does not hide it). Only an operator clears it, and only once
//! the active account validates `ok` again.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::state::StateDir;

/// What the latch records about the swap that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatchRecord {
    /// RFC 3339 time it was set.
    pub set_at: String,
    /// The account that was active before the failed swap.
    pub from: Option<String>,
    /// The account the swap went to.
    pub to: String,
    /// The errors of the ensure and the rollback.
    pub errors: Vec<String>,
    /// The process that set it.
    pub pid: u32,
}

/// The latch: in memory, backed by the state directory.
#[derive(Debug)]
pub struct PartialSwapLatch {
    state: StateDir,
    in_memory: Mutex<Option<LatchRecord>>,
}

impl PartialSwapLatch {
    /// A latch backed by `state`; nothing is read until [`Self::current`].
    pub fn new(state: StateDir) -> PartialSwapLatch {
        PartialSwapLatch {
            state,
            in_memory: Mutex::new(None),
        }
    }

    /// The latch as set now: the file (which another process may have
    /// written) or, failing that, this process's own memory. A latch file
    /// that cannot be read or parsed counts as set: refusing swaps is the
    /// safe side.
    pub fn current(&self) -> Option<LatchRecord> {
        let path = self.state.latch();
        match std::fs::read(&path) {
            Ok(bytes) => Some(
                serde_json::from_slice(&bytes).unwrap_or_else(|e| LatchRecord {
                    set_at: String::new(),
                    from: None,
                    to: String::new(),
                    errors: vec![format!(
                        "the latch file {} is unreadable: {e}",
                        path.display()
                    )],
                    pid: 0,
                }),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.memory().clone(),
            Err(e) => Some(LatchRecord {
                set_at: String::new(),
                from: None,
                to: String::new(),
                errors: vec![FsError::new("read the latch", &path, e).to_string()],
                pid: 0,
            }),
        }
    }

    /// Sets the latch: in memory first, then on disk. An error means the
    /// latch holds in this process only.
    pub fn set(&self, record: LatchRecord) -> Result<(), FsError> {
        *self.memory() = Some(record.clone());
        self.persist(&record)
    }

    fn persist(&self, record: &LatchRecord) -> Result<(), FsError> {
        let path = self.state.latch();
        fail::fail_point!("latch::write", |_| Err(FsError::new(
            "write the latch",
            &path,
            std::io::Error::other("failpoint latch::write")
        )));
        self.state.write_record(&path, "write the latch", record)
    }

    /// Clears the latch on disk and in memory. The caller has checked that
    /// clearing is safe.
    pub fn clear(&self) -> Result<(), FsError> {
        atomic::remove_file(&self.state.latch())?;
        *self.memory() = None;
        Ok(())
    }

    /// Takes over `other`'s in-memory latch (after a configuration reload),
    /// so a latch that never reached the disk is not forgotten.
    pub fn inherit(&self, other: &PartialSwapLatch) {
        if let Some(record) = other.memory().clone() {
            *self.memory() = Some(record);
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Option<LatchRecord>> {
        // A panic while holding this lock cannot leave the Option torn.
        self.in_memory.lock().unwrap_or_else(|p| p.into_inner())
    }
}
