//! Processes that keep a file open for writing, found in `/proc`. A merge
//! replaces the target by a rename: a process that holds the old file open
//! (not Claude Code, which opens it for each append, under its lock) would
//! go on writing into the replaced file and lose every line from then on.
//! So a merge looks first and refuses while one does.
//!
//! A descriptor seen twice, [`SETTLE`] apart, counts: one opened for a
//! single append and closed again is not a keeper. Only the processes this
//! user may inspect are seen (all of them for root).

use std::path::PathBuf;
use std::time::Duration;

use std::os::unix::fs::MetadataExt;

/// The gap between the two looks.
const SETTLE: Duration = Duration::from_millis(30);

/// A process holding a file open for writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Writer {
    /// Its pid.
    pub pid: i32,
    /// Its command name (`/proc/<pid>/comm`, control characters dropped).
    pub name: String,
}

/// The processes other than this one that keep the file `(dev, ino)` open
/// for writing, by two looks [`SETTLE`] apart.
pub(crate) fn keeping_open(dev: u64, ino: u64) -> Vec<Writer> {
    let first = descriptors(dev, ino);
    if first.is_empty() {
        return Vec::new();
    }
    std::thread::sleep(SETTLE);
    let second = descriptors(dev, ino);
    let mut pids: Vec<i32> = first
        .iter()
        .filter(|d| second.contains(d))
        .map(|(pid, _)| *pid)
        .collect();
    pids.dedup();
    pids.into_iter()
        .map(|pid| Writer {
            pid,
            name: std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .collect(),
        })
        .collect()
}

/// Every `(pid, fd)` open for writing on `(dev, ino)`, this process left
/// out, sorted.
fn descriptors(dev: u64, ino: u64) -> Vec<(i32, u32)> {
    let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Some(n) = fd.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let link = PathBuf::from(format!("/proc/{pid}/fd/{n}"));
            let same = std::fs::metadata(&link).is_ok_and(|m| m.dev() == dev && m.ino() == ino);
            if same && pid != me && writable(pid, n) {
                found.push((pid, n));
            }
        }
    }
    found.sort_unstable();
    found
}

/// Whether descriptor `fd` of `pid` was opened for writing (the access
/// mode in `/proc/<pid>/fdinfo/<fd>`'s octal `flags`).
fn writable(pid: i32, fd: u32) -> bool {
    let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
        return false;
    };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_process_keeping_the_file_open_for_writing_is_found_and_a_reader_is_not() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("history.jsonl");
        std::fs::write(&f, b"").unwrap();
        let m = std::fs::metadata(&f).unwrap();
        let reader = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec sleep 30 < \"$0\"")
            .arg(&f)
            .spawn()
            .unwrap();
        let writer = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec sleep 30 >> \"$0\"")
            .arg(&f)
            .spawn()
            .unwrap();
        let pid = |c: &std::process::Child| i32::try_from(c.id()).unwrap();
        let mut found = Vec::new();
        for _ in 0..200 {
            found = keeping_open(m.dev(), m.ino());
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let pids: Vec<i32> = found.iter().map(|w| w.pid).collect();
        assert_eq!(pids, [pid(&writer)], "{found:?}");
        assert_eq!(found[0].name, "sleep");
        for mut c in [reader, writer] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
