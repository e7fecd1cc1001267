//! The owner record of Claude Code's OAuth refresh lock,
//! `<config dir>/.oauth_refresh.lock.owner`, in Claude Code's own format
//! (2.1.328), so that a lock a crashed homeswap left is taken over by the
//! next Claude Code that needs it (at once, rather than after 60 s) and is
//! recognized by homeswap's own recovery.
//!
//! `{"pid", "procStart", "pidDomain", "pidSpace", "lockBirthtimeMs",
//! "legacyLockBirthtimeMs"}`: the process, its start (field 22 of
//! `/proc/<pid>/stat`, as text), `linux:<machine id>:<pid namespace>`,
//! `<host name>#<pid namespace>` (the namespace as `/proc/self/ns/pid`
//! reads, `pid:[4026531836]`), and the birth times of the two lock
//! directories in milliseconds, a float as JavaScript's `birthtimeMs`.
//! Claude Code takes a lock over when the record's birth time is the
//! lock's, its pid domain and space are Claude Code's own, and the pid is
//! gone (no such process, a zombie, or another process under a reused pid:
//! another start). homeswap judges a record by the same rules.

use std::ffi::OsStr;
use std::io::Read;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::fs::atomic;
use crate::fs::{DirFd, FsError};

/// The record's name in the home.
pub(super) const OWNER: &str = ".oauth_refresh.lock.owner";

/// The most of a record that is read (Claude Code reads 4 KiB).
const MAX_SIZE: u64 = 4096;

/// Who holds a refresh lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OwnerRecord {
    /// The holder's pid.
    pub(super) pid: i64,
    /// Its start, from `/proc/<pid>/stat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) proc_start: Option<String>,
    /// `linux:<machine id>:<pid namespace>`.
    pub(super) pid_domain: String,
    /// `<host name>#<pid namespace>`.
    pub(super) pid_space: String,
    /// The lock directory's birth time (ms).
    pub(super) lock_birthtime_ms: f64,
    /// The legacy lock's birth time (ms), when it holds that one too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) legacy_lock_birthtime_ms: Option<f64>,
}

/// This process as owner records name it, read once.
struct Me {
    proc_start: Option<String>,
    pid_domain: String,
    pid_space: String,
}

fn me() -> &'static Me {
    static ME: OnceLock<Me> = OnceLock::new();
    ME.get_or_init(|| {
        let ns = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let machine = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        Me {
            proc_start: proc_start(std::process::id() as i64),
            pid_domain: format!("linux:{}:{ns}", machine.trim()),
            pid_space: if ns.is_empty() {
                host.trim().to_string()
            } else {
                format!("{}#{ns}", host.trim())
            },
        }
    })
}

/// Field 22 of `/proc/<pid>/stat` (the start time), and whether the
/// process is a zombie (field 3); `None` when there is no such process.
fn stat_of(pid: i64) -> Option<(String, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    Some((fields.get(19)?.to_string(), fields.first() == Some(&"Z")))
}

fn proc_start(pid: i64) -> Option<String> {
    stat_of(pid).map(|(start, _)| start)
}

/// A birth time as JavaScript's `birthtimeMs` gives it.
pub(super) fn millis(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1_000_000.0
}

impl OwnerRecord {
    /// The record of this process holding a lock born at `lock` (and the
    /// legacy lock born at `legacy`).
    pub(super) fn mine(lock: f64, legacy: Option<f64>) -> OwnerRecord {
        let me = me();
        OwnerRecord {
            pid: i64::from(std::process::id()),
            proc_start: me.proc_start.clone(),
            pid_domain: me.pid_domain.clone(),
            pid_space: me.pid_space.clone(),
            lock_birthtime_ms: lock,
            legacy_lock_birthtime_ms: legacy,
        }
    }

    /// The record in `home`, if one is there and parses.
    pub(super) fn read(home: &DirFd) -> Option<OwnerRecord> {
        let file = home.open_file(OsStr::new(OWNER)).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_SIZE).read_to_end(&mut bytes).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes the record into `home` (temporary name, rename; no fsync:
    /// it describes a process, which a reboot ends anyway).
    pub(super) fn write(&self, home: &DirFd) -> Result<(), FsError> {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        atomic::write_file_volatile_in(home, OsStr::new(OWNER), &bytes, 0o600)
    }

    /// Removes the record from `home` if it is still `self` (the same
    /// holder of the same lock): another holder's record is left.
    pub(super) fn remove_if_same(&self, home: &DirFd) -> Result<(), FsError> {
        match OwnerRecord::read(home) {
            Some(r) if r.pid == self.pid && r.lock_birthtime_ms == self.lock_birthtime_ms => {
                match home.unlink(OsStr::new(OWNER)) {
                    Err(e) if !e.is(Errno::ENOENT) => Err(e),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Whether the record proves its holder gone, by Claude Code's rules:
    /// a pid of this pid namespace and host that names no process, a
    /// zombie, or a process started at another time.
    pub(super) fn holder_gone(&self) -> bool {
        let me = me();
        if self.pid_domain != me.pid_domain || self.pid_space != me.pid_space {
            return false;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return false;
        };
        if pid <= 1 {
            return false;
        }
        if kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH) {
            return true;
        }
        match (stat_of(self.pid), &self.proc_start) {
            (Some((_, true)), _) => true,
            (Some((start, false)), Some(recorded)) => &start != recorded,
            (None, _) => true,
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_claude_codes_format_and_names_this_process() {
        let r = OwnerRecord::mine(1796165200817.2263, Some(1796165200821.485));
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "legacyLockBirthtimeMs",
                "lockBirthtimeMs",
                "pid",
                "pidDomain",
                "pidSpace",
                "procStart"
            ]
        );
        assert_eq!(json["lockBirthtimeMs"], 1796165200817.2263);
        assert_eq!(json["pid"], std::process::id());
        assert!(r.pid_domain.starts_with("linux:"), "{}", r.pid_domain);
        assert!(
            r.pid_domain.ends_with(']') && r.pid_space.contains("#pid:["),
            "{r:?}"
        );
        assert!(!r.holder_gone(), "this process is alive");
    }

    #[test]
    fn a_holder_that_exited_or_whose_pid_was_reused_is_gone_and_a_foreign_one_is_not() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let mut r = OwnerRecord::mine(1.0, None);
        r.pid = i64::from(pid);
        assert!(r.holder_gone(), "an exited (reaped) process");
        let mut reused = OwnerRecord::mine(1.0, None);
        reused.proc_start = Some("1".into());
        assert!(reused.holder_gone(), "this pid, but another start");
        let mut foreign = r.clone();
        foreign.pid_space = "another-host#pid:[1]".into();
        assert!(!foreign.holder_gone(), "another pid space cannot be judged");
    }

    #[test]
    fn birth_times_are_milliseconds_with_their_fraction() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_796_165_200, 817_226_300);
        assert_eq!(millis(t), 1_796_165_200_817.226_3);
    }
}
