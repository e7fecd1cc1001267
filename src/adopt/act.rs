//! The act: move the entries of a real directory into the shared target,
//! never overwriting and never leaving an entry in neither place.
//!
//! Each entry is decided again ([`decide`]) just before it is touched:
//!
//! - *move*: `renameat2(RENAME_NOREPLACE)`, one atomic step. Where the
//!   kernel or file system cannot do that (`EINVAL`), a file or symlink is
//!   hard-linked into place (`linkat` never replaces) and then unlinked.
//!   Across file systems (`EXDEV`) a file is copied to a temporary name
//!   beside its destination, fsynced, compared byte for byte with the
//!   original, linked into place and only then removed from the account; a
//!   directory is created in the target and its entries moved one by one.
//!   A crash in between leaves the entry in both places, which the re-run
//!   sees as a duplicate.
//! - *duplicate*: the bytes were compared equal a moment ago; the account's
//!   copy is unlinked.
//! - *merge*: both sides hold a directory; walk into both, then `rmdir`
//!   the emptied account directory (never a recursive delete).
//! - *conflict*: only with `--keep-both`: moved (as above) beside the
//!   target's entry as `NAME.adopted-ACCOUNT-STAMP.EXT`.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{mkdirat, Mode};
use nix::unistd::{fsync, linkat, symlinkat, unlinkat, UnlinkatFlags};

use super::journal::AdoptJournal;
use super::plan::{
    decide, list, open_file, open_subdir, read_link, same_bytes, stat_entry, Decision, Kind, Level,
};
use crate::fs::error::{FsContext, FsError};
use crate::state::StateDir;

/// Marks the temporary copies made across file systems, so that a re-run
/// after a crash can remove them: `.<name>.homeswap-adopt-tmp.<pid>`.
const TEMP_MARK: &str = ".homeswap-adopt-tmp.";

/// Why the act stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActError {
    /// A file-system operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A conflict appeared after the plan (and `--keep-both` is off).
    #[error(
        "{} and {} differ ({clash}); they did not when the plan was made",
        crate::fs::pathfmt::shown(ours),
        crate::fs::pathfmt::shown(theirs)
    )]
    NewConflict {
        /// The account's entry.
        ours: PathBuf,
        /// The target's entry.
        theirs: PathBuf,
        /// How they differ.
        clash: super::plan::Clash,
    },
}

/// What the act did so far (kept across links of one adoption).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Entries moved into a target.
    pub moved: usize,
    /// Account copies removed as byte-identical duplicates.
    pub duplicates: usize,
}

/// One adoption's act: its choices and its tally.
pub(crate) struct Act<'a> {
    /// The account, for kept-both names.
    pub account: &'a str,
    /// The stamp for kept-both names.
    pub stamp: &'a str,
    /// Keep conflicting entries beside the target's.
    pub keep_both: bool,
    /// Remove temporary copies a crashed run left in the target.
    pub resumed: bool,
    /// What was done.
    pub tally: Tally,
    /// The journal, where each kept-both entry is recorded before it moves
    /// (its `kept_both` is the list the operator is shown).
    pub journal: &'a mut AdoptJournal,
    /// Where the journal is written.
    pub state: &'a StateDir,
}

impl Act<'_> {
    /// Moves everything in `real` into `target`; on success `real` is empty.
    pub fn adopt_dir(&mut self, real: &Level, target: &Level) -> Result<(), ActError> {
        if self.resumed {
            remove_temporaries(target)?;
        }
        for name in list(real)? {
            let Some(decision) = decide(real, Some(target), &name)? else {
                continue;
            };
            match decision {
                Decision::Move(kind) => {
                    self.move_entry(real, target, &name, &name, kind)?;
                    self.tally.moved += 1;
                    after_move(&target.path.join(&name))?;
                }
                Decision::Merge => {
                    let (real_fd, target_fd) =
                        (open_subdir(real, &name)?, open_subdir(target, &name)?);
                    let (real_path, target_path) = (real.path.join(&name), target.path.join(&name));
                    self.adopt_dir(
                        &Level {
                            fd: &real_fd,
                            path: &real_path,
                        },
                        &Level {
                            fd: &target_fd,
                            path: &target_path,
                        },
                    )?;
                    remove_empty_dir(real, &name)?;
                }
                Decision::Duplicate(_) => {
                    unlink(real, &name)?;
                    self.tally.duplicates += 1;
                }
                Decision::Conflict(kind, clash) => {
                    if !self.keep_both {
                        return Err(ActError::NewConflict {
                            ours: real.path.join(&name),
                            theirs: target.path.join(&name),
                            clash,
                        });
                    }
                    let kept = self.keep_beside(real, target, &name, kind)?;
                    after_move(&kept)?;
                }
            }
        }
        fsync(real.fd.as_fd()).fs("fsync the directory", real.path)?;
        fsync(target.fd.as_fd()).fs("fsync the directory", target.path)?;
        Ok(())
    }

    /// Moves a conflicting entry beside the target's under the first free
    /// kept-both name. A name already holding the same bytes is this
    /// entry's copy from an interrupted run: the account's copy goes.
    fn keep_beside(
        &mut self,
        real: &Level,
        target: &Level,
        name: &OsStr,
        kind: Kind,
    ) -> Result<PathBuf, ActError> {
        for n in 1.. {
            let kept = kept_name(name, self.account, self.stamp, n, kind == Kind::Dir);
            match stat_entry(target, &kept)? {
                None => {
                    self.record_kept(&target.path.join(&kept))?;
                    self.move_entry(real, target, name, &kept, kind)?;
                    return Ok(target.path.join(&kept));
                }
                Some(st)
                    if kind == Kind::File
                        && Kind::of(&st) == Kind::File
                        && same_bytes(real, name, target, &kept)? =>
                {
                    self.record_kept(&target.path.join(&kept))?;
                    unlink(real, name)?;
                    return Ok(target.path.join(&kept));
                }
                Some(_) => {}
            }
        }
        unreachable!("the kept-both names are endless")
    }

    /// Records a kept-both path in the journal before the entry moves there.
    fn record_kept(&mut self, path: &Path) -> Result<(), FsError> {
        if !self.journal.kept_both.iter().any(|p| p == path) {
            self.journal.kept_both.push(path.to_path_buf());
            self.journal.write(self.state)?;
        }
        Ok(())
    }

    /// Moves `name` of `real` to `new_name` in `target`, never replacing
    /// an entry there.
    fn move_entry(
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

/// Copies a file or symlink into `target` under `new_name` (another file
/// system), then removes the account's copy:
///
/// 1. copy into `.<new_name>.homeswap-adopt-tmp.<pid>` (created exclusively),
///    keeping the permission bits, and fsync it;
/// 2. compare it byte for byte with the original;
/// 3. `linkat` it to `new_name` (fails rather than replace), unlink the
///    temporary name, fsync the directory;
/// 4. unlink the original.
pub(crate) fn copy_across(
    real: &Level,
    target: &Level,
    name: &OsStr,
    new_name: &OsStr,
    kind: Kind,
) -> Result<(), ActError> {
    let dest = target.path.join(new_name);
    match kind {
        Kind::Symlink => {
            let held = read_link(real, name)?;
            symlinkat(held.as_path(), target.fd.as_fd(), new_name).fs("create the link", &dest)?;
        }
        Kind::File => {
            let tmp = temp_name(new_name);
            let tmp_path = target.path.join(&tmp);
            let copied = copy_file(real, name, target, &tmp, &tmp_path).and_then(|()| {
                linkat(
                    target.fd.as_fd(),
                    tmp.as_os_str(),
                    target.fd.as_fd(),
                    new_name,
                    AtFlags::empty(),
                )
                .fs("link the copy to", &dest)
            });
            let _ = unlinkat(
                target.fd.as_fd(),
                tmp.as_os_str(),
                UnlinkatFlags::NoRemoveDir,
            );
            copied?;
        }
        Kind::Dir | Kind::Special => {
            return Err(FsError::new(
                "move across file systems",
                &real.path.join(name),
                std::io::Error::other(format!("{kind} cannot be copied; move it by hand")),
            )
            .into())
        }
    }
    fsync(target.fd.as_fd()).fs("fsync the directory", target.path)?;
    unlink(real, name)
}

/// Steps 1 and 2 of [`copy_across`].
fn copy_file(
    real: &Level,
    name: &OsStr,
    target: &Level,
    tmp: &OsStr,
    tmp_path: &Path,
) -> Result<(), FsError> {
    let src_path = real.path.join(name);
    let mut src = open_file(real, name)?;
    let mode = src
        .metadata()
        .fs("inspect", &src_path)?
        .permissions()
        .mode()
        & 0o7777;
    let fd = openat(
        target.fd.as_fd(),
        tmp,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )
    .fs("create a temporary copy", tmp_path)?;
    let mut dst = std::fs::File::from(fd);
    std::io::copy(&mut src, &mut dst).fs("copy into", tmp_path)?;
    dst.sync_all().fs("fsync", tmp_path)?;
    if !same_bytes(real, name, target, tmp)? {
        return Err(FsError::new(
            "verify the copy",
            tmp_path,
            std::io::Error::other(format!(
                "its bytes differ from {}",
                crate::fs::pathfmt::shown(&src_path)
            )),
        ));
    }
    Ok(())
}

fn temp_name(name: &OsStr) -> OsString {
    let mut t = OsString::from(".");
    t.push(name);
    t.push(format!("{TEMP_MARK}{}", std::process::id()));
    t
}

/// Removes the temporary copies a crashed run left in `dir`.
fn remove_temporaries(dir: &Level) -> Result<(), ActError> {
    for name in list(dir)? {
        let bytes = name.as_bytes();
        let marked = bytes.starts_with(b".")
            && bytes
                .windows(TEMP_MARK.len())
                .any(|w| w == TEMP_MARK.as_bytes());
        if marked && stat_entry(dir, &name)?.is_some_and(|st| Kind::of(&st) == Kind::File) {
            unlink(dir, &name)?;
        }
    }
    Ok(())
}

/// The kept-both name of a conflicting entry: `x.jsonl` becomes
/// `x.adopted-b-20261124T1200Z.jsonl` (the extension stays last, so tools
/// still recognize the file), then `...-2.jsonl` and so on if taken. A
/// directory, or a name without an extension, gets the suffix at the end.
pub fn kept_name(name: &OsStr, account: &str, stamp: &str, n: u32, is_dir: bool) -> OsString {
    let bytes = name.as_bytes();
    let mut suffix = format!(".adopted-{account}-{stamp}").into_bytes();
    if n > 1 {
        suffix.extend_from_slice(format!("-{n}").as_bytes());
    }
    let dot = if is_dir {
        None
    } else {
        bytes
            .iter()
            .rposition(|&b| b == b'.')
            .filter(|&i| i > 0 && i + 1 < bytes.len())
    };
    let out = match dot {
        Some(i) => [&bytes[..i], &suffix, &bytes[i..]].concat(),
        None => [bytes, &suffix].concat(),
    };
    OsString::from_vec(out)
}

fn unlink(dir: &Level, name: &OsStr) -> Result<(), ActError> {
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

/// The `adopt::after_move` failpoint: after each entry moved.
fn after_move(dest: &Path) -> Result<(), FsError> {
    fail::fail_point!("adopt::after_move", |_| Err(FsError::new(
        "continue after moving",
        dest,
        std::io::Error::other("failpoint adopt::after_move")
    )));
    let _ = dest;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::atomic::open_dir;

    #[test]
    fn kept_names_keep_the_extension_last() {
        let k = |n: &str, i, dir| kept_name(OsStr::new(n), "b", "20261124T1200Z", i, dir);
        assert_eq!(k("x.jsonl", 1, false), "x.adopted-b-20261124T1200Z.jsonl");
        assert_eq!(k("x.jsonl", 2, false), "x.adopted-b-20261124T1200Z-2.jsonl");
        assert_eq!(k("notes", 1, false), "notes.adopted-b-20261124T1200Z");
        assert_eq!(k(".env", 1, false), ".env.adopted-b-20261124T1200Z");
        assert_eq!(k("a.tar.gz", 1, false), "a.tar.adopted-b-20261124T1200Z.gz");
        assert_eq!(k("dir.d", 1, true), "dir.d.adopted-b-20261124T1200Z");
    }

    #[test]
    fn a_copy_across_file_systems_is_verified_linked_and_the_original_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        std::fs::create_dir(&from).unwrap();
        std::fs::create_dir(&to).unwrap();
        std::fs::write(from.join("t.jsonl"), b"transcript").unwrap();
        std::os::unix::fs::symlink("/somewhere", from.join("l")).unwrap();
        std::fs::write(to.join("taken"), b"theirs").unwrap();
        std::fs::write(from.join("taken"), b"ours").unwrap();
        let (ffd, tfd) = (open_dir(&from).unwrap(), open_dir(&to).unwrap());
        let (real, target) = (
            Level {
                fd: &ffd,
                path: &from,
            },
            Level {
                fd: &tfd,
                path: &to,
            },
        );
        copy_across(
            &real,
            &target,
            OsStr::new("t.jsonl"),
            OsStr::new("t.jsonl"),
            Kind::File,
        )
        .unwrap();
        copy_across(
            &real,
            &target,
            OsStr::new("l"),
            OsStr::new("l"),
            Kind::Symlink,
        )
        .unwrap();
        assert_eq!(std::fs::read(to.join("t.jsonl")).unwrap(), b"transcript");
        assert_eq!(
            std::fs::read_link(to.join("l")).unwrap(),
            Path::new("/somewhere")
        );
        // Never replaces: the original stays where the destination is taken.
        assert!(copy_across(
            &real,
            &target,
            OsStr::new("taken"),
            OsStr::new("taken"),
            Kind::File
        )
        .is_err());
        assert_eq!(std::fs::read(to.join("taken")).unwrap(), b"theirs");
        assert_eq!(std::fs::read(from.join("taken")).unwrap(), b"ours");
        let left: Vec<_> = std::fs::read_dir(&from)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["taken"]);
        assert_eq!(
            std::fs::read_dir(&to).unwrap().count(),
            3,
            "no temporary copy is left"
        );
    }
}
