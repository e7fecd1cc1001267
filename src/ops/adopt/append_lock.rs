//! Claude Code's own lock on a JSONL file it appends to (`history.jsonl`):
//! the directory `<realpath of the file>.lock`, made with `mkdir` (the
//! proper-lockfile scheme, stale after 10 s without a touch). Claude Code
//! takes it around every append (open `O_APPEND`, one write, close), so a
//! merge that holds it sees no append of Claude Code in between, and loses
//! none to the rename.
//!
//! - Taking it: `mkdirat` in the file's directory, reached by descriptor, so
//!   it is the real directory that Claude Code's realpath names.
//! - Held by another: tried again every 10 ms for at most [`WAIT`]; a lock
//!   untouched for [`STALE`] belongs to a holder that died (Claude Code's
//!   own rule): removed with `rmdir` (never recursive) and taken.
//! - While held: touched every second ([`while_locked`]), so it never looks
//!   stale to Claude Code.
//! - Released on drop, on every path, and only if the directory is still
//!   the one made and last touched here (its inode and modification time):
//!   a lock someone else took over (or made anew) is left.

use std::ffi::{OsStr, OsString};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::stat::FileStat;

use crate::fs::{DirFd, EntryKind, FsError};

/// Claude Code's staleness: a lock untouched this long has no live holder.
pub(crate) const STALE: Duration = Duration::from_secs(10);

/// How long a merge waits for Claude Code to release its lock: it holds
/// it for one append (milliseconds); a lock that stays is waited out until
/// it is stale (a holder that died, e.g. an adopt killed mid-merge), then
/// taken over.
pub(crate) const WAIT: Duration = Duration::from_secs(STALE.as_secs() + 2);

/// How often a held lock is tried again.
const RETRY: Duration = Duration::from_millis(10);

/// How often a lock this process holds is touched.
const TOUCH_EVERY: Duration = Duration::from_secs(1);

/// What [`AppendLock::take`] is doing, in errors.
const OP: &str = "take Claude Code's append lock";

/// Holding this means holding Claude Code's lock on one file.
#[derive(Debug)]
pub(crate) struct AppendLock<'a> {
    /// The directory of the file (and of its lock).
    dir: &'a DirFd,
    /// `<file>.lock`.
    name: OsString,
    /// The lock directory as this process last left it.
    mine: Mutex<Option<Stamp>>,
}

/// What tells the lock directory this process made from another one of
/// the same name: its inode and the time it was last touched here.
type Stamp = (u64, i64, i64);

fn stamp(st: &FileStat) -> Stamp {
    (st.st_ino, st.st_mtime, st.st_mtime_nsec)
}

impl<'a> AppendLock<'a> {
    /// Takes the lock of the file `file` of `dir`, waiting at most `wait`
    /// for a live holder (see the module's head).
    pub(crate) fn take(dir: &'a DirFd, file: &OsStr, wait: Duration) -> Result<Self, FsError> {
        let mut name = file.to_os_string();
        name.push(".lock");
        let end = Instant::now() + wait;
        loop {
            match dir.mkdir(&name, 0o700) {
                Ok(()) => {
                    let mine = Mutex::new(dir.stat(&name)?.as_ref().map(stamp));
                    return Ok(AppendLock { dir, name, mine });
                }
                Err(e) if e.is(Errno::EEXIST) => {}
                Err(e) => return Err(e.doing(OP)),
            }
            let Some(st) = dir.stat(&name)? else {
                continue; // released meanwhile
            };
            let kind = EntryKind::of(&st);
            if kind != EntryKind::Dir {
                return Err(refusal(
                    dir,
                    &name,
                    format!("it is {kind}, not a lock directory; move it away"),
                ));
            }
            let age = age(&st);
            if age > STALE {
                remove_stale(dir, &name, st.st_ino)?;
                continue;
            }
            if Instant::now() >= end {
                return Err(refusal(
                    dir,
                    &name,
                    format!(
                        "a Claude Code session holds it (touched {:.1}s ago) and did not release it within {}s; run adopt again in a moment",
                        age.as_secs_f64(),
                        wait.as_secs()
                    ),
                ));
            }
            std::thread::sleep(RETRY);
        }
    }

    /// Whether the lock directory is still the one this process left.
    fn still_mine(&self) -> bool {
        let now = self.dir.stat(&self.name).ok().flatten();
        let mine = *self.mine.lock().unwrap_or_else(|p| p.into_inner());
        mine.is_some() && now.as_ref().map(stamp) == mine
    }

    /// Marks the lock as alive (best effort), if it is still this
    /// process's.
    fn touch(&self) {
        if self.still_mine() && self.dir.touch(&self.name).is_ok() {
            let now = self.dir.stat(&self.name).ok().flatten();
            *self.mine.lock().unwrap_or_else(|p| p.into_inner()) = now.as_ref().map(stamp);
        }
    }
}

impl Drop for AppendLock<'_> {
    fn drop(&mut self) {
        if self.still_mine() {
            let _ = self.dir.rmdir(&self.name);
        }
    }
}

/// Waits, at most `wait`, until the lock of `file` in `dir` is free or
/// stale, and removes a stale one; best effort (the take under the state
/// lock decides). Called before the state lock when an adoption was
/// interrupted: the lock a killed merge left behind goes stale here,
/// while swaps and failovers go on, not under the state lock. Whether it
/// had to wait.
pub(crate) fn wait_out(dir: &DirFd, file: &OsStr, wait: Duration) -> bool {
    let mut name = file.to_os_string();
    name.push(".lock");
    let end = Instant::now() + wait;
    let mut waited = false;
    loop {
        let st = match dir.stat(&name) {
            Ok(Some(st)) if EntryKind::of(&st) == EntryKind::Dir => st,
            _ => return waited,
        };
        if age(&st) > STALE {
            let _ = remove_stale(dir, &name, st.st_ino);
            return waited;
        }
        if Instant::now() >= end {
            return waited;
        }
        waited = true;
        std::thread::sleep(WAIT_OUT_RETRY);
    }
}

/// How often [`wait_out`] looks again.
const WAIT_OUT_RETRY: Duration = Duration::from_millis(50);

/// Runs `f` while touching `locks` every second, so that none looks stale
/// however long `f` takes.
pub(crate) fn while_locked<R>(locks: &[AppendLock<'_>], f: impl FnOnce() -> R) -> R {
    std::thread::scope(|s| {
        let (stop, stopped) = mpsc::channel::<()>();
        s.spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TOUCH_EVERY) {
                locks.iter().for_each(AppendLock::touch);
            }
        });
        let r = f();
        drop(stop);
        r
    })
}

/// How long ago the lock directory was last touched.
fn age(st: &FileStat) -> Duration {
    crate::fs::kind::modified_ago(st)
}

/// Removes a stale lock directory, if it is still the one judged stale.
fn remove_stale(dir: &DirFd, name: &OsStr, ino: u64) -> Result<(), FsError> {
    match dir.stat(name)? {
        Some(st) if st.st_ino == ino && age(&st) > STALE => match dir.rmdir(name) {
            Err(e) if !e.is(Errno::ENOENT) => Err(e.doing("remove the stale lock")),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The lock could not be taken, and why.
fn refusal(dir: &DirFd, name: &OsStr, why: String) -> FsError {
    FsError::new(OP, &dir.join(name), std::io::Error::other(why))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn dir() -> (tempfile::TempDir, DirFd) {
        let t = tempfile::tempdir().unwrap();
        let d = DirFd::open(t.path()).unwrap();
        (t, d)
    }

    #[test]
    fn the_lock_is_a_directory_beside_the_file_and_goes_when_dropped() {
        let (t, d) = dir();
        let lock = AppendLock::take(&d, OsStr::new("history.jsonl"), WAIT).unwrap();
        assert!(t.path().join("history.jsonl.lock").is_dir());
        let second = AppendLock::take(&d, OsStr::new("history.jsonl"), Duration::from_millis(30));
        let e = second.unwrap_err().to_string();
        assert!(e.contains("a Claude Code session holds it"), "{e}");
        drop(lock);
        assert!(!t.path().join("history.jsonl.lock").exists());
    }

    #[test]
    fn a_stale_lock_is_taken_over_and_a_fresh_one_is_waited_for() {
        let (t, d) = dir();
        let lock = t.path().join("h.jsonl.lock");
        std::fs::create_dir(&lock).unwrap();
        let old = SystemTime::now() - Duration::from_secs(11);
        std::fs::File::open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let taken = AppendLock::take(&d, OsStr::new("h.jsonl"), Duration::ZERO).unwrap();
        assert!(age(&d.stat(OsStr::new("h.jsonl.lock")).unwrap().unwrap()) < STALE);
        drop(taken);
        // Released by its holder within the wait: taken.
        std::fs::create_dir(&lock).unwrap();
        let holder = std::thread::spawn({
            let lock = lock.clone();
            move || {
                std::thread::sleep(Duration::from_millis(50));
                std::fs::remove_dir(lock).unwrap();
            }
        });
        AppendLock::take(&d, OsStr::new("h.jsonl"), WAIT).unwrap();
        holder.join().unwrap();
    }

    #[test]
    fn a_left_lock_is_waited_out_until_stale_then_removed_and_no_lock_costs_nothing() {
        let (t, d) = dir();
        assert!(
            !wait_out(&d, OsStr::new("h.jsonl"), WAIT),
            "no lock: no wait"
        );
        let lock = t.path().join("h.jsonl.lock");
        std::fs::create_dir(&lock).unwrap();
        // Touched 9.8 s ago (a holder killed then): stale in 0.2 s.
        let touched = SystemTime::now() - STALE + Duration::from_millis(200);
        std::fs::File::open(&lock)
            .unwrap()
            .set_modified(touched)
            .unwrap();
        assert!(wait_out(&d, OsStr::new("h.jsonl"), WAIT));
        assert!(!lock.exists(), "the stale lock is removed");
        assert!(SystemTime::now().duration_since(touched).unwrap() > STALE);
        // A live one is waited for at most `wait`, and left.
        std::fs::create_dir(&lock).unwrap();
        assert!(wait_out(
            &d,
            OsStr::new("h.jsonl"),
            Duration::from_millis(100)
        ));
        assert!(lock.is_dir());
    }

    #[test]
    fn a_lock_taken_over_by_another_is_not_removed_and_a_file_is_refused() {
        let (t, d) = dir();
        let lock = AppendLock::take(&d, OsStr::new("h.jsonl"), WAIT).unwrap();
        let path = t.path().join("h.jsonl.lock");
        std::fs::remove_dir(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        drop(lock);
        assert!(path.is_dir(), "another holder's lock is left");
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, b"").unwrap();
        let e = AppendLock::take(&d, OsStr::new("h.jsonl"), WAIT).unwrap_err();
        assert!(e.to_string().contains("not a lock directory"), "{e}");
    }
}
