//! Reading the configuration file without trusting what the path names.
//!
//! `--config` may name a FIFO (reading blocks until a writer comes),
//! `/dev/zero` (reading never ends) or a huge file. So the file is opened
//! with `O_NONBLOCK` (opening a FIFO then returns at once), checked with
//! `fstat` on the opened descriptor (no race with a rename of the path) to
//! be a regular file, and read up to a size limit. Symlinks are followed:
//! a Kubernetes ConfigMap key is a symlink to a symlinked directory.

use std::path::Path;

use crate::fs::read::{read_regular, ReadError};

use super::error::ConfigError;

/// The largest configuration accepted: 1 MiB holds well over 10,000
/// accounts, and parsing it stays a matter of milliseconds.
pub(super) const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of the configuration file at `path`.
pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = match read_regular(path, MAX_CONFIG_BYTES, false) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::from_raw_os_error(nix::libc::ENOENT),
            })
        }
        Err(ReadError::Fs(e)) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: e.source,
            })
        }
        Err(ReadError::NotRegular { kind, .. }) => {
            return Err(ConfigError::NotRegularFile {
                path: path.to_path_buf(),
                kind: kind.describe(),
            })
        }
        // Only a read restricted to some directories refuses this.
        Err(e @ ReadError::Outside { .. }) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })
        }
        Err(ReadError::TooLarge { .. }) => {
            return Err(ConfigError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_CONFIG_BYTES,
            })
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        ConfigError::NotText {
            path: path.to_path_buf(),
            line,
            column,
        }
    })
}
