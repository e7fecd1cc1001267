//! The one file-system error type: what was being done, to which path, and
//! the OS error. An operator never sees a bare `os error 2`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A failed file-system operation on one path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}: {source}", crate::fs::pathfmt::shown(path))]
pub struct FsError {
    /// What was being done, e.g. "create the link".
    pub(crate) op: &'static str,
    /// The path it was done to.
    pub(crate) path: PathBuf,
    /// The underlying error.
    #[source]
    pub(crate) source: io::Error,
}

impl FsError {
    /// Wraps `source` with the operation and path.
    pub(crate) fn new(op: &'static str, path: &Path, source: impl Into<io::Error>) -> FsError {
        FsError {
            op,
            path: path.to_path_buf(),
            source: source.into(),
        }
    }

    /// The errno, when the source came from the OS.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// True when the OS reported `errno`, e.g. `e.is(Errno::ENOENT)`.
    pub(crate) fn is(&self, errno: nix::errno::Errno) -> bool {
        self.errno() == Some(errno as i32)
    }

    /// The same failure, told as the caller's operation: a primitive says
    /// "rename into place", the caller knows it was "replace the link".
    pub(crate) fn doing(self, op: &'static str) -> FsError {
        FsError { op, ..self }
    }
}

/// Lets a `nix` call be wrapped like a std one: `.fs("open", path)?`.
pub(crate) trait FsContext<T> {
    /// Attaches the operation and path to an error.
    fn fs(self, op: &'static str, path: &Path) -> Result<T, FsError>;
}

impl<T, E: Into<io::Error>> FsContext<T> for Result<T, E> {
    fn fs(self, op: &'static str, path: &Path) -> Result<T, FsError> {
        self.map_err(|e| FsError::new(op, path, e))
    }
}

/// Displays a list of errors as one `; `-separated line.
pub(crate) struct Joined<'a, T>(pub(crate) &'a [T]);

impl<T: fmt::Display> fmt::Display for Joined<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
