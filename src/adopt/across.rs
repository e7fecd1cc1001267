//! Copying an entry across file systems, where it cannot be renamed: the
//! copy is made under a temporary name beside its destination, fsynced,
//! compared byte for byte with the original, linked into place (never
//! replacing) and only then is the original removed. A crash in between
//! leaves the entry in both places (the re-run sees a duplicate) or a
//! marked temporary copy, which a resumed run removes.

use std::ffi::{OsStr, OsString};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{fsync, linkat, symlinkat, unlinkat, UnlinkatFlags};

use super::act::ActError;
use super::entry::unlink;
use super::plan::{list, open_file, read_link, same_bytes, stat_entry, Kind, Level};
use crate::fs::error::{FsContext, FsError};

/// Marks the temporary copies made across file systems, so that a re-run
/// after a crash can remove them: `.<name>.homeswap-adopt-tmp.<pid>`.
const TEMP_MARK: &str = ".homeswap-adopt-tmp.";

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

/// The temporary name of a copy of `name` made by this process.
fn temp_name(name: &OsStr) -> OsString {
    let mut t = OsString::from(".");
    t.push(name);
    t.push(format!("{TEMP_MARK}{}", std::process::id()));
    t
}

/// Removes the temporary copies a crashed run left in `dir`.
pub(crate) fn remove_temporaries(dir: &Level) -> Result<(), ActError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::atomic::open_dir;

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
