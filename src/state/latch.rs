//! The partial-swap latch: set when a swap's rollback failed too, so the
//! active link may point at an account whose shared links are broken.
//!
//! While it is set every swap is refused. There is one latch per process,
//! shared by every configuration the process runs under (a sidecar reload
//! rebinds it to the new state directory, it does not copy it). It lives in
//! `<state_dir>/latch.json`, so a crash or restart does not hide it, and in
//! memory, so it holds even when the disk refuses it. The memory knows
//! whether the file was written:
//!
//! - file present: the file is the latch (another process may have set it);
//! - file gone, memory persisted: an operator cleared it (`homeswap latch
//!   clear` from any process), so this process forgets it too;
//! - file gone, memory never persisted: it still holds, and says how to
//!   clear it (this process's admin API, or a restart once repaired).
//!
//! Only an operator clears it, and only once the active account validates
//! `ok` again.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::fs::pathfmt::one_line;
use crate::fs::pathfmt::shown;
use crate::state::StateDir;

/// What the latch records about the swap that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatchRecord {
    /// RFC 3339 time it was set.
    pub(crate) set_at: String,
    /// The account that was active before the failed swap.
    pub(crate) from: Option<String>,
    /// The account the swap went to.
    pub(crate) to: String,
    /// The errors of the ensure and the rollback.
    pub(crate) errors: Vec<String>,
    /// The process that set it.
    pub(crate) pid: u32,
    /// Set when the latch file exists but cannot be read or parsed: the
    /// latch then counts as set (refusing swaps is the safe side) and this
    /// says why; the other fields are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unreadable: Option<String>,
    /// Set when the latch could not be written to its file and holds in
    /// the memory of the process that set it only: says which process and
    /// how to clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) memory_only: Option<String>,
}

impl LatchRecord {
    /// A latch set now by this process for a swap `from` -> `to`.
    pub(crate) fn new(from: Option<String>, to: &str, errors: Vec<String>) -> LatchRecord {
        LatchRecord {
            set_at: crate::state::audit::now_rfc3339(),
            from,
            to: to.to_string(),
            errors,
            pid: std::process::id(),
            unreadable: None,
            memory_only: None,
        }
    }

    fn unreadable(why: String) -> LatchRecord {
        LatchRecord {
            set_at: String::new(),
            from: None,
            to: String::new(),
            errors: Vec::new(),
            pid: 0,
            unreadable: Some(why),
            memory_only: None,
        }
    }

    /// The latch as one problem line (validate, `/readyz`, status), in
    /// words that fit the CLI and the API alike.
    pub(crate) fn problem_line(&self) -> String {
        let end = match self.unreadable {
            Some(_) => "until it is cleared",
            None => "until the links are repaired and it is cleared",
        };
        format!(
            "the partial-swap latch is set{}; every swap is refused {end}",
            self.what()
        )
    }

    /// Its errors one per line (and the memory-only note), or why the file
    /// could not be read.
    pub(crate) fn errors_or_why(&self) -> Vec<String> {
        match &self.unreadable {
            Some(why) => vec![why.clone()],
            None => self
                .errors
                .iter()
                .cloned()
                .chain(self.memory_only.clone())
                .collect(),
        }
    }

    /// What set it, after "set" (` since T (swap a -> b) by pid N: errors`),
    /// or, for an unreadable file, `: why` and what clearing does.
    pub(crate) fn describe(&self) -> String {
        match self.unreadable {
            Some(_) => format!(
                "{}; it counts as set, so every swap is refused; read it, repair the links, then 'homeswap latch clear --reason TEXT' removes the file",
                self.what()
            ),
            None => self.what(),
        }
    }

    /// The part both lines share, on one line: control characters (the
    /// errors come from a file another process wrote) are escaped.
    fn what(&self) -> String {
        let line = match &self.unreadable {
            Some(why) => format!(": {why}"),
            None => format!(
                " since {} (swap {} -> {}) by pid {}{}",
                self.set_at,
                self.from.as_deref().unwrap_or("(none)"),
                self.to,
                self.pid,
                self.details()
            ),
        };
        one_line(&line)
    }

    /// `: errors` and the memory-only note, when there are any.
    fn details(&self) -> String {
        let mut s = String::new();
        if !self.errors.is_empty() {
            s.push_str(": ");
            s.push_str(&self.errors.join("; "));
        }
        if let Some(m) = &self.memory_only {
            s.push_str("; ");
            s.push_str(m);
        }
        s
    }
}

/// The process-wide memory of the latch.
#[derive(Debug)]
struct Held {
    record: LatchRecord,
    /// Where it was written, once it was.
    persisted_at: Option<PathBuf>,
}

/// The latch as seen from one state directory; clones of the process's
/// latch share one memory.
#[derive(Debug)]
pub(crate) struct PartialSwapLatch {
    state: StateDir,
    held: Arc<Mutex<Option<Held>>>,
}

impl PartialSwapLatch {
    /// A new process latch backed by `state`; nothing is read until
    /// [`Self::current`].
    pub(crate) fn new(state: StateDir) -> PartialSwapLatch {
        PartialSwapLatch {
            state,
            held: Arc::new(Mutex::new(None)),
        }
    }

    /// The same latch seen from another state directory (a reload): a latch
    /// held in memory keeps holding; one persisted under the old directory
    /// holds while its file is there.
    pub(crate) fn rebind(&self, state: StateDir) -> PartialSwapLatch {
        PartialSwapLatch {
            state,
            held: Arc::clone(&self.held),
        }
    }

    /// The latch as set now; `None` when clear. See the module docs for how
    /// the file and the memory decide.
    pub(crate) fn current(&self) -> Option<LatchRecord> {
        let path = self.state.latch();
        let on_disk = read_file(&path);
        if let Some(FileLatch::Valid(found)) = on_disk {
            return Some(found);
        }
        let mut held = self.memory();
        let Some(h) = held.as_ref() else {
            // Nothing in memory: an unreadable file still counts as set.
            return on_disk.map(FileLatch::into_record);
        };
        if on_disk.is_some() {
            // Unreadable, but this process knows what set it.
            return Some(h.record.clone());
        }
        match &h.persisted_at {
            None => Some(h.record.clone()),
            // The state directory changed since: the old file still decides.
            Some(old) if *old != path => match read_file(old) {
                Some(found) => Some(found.into_record()),
                None => {
                    *held = None;
                    None
                }
            },
            // Its file is gone: an operator cleared it from another process.
            Some(_) => {
                *held = None;
                None
            }
        }
    }

    /// Sets the latch: in memory first, then on disk. An error means the
    /// latch holds in this process only; the record then says so.
    pub(crate) fn set(&self, mut record: LatchRecord) -> Result<(), FsError> {
        let path = self.state.latch();
        let written = self.persist(&record);
        if let Err(e) = &written {
            record.memory_only = Some(format!(
                "held in the memory of pid {} only, because {e}; clear it through that process's admin API (POST /api/v1/latch/clear), or repair the links and restart it",
                record.pid
            ));
        }
        *self.memory() = Some(Held {
            record,
            persisted_at: written.is_ok().then_some(path),
        });
        written
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
    pub(crate) fn clear(&self) -> Result<(), FsError> {
        atomic::remove_file(&self.state.latch())?;
        let mut held = self.memory();
        // Written under a state dir a reload has moved away from: that file
        // goes too, or a process still on the old configuration would
        // find the latch set.
        if let Some(old) = held.as_ref().and_then(|h| h.persisted_at.as_ref()) {
            if *old != self.state.latch() {
                atomic::remove_file(old)?;
            }
        }
        *held = None;
        Ok(())
    }

    fn memory(&self) -> MutexGuard<'_, Option<Held>> {
        // A panic while holding this lock cannot leave the Option torn.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a latch file holds.
enum FileLatch {
    /// A latch record.
    Valid(LatchRecord),
    /// Something that cannot be read or parsed (a FIFO, a directory,
    /// garbage, a huge file): it counts as set.
    Unreadable(LatchRecord),
}

impl FileLatch {
    fn into_record(self) -> LatchRecord {
        match self {
            FileLatch::Valid(r) | FileLatch::Unreadable(r) => r,
        }
    }
}

/// The latch file at `path`, if there is one.
fn read_file(path: &std::path::Path) -> Option<FileLatch> {
    match StateDir::read_record::<LatchRecord>(path, "read the latch file", "parse the latch file")
    {
        Ok(found) => found.map(FileLatch::Valid),
        Err(e) => Some(FileLatch::Unreadable(LatchRecord::unreadable(format!(
            "the latch file {} is unreadable ({e})",
            shown(path)
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latch() -> (tempfile::TempDir, PartialSwapLatch) {
        let dir = tempfile::tempdir().unwrap();
        let l = PartialSwapLatch::new(StateDir::new(dir.path()));
        (dir, l)
    }

    #[test]
    fn a_persisted_latch_whose_file_an_operator_removed_is_clear_in_every_process() {
        let (dir, sidecar) = latch();
        sidecar
            .set(LatchRecord::new(Some("a".into()), "b", vec!["x".into()]))
            .unwrap();
        assert!(sidecar.current().is_some());
        // Another process (the CLI) clears it: the file goes.
        PartialSwapLatch::new(StateDir::new(dir.path()))
            .clear()
            .unwrap();
        assert_eq!(sidecar.current(), None);
    }

    #[test]
    fn a_latch_that_could_not_be_written_holds_and_says_how_to_clear_it() {
        let dir = tempfile::tempdir().unwrap();
        // The state dir is a regular file: nothing can be written under it.
        let file = dir.path().join("state");
        std::fs::write(&file, b"").unwrap();
        let l = PartialSwapLatch::new(StateDir::new(&file));
        assert!(l.set(LatchRecord::new(None, "b", vec![])).is_err());
        let held = l.current().expect("still set");
        let why = held.memory_only.expect("says it is in memory only");
        assert!(why.contains("POST /api/v1/latch/clear"), "{why}");
    }

    #[test]
    fn a_rebound_latch_is_the_same_latch() {
        let (dir, l) = latch();
        let other = tempfile::tempdir().unwrap();
        let reloaded = l.rebind(StateDir::new(other.path()));
        l.set(LatchRecord::new(None, "b", vec![])).unwrap();
        // Set through the old binding after the reload: seen through the new.
        assert!(reloaded.current().is_some());
        std::fs::remove_file(dir.path().join("latch.json")).unwrap();
        assert_eq!(reloaded.current(), None);
    }

    #[test]
    fn an_unreadable_latch_file_counts_as_set_and_says_where_it_is() {
        let (dir, l) = latch();
        std::fs::write(dir.path().join("latch.json"), b"{not json").unwrap();
        let r = l.current().expect("counts as set");
        let line = r.describe();
        assert!(line.contains("latch.json is unreadable"), "{line}");
        assert!(line.contains("latch clear"), "{line}");
        assert!(!line.contains("pid 0"), "{line}");
    }

    #[test]
    fn clearing_after_a_reload_removes_the_file_under_the_old_state_dir_too() {
        let (old_dir, l) = latch();
        l.set(LatchRecord::new(None, "b", vec![])).unwrap();
        let new_dir = tempfile::tempdir().unwrap();
        let reloaded = l.rebind(StateDir::new(new_dir.path()));
        assert!(reloaded.current().is_some(), "the old file still decides");
        reloaded.clear().unwrap();
        assert!(!old_dir.path().join("latch.json").exists());
        assert_eq!(l.current(), None, "clear for the old configuration too");
    }
}
