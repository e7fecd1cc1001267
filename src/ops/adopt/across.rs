//! Copying an entry across file systems, where it cannot be renamed: the
//! copy is made under a temporary name beside its destination, fsynced,
//! compared byte for byte with the original, linked into place (never
//! replacing) and only then is the original removed. A crash in between
//! leaves the entry in both places (the re-run sees a duplicate) or a
//! marked temporary copy, which a resumed run removes.

use super::plan::same_bytes;
use crate::fs::error::{FsContext, FsError};
use crate::fs::temp::{is_temp, temp_name};
use crate::fs::{DirFd, EntryKind};
use crate::ops::progress::Progress;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

/// Copies a file or symlink into `target` under `new_name` (another file
/// system), then removes the account's copy:
///
/// 1. copy into a temporary name for `new_name` (created exclusively,
///    `crate::fs::temp`), keeping the permission bits, and fsync it;
/// 2. compare it byte for byte with the original;
/// 3. `linkat` it to `new_name` (fails rather than replace), unlink the
///    temporary name, fsync the directory;
/// 4. unlink the original.
pub(crate) fn copy_across(
    real: &DirFd,
    target: &DirFd,
    name: &OsStr,
    new_name: &OsStr,
    kind: EntryKind,
    progress: &dyn Progress,
) -> Result<(), FsError> {
    match kind {
        EntryKind::Symlink => target.symlink(new_name, &real.read_link(name)?)?,
        EntryKind::File => {
            let tmp = temp_name(new_name);
            let copied = copy_file(real, name, target, &tmp, progress).and_then(|()| {
                target
                    .hard_link(&tmp, target, new_name)
                    .map_err(|e| e.doing("link the copy to"))
            });
            let _ = target.unlink(&tmp);
            copied?;
        }
        _ => {
            return Err(FsError::new(
                "move across file systems",
                &real.join(name),
                std::io::Error::other(format!("{kind} cannot be copied; move it by hand")),
            ))
        }
    }
    target.sync()?;
    real.unlink(name)?;
    Ok(())
}

/// Steps 1 and 2 of [`copy_across`], the bytes copied reported as they go.
fn copy_file(
    real: &DirFd,
    name: &OsStr,
    target: &DirFd,
    tmp: &OsStr,
    progress: &dyn Progress,
) -> Result<(), FsError> {
    let (src_path, tmp_path) = (real.join(name), target.join(tmp));
    let mut src = real.open_file(name)?;
    let mode = src
        .metadata()
        .fs("inspect", &src_path)?
        .permissions()
        .mode()
        & 0o7777;
    let mut dst = target
        .create_file(tmp, mode)
        .map_err(|e| e.doing("create a temporary copy"))?;
    copy_reporting(&mut src, &mut dst, progress).fs("copy into", &tmp_path)?;
    dst.sync_all().fs("fsync", &tmp_path)?;
    if !same_bytes(real, name, target, tmp)? {
        return Err(FsError::new(
            "verify the copy",
            &tmp_path,
            std::io::Error::other(format!(
                "its bytes differ from {}",
                crate::fs::pathfmt::shown(&src_path)
            )),
        ));
    }
    Ok(())
}

/// Copies `src` to `dst` in chunks, reporting each to `progress`.
fn copy_reporting(
    src: &mut impl Read,
    dst: &mut impl Write,
    progress: &dyn Progress,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; COPY_CHUNK];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        dst.write_all(&buf[..n])?;
        progress.bytes(n as u64);
    }
}

/// The most bytes copied between two progress reports.
const COPY_CHUNK: usize = 1 << 20;

/// Removes the temporary copies a crashed run left in `dir`: regular files
/// with a homeswap temporary name, this version's or an older one's.
pub(crate) fn remove_temporaries(dir: &DirFd) -> Result<(), FsError> {
    for name in dir.list()? {
        if is_temp(&name) && dir.kind(&name)? == Some(EntryKind::File) {
            dir.unlink(&name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
        let (real, target) = (DirFd::open(&from).unwrap(), DirFd::open(&to).unwrap());
        copy_across(
            &real,
            &target,
            OsStr::new("t.jsonl"),
            OsStr::new("t.jsonl"),
            EntryKind::File,
            &crate::ops::progress::Quiet,
        )
        .unwrap();
        copy_across(
            &real,
            &target,
            OsStr::new("l"),
            OsStr::new("l"),
            EntryKind::Symlink,
            &crate::ops::progress::Quiet,
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
            EntryKind::File,
            &crate::ops::progress::Quiet,
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

    #[test]
    fn only_regular_files_with_a_temporary_name_are_removed_as_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let ours = [".a.jsonl.homeswap-tmp.7.0", ".a.jsonl.homeswap-adopt-tmp.7"];
        let kept = [
            ".a.jsonl.homeswap-tmp.notes",
            "a.jsonl",
            ".a.jsonl.homeswap-tmp.7.0.bak",
        ];
        for n in ours.iter().chain(&kept) {
            std::fs::write(p.join(n), b"x").unwrap();
        }
        std::fs::create_dir(p.join(".d.homeswap-tmp.7.1")).unwrap();
        std::os::unix::fs::symlink("/x", p.join(".l.homeswap-tmp.7.2")).unwrap();
        remove_temporaries(&DirFd::open(p).unwrap()).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want: Vec<_> = kept.iter().map(|n| n.to_string()).collect();
        want.extend([".d.homeswap-tmp.7.1".into(), ".l.homeswap-tmp.7.2".into()]);
        want.sort();
        assert_eq!(left, want);
    }
}
