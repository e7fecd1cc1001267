//! Moving an entry to a new place and leaving a symlink to it where it
//! was, so that a tool opening the old path finds the entry or the link
//! to it at every moment, never nothing.
//!
//! A directory cannot be replaced by a symlink with `rename(2)`, and
//! renaming it first would leave a gap. One `renameat2(RENAME_EXCHANGE)`
//! closes it. For `A/n` moving to `B/m` (one file system), with `link` the
//! absolute path of `B/m`:
//!
//! 1. `B/m` := a symlink holding `link` (itself: nobody uses `B/m` yet);
//! 2. exchange `A/n` and `B/m`: in one step `B/m` is the entry and `A/n`
//!    the symlink holding `link`, which now resolves to it in one hop;
//! 3. fsync both directories.
//!
//! (Two exchanges through a temporary name would work too, but a reader
//! that had resolved the first hop could then find the temporary name
//! gone: `tests/init.rs` saw that happen.)
//!
//! [`place`] looks at what is on disk first, so it finishes a run a crash
//! interrupted after either step.

use std::ffi::OsStr;
use std::path::Path;

use crate::fs::{DirFd, EntryKind, FsError};

/// Moves `a/n` to `b/m` and leaves `a/n` a symlink to `link` (the absolute
/// path of `b/m`); finishes an interrupted run.
pub(crate) fn place(
    a: &DirFd,
    n: &OsStr,
    b: &DirFd,
    m: &OsStr,
    link: &Path,
) -> Result<(), FsError> {
    let is_link_to = |d: &DirFd, name: &OsStr| -> Result<bool, FsError> {
        Ok(d.kind(name)? == Some(EntryKind::Symlink) && d.read_link(name)? == link)
    };
    if is_link_to(a, n)? && b.kind(m)?.is_some_and(|k| k != EntryKind::Symlink) {
        // Done before; make sure it is durable.
        a.sync()?;
        return b.sync();
    }
    if a.kind(n)?.is_none() {
        return Err(FsError::new(
            "move",
            &a.join(n),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    // Step 1, unless an interrupted run made it.
    if !is_link_to(b, m)? {
        b.symlink(m, link)?;
    }
    // Step 2.
    a.exchange(n, b, m)?;
    a.sync()?;
    b.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_moves_and_its_old_path_becomes_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = DirFd::open(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("claude")).unwrap();
        std::fs::write(dir.path().join("claude/x"), b"x").unwrap();
        let home = dir.path().join("claude-a");
        let (n, m) = (OsStr::new("claude"), OsStr::new("claude-a"));
        place(&root, n, &root, m, &home).unwrap();
        assert_eq!(std::fs::read_link(dir.path().join("claude")).unwrap(), home);
        assert_eq!(std::fs::read(home.join("x")).unwrap(), b"x");
        assert_eq!(root.list().unwrap(), ["claude", "claude-a"]);
        // Again: nothing to do.
        place(&root, n, &root, m, &home).unwrap();
        assert_eq!(std::fs::read(dir.path().join("claude/x")).unwrap(), b"x");
    }

    #[test]
    fn a_run_interrupted_after_step_1_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let root = DirFd::open(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("claude")).unwrap();
        let home = dir.path().join("claude-a");
        let (n, m) = (OsStr::new("claude"), OsStr::new("claude-a"));
        root.symlink(m, &home).unwrap();
        place(&root, n, &root, m, &home).unwrap();
        assert!(std::fs::symlink_metadata(&home).unwrap().is_dir());
        assert_eq!(std::fs::read_link(dir.path().join("claude")).unwrap(), home);
    }
}
