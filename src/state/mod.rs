//! The state directory: where the lock, the intent record, the latch, the
//! adoption journal, the limits, the disabled accounts, the usage, the
//! fleet view, the sessions, the active link's recent flips and the audit
//! log live. Only this module knows the file names.

pub(crate) mod audit;
pub(crate) mod disabled;
pub(crate) mod fleet;
pub(crate) mod flips;
pub(crate) mod intent;
pub(crate) mod latch;
pub(crate) mod limits;
pub(crate) mod lock;
pub(crate) mod outcome;
pub(crate) mod sessions;
pub(crate) mod usage;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fs::atomic;
use crate::fs::error::{FsContext, FsError};
use crate::fs::read::{read_regular, ReadError};

/// The largest state record (intent, latch, journal) that is read: they
/// are a few hundred bytes; anything larger is not one of ours.
pub(crate) const RECORD_LIMIT: u64 = 1024 * 1024;

/// Paths inside `state_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Wraps the configured directory.
    pub(crate) fn new(dir: &Path) -> StateDir {
        StateDir {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory itself.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `flock` file serializing swaps, clears and recoveries.
    pub(crate) fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The record of a swap in progress (from, to).
    pub(crate) fn intent(&self) -> PathBuf {
        self.dir.join("intent.json")
    }

    /// The persisted partial-swap latch.
    pub(crate) fn latch(&self) -> PathBuf {
        self.dir.join("latch.json")
    }

    /// Where an unreadable intent record is moved so that it stops
    /// blocking recovery, kept for the operator to read: a new name each
    /// time (the time in nanoseconds and the pid), so a long-running
    /// sidecar never moves a second one over the first.
    pub(crate) fn intent_aside(&self) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        self.dir.join(format!(
            "intent.json.unreadable-{nanos}-{}",
            std::process::id()
        ))
    }

    /// The journal of an adoption in progress (`homeswap adopt`).
    pub(crate) fn adopt_journal(&self) -> PathBuf {
        self.dir.join("adopt.json")
    }

    /// The accounts' limits and the last failover.
    pub(crate) fn limits(&self) -> PathBuf {
        self.dir.join("limits.json")
    }

    /// The accounts held out of failover (`account disable`).
    pub(crate) fn disabled(&self) -> PathBuf {
        self.dir.join("disabled.json")
    }

    /// The accounts' last known usage (the statusline's record).
    pub(crate) fn usage(&self) -> PathBuf {
        self.dir.join("usage.json")
    }

    /// The `flock` file serializing writes of the usage record (not the
    /// swaps' lock: a statusline must never wait for a swap).
    pub(crate) fn usage_lock(&self) -> PathBuf {
        self.dir.join("usage.lock")
    }

    /// The active link's recent flips (`flips`).
    pub(crate) fn flips(&self) -> PathBuf {
        self.dir.join("flips.json")
    }

    /// The fleet view: what the fleet's Prometheus knew of every
    /// account's limits and usage (written by the sidecar).
    pub(crate) fn fleet(&self) -> PathBuf {
        self.dir.join("fleet.json")
    }

    /// The journal of an init in progress (`homeswap init`).
    pub(crate) fn init_journal(&self) -> PathBuf {
        self.dir.join("init.json")
    }

    /// The append-only audit log.
    pub(crate) fn audit(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    /// Creates the directory (mode 0700) if it does not exist yet.
    pub(crate) fn create(&self) -> Result<(), FsError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .fs("create the state directory", &self.dir)
    }

    /// Writes a record as JSON at `path`, one of this directory's files,
    /// durably and privately (temp + rename + fsync, mode 0600). `op` says
    /// what is done in errors, e.g. "write the intent record".
    pub(crate) fn write_record<T: Serialize>(
        &self,
        path: &Path,
        op: &'static str,
        record: &T,
    ) -> Result<(), FsError> {
        self.write_json(path, op, record, atomic::write_file)
    }

    /// [`Self::write_record`] without the fsyncs (`atomic::write_file_unsynced`),
    /// for a record only running processes need.
    pub(crate) fn write_record_unsynced<T: Serialize>(
        &self,
        path: &Path,
        op: &'static str,
        record: &T,
    ) -> Result<(), FsError> {
        self.write_json(path, op, record, atomic::write_file_unsynced)
    }

    /// Both of the above: the record as JSON, written by `write`.
    fn write_json<T: Serialize>(
        &self,
        path: &Path,
        op: &'static str,
        record: &T,
        write: fn(&Path, &[u8], u32) -> Result<(), FsError>,
    ) -> Result<(), FsError> {
        self.create()?;
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(std::io::Error::other)
            .fs(op, path)?;
        write(path, &bytes, 0o600)
    }

    /// Reads a record written by [`Self::write_record`]; `None` when there
    /// is none. A FIFO, a device, a symlink or a file over [`RECORD_LIMIT`]
    /// is an error, never a hang or an unbounded read.
    pub(crate) fn read_record<T: DeserializeOwned>(
        path: &Path,
        read_op: &'static str,
        parse_op: &'static str,
    ) -> Result<Option<T>, FsError> {
        let bytes = match read_regular(path, RECORD_LIMIT, true) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(ReadError::Fs(e)) => return Err(FsError { op: read_op, ..e }),
            Err(e) => {
                return Err(FsError::new(
                    read_op,
                    path,
                    std::io::Error::other(e.to_string()),
                ))
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(std::io::Error::other)
            .fs(parse_op, path)
    }
}
