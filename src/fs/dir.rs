//! An open directory and the `*at` calls homeswap makes through it.
//!
//! A path is resolved by the kernel once, when the directory is opened; every
//! entry below is then reached by name relative to the descriptor, never
//! following a symlink, so a directory swapped for a symlink halfway through
//! an operation cannot redirect it. Every error names the operation and the
//! entry's full path.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, FileStat, Mode};
use nix::unistd::{fsync, linkat, symlinkat, unlinkat, UnlinkatFlags};

use crate::fs::error::{FsContext, FsError};
use crate::fs::kind::EntryKind;

/// An open directory, remembering the path it was opened by for messages.
#[derive(Debug)]
pub struct DirFd {
    /// The descriptor (`O_DIRECTORY`, close-on-exec).
    fd: OwnedFd,
    /// The path it was opened by.
    path: PathBuf,
}

/// Flags of every directory homeswap opens below a configured path.
const DIR_NOFOLLOW: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

impl DirFd {
    /// Opens the directory `path`, refusing a symlink as its last component
    /// (`ELOOP`) and anything that is not a directory (`ENOTDIR`).
    pub fn open(path: &Path) -> Result<DirFd, FsError> {
        nix::fcntl::open(path, DIR_NOFOLLOW, Mode::empty())
            .fs("open the directory", path)
            .map(|fd| DirFd {
                fd,
                path: path.to_path_buf(),
            })
    }

    /// Opens a configured directory (a home, the shared dir, the active
    /// link's directory), which the operator may have made a symlink: the
    /// kernel follows it once, and everything below is reached through the
    /// descriptor.
    pub fn open_following(path: &Path) -> Result<DirFd, FsError> {
        nix::fcntl::open(
            path,
            DIR_NOFOLLOW.difference(OFlag::O_NOFOLLOW),
            Mode::empty(),
        )
        .fs("open the directory", path)
        .map(|fd| DirFd {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// A second descriptor of the same directory (`dup`).
    pub(crate) fn try_clone(&self) -> Result<DirFd, FsError> {
        Ok(DirFd {
            fd: self
                .fd
                .try_clone()
                .fs("duplicate the descriptor of", &self.path)?,
            path: self.path.clone(),
        })
    }

    /// The path the directory was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the entry `name` in this directory (for messages).
    pub(crate) fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// Opens the subdirectory `name`, refusing a symlink.
    pub fn open_dir(&self, name: &OsStr) -> Result<DirFd, FsError> {
        let path = self.join(name);
        openat(self.fd.as_fd(), name, DIR_NOFOLLOW, Mode::empty())
            .fs("open the directory", &path)
            .map(|fd| DirFd { fd, path })
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)` of `name`; `None` when nothing is
    /// there.
    pub fn stat(&self, name: &OsStr) -> Result<Option<FileStat>, FsError> {
        match fstatat(self.fd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(FsError::new("inspect", &self.join(name), e)),
        }
    }

    /// The kind of the entry `name` (a symlink is not followed); `None` when
    /// nothing is there.
    pub fn kind(&self, name: &OsStr) -> Result<Option<EntryKind>, FsError> {
        Ok(self.stat(name)?.as_ref().map(EntryKind::of))
    }

    /// What the symlink `name` holds.
    pub fn read_link(&self, name: &OsStr) -> Result<PathBuf, FsError> {
        readlinkat(self.fd.as_fd(), name)
            .map(PathBuf::from)
            .fs("read the link", &self.join(name))
    }

    /// Creates the symlink `name -> target`; fails with `EEXIST` rather
    /// than replace any entry.
    pub fn symlink(&self, name: &OsStr, target: &Path) -> Result<(), FsError> {
        symlinkat(target, self.fd.as_fd(), name).fs("create the link", &self.join(name))
    }

    /// Creates the directory `name` with `mode` (before umask); fails with
    /// `EEXIST` when anything is there.
    pub fn mkdir(&self, name: &OsStr, mode: u32) -> Result<(), FsError> {
        mkdirat(self.fd.as_fd(), name, Mode::from_bits_truncate(mode))
            .fs("create the directory", &self.join(name))
    }

    /// Creates the regular file `name` for writing, exclusively (`O_EXCL`,
    /// never through a symlink), with `mode` (before umask).
    pub fn create_file(&self, name: &OsStr, mode: u32) -> Result<std::fs::File, FsError> {
        openat(
            self.fd.as_fd(),
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
        .fs("create the file", &self.join(name))
        .map(std::fs::File::from)
    }

    /// Opens the regular file `name` for reading. Refuses a symlink
    /// (`ELOOP`) and anything else that is not a regular file, without
    /// blocking on a FIFO swapped in since the caller looked.
    pub fn open_file(&self, name: &OsStr) -> Result<std::fs::File, FsError> {
        let path = self.join(name);
        let fd = openat(
            self.fd.as_fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .fs("open", &path)?;
        let kind = EntryKind::of(&nix::sys::stat::fstat(&fd).fs("inspect", &path)?);
        if kind != EntryKind::File {
            return Err(FsError::new(
                "read",
                &path,
                std::io::Error::other(format!("it is {kind}, not a regular file")),
            ));
        }
        // O_NONBLOCK stays set: reads of a regular file ignore it.
        Ok(std::fs::File::from(fd))
    }

    /// Removes the non-directory `name` (a symlink itself, never its target).
    pub fn unlink(&self, name: &OsStr) -> Result<(), FsError> {
        unlinkat(self.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir).fs("remove", &self.join(name))
    }

    /// Removes the directory `name` if it is empty; never recursive.
    pub fn rmdir(&self, name: &OsStr) -> Result<(), FsError> {
        unlinkat(self.fd.as_fd(), name, UnlinkatFlags::RemoveDir)
            .fs("remove the directory", &self.join(name))
    }

    /// `renameat`: moves `name` to `new_name` in `to`, replacing an entry
    /// there as `rename(2)` does. The error names the destination.
    pub fn rename(&self, name: &OsStr, to: &DirFd, new_name: &OsStr) -> Result<(), FsError> {
        renameat(self.fd.as_fd(), name, to.fd.as_fd(), new_name)
            .fs("rename into place", &to.join(new_name))
    }

    /// `renameat2(RENAME_NOREPLACE)`: moves `name` to `new_name` in `to`,
    /// failing with `EEXIST` rather than replace. Where the kernel, file
    /// system or C library cannot do it, fails with `EINVAL` (or `ENOSYS`),
    /// and the caller falls back to `link` + `unlink`. The error names the
    /// destination.
    pub fn rename_noreplace(
        &self,
        name: &OsStr,
        to: &DirFd,
        new_name: &OsStr,
    ) -> Result<(), FsError> {
        rename_noreplace(self.fd.as_fd(), name, to.fd.as_fd(), new_name)
            .fs("move an entry to", &to.join(new_name))
    }

    /// `renameat2(RENAME_EXCHANGE)`: swaps `name` and `other` in `to` in
    /// one step (any kinds of entry, both must exist). Where the kernel,
    /// file system or C library cannot, fails with `EINVAL` (or `ENOSYS`).
    pub(crate) fn exchange(&self, name: &OsStr, to: &DirFd, other: &OsStr) -> Result<(), FsError> {
        exchange(self.fd.as_fd(), name, to.fd.as_fd(), other)
            .fs("exchange an entry with", &to.join(other))
    }

    /// `linkat`: a second name `new_name` in `to` for the file `name`
    /// (a symlink is linked itself, not followed); fails with `EEXIST`
    /// rather than replace.
    pub fn hard_link(&self, name: &OsStr, to: &DirFd, new_name: &OsStr) -> Result<(), FsError> {
        linkat(
            self.fd.as_fd(),
            name,
            to.fd.as_fd(),
            new_name,
            AtFlags::empty(),
        )
        .fs("link an entry to", &to.join(new_name))
    }

    /// The names in the directory, without `.` and `..`, sorted.
    pub fn list(&self) -> Result<Vec<OsString>, FsError> {
        let mut names = Vec::new();
        self.scan(|name, _| names.push(name.to_os_string()))?;
        names.sort();
        Ok(names)
    }

    /// Calls `f` with each entry's name (without `.` and `..`) in the
    /// file system's order, and its kind as the listing gives it (`d_type`;
    /// `None` where the file system does not say). Copies no name, so a
    /// scan that keeps few entries allocates little. The kind is a hint
    /// of the moment of the listing: the entry may change after it.
    pub(crate) fn scan(&self, mut f: impl FnMut(&OsStr, Option<EntryKind>)) -> Result<(), FsError> {
        let fd = self.fd.try_clone().fs("list", &self.path)?;
        let mut dir = Dir::from_fd(fd).fs("list", &self.path)?;
        // The borrowed iterator rewinds on drop: the duplicate shares the
        // descriptor's offset, and the next listing must start at 0.
        for entry in dir.iter() {
            let entry = entry.fs("list", &self.path)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                f(name, entry.file_type().map(EntryKind::of_listed));
            }
        }
        Ok(())
    }

    /// Sets the times of the entry `name` (a symlink itself, never its
    /// target) to now: keeps a lock directory fresh for those who judge a
    /// lock stale by its age.
    pub fn touch(&self, name: &OsStr) -> Result<(), FsError> {
        use nix::sys::stat::{utimensat, UtimensatFlags};
        use nix::sys::time::TimeSpec;
        utimensat(
            self.fd.as_fd(),
            name,
            &TimeSpec::UTIME_NOW,
            &TimeSpec::UTIME_NOW,
            UtimensatFlags::NoFollowSymlink,
        )
        .fs("touch", &self.join(name))
    }

    /// Sets the modification time of the entry `name` (a symlink itself,
    /// never its target) to `mtime`, leaving its access time and its
    /// content alone.
    pub(crate) fn set_mtime(&self, name: &OsStr, mtime: SystemTime) -> Result<(), FsError> {
        use nix::sys::stat::{utimensat, UtimensatFlags};
        use nix::sys::time::TimeSpec;
        let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
        utimensat(
            self.fd.as_fd(),
            name,
            &TimeSpec::UTIME_OMIT,
            &TimeSpec::from_duration(since),
            UtimensatFlags::NoFollowSymlink,
        )
        .fs("set the modification time of", &self.join(name))
    }

    /// The birth time of the entry `name` (a symlink itself, never its
    /// target), where the file system records one; `None` when nothing
    /// is there or no birth time is known.
    pub(crate) fn birth_time(&self, name: &OsStr) -> Result<Option<SystemTime>, FsError> {
        let path = self.join(name);
        let fd = match openat(
            self.fd.as_fd(),
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(FsError::new("inspect", &path, e)),
        };
        // statx on the descriptor: the time of this entry, not of one
        // that replaced it since.
        let meta = std::fs::File::from(fd).metadata().fs("inspect", &path)?;
        Ok(meta.created().ok())
    }

    /// `fsync` of the directory: makes the entries created, renamed or
    /// removed in it durable.
    pub fn sync(&self) -> Result<(), FsError> {
        fsync(self.fd.as_fd()).fs("fsync the directory", &self.path)
    }
}

impl AsFd for DirFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<DirFd> for OwnedFd {
    fn from(dir: DirFd) -> OwnedFd {
        dir.fd
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn rename_noreplace(
    from: BorrowedFd<'_>,
    name: &OsStr,
    to: BorrowedFd<'_>,
    new_name: &OsStr,
) -> Result<(), Errno> {
    use nix::fcntl::{renameat2, RenameFlags};
    renameat2(from, name, to, new_name, RenameFlags::RENAME_NOREPLACE)
}

/// Without `renameat2` in the C library, the caller takes its fallback.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn rename_noreplace(
    _: BorrowedFd<'_>,
    _: &OsStr,
    _: BorrowedFd<'_>,
    _: &OsStr,
) -> Result<(), Errno> {
    Err(Errno::EINVAL)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(
    from: BorrowedFd<'_>,
    name: &OsStr,
    to: BorrowedFd<'_>,
    other: &OsStr,
) -> Result<(), Errno> {
    use nix::fcntl::{renameat2, RenameFlags};
    renameat2(from, name, to, other, RenameFlags::RENAME_EXCHANGE)
}

/// Without `renameat2` in the C library there is no atomic exchange.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_: BorrowedFd<'_>, _: &OsStr, _: BorrowedFd<'_>, _: &OsStr) -> Result<(), Errno> {
    Err(Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_names_each_entry_with_its_kind_and_the_next_listing_sees_them_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DirFd::open(tmp.path()).unwrap();
        let n = OsStr::new;
        dir.mkdir(n("d"), 0o700).unwrap();
        dir.create_file(n("f"), 0o600).unwrap();
        dir.symlink(n("l"), Path::new("/nowhere")).unwrap();
        let scan = || {
            let mut seen = Vec::new();
            dir.scan(|name, kind| seen.push((name.to_os_string(), kind)))
                .unwrap();
            seen.sort_by(|a, b| a.0.cmp(&b.0));
            seen
        };
        let first = scan();
        let names: Vec<_> = first.iter().map(|(name, _)| name.as_os_str()).collect();
        assert_eq!(names, [n("d"), n("f"), n("l")]);
        // The kind is the listing's hint: absent where the file system
        // gives none, else the entry's own.
        for ((_, kind), want) in
            first
                .iter()
                .zip([EntryKind::Dir, EntryKind::File, EntryKind::Symlink])
        {
            assert!(kind.is_none() || *kind == Some(want), "{kind:?}");
        }
        // The descriptor's offset is back at the start for the next one.
        assert_eq!(scan(), first);
        assert_eq!(dir.list().unwrap(), [n("d"), n("f"), n("l")]);
    }
}
