//! Claude Code's OAuth refresh lock on the outgoing home, which a swap
//! waits for, takes and holds while it flips, as Claude Code's own
//! processes take it (2.1.328).
//!
//! Why: a refresh spends the old refresh token at the token endpoint, then
//! writes the new tokens through the active link, and only if the file
//! there still holds the token it sent. A flip in between sends that write
//! to the new home, where the check fails: the new tokens are thrown away,
//! and the outgoing account, its old token spent, must log in again. With
//! the lock held, a swap waits for a refresh in progress to end, and none
//! starts until the flip is done: a Claude Code that wants one meanwhile
//! retries (5 tries, 1-2 s apart) and then finds the new home's
//! credentials through the link.
//!
//! Taking it, in Claude Code's order:
//!
//! 1. `mkdir <home>/.oauth_refresh.lock` (by descriptor, in the home the
//!    active link names now).
//! 2. `mkdir <realpath(home)>.lock`, the legacy lock beside the home. When
//!    it is held, release 1 and count the lock as held; when it cannot be
//!    made at all (permissions), go on without it, as Claude Code does.
//! 3. Write the owner record in Claude Code's format (`refresh_owner`).
//!
//! A held lock is tried again every [`RETRY`] until the swap's lock budget
//! runs out (then the swap ends *busy*, nothing changed). A lock whose
//! holder cannot be alive is taken over instead, by Claude Code's rules:
//! one untouched for [`STALE`] (a live holder touches it every 5 s), or one
//! whose owner record proves its holder gone. Where the lock's place is
//! not a directory homeswap can make (a file in the way, a home that
//! cannot be written), no refresh can run there either: the swap goes on
//! without it and warns.
//!
//! Released when the swap ends, on every path, in Claude Code's order: the
//! owner record, the legacy lock, the lock, each only if it is still the
//! one made here. A lock left by a crash is released by recovery
//! ([`release_left_by`]) or, thanks to its owner record, taken over by the
//! next Claude Code that needs it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::stat::FileStat;

use super::refresh_owner::{millis, OwnerRecord, OWNER};
use crate::fs::atomic::remove_leftovers;
use crate::fs::pathfmt::shown;
use crate::fs::{DirFd, EntryKind, FsError};

/// The lock's name in the home.
pub(crate) const LOCK: &str = ".oauth_refresh.lock";

/// Claude Code's staleness: a lock untouched this long has no live holder.
pub(crate) const STALE: Duration = Duration::from_secs(60);

/// How often a held lock is tried again.
const RETRY: Duration = Duration::from_millis(10);

/// The outgoing home's refresh lock, held by this process.
#[derive(Debug)]
pub(super) struct RefreshLock {
    /// The home.
    home: DirFd,
    /// The lock directory's inode, as made here.
    lock_ino: u64,
    /// The legacy lock, when it was taken.
    legacy: Option<Legacy>,
    /// The owner record written, if it was.
    owner: Option<OwnerRecord>,
}

/// `<realpath(home)>.lock`, beside the home.
#[derive(Debug)]
struct Legacy {
    /// The directory holding the home.
    dir: DirFd,
    /// `<home's name>.lock`.
    name: OsString,
    /// Its inode, when made here.
    ino: Option<u64>,
}

/// What [`RefreshLock::take`] ended with, when not busy.
#[derive(Debug)]
pub(super) enum Taken {
    /// Held until dropped.
    Held(RefreshLock),
    /// Not taken, and why (a warning: the swap goes on).
    Skipped(String),
    /// The home does not exist: no refresh can run there.
    NoHome,
}

/// The lock stayed held by a live holder for the whole budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("account {account}: Claude Code is refreshing its OAuth token ({} held{}, touched {:.1}s ago) and did not finish within {:.1}s; nothing was changed; try again in a moment (a flip now would throw the new tokens away and log {account} out)", shown(.lock), .holder.map(|p| format!(" by pid {p}")).unwrap_or_default(), .age.as_secs_f64(), .waited.as_secs_f64())]
pub struct RefreshBusy {
    /// The outgoing account.
    pub(crate) account: String,
    /// The lock held.
    pub(crate) lock: PathBuf,
    /// Its holder, from the owner record.
    pub(crate) holder: Option<i64>,
    /// How long ago the holder last touched it.
    pub(crate) age: Duration,
    /// How long the swap waited.
    pub(crate) waited: Duration,
}

/// What a held lock directory is.
enum Holder {
    /// Gone since the `mkdir` failed: try again at once.
    Released,
    /// No live holder can be behind it: taken over (removed), try again.
    TakenOver,
    /// A live holder (pid from its owner record, if any) and the lock's age.
    Live(Option<i64>, Duration),
    /// Something that is no lock directory (a file): no one can hold it.
    NotALock(String),
}

impl RefreshLock {
    /// Waits until `deadline` for `account`'s refresh lock in `home` and
    /// takes it (see the module's head).
    pub(super) fn take(
        account: &str,
        home: &Path,
        deadline: Instant,
    ) -> Result<Taken, RefreshBusy> {
        let start = Instant::now();
        let skipped = |e: String| {
            Ok(Taken::Skipped(format!(
                "account {account}: Claude Code's OAuth refresh lock was not taken ({e}); a refresh of {account} running at the flip would lose its new tokens"
            )))
        };
        let home_fd = match DirFd::open_following(home) {
            Ok(fd) => fd,
            Err(e) if e.is(Errno::ENOENT) => return Ok(Taken::NoHome),
            Err(e) => return skipped(e.to_string()),
        };
        let legacy = legacy_place(home);
        loop {
            let (name, dir, held) = match try_once(&home_fd, legacy.as_ref()) {
                Ok(Some(lock)) => return Ok(Taken::Held(lock)),
                Ok(None) => continue,
                Err(Blocked::Err(e)) => return skipped(e.to_string()),
                Err(Blocked::By { name, dir, holder }) => (name, dir, holder),
            };
            match held {
                Holder::Released | Holder::TakenOver => continue,
                Holder::NotALock(what) => return skipped(what),
                Holder::Live(holder, age) => {
                    if Instant::now() >= deadline {
                        return Err(RefreshBusy {
                            account: account.to_string(),
                            lock: dir.join(&name),
                            holder,
                            age,
                            waited: start.elapsed(),
                        });
                    }
                }
            }
            std::thread::sleep(RETRY);
        }
    }
}

impl Drop for RefreshLock {
    fn drop(&mut self) {
        if let Some(owner) = &self.owner {
            let _ = owner.remove_if_same(&self.home);
        }
        if let Some(l) = &self.legacy {
            if l.ino.is_some() && ino_of(&l.dir, &l.name) == l.ino {
                let _ = l.dir.rmdir(&l.name);
            }
        }
        if ino_of(&self.home, OsStr::new(LOCK)) == Some(self.lock_ino) {
            let _ = self.home.rmdir(OsStr::new(LOCK));
        }
    }
}

/// Why one attempt did not take the lock.
enum Blocked<'a> {
    /// A lock directory is held (`name` in `dir`).
    By {
        name: OsString,
        dir: &'a DirFd,
        holder: Holder,
    },
    /// The lock cannot be made at all.
    Err(FsError),
}

/// One attempt at steps 1 to 3; `Ok(None)`: try again at once.
fn try_once<'a>(
    home: &'a DirFd,
    legacy: Option<&'a (DirFd, OsString)>,
) -> Result<Option<RefreshLock>, Blocked<'a>> {
    let name = OsStr::new(LOCK);
    match home.mkdir(name, 0o700) {
        Ok(()) => {}
        Err(e) if e.is(Errno::EEXIST) => {
            let holder = judge(home, name).map_err(Blocked::Err)?;
            return Err(Blocked::By {
                name: name.to_os_string(),
                dir: home,
                holder,
            });
        }
        Err(e) => return Err(Blocked::Err(e)),
    }
    let Some(lock_ino) = ino_of(home, name) else {
        return Ok(None); // taken over by someone in between
    };
    let mut lock = RefreshLock {
        home: home.try_clone().map_err(Blocked::Err)?,
        lock_ino,
        legacy: None,
        owner: None,
    };
    if let Some((dir, legacy_name)) = legacy {
        match dir.mkdir(legacy_name, 0o700) {
            Ok(()) => {
                lock.legacy = Some(Legacy {
                    dir: dir.try_clone().map_err(Blocked::Err)?,
                    name: legacy_name.clone(),
                    ino: ino_of(dir, legacy_name),
                });
            }
            Err(e) if e.is(Errno::EEXIST) => {
                drop(lock); // releases step 1
                let holder = judge(dir, legacy_name).map_err(Blocked::Err)?;
                return Err(Blocked::By {
                    name: legacy_name.clone(),
                    dir,
                    holder,
                });
            }
            // Claude Code goes on without the legacy lock where it cannot
            // make it: so does homeswap.
            Err(_) => {}
        }
    }
    lock.write_owner();
    Ok(Some(lock))
}

impl RefreshLock {
    /// Step 3: the owner record, best effort (without it, Claude Code waits
    /// out a crashed homeswap's lock for 60 s instead of taking it over).
    fn write_owner(&mut self) {
        let Ok(Some(born)) = self.home.birth_time(OsStr::new(LOCK)) else {
            return;
        };
        let legacy = self
            .legacy
            .as_ref()
            .and_then(|l| l.dir.birth_time(&l.name).ok().flatten())
            .map(millis);
        let record = OwnerRecord::mine(millis(born), legacy);
        if record.write(&self.home).is_ok() {
            self.owner = Some(record);
        }
    }
}

/// The legacy lock's directory and name: `<realpath(home)>.lock`. `None`
/// when the home has no real path (then Claude Code's is the home's own
/// path plus `.lock`, which `realpath` failing means cannot be made).
fn legacy_place(home: &Path) -> Option<(DirFd, OsString)> {
    let real = std::fs::canonicalize(home).ok()?;
    let (parent, name) = (real.parent()?, real.file_name()?);
    let mut lock = name.to_os_string();
    lock.push(".lock");
    Some((DirFd::open_following(parent).ok()?, lock))
}

/// The inode of the directory `name` in `dir`, if one is there.
fn ino_of(dir: &DirFd, name: &OsStr) -> Option<u64> {
    dir.stat(name)
        .ok()
        .flatten()
        .filter(|st| EntryKind::of(st) == EntryKind::Dir)
        .map(|st| st.st_ino)
}

/// How long ago the lock directory was last touched.
fn age(st: &FileStat) -> Duration {
    crate::fs::kind::modified_ago(st)
}

/// Looks at the lock directory `name` of `dir` that someone holds: takes
/// it over when no live holder can be behind it.
fn judge(dir: &DirFd, name: &OsStr) -> Result<Holder, FsError> {
    let Some(st) = dir.stat(name)? else {
        return Ok(Holder::Released);
    };
    let kind = EntryKind::of(&st);
    if kind != EntryKind::Dir {
        return Ok(Holder::NotALock(format!(
            "{} is {kind}, not a lock directory",
            shown(&dir.join(name))
        )));
    }
    if age(&st) > STALE {
        remove_dir_if(dir, name, st.st_ino)?;
        return Ok(Holder::TakenOver);
    }
    // Only the lock in the home has an owner record beside it.
    let record = if name == OsStr::new(LOCK) {
        OwnerRecord::read(dir)
    } else {
        None
    };
    let born = dir.birth_time(name)?.map(millis);
    match record {
        Some(r) if Some(r.lock_birthtime_ms) == born && r.holder_gone() => {
            take_over(dir, name, &r, st.st_ino)?;
            Ok(Holder::TakenOver)
        }
        r => Ok(Holder::Live(r.map(|r| r.pid), age(&st))),
    }
}

/// Removes a dead holder's lock in the home: the legacy lock it held (if
/// it is the one its record names), the lock, then its record.
fn take_over(home: &DirFd, name: &OsStr, record: &OwnerRecord, ino: u64) -> Result<(), FsError> {
    if let Some((dir, legacy)) = legacy_place(home.path()) {
        let born = dir.birth_time(&legacy)?.map(millis);
        if born.is_some() && born == record.legacy_lock_birthtime_ms {
            if let Some(st) = dir.stat(&legacy)? {
                remove_dir_if(&dir, &legacy, st.st_ino)?;
            }
        }
    }
    remove_dir_if(home, name, ino)?;
    record.remove_if_same(home)
}

/// Removes the directory `name` if it is still the one with inode `ino`.
fn remove_dir_if(dir: &DirFd, name: &OsStr, ino: u64) -> Result<(), FsError> {
    match dir.stat(name)? {
        Some(st) if st.st_ino == ino => match dir.rmdir(name) {
            Err(e) if !e.is(Errno::ENOENT) && !e.is(Errno::ENOTEMPTY) => {
                Err(e.doing("remove the stale lock"))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Recovery: releases the refresh lock in `home` that the crashed process
/// `pid` left (its owner record names `pid`, and `pid` is gone), and the
/// temporaries of its owner record. Returns what was removed.
pub(crate) fn release_left_by(home: &Path, pid: u32) -> Result<Vec<PathBuf>, FsError> {
    let mut removed = remove_leftovers(&home.join(OWNER))?;
    let dir = match DirFd::open_following(home) {
        Err(e) if e.is(Errno::ENOENT) => return Ok(removed),
        r => r?,
    };
    let Some(record) = OwnerRecord::read(&dir) else {
        return Ok(removed);
    };
    let name = OsStr::new(LOCK);
    let born = dir.birth_time(name)?.map(millis);
    if record.pid != i64::from(pid)
        || born != Some(record.lock_birthtime_ms)
        || !record.holder_gone()
    {
        return Ok(removed);
    }
    if let Some(st) = dir.stat(name)? {
        take_over(&dir, name, &record, st.st_ino)?;
        removed.push(home.join(LOCK));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    /// A home `h/a` in a temporary directory.
    fn home() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let h = t.path().join("a");
        std::fs::create_dir(&h).unwrap();
        (t, h)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(100)
    }

    fn held(t: Taken) -> RefreshLock {
        match t {
            Taken::Held(l) => l,
            Taken::Skipped(why) => panic!("skipped: {why}"),
            Taken::NoHome => panic!("no home"),
        }
    }

    #[test]
    fn both_locks_and_an_owner_record_are_made_and_all_go_on_release() {
        let (t, h) = home();
        let lock = held(RefreshLock::take("a", &h, soon()).unwrap());
        assert!(h.join(LOCK).is_dir());
        assert!(
            t.path().join("a.lock").is_dir(),
            "the legacy lock beside the home"
        );
        let text = std::fs::read_to_string(h.join(OWNER)).unwrap();
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(record["pid"], std::process::id());
        let born = std::fs::metadata(h.join(LOCK)).unwrap().created().unwrap();
        assert_eq!(record["lockBirthtimeMs"], millis(born));
        assert!(record["legacyLockBirthtimeMs"].as_f64().unwrap() > 0.0);
        // A second taker waits, then is told busy, naming the holder.
        let busy =
            RefreshLock::take("a", &h, Instant::now() + Duration::from_millis(50)).unwrap_err();
        assert_eq!(busy.holder, Some(i64::from(std::process::id())));
        assert!(
            busy.to_string()
                .contains("account a: Claude Code is refreshing its OAuth token"),
            "{busy}"
        );
        drop(lock);
        assert!(!h.join(LOCK).exists() && !t.path().join("a.lock").exists());
        assert!(!h.join(OWNER).exists());
        assert_eq!(std::fs::read_dir(&h).unwrap().count(), 0, "nothing left");
    }

    #[test]
    fn a_live_holder_is_waited_for_until_it_releases() {
        let (_t, h) = home();
        std::fs::create_dir(h.join(LOCK)).unwrap();
        let releaser = std::thread::spawn({
            let lock = h.join(LOCK);
            move || {
                std::thread::sleep(Duration::from_millis(100));
                std::fs::remove_dir(lock).unwrap();
            }
        });
        let start = Instant::now();
        let lock =
            held(RefreshLock::take("a", &h, Instant::now() + Duration::from_secs(5)).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(100));
        releaser.join().unwrap();
        drop(lock);
    }

    #[test]
    fn a_held_legacy_lock_counts_as_held_and_the_lock_is_let_go_meanwhile() {
        let (t, h) = home();
        std::fs::create_dir(t.path().join("a.lock")).unwrap();
        let busy = RefreshLock::take("a", &h, soon()).unwrap_err();
        assert_eq!(busy.lock, t.path().join("a.lock"));
        assert!(
            !h.join(LOCK).exists(),
            "the new lock is not kept while waiting"
        );
    }

    #[test]
    fn a_stale_lock_or_one_whose_holder_is_gone_is_taken_over() {
        let (_t, h) = home();
        std::fs::create_dir(h.join(LOCK)).unwrap();
        let old = SystemTime::now() - STALE - Duration::from_secs(1);
        std::fs::File::open(h.join(LOCK))
            .unwrap()
            .set_modified(old)
            .unwrap();
        drop(held(RefreshLock::take("a", &h, Instant::now()).unwrap()));
        // A fresh lock whose owner record names an exited process.
        std::fs::create_dir(h.join(LOCK)).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let born = std::fs::metadata(h.join(LOCK)).unwrap().created().unwrap();
        let mut record = OwnerRecord::mine(millis(born), None);
        record.pid = i64::from(pid);
        record.write(&DirFd::open(&h).unwrap()).unwrap();
        let lock = held(RefreshLock::take("a", &h, Instant::now()).unwrap());
        let now = OwnerRecord::read(&DirFd::open(&h).unwrap()).unwrap();
        assert_eq!(
            now.pid,
            i64::from(std::process::id()),
            "the record is ours now"
        );
        drop(lock);
        // The same record, but for another lock (another birth time): live.
        std::fs::create_dir(h.join(LOCK)).unwrap();
        record.lock_birthtime_ms = 1.0;
        record.write(&DirFd::open(&h).unwrap()).unwrap();
        let busy = RefreshLock::take("a", &h, Instant::now()).unwrap_err();
        assert_eq!(busy.holder, Some(i64::from(pid)));
    }

    #[test]
    fn a_file_in_the_way_is_skipped_with_a_reason_and_a_missing_home_holds_nothing() {
        let (t, h) = home();
        std::fs::write(h.join(LOCK), b"").unwrap();
        let Taken::Skipped(why) = RefreshLock::take("a", &h, soon()).unwrap() else {
            panic!("taken")
        };
        assert!(
            why.contains("is a regular file, not a lock directory"),
            "{why}"
        );
        assert!(matches!(
            RefreshLock::take("b", &t.path().join("gone"), soon()).unwrap(),
            Taken::NoHome
        ));
        assert!(
            why.starts_with("account a: Claude Code's OAuth refresh lock was not taken"),
            "{why}"
        );
    }

    #[test]
    fn recovery_releases_only_a_lock_left_by_the_crashed_process() {
        let (t, h) = home();
        let lock = held(RefreshLock::take("a", &h, soon()).unwrap());
        // As a crash would leave it: nothing released.
        std::mem::forget(lock);
        let me = std::process::id();
        // This process is alive: its lock is not taken from it.
        assert_eq!(release_left_by(&h, me).unwrap(), Vec::<PathBuf>::new());
        // Another pid's record is not this one's to release.
        assert_eq!(release_left_by(&h, me + 1).unwrap(), Vec::<PathBuf>::new());
        // The record as a dead process left it.
        let dir = DirFd::open(&h).unwrap();
        let mut record = OwnerRecord::read(&dir).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        record.pid = i64::from(dead);
        record.write(&dir).unwrap();
        assert_eq!(release_left_by(&h, dead).unwrap(), vec![h.join(LOCK)]);
        assert!(!h.join(LOCK).exists() && !h.join(OWNER).exists());
        assert!(!t.path().join("a.lock").exists(), "its legacy lock too");
    }
}
