//! Which account each Claude Code session started on: one small record per
//! session, `<state_dir>/sessions/<session_id>.json`, written atomically at
//! `SessionStart` and read at `StopFailure`. Records older than
//! [`KEEP`] are pruned when a session starts.
//!
//! The directory is reached from the state dir's descriptor without
//! following a symlink (`openat(O_NOFOLLOW)`), and every record by name
//! from its own descriptor: a `sessions` planted as a link to elsewhere is
//! refused, never written to, read from or pruned. The prune removes only
//! regular files named like a record (`<safe id>.json`), nothing else a
//! person may have put there.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::fs::atomic::write_file_in;
use crate::fs::error::{FsContext, FsError};
use crate::fs::{DirFd, EntryKind};
use crate::state::audit::now_rfc3339;
use crate::state::{StateDir, RECORD_LIMIT};

/// How long a session's record is kept.
pub(crate) const KEEP: Duration = Duration::from_secs(14 * 24 * 3600);

/// The most records one prune looks at, so a hook stays fast however many
/// accumulate.
const PRUNE_AT_MOST: usize = 256;

/// The directory's name in the state dir.
const DIR_NAME: &str = "sessions";

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

/// The record's file name for session `id`.
fn record_name(id: &str) -> OsString {
    OsString::from(format!("{id}.json"))
}

/// True for a name a session record has: `<safe id>.json`.
fn is_record_name(name: &OsStr) -> bool {
    name.to_str()
        .and_then(|n| n.strip_suffix(".json"))
        .is_some_and(is_safe_id)
}

/// Opens `<state_dir>/sessions`, refusing a symlink or anything else that
/// is not a directory; `Ok(None)` when it does not exist and `create` is
/// false. With `create`, the state dir and the directory are made (0700).
fn open(state: &StateDir, create: bool) -> Result<Option<DirFd>, FsError> {
    if create {
        state.create()?;
    }
    let top = match DirFd::open_following(state.dir()) {
        Err(e) if e.is(Errno::ENOENT) && !create => return Ok(None),
        r => r?,
    };
    let name = OsStr::new(DIR_NAME);
    match top.kind(name)? {
        None if !create => return Ok(None),
        None => match top.mkdir(name, 0o700) {
            Err(e) if !e.is(Errno::EEXIST) => return Err(e.doing("create the sessions directory")),
            _ => {}
        },
        Some(EntryKind::Dir) => {}
        Some(kind) => return Err(not_a_dir(&top, kind)),
    }
    match top.open_dir(name) {
        Ok(dir) => Ok(Some(dir)),
        // Swapped for a link since it was looked at.
        Err(e) if e.is(Errno::ELOOP) || e.is(Errno::ENOTDIR) => {
            let kind = top.kind(name)?.unwrap_or(EntryKind::Other);
            Err(not_a_dir(&top, kind))
        }
        Err(e) => Err(e),
    }
}

/// The refusal of a `sessions` entry that is not a plain directory.
fn not_a_dir(top: &DirFd, kind: EntryKind) -> FsError {
    let name = OsStr::new(DIR_NAME);
    let path = top.join(name);
    let what = match (kind, top.read_link(name)) {
        (EntryKind::Symlink, Ok(to)) => {
            format!("it is a symlink (to {})", crate::fs::pathfmt::shown(&to))
        }
        _ => format!("it is {kind}"),
    };
    FsError::new(
        "use the sessions directory",
        &path,
        std::io::Error::other(format!(
            "{what}, not a directory; homeswap never writes, reads or prunes session records through it: remove it (a link's target is left alone) and a directory is made at the next SessionStart"
        )),
    )
}

/// Remembers that session `id` started on `account` (`id` checked by the
/// caller with [`is_safe_id`]).
pub(crate) fn remember(state: &StateDir, id: &str, account: &str) -> Result<(), FsError> {
    let Some(dir) = open(state, true)? else {
        // `open` with `create` answers a directory or an error.
        let path = state.dir().join(DIR_NAME);
        return Err(FsError::new(
            "create the sessions directory",
            &path,
            Errno::ENOENT,
        ));
    };
    let record = SessionRecord {
        account: account.to_string(),
        started: now_rfc3339(),
    };
    let name = record_name(id);
    let bytes = serde_json::to_vec_pretty(&record)
        .map_err(std::io::Error::other)
        .fs("write the session record", &dir.join(&name))?;
    write_file_in(&dir, &name, &bytes, 0o600).map_err(|e| e.doing("write the session record"))
}

/// The account session `id` started on, if it was remembered.
pub(crate) fn recall(state: &StateDir, id: &str) -> Result<Option<String>, FsError> {
    let Some(dir) = open(state, false)? else {
        return Ok(None);
    };
    let name = record_name(id);
    let path = dir.join(&name);
    let file = match dir.open_file(&name) {
        Err(e) if e.is(Errno::ENOENT) => return Ok(None),
        r => r.map_err(|e| e.doing("read the session record"))?,
    };
    let mut bytes = Vec::new();
    file.take(RECORD_LIMIT + 1)
        .read_to_end(&mut bytes)
        .fs("read the session record", &path)?;
    if bytes.len() as u64 > RECORD_LIMIT {
        return Err(FsError::new(
            "read the session record",
            &path,
            std::io::Error::other(format!("it is larger than {RECORD_LIMIT} bytes")),
        ));
    }
    serde_json::from_slice::<SessionRecord>(&bytes)
        .map(|r| Some(r.account))
        .map_err(std::io::Error::other)
        .fs("parse the session record", &path)
}

/// Removes session records older than [`KEEP`] (best effort; at most a
/// bounded number looked at per call): regular files named `<safe
/// id>.json`, nothing else. Returns how many went.
pub(crate) fn prune(state: &StateDir) -> usize {
    let Ok(Some(dir)) = open(state, false) else {
        return 0;
    };
    let mut candidates = Vec::new();
    let _ = dir.scan(|name, kind| {
        let maybe_file = matches!(kind, None | Some(EntryKind::File));
        if candidates.len() < PRUNE_AT_MOST && maybe_file && is_record_name(name) {
            candidates.push(name.to_os_string());
        }
    });
    let now = SystemTime::now();
    candidates
        .iter()
        .filter(|name| {
            dir.stat(name)
                .ok()
                .flatten()
                .filter(|st| EntryKind::of(st) == EntryKind::File)
                .and_then(|st| u64::try_from(st.st_mtime).ok())
                .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > KEEP)
        })
        .filter(|name| dir.unlink(name).is_ok())
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
    fn only_a_safe_id_and_json_make_a_record_name() {
        for good in ["s-1.json", "0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.json"] {
            assert!(is_record_name(OsStr::new(good)), "{good}");
        }
        for bad in [
            "README.txt",
            ".json",
            "a b.json",
            "s.json.bak",
            "s.JSON",
            "s",
        ] {
            assert!(!is_record_name(OsStr::new(bad)), "{bad}");
        }
    }

    #[test]
    fn only_plain_ids_are_file_names() {
        assert!(is_safe_id("0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
        for bad in ["", "../x", "a/b", ".", "..", "a b", "é", &"x".repeat(129)] {
            assert!(!is_safe_id(bad), "{bad:?}");
        }
    }
}
