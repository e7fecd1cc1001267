//! Reading a small regular file that something else could have replaced: a
//! FIFO would block the reader forever, a device or a huge file would be
//! read until memory runs out. State records are read through here.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode};

use crate::fs::error::{FsContext, FsError};
use crate::fs::EntryKind;

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The path could not be opened or read.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Something other than a regular file is there (FIFO, device, ...).
    #[error("{} is not a regular file (it is {kind})", crate::fs::pathfmt::shown(.path))]
    NotRegular {
        /// The path.
        path: std::path::PathBuf,
        /// What is there instead.
        kind: EntryKind,
    },
    /// The file really lies outside the directories it may be read from.
    #[error("{} is really {}, outside the directories it may be read from", crate::fs::pathfmt::shown(.path), crate::fs::pathfmt::shown(.real))]
    Outside {
        /// The path as given.
        path: std::path::PathBuf,
        /// Where the opened file really is.
        real: std::path::PathBuf,
    },
    /// The file is larger than its kind of file can be.
    #[error("{} is larger than {limit} bytes", crate::fs::pathfmt::shown(.path))]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// The most that is read.
        limit: u64,
    },
}

/// Opens the regular file at `path` for reading; `Ok(None)` when nothing
/// is there. Non-blocking (a FIFO cannot stall the open), without following
/// a symlink at the last component when `nofollow`, and checked on the
/// opened descriptor to be a regular file.
fn open_regular(path: &Path, nofollow: bool) -> Result<Option<(File, FileStat)>, ReadError> {
    let mut flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    if nofollow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let fd: OwnedFd = match open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(FsError::new("open", path, e).into()),
    };
    let st = fstat(fd.as_fd()).fs("inspect", path)?;
    let kind = EntryKind::of(&st);
    if kind != EntryKind::File {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind,
        });
    }
    Ok(Some((File::from(fd), st)))
}

/// Reads the regular file at `path`, at most `limit` bytes; `Ok(None)` when
/// nothing is there (see [`open_regular`] for how it is opened).
pub(crate) fn read_regular(
    path: &Path,
    limit: u64,
    nofollow: bool,
) -> Result<Option<Vec<u8>>, ReadError> {
    let Some((file, _)) = open_regular(path, nofollow)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    // One byte over the limit tells "too large" from "exactly the limit",
    // even when the file grows while it is read.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .fs("read", path)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(Some(bytes))
}

/// The last `limit` bytes of the regular file at `path` (no symlink
/// followed), and whether the file holds more before them; `Ok(None)` when
/// nothing is there.
pub(crate) fn read_tail(path: &Path, limit: u64) -> Result<Option<(Vec<u8>, bool)>, ReadError> {
    let Some((file, st)) = open_regular(path, true)? else {
        return Ok(None);
    };
    tail_of(&file, &st, path, limit).map(Some)
}

/// [`read_tail`] of a file that must really lie under one of `roots`
/// (real paths): the opened file's own path (`/proc/self/fd`) is checked,
/// so no link on the way leads it anywhere else.
pub(crate) fn read_tail_within(
    path: &Path,
    limit: u64,
    roots: &[PathBuf],
) -> Result<Option<(Vec<u8>, bool)>, ReadError> {
    let Some((file, st)) = open_regular(path, true)? else {
        return Ok(None);
    };
    let real = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .fs("find where it is", path)?;
    if !roots.iter().any(|r| real.starts_with(r) && real != *r) {
        return Err(ReadError::Outside {
            path: path.to_path_buf(),
            real,
        });
    }
    tail_of(&file, &st, path, limit).map(Some)
}

/// The last `limit` bytes of an open file, and whether it holds more.
fn tail_of(
    file: &File,
    st: &FileStat,
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, bool), ReadError> {
    let len = u64::try_from(st.st_size).unwrap_or(0);
    let start = len.saturating_sub(limit);
    // At most `limit` bytes, even if the file grows while it is read.
    let mut bytes = vec![0u8; usize::try_from(len - start).unwrap_or(0)];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read_at(&mut bytes[filled..], start + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FsError::new("read", path, e).into()),
        }
    }
    bytes.truncate(filled);
    Ok((bytes, start > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latch.json");
        nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_regular(&p, 1024, true).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: EntryKind::Fifo,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("it is a FIFO"), "{err}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'x'; 10]).unwrap();
        assert_eq!(read_regular(&p, 10, true).unwrap().unwrap().len(), 10);
        let err = read_regular(&p, 9, true).unwrap_err();
        assert!(err.to_string().contains("larger than 9 bytes"), "{err}");
        assert!(read_regular(&dir.path().join("none"), 9, true)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_symlink_is_not_followed_when_asked_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        std::os::unix::fs::symlink("/etc/hostname", &p).unwrap();
        assert!(read_regular(&p, 1024, true).is_err());
    }
}
