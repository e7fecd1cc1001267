//! The cross-process lock: `flock` on `<state_dir>/lock`, so the CLI, a
//! second CLI and the sidecar never flip at the same time. The lock is
//! released when the guard is dropped, or by the kernel when the process
//! dies, so a crash never leaves it held.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::{fstat, Mode};
use std::os::fd::AsFd;

use crate::fs::error::{FsContext, FsError};
use crate::fs::EntryKind;
use crate::state::StateDir;

/// How long a swap waits for another one before giving up as busy.
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a waiting process tries again.
const RETRY_EVERY: Duration = Duration::from_millis(25);

/// Holding this means holding the lock.
#[derive(Debug)]
pub(crate) struct StateLock {
    _flock: Flock<File>,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another homeswap held it for the whole timeout.
    #[error("another homeswap holds {} (waited {:.1}s); try again when it has finished", path.display(), waited.as_secs_f64())]
    Busy {
        /// The lock file.
        path: std::path::PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl StateLock {
    /// Takes the lock for an operation, telling its two failures apart in
    /// one place: another homeswap holding it (`busy`: try again later) and
    /// the lock file failing (`failed`: refused before anything changed).
    pub(crate) fn acquire_or<E>(
        state: &StateDir,
        timeout: Duration,
        busy: impl FnOnce(LockError) -> E,
        failed: impl FnOnce(FsError) -> E,
    ) -> Result<StateLock, E> {
        StateLock::acquire(state, timeout).map_err(|e| match e {
            LockError::Fs(e) => failed(e),
            held => busy(held),
        })
    }

    /// Takes the lock, waiting up to `timeout` for another holder.
    pub(crate) fn acquire(state: &StateDir, timeout: Duration) -> Result<StateLock, LockError> {
        state.create()?;
        let path = state.lock();
        let start = Instant::now();
        let ops = ("open the lock file", "inspect the lock file");
        match flock_within(&path, ops, timeout, RETRY_EVERY)? {
            Some(flock) => Ok(StateLock { _flock: flock }),
            None => Err(LockError::Busy {
                path,
                waited: start.elapsed(),
            }),
        }
    }
}

/// Opens the lock file at `path` (created 0600 if missing; `ops` name the
/// open and the inspection in errors) and takes an
/// exclusive `flock` on it, trying every `every` for at most `wait`;
/// `Ok(None)` when another holder kept it all that time. The file is
/// opened read-only (never written; an open write descriptor would keep
/// its file system from being remounted read-only), without following a
/// symlink, and non-blocking, so a FIFO planted there cannot block the
/// open; anything but a regular file is refused.
pub(crate) fn flock_within(
    path: &Path,
    ops: (&'static str, &'static str),
    wait: Duration,
    every: Duration,
) -> Result<Option<Flock<File>>, FsError> {
    let mut file = File::from(
        nix::fcntl::open(
            path,
            OFlag::O_RDONLY
                | OFlag::O_CREAT
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .fs(ops.0, path)?,
    );
    let kind = EntryKind::of(&fstat(file.as_fd()).fs(ops.1, path)?);
    if kind != EntryKind::File {
        return Err(FsError::new(
            "lock",
            path,
            std::io::Error::other(format!("it is {kind}, not a regular file; move it away")),
        ));
    }
    let start = Instant::now();
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(flock) => return Ok(Some(flock)),
            Err((f, Errno::EWOULDBLOCK)) => {
                let waited = start.elapsed();
                if waited >= wait {
                    return Ok(None);
                }
                file = f;
                std::thread::sleep(every.min(wait.saturating_sub(waited)));
            }
            Err((_, e)) => return Err(FsError::new("lock", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_busy_and_gets_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let first = StateLock::acquire(&state, LOCK_TIMEOUT).unwrap();
        let err = StateLock::acquire(&state, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("another homeswap holds"), "{err}");
        drop(first);
        StateLock::acquire(&state, Duration::from_millis(50)).unwrap();
    }
}
