//! Moving one entry of the account into the target, never replacing what
//! is there: `renameat2(RENAME_NOREPLACE)`, one atomic step. Where the
//! kernel or file system cannot do that (`EINVAL`), a file or symlink is
//! hard-linked into place (`linkat` never replaces) and then unlinked.
//! Across file systems (`EXDEV`) a file or symlink is copied and verified
//! (`across`); a directory is created in the target and its entries moved
//! one by one. Removing is `unlink` and `rmdir` only, never recursive.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{mkdirat, Mode};
use nix::unistd::{fsync, linkat, unlinkat, UnlinkatFlags};

use super::across::copy_across;
use super::act::{Act, ActError};
use super::plan::{open_subdir, stat_entry, Kind, Level};
use crate::fs::error::{FsContext, FsError};

impl Act<'_> {
    /// Moves `name` of `real` to `new_name` in `target`, never replacing
    /// an entry there.
    pub(super) fn move_entry(
        &mut self,
        real: &Level,
        target: &Level,
        name: &OsStr,
        new_name: &OsStr,
        kind: Kind,
    ) -> Result<(), ActError> {
        let dest = target.path.join(new_name);
        match rename_noreplace(real.fd, name, target.fd, new_name) {
            Ok(()) => return Ok(()),
            Err(Errno::EXDEV | Errno::EINVAL | Errno::ENOSYS) => {}
            Err(e) => return Err(FsError::new("move an entry to", &dest, e).into()),
        }
        if kind == Kind::Dir {
            return self.move_dir_by_entries(real, target, name, new_name);
        }
        match linkat(
            real.fd.as_fd(),
            name,
            target.fd.as_fd(),
            new_name,
            AtFlags::empty(),
        ) {
            Ok(()) => {
                fsync(target.fd.as_fd()).fs("fsync the directory", target.path)?;
                unlink(real, name)?;
                Ok(())
            }
            Err(Errno::EXDEV | Errno::EPERM | Errno::EOPNOTSUPP) => {
                copy_across(real, target, name, new_name, kind)
            }
            Err(e) => Err(FsError::new("link an entry to", &dest, e).into()),
        }
    }

    /// A directory that cannot be renamed (another file system): create it
    /// in the target, move its entries, remove the emptied original.
    fn move_dir_by_entries(
        &mut self,
        real: &Level,
        target: &Level,
        name: &OsStr,
        new_name: &OsStr,
    ) -> Result<(), ActError> {
        let dest = target.path.join(new_name);
        let mode = stat_entry(real, name)?.map_or(0o700, |st| st.st_mode & 0o7777);
        mkdirat(target.fd.as_fd(), new_name, Mode::from_bits_truncate(mode))
            .fs("create the directory", &dest)?;
        let (real_fd, target_fd) = (open_subdir(real, name)?, open_subdir(target, new_name)?);
        let real_path = real.path.join(name);
        self.adopt_dir(
            &Level {
                fd: &real_fd,
                path: &real_path,
            },
            &Level {
                fd: &target_fd,
                path: &dest,
            },
        )?;
        remove_empty_dir(real, name)
    }
}

/// `renameat2(RENAME_NOREPLACE)`: fails with `EEXIST` rather than replace.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn rename_noreplace(
    from: &OwnedFd,
    name: &OsStr,
    to: &OwnedFd,
    new_name: &OsStr,
) -> Result<(), Errno> {
    use nix::fcntl::{renameat2, RenameFlags};
    renameat2(
        from.as_fd(),
        name,
        to.as_fd(),
        new_name,
        RenameFlags::RENAME_NOREPLACE,
    )
}

/// Without `renameat2` in the C library, take the link-and-unlink path.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn rename_noreplace(_: &OwnedFd, _: &OsStr, _: &OwnedFd, _: &OsStr) -> Result<(), Errno> {
    Err(Errno::EINVAL)
}

/// `unlink` of a file or symlink (never a directory).
pub(crate) fn unlink(dir: &Level, name: &OsStr) -> Result<(), ActError> {
    unlinkat(dir.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir)
        .fs("remove", &dir.path.join(name))?;
    Ok(())
}

/// `rmdir`: fails on a directory that is not empty (something was added
/// while adopting), so nothing is ever deleted recursively.
pub(crate) fn remove_empty_dir(dir: &Level, name: &OsStr) -> Result<(), ActError> {
    unlinkat(dir.fd.as_fd(), name, UnlinkatFlags::RemoveDir)
        .fs("remove the emptied directory", &dir.path.join(name))?;
    Ok(())
}
