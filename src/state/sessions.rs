//! Which account each Claude Code session started on: one small record per
//! session, `<state_dir>/sessions/<session_id>.json`, written atomically at
//! `SessionStart` and read at `StopFailure`. Records older than
//! [`KEEP`] are pruned when a session starts.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::fs::error::{FsContext, FsError};
use crate::state::audit::now_rfc3339;
use crate::state::StateDir;

/// How long a session's record is kept.
pub(crate) const KEEP: Duration = Duration::from_secs(14 * 24 * 3600);

/// The most records one prune looks at, so a hook stays fast however many
/// accumulate.
const PRUNE_AT_MOST: usize = 256;

/// One session's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    /// The account the session started on.
    pub(crate) account: String,
    /// RFC 3339 time it started.
    pub(crate) started: String,
}

/// True for a session id that is safe as a file name: 1 to 128 ASCII
/// letters, digits, `-` and `_` (Claude Code's are UUIDs).
pub(crate) fn is_safe_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn path(state: &StateDir, id: &str) -> PathBuf {
    state.sessions().join(format!("{id}.json"))
}

/// Remembers that session `id` started on `account` (`id` checked by the
/// caller with [`is_safe_id`]).
pub(crate) fn remember(state: &StateDir, id: &str, account: &str) -> Result<(), FsError> {
    state.create()?;
    let dir = state.sessions();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .fs("create the sessions directory", &dir)?;
    let record = SessionRecord {
        account: account.to_string(),
        started: now_rfc3339(),
    };
    state.write_record(&path(state, id), "write the session record", &record)
}

/// The account session `id` started on, if it was remembered.
pub(crate) fn recall(state: &StateDir, id: &str) -> Result<Option<String>, FsError> {
    StateDir::read_record::<SessionRecord>(
        &path(state, id),
        "read the session record",
        "parse the session record",
    )
    .map(|r| r.map(|r| r.account))
}

/// Removes records older than [`KEEP`] (best effort; at most a bounded
/// number looked at per call). Returns how many went.
pub(crate) fn prune(state: &StateDir) -> usize {
    let Ok(entries) = std::fs::read_dir(state.sessions()) else {
        return 0;
    };
    let now = SystemTime::now();
    entries
        .flatten()
        .take(PRUNE_AT_MOST)
        .filter(|e| {
            e.metadata()
                .ok()
                .filter(|m| m.file_type().is_file())
                .and_then(|m| m.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > KEEP)
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_remembered_and_recalled() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(recall(&state, "s-1").unwrap(), None);
        remember(&state, "s-1", "a").unwrap();
        assert_eq!(recall(&state, "s-1").unwrap().as_deref(), Some("a"));
        remember(&state, "s-1", "b").unwrap();
        assert_eq!(recall(&state, "s-1").unwrap().as_deref(), Some("b"));
        assert_eq!(prune(&state), 0);
    }

    #[test]
    fn only_plain_ids_are_file_names() {
        assert!(is_safe_id("0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
        for bad in ["", "../x", "a/b", ".", "..", "a b", "é", &"x".repeat(129)] {
            assert!(!is_safe_id(bad), "{bad:?}");
        }
    }
}
