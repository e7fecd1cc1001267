//! The admin API's bearer token: read once at start from `token_file`, which
//! must exist, be non-empty and be readable by its owner only, and compared
//! in constant time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

use crate::fs::read::{read_regular, ReadError};

/// The token the TCP admin listener requires.
pub(crate) struct AdminToken(Vec<u8>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

/// Why the token file cannot be used; the sidecar refuses to start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    /// Missing or unreadable.
    #[error("admin token file {}: {source}; create it with 'umask 077; head -c 32 /dev/urandom | base64 > {}'", path.display(), path.display())]
    Read {
        /// The configured file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Holds nothing but white space.
    #[error("admin token file {} is empty; put a long random token in it", path.display())]
    Empty {
        /// The configured file.
        path: PathBuf,
    },
    /// Group or others may read or write it.
    #[error("admin token file {} has mode {mode:04o}: group or others can access it; run 'chmod 600 {}'", path.display(), path.display())]
    Loose {
        /// The configured file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The largest token file read: a token is a line, not a document.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

impl AdminToken {
    /// Reads and checks the token file (leading and trailing white space,
    /// such as a final newline, is not part of the token).
    pub(crate) fn load(path: &Path) -> Result<AdminToken, TokenError> {
        let read_err = |source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TokenError::Loose {
                path: path.to_path_buf(),
                mode,
            });
        }
        // Bounded and non-blocking: a FIFO or a device named as the token
        // file must not stall the start or fill memory.
        let bytes = match read_regular(path, MAX_TOKEN_FILE, false) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return Err(read_err(std::io::Error::from_raw_os_error(
                    nix::libc::ENOENT,
                )))
            }
            Err(ReadError::Fs(e)) => return Err(read_err(e.source)),
            Err(e) => return Err(read_err(std::io::Error::other(e.to_string()))),
        };
        let token = bytes.trim_ascii();
        if token.is_empty() {
            return Err(TokenError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(AdminToken(token.to_vec()))
    }

    /// A token from memory (the demo makes its own).
    pub(crate) fn from_bytes(token: &[u8]) -> AdminToken {
        AdminToken(token.to_vec())
    }

    /// Whether `presented` is the token, in time independent of where they
    /// differ.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.0.as_slice().ct_eq(presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, content: &str, mode: u32) -> PathBuf {
        let p = dir.join("token");
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn a_private_token_file_loads_without_its_newline() {
        let d = tempfile::tempdir().unwrap();
        let t = AdminToken::load(&write(d.path(), "s3cret\n", 0o600)).unwrap();
        assert!(t.matches(b"s3cret"));
        assert!(!t.matches(b"s3cret\n"));
        assert!(!t.matches(b"s3cre"));
        assert!(!t.matches(b""));
    }

    #[test]
    fn loose_empty_and_missing_token_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let err = AdminToken::load(&write(d.path(), "x", 0o644)).unwrap_err();
        assert!(err.to_string().contains("mode 0644"), "{err}");
        let err = AdminToken::load(&write(d.path(), " \n", 0o600)).unwrap_err();
        assert!(matches!(err, TokenError::Empty { .. }), "{err}");
        let err = AdminToken::load(&d.path().join("nope")).unwrap_err();
        assert!(matches!(err, TokenError::Read { .. }), "{err}");
    }
}
