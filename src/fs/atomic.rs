//! Crash-safe file-system primitives: every change is made under a temporary
//! name, renamed into place and made durable with an fsync of the directory,
//! so a reader or a crash sees either the old entry or the new one, never a
//! missing or half-written one.
//!
//! Temporary entries are named by [`crate::fs::temp`] in the same directory
//! as the entry they are for; `remove_leftovers` removes those a crash left.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::fs::dir::DirFd;
use crate::fs::error::FsError;
use crate::fs::kind::EntryKind;
use crate::fs::temp::{is_temp_of, temp_name};

/// Splits an absolute path into its parent directory and final name.
pub(crate) fn split(path: &Path) -> Result<(&Path, &OsStr), FsError> {
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

/// Makes `link` a symlink to `target`, replacing whatever symlink is there
/// in one step.
///
/// 1. Create the new symlink under a temporary name in `link`'s directory.
/// 2. `rename(2)` it over `link`: readers see the old or the new target.
/// 3. `fsync` the directory so the rename survives a crash.
///
/// If step 2 fails the temporary link is removed and `link` is untouched.
pub fn replace_symlink(link: &Path, target: &Path) -> Result<(), FsError> {
    replace_symlink_noting(link, target, |_| {})
}

/// What a symlink replacement is about to do, for a caller that records
/// it before it happens ([`replace_symlink_noting`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replacing {
    /// Unix nanoseconds the new link was made (its own mtime, which the
    /// rename keeps).
    pub(crate) made_ns: u64,
    /// The link being replaced: its target and when it was made; `None`
    /// when there is none (or it is no symlink).
    pub(crate) old: Option<(PathBuf, u64)>,
}

/// [`replace_symlink`], calling `note` between steps 1 and 2: once the new
/// link exists (so its mtime is known) and before anyone can see it.
pub(crate) fn replace_symlink_noting(
    link: &Path,
    target: &Path,
    note: impl FnOnce(&Replacing),
) -> Result<(), FsError> {
    let (dir, name) = split(link)?;
    let dir = DirFd::open_following(dir)?;
    let old = match dir.stat(name) {
        Ok(Some(st)) if EntryKind::of(&st) == EntryKind::Symlink => {
            dir.read_link(name).ok().map(|t| (t, mtime_ns(&st)))
        }
        _ => None,
    };
    let tmp = temp_name(name);
    dir.symlink(&tmp, target)?;
    let made_ns = dir.stat(&tmp).ok().flatten().map_or(0, |st| mtime_ns(&st));
    note(&Replacing { made_ns, old });
    if let Err(e) = dir.rename(&tmp, &dir, name) {
        let _ = dir.unlink(&tmp);
        return Err(e.doing("replace the link"));
    }
    dir.sync()
}

/// An entry's mtime in Unix nanoseconds (0 before 1970).
pub(crate) fn mtime_ns(st: &nix::sys::stat::FileStat) -> u64 {
    let secs = u64::try_from(st.st_mtime).unwrap_or(0);
    let nanos = u64::try_from(st.st_mtime_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename,
/// fsync of the directory. The file gets `mode` (before umask).
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    write_file_in(&DirFd::open_following(dir)?, name, bytes, mode)
}

/// [`write_file`] of the entry `name` of an open directory, for a
/// directory reached without following a symlink (e.g. one below the
/// state dir).
pub(crate) fn write_file_in(
    dir: &DirFd,
    name: &OsStr,
    bytes: &[u8],
    mode: u32,
) -> Result<(), FsError> {
    write_prepared(dir, name, bytes, mode, |_| Ok(()))
}

/// The permission bits and owner a rewritten file keeps from the one it
/// replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keep {
    /// The permission bits (`st_mode & 0o7777`).
    pub(crate) mode: u32,
    /// The owner.
    pub(crate) uid: u32,
    /// The group.
    pub(crate) gid: u32,
}

impl Keep {
    /// What `meta` (of the file being replaced) says to keep.
    pub(crate) fn of(meta: &std::fs::Metadata) -> Keep {
        use std::os::unix::fs::MetadataExt;
        Keep {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }
}

/// [`write_file`] of a new version of an existing file: temporary file
/// beside it, its permission bits set to `keep.mode` exactly (whatever the
/// umask), its owner and group to `keep`'s when they differ from this
/// process's, fsync, rename, fsync of the directory. A `chown` that fails
/// fails the write, the file untouched: a user's file rewritten by root as
/// root's could lock its user out of it.
pub(crate) fn rewrite_file(path: &Path, bytes: &[u8], keep: Keep) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    let dir = DirFd::open_following(dir)?;
    write_prepared(&dir, name, bytes, 0o600, |file| {
        use std::os::unix::fs::PermissionsExt;
        let (uid, gid) = (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
        if (keep.uid, keep.gid) != (uid, gid) {
            std::os::unix::fs::fchown(file, Some(keep.uid), Some(keep.gid))?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(keep.mode))
    })
}

/// Steps 1 to 3 of a crash-safe write: the temporary file, `prepare`d
/// (mode, owner), written and fsynced, renamed over `name`, the directory
/// fsynced; the temporary removed on failure.
fn write_prepared(
    dir: &DirFd,
    name: &OsStr,
    bytes: &[u8],
    mode: u32,
    prepare: impl FnOnce(&std::fs::File) -> std::io::Result<()>,
) -> Result<(), FsError> {
    let tmp = temp_name(name);
    let mut file = dir.create_file(&tmp, mode)?;
    let written = prepare(&file)
        .and_then(|_| file.write_all(bytes))
        .and_then(|_| file.sync_all())
        .map_err(|e| FsError::new("write", &dir.join(&tmp), e));
    drop(file);
    if let Err(e) = written.and_then(|_| dir.rename(&tmp, dir, name)) {
        let _ = dir.unlink(&tmp);
        return Err(e);
    }
    dir.sync()
}

/// [`write_file_volatile_in`] of a path: for a record that only running
/// processes need (a machine crash ends them too).
pub(crate) fn write_file_unsynced(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    write_file_volatile_in(&DirFd::open_following(dir)?, name, bytes, mode)
}

/// Replaces the contents of the regular file `path` atomically, as
/// [`write_file`] does, keeping what a person set on it: a symlink stays a
/// symlink (the file it leads to is replaced, as editors do), and the new
/// file gets the old one's permission bits and, when homeswap runs as
/// root, its owner.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(path).map_err(|e| FsError::new("resolve", path, e))?;
    let meta = std::fs::metadata(&real).map_err(|e| FsError::new("inspect", &real, e))?;
    if !meta.is_file() {
        return Err(FsError::new(
            "replace",
            &real,
            std::io::Error::other("it is not a regular file"),
        ));
    }
    let (dir, name) = split(&real)?;
    let dir = DirFd::open_following(dir)?;
    let tmp = temp_name(name);
    let mut file = dir.create_file(&tmp, meta.mode() & 0o7777)?;
    let written = owned_like(&file, &meta)
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|e| FsError::new("write", &dir.join(&tmp), e));
    drop(file);
    if let Err(e) = written.and_then(|()| dir.rename(&tmp, &dir, name)) {
        let _ = dir.unlink(&tmp);
        return Err(e);
    }
    dir.sync()
}

/// Gives `file` the owner of the file it replaces, when that differs and
/// the process may (root); anyone else's new file is theirs anyway.
fn owned_like(file: &std::fs::File, old: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata()?;
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) || !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
}

/// Creates the directory `path` and each missing directory above it with
/// `mode` (before umask), each made durable by an fsync of its parent. A
/// directory already there (or a symlink to one) is kept as it is.
pub(crate) fn create_dirs(path: &Path, mode: u32) -> Result<(), FsError> {
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(FsError::new(
                    "create the directory",
                    at,
                    std::io::Error::from(std::io::ErrorKind::NotADirectory),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(at),
            Err(e) => return Err(FsError::new("inspect", at, e)),
        }
        at = split(at)?.0;
    }
    for dir in missing.into_iter().rev() {
        let (parent, name) = split(dir)?;
        let parent = DirFd::open_following(parent)?;
        match parent.mkdir(name, mode) {
            Err(e) if e.is(Errno::EEXIST) => {}
            other => other?,
        }
        parent.sync()?;
    }
    Ok(())
}

/// [`write_file_in`] without the two `fsync`s: the file is replaced whole
/// (a crash of the process leaves the old file or the new one, and at
/// worst a temporary that `remove_leftovers` takes), but a power loss may
/// leave either, or an empty file. Only for what means nothing after a
/// reboot and sits on a latency path: the owner record of a lock held for
/// milliseconds by a process that a reboot ends anyway.
pub(crate) fn write_file_volatile_in(
    dir: &DirFd,
    name: &OsStr,
    bytes: &[u8],
    mode: u32,
) -> Result<(), FsError> {
    let tmp = temp_name(name);
    let mut file = dir.create_file(&tmp, mode)?;
    let written = file
        .write_all(bytes)
        .map_err(|e| FsError::new("write", &dir.join(&tmp), e));
    drop(file);
    if let Err(e) = written.and_then(|_| dir.rename(&tmp, dir, name)) {
        let _ = dir.unlink(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Removes the file `path` (not following a symlink) and makes the removal
/// durable. A file that is already gone is not an error.
pub(crate) fn remove_file(path: &Path) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    let dir = match DirFd::open_following(dir) {
        Err(e) if e.is(Errno::ENOENT) => return Ok(()),
        r => r?,
    };
    match dir.unlink(name) {
        Err(e) if !e.is(Errno::ENOENT) => return Err(e),
        _ => {}
    }
    dir.sync()
}

/// True when `path`'s directory holds an entry with a temporary name for
/// `path` (of any kind): the cheap look, without the lock, that tells
/// whether [`remove_leftovers`] has anything to do. An unreadable
/// directory counts as none.
pub(crate) fn has_leftovers(path: &Path) -> bool {
    let Ok((dir, name)) = split(path) else {
        return false;
    };
    DirFd::open_following(dir)
        .and_then(|dir| dir.list())
        .is_ok_and(|names| names.iter().any(|n| is_temp_of(n, name)))
}

/// Removes the temporary entries that an interrupted [`replace_symlink`]
/// or [`write_file`] for `path` left behind. Only symlinks and regular
/// files with homeswap's temporary name for `path` are touched; returns
/// what was removed. Call it only while holding the state lock, so that no
/// live operation's temporary entry is taken.
pub(crate) fn remove_leftovers(path: &Path) -> Result<Vec<PathBuf>, FsError> {
    let (dir, name) = split(path)?;
    let dir = match DirFd::open_following(dir) {
        Err(e) if e.is(Errno::ENOENT) => return Ok(Vec::new()),
        r => r?,
    };
    let mut removed = Vec::new();
    for entry in dir.list()? {
        if !is_temp_of(&entry, name) {
            continue;
        }
        // A directory with the name is no temporary of ours: leave it.
        if !matches!(
            dir.kind(&entry)?,
            Some(EntryKind::Symlink | EntryKind::File)
        ) {
            continue;
        }
        match dir.unlink(&entry) {
            Err(e) if !e.is(Errno::ENOENT) => return Err(e.doing("remove the leftover")),
            _ => removed.push(dir.join(&entry)),
        }
    }
    if !removed.is_empty() {
        dir.sync()?;
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

    #[test]
    fn a_file_that_only_looks_like_a_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("active");
        let notes = dir.path().join(".active.homeswap-tmp.notes");
        let backup = dir.path().join(".active.homeswap-tmp.7.3.bak");
        let adopts = dir.path().join(".active.homeswap-adopt-tmp.7");
        for f in [&notes, &backup, &adopts] {
            std::fs::write(f, b"an operator's file").unwrap();
        }
        let ours = dir.path().join(".active.homeswap-tmp.7.3");
        std::os::unix::fs::symlink("/h/a", &ours).unwrap();
        assert!(has_leftovers(&link));
        assert_eq!(remove_leftovers(&link).unwrap(), vec![ours]);
        assert!(!has_leftovers(&link));
        for f in [&notes, &backup, &adopts] {
            assert_eq!(std::fs::read(f).unwrap(), b"an operator's file");
        }
    }

    #[test]
    fn a_missing_directory_has_no_leftovers_and_nothing_to_remove() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone/active");
        assert!(!has_leftovers(&gone));
        assert_eq!(remove_leftovers(&gone).unwrap(), Vec::<PathBuf>::new());
        remove_file(&gone).unwrap();
    }

    #[test]
    fn create_dirs_makes_each_missing_directory_private_and_keeps_the_rest() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("home/.config/homeswap");
        create_dirs(&deep, 0o700).unwrap();
        for p in [
            dir.path().join("home"),
            dir.path().join("home/.config"),
            deep.clone(),
        ] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", p.display());
        }
        create_dirs(&deep, 0o700).unwrap();
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        let err = create_dirs(&dir.path().join("file/sub"), 0o700).unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
    }

    #[test]
    fn replace_file_keeps_a_link_a_link_and_the_file_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("config.yaml");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace_file(&link, b"new").unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), real);
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary left"
        );
        assert!(replace_file(&dir.path().join("gone"), b"x").is_err());
    }

    #[test]
    fn a_rewritten_file_keeps_its_mode_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("settings.json");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
        let keep = Keep::of(&std::fs::metadata(&f).unwrap());
        let before = std::fs::metadata(&f).unwrap();
        rewrite_file(&f, b"new", keep).unwrap();
        let after = std::fs::metadata(&f).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(after.permissions().mode() & 0o7777, 0o664);
        use std::os::unix::fs::MetadataExt;
        assert_ne!(after.ino(), before.ino(), "replaced by a rename");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_names_the_path_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("latch.json");
        std::fs::create_dir(&f).unwrap();
        let err = write_file(&f, b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("latch.json"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
