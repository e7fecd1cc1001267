//! Moving one entry of the account into the target, never replacing what
//! is there: `renameat2(RENAME_NOREPLACE)`, one atomic step. Where the
//! kernel or file system cannot do that (`EINVAL`), a file or symlink is
//! hard-linked into place (`linkat` never replaces) and then unlinked.
//! Across file systems (`EXDEV`) a file or symlink is copied and verified
//! (`across`); a directory is created in the target, for the act to move
//! its entries one by one. Removing is `unlink` and `rmdir` only, never
//! recursive.

use std::ffi::OsStr;

use nix::errno::Errno;

use super::across::copy_across;
use crate::fs::error::FsError;
use crate::fs::{DirFd, EntryKind};
use crate::ops::progress::Progress;

/// Where a moved entry is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Moved {
    /// In the target, whole (renamed, linked, or copied and verified).
    Whole,
    /// A directory that cannot be renamed (another file system): created
    /// in the target with its permission bits, its entries still to move
    /// one by one, then the emptied original to remove.
    DirCreated,
}

/// Moves `name` of `real` to `new_name` in `target`, never replacing an
/// entry there.
pub(super) fn move_entry(
    real: &DirFd,
    target: &DirFd,
    name: &OsStr,
    new_name: &OsStr,
    kind: EntryKind,
    progress: &dyn Progress,
) -> Result<Moved, FsError> {
    match real.rename_noreplace(name, target, new_name) {
        Ok(()) => return Ok(Moved::Whole),
        // Another file system, or no RENAME_NOREPLACE in the kernel,
        // file system or C library.
        Err(e) if is_one_of(&e, &[Errno::EXDEV, Errno::EINVAL, Errno::ENOSYS]) => {}
        Err(e) => return Err(e),
    }
    if kind == EntryKind::Dir {
        // The permission bits travel with the directory.
        let mode = real.stat(name)?.map_or(0o700, |st| st.st_mode & 0o7777);
        target.mkdir(new_name, mode)?;
        return Ok(Moved::DirCreated);
    }
    match real.hard_link(name, target, new_name) {
        Ok(()) => {
            target.sync()?;
            real.unlink(name)?;
        }
        // Another file system, or one without hard links.
        Err(e) if is_one_of(&e, &[Errno::EXDEV, Errno::EPERM, Errno::EOPNOTSUPP]) => {
            copy_across(real, target, name, new_name, kind, progress)?
        }
        Err(e) => return Err(e),
    }
    Ok(Moved::Whole)
}

/// True when the OS reported one of `errnos`.
pub(super) fn is_one_of(e: &FsError, errnos: &[Errno]) -> bool {
    errnos.iter().any(|&n| e.is(n))
}

/// `rmdir`: fails on a directory that is not empty (something was added
/// while adopting), so nothing is ever deleted recursively.
pub(crate) fn remove_empty_dir(dir: &DirFd, name: &OsStr) -> Result<(), FsError> {
    dir.rmdir(name)
        .map_err(|e| e.doing("remove the emptied directory"))
}
