//! Crash-safe file-system primitives: every change is made under a temporary
//! name, renamed into place and made durable with an fsync of the directory,
//! so a reader or a crash sees either the old entry or the new one, never a
//! missing or half-written one.
//!
//! Temporary entries are named `.<name>.homeswap-tmp.<pid>.<n>` in the same
//! directory as `<name>`; [`remove_leftovers`] removes those a crash left.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{open, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use nix::unistd::{fsync, symlinkat, unlinkat, UnlinkatFlags};

use crate::fs::error::{FsContext, FsError};

const TEMP_MARK: &str = ".homeswap-tmp.";

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Opens a directory for `*at` calls and fsync. The configured paths
/// themselves may be symlinks (the kernel follows them); everything below
/// them is reached through the returned descriptor.
pub fn open_dir(path: &Path) -> Result<OwnedFd, Errno> {
    open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Splits an absolute path into its parent directory and final name.
pub fn split(path: &Path) -> Result<(&Path, &OsStr), FsError> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(FsError::new(
            "use",
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "path has no parent directory",
            ),
        )),
    }
}

fn temp_name(name: &OsStr) -> std::ffi::OsString {
    let mut t = std::ffi::OsString::from(".");
    t.push(name);
    t.push(format!(
        "{TEMP_MARK}{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    t
}

/// Makes `link` a symlink to `target`, replacing whatever symlink is there
/// in one step.
///
/// 1. Create the new symlink under a temporary name in `link`'s directory.
/// 2. `rename(2)` it over `link`: readers see the old or the new target.
/// 3. `fsync` the directory so the rename survives a crash.
///
/// If step 2 fails the temporary link is removed and `link` is untouched.
pub fn replace_symlink(link: &Path, target: &Path) -> Result<(), FsError> {
    let (dir, name) = split(link)?;
    let dirfd = open_dir(dir).fs("open the directory", dir)?;
    let tmp = temp_name(name);
    symlinkat(target, dirfd.as_fd(), tmp.as_os_str()).fs("create a temporary link in", dir)?;
    if let Err(e) = renameat(dirfd.as_fd(), tmp.as_os_str(), dirfd.as_fd(), name) {
        let _ = unlinkat(dirfd.as_fd(), tmp.as_os_str(), UnlinkatFlags::NoRemoveDir);
        return Err(FsError::new("replace the link", link, e));
    }
    fsync(dirfd.as_fd()).fs("fsync the directory", dir)
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename,
/// fsync of the directory. The file gets `mode` (before umask).
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    let dirfd = open_dir(dir).fs("open the directory", dir)?;
    let tmp = temp_name(name);
    let fd = nix::fcntl::openat(
        dirfd.as_fd(),
        tmp.as_os_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )
    .fs("create a temporary file in", dir)?;
    let tmp_path = dir.join(&tmp);
    let written = {
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)
            .and_then(|_| file.sync_all())
            .fs("write", &tmp_path)
    };
    let renamed = written.and_then(|_| {
        renameat(dirfd.as_fd(), tmp.as_os_str(), dirfd.as_fd(), name).fs("rename into place", path)
    });
    if let Err(e) = renamed {
        let _ = unlinkat(dirfd.as_fd(), tmp.as_os_str(), UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    fsync(dirfd.as_fd()).fs("fsync the directory", dir)
}

/// Removes the file `path` (not following a symlink) and makes the removal
/// durable. A file that is already gone is not an error.
pub fn remove_file(path: &Path) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    let dirfd = match open_dir(dir) {
        Err(Errno::ENOENT) => return Ok(()),
        r => r.fs("open the directory", dir)?,
    };
    match unlinkat(dirfd.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(FsError::new("remove", path, e)),
    }
    fsync(dirfd.as_fd()).fs("fsync the directory", dir)
}

/// Removes the temporary entries that an interrupted [`replace_symlink`]
/// or [`write_file`] for `path` left behind. Only symlinks and regular
/// files with homeswap's temporary name are touched; returns what was
/// removed. Call it only while holding the state lock, so that no live
/// operation's temporary entry is taken.
pub fn remove_leftovers(path: &Path) -> Result<Vec<PathBuf>, FsError> {
    let (dir, name) = split(path)?;
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_bytes());
    prefix.extend_from_slice(TEMP_MARK.as_bytes());
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        r => r.fs("list", dir)?,
    };
    let dirfd = open_dir(dir).fs("open the directory", dir)?;
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.fs("list", dir)?;
        let entry_name = entry.file_name();
        if !entry_name.as_bytes().starts_with(&prefix) {
            continue;
        }
        let st = match fstatat(
            dirfd.as_fd(),
            entry_name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) => st,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(FsError::new("inspect", &dir.join(&entry_name), e)),
        };
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if kind != SFlag::S_IFLNK && kind != SFlag::S_IFREG {
            continue;
        }
        match unlinkat(
            dirfd.as_fd(),
            entry_name.as_os_str(),
            UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(Errno::ENOENT) => removed.push(dir.join(&entry_name)),
            Err(e) => {
                return Err(FsError::new(
                    "remove the leftover",
                    &dir.join(&entry_name),
                    e,
                ))
            }
        }
    }
    if !removed.is_empty() {
        fsync(dirfd.as_fd()).fs("fsync the directory", dir)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_symlink_creates_and_replaces_without_leaving_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("active");
        replace_symlink(&link, Path::new("/h/a")).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/h/a"));
        replace_symlink(&link, Path::new("/h/b")).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/h/b"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_symlink_refuses_to_replace_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("active");
        std::fs::create_dir(&link).unwrap();
        std::fs::write(link.join("keep"), b"x").unwrap();
        let err = replace_symlink(&link, Path::new("/h/b")).unwrap_err();
        assert!(err.to_string().contains("cannot replace the link"), "{err}");
        assert_eq!(std::fs::read(link.join("keep")).unwrap(), b"x");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_file_replaces_contents_whole() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("latch.json");
        write_file(&f, b"one", 0o600).unwrap();
        write_file(&f, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn leftovers_are_removed_but_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("active");
        let tmp_link = dir.path().join(".active.homeswap-tmp.123.0");
        let tmp_dir = dir.path().join(".active.homeswap-tmp.123.1");
        let other = dir.path().join(".other.homeswap-tmp.123.0");
        std::os::unix::fs::symlink("/h/a", &tmp_link).unwrap();
        std::fs::create_dir(&tmp_dir).unwrap();
        std::os::unix::fs::symlink("/h/a", &other).unwrap();
        let removed = remove_leftovers(&link).unwrap();
        assert_eq!(removed, vec![tmp_link.clone()]);
        assert!(tmp_link.symlink_metadata().is_err());
        assert!(tmp_dir.is_dir());
        assert!(other.symlink_metadata().is_ok());
    }
}
