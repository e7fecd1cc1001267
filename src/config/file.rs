//! Reading the configuration file without trusting what the path names.
//!
//! `--config` may name a FIFO (reading blocks until a writer comes),
//! `/dev/zero` (reading never ends) or a huge file. So the file is opened
//! with `O_NONBLOCK` (opening a FIFO then returns at once), checked with
//! `fstat` on the opened descriptor (no race with a rename of the path) to
//! be a regular file, and read up to a size limit. Symlinks are followed:
//! a Kubernetes ConfigMap key is a symlink to a symlinked directory.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::ConfigError;

/// The largest configuration accepted: 1 MiB holds well over 10,000
/// accounts, and parsing it stays a matter of milliseconds.
pub(super) const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of the configuration file at `path`.
pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(ConfigError::NotRegularFile {
            path: path.to_path_buf(),
            kind: kind_of(&ft),
        });
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large(path));
    }
    let bytes = read_capped(file).map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(path)); // it grew after the fstat
    }
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

/// At most one byte more than the limit, so that a larger file is noticed
/// without being read whole.
fn read_capped(file: File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn too_large(path: &Path) -> ConfigError {
    ConfigError::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_CONFIG_BYTES,
    }
}

/// What a non-regular file is, for the message.
fn kind_of(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}
