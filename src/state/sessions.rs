//! What homeswap knows of each Claude Code session, two small records per
//! session in `<state_dir>/sessions/`:
//!
//! - `<session_id>.json`, written atomically at `SessionStart` by the hook:
//!   when the session started (every request of it went out later) and on
//!   which account;
//! - `<session_id>.status.json`, written by the status line when an update
//!   brought new numbers ([`StatusSeen`]): the counters and `rate_limits`
//!   it last saw (an update that repeats them reports no new request), and
//!   the account it recorded them for. Rewritten often, so without fsync:
//!   it only describes the running session.
//!
//! Two files, so that the hook and the status line never overwrite each
//! other's. Records older than [`KEEP`] are pruned when a session starts.
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

use crate::fs::atomic::{write_file_in, write_file_volatile_in};
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

/// The name ending of a status record.
const STATUS_SUFFIX: &str = ".status.json";

/// One session's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    /// The account the session started on.
    pub(crate) account: String,
    /// RFC 3339 time it started.
    pub(crate) started: String,
    /// The same to the millisecond (Unix ms), when the record has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started_ms: Option<u64>,
}

impl SessionRecord {
    /// Unix nanoseconds it started (to the millisecond, or to the second
    /// for a record without it, rounded down), when the time reads.
    pub(crate) fn started_ns(&self) -> Option<u64> {
        if let Some(ms) = self.started_ms {
            return ms.checked_mul(1_000_000);
        }
        let t = humantime::parse_rfc3339(&self.started).ok()?;
        let d = t.duration_since(UNIX_EPOCH).ok()?;
        u64::try_from(d.as_nanos()).ok()
    }
}

/// One window of `rate_limits` as a status update reported it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct SeenWindow {
    /// Percent used.
    pub(crate) used_percentage: f64,
    /// Unix seconds it resets, when given.
    #[serde(default)]
    pub(crate) resets_at: Option<u64>,
}

/// What the status line last saw of a session, and what it made of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatusSeen {
    /// `prompt_cache.requests` (successful requests so far).
    #[serde(default)]
    pub(crate) requests: Option<u64>,
    /// `cost.total_api_duration_ms`.
    #[serde(default)]
    pub(crate) api_ms: Option<u64>,
    /// `rate_limits.five_hour`.
    #[serde(default)]
    pub(crate) five_hour: Option<SeenWindow>,
    /// `rate_limits.seven_day`.
    #[serde(default)]
    pub(crate) seven_day: Option<SeenWindow>,
    /// The account those numbers were recorded for; `None`: which account
    /// served their request could not be told, and nothing was recorded.
    #[serde(default)]
    pub(crate) account: Option<String>,
    /// The transcript id of the request they came from, when it was read.
    #[serde(default)]
    pub(crate) request: Option<String>,
}

impl StatusSeen {
    /// Whether `other` reports the same counters and numbers: no new
    /// request since (Claude Code repeats `rate_limits` exactly then).
    pub(crate) fn same_report(&self, other: &StatusSeen) -> bool {
        self.requests == other.requests
            && self.api_ms == other.api_ms
            && self.five_hour == other.five_hour
            && self.seven_day == other.seven_day
    }
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

/// The status record's file name for session `id`.
fn status_name(id: &str) -> OsString {
    OsString::from(format!("{id}{STATUS_SUFFIX}"))
}

/// True for a name a session record has: `<safe id>.json` or `<safe
/// id>.status.json`.
fn is_record_name(name: &OsStr) -> bool {
    name.to_str()
        .and_then(|n| {
            n.strip_suffix(STATUS_SUFFIX)
                .or_else(|| n.strip_suffix(".json"))
        })
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
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let record = SessionRecord {
        account: account.to_string(),
        started: now_rfc3339(),
        started_ms: u64::try_from(now.as_millis()).ok(),
    };
    let name = record_name(id);
    let bytes = serde_json::to_vec_pretty(&record)
        .map_err(std::io::Error::other)
        .fs("write the session record", &dir.join(&name))?;
    write_file_in(&dir, &name, &bytes, 0o600).map_err(|e| e.doing("write the session record"))
}

/// Session `id`'s record, if it was remembered.
pub(crate) fn recall(state: &StateDir, id: &str) -> Result<Option<SessionRecord>, FsError> {
    read_record(state, &record_name(id), "session record")
}

/// What the status line last saw of session `id`, if anything.
pub(crate) fn seen(state: &StateDir, id: &str) -> Result<Option<StatusSeen>, FsError> {
    read_record(state, &status_name(id), "session status record")
}

/// Records what the status line saw of session `id` (not durable: see
/// the module documentation).
pub(crate) fn see(state: &StateDir, id: &str, seen: &StatusSeen) -> Result<(), FsError> {
    let Some(dir) = open(state, true)? else {
        let path = state.dir().join(DIR_NAME);
        return Err(FsError::new(
            "create the sessions directory",
            &path,
            Errno::ENOENT,
        ));
    };
    let name = status_name(id);
    let bytes = serde_json::to_vec(seen)
        .map_err(std::io::Error::other)
        .fs("write the session status record", &dir.join(&name))?;
    write_file_volatile_in(&dir, &name, &bytes, 0o600)
        .map_err(|e| e.doing("write the session status record"))
}

/// The record `name` in the sessions directory, bounded, never through a
/// link; `None` when there is none.
fn read_record<T: serde::de::DeserializeOwned>(
    state: &StateDir,
    name: &OsStr,
    what: &str,
) -> Result<Option<T>, FsError> {
    let Some(dir) = open(state, false)? else {
        return Ok(None);
    };
    let path = dir.join(name);
    let file = match dir.open_file(name) {
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
            std::io::Error::other(format!("the {what} is larger than {RECORD_LIMIT} bytes")),
        ));
    }
    serde_json::from_slice::<T>(&bytes)
        .map(Some)
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
        let r = recall(&state, "s-1").unwrap().unwrap();
        assert_eq!(r.account, "a");
        let started = r.started_ns().unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(now.as_nanos() as u64 - started < 2_000_000_000, "{started}");
        remember(&state, "s-1", "b").unwrap();
        assert_eq!(recall(&state, "s-1").unwrap().unwrap().account, "b");
        assert_eq!(prune(&state), 0);
    }

    #[test]
    fn the_status_record_is_kept_beside_the_hooks_and_compared_by_report() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(seen(&state, "s-1").unwrap(), None);
        let first = StatusSeen {
            requests: Some(3),
            api_ms: Some(823),
            five_hour: Some(SeenWindow {
                used_percentage: 94.99999999999999,
                resets_at: Some(1_796_000_000),
            }),
            seven_day: None,
            account: Some("a".into()),
            request: Some("r3".into()),
        };
        see(&state, "s-1", &first).unwrap();
        remember(&state, "s-1", "a").unwrap();
        let back = seen(&state, "s-1").unwrap().unwrap();
        assert_eq!(back, first, "a double reads back the same");
        assert_eq!(recall(&state, "s-1").unwrap().unwrap().account, "a");
        let same = StatusSeen {
            account: None,
            request: None,
            ..first.clone()
        };
        assert!(first.same_report(&same), "the account is not the report");
        let moved = StatusSeen {
            requests: Some(4),
            ..first.clone()
        };
        assert!(!first.same_report(&moved));
        assert!(is_record_name(OsStr::new("s-1.status.json")));
    }

    #[test]
    fn only_a_safe_id_and_json_make_a_record_name() {
        for good in ["s-1.json", "0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.json"] {
            assert!(is_record_name(OsStr::new(good)), "{good}");
        }
        for bad in [
            "README.txt",
            ".json",
            ".status.json",
            "a.b.status.json",
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
