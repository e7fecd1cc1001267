//! Which `settings.json` files `setup claude-code` edits, and reading one:
//! the shared one when `settings.json` is in `shared_files` (every home's
//! is a link to it), else each home's own. A file is reached through its
//! links, so that the link stays a link and its target is rewritten.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::fs::atomic::Keep;
use crate::fs::error::FsError;
use crate::fs::follow::final_target;
use crate::fs::read::{read_regular, ReadError};

/// Claude Code's settings file in a config dir (and the shared dir).
pub(crate) const SETTINGS: &str = "settings.json";

/// The most bytes of a settings file read: it holds a few kilobytes of
/// settings, and permission lists grow, but not to this.
const MAX_SETTINGS: u64 = 4 << 20;

/// One settings file, as found.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The path as configuration names it: `<shared_dir>/settings.json` or
    /// `<home>/settings.json`.
    pub(crate) path: PathBuf,
    /// The account whose home holds it; `None` for the shared file.
    pub(crate) account: Option<String>,
    /// The regular file written: `path` with its links followed.
    pub(crate) file: PathBuf,
    /// Its text and what a rewrite keeps; `None` when there is no file yet.
    pub(crate) current: Option<(Vec<u8>, Keep)>,
}

/// The settings files to edit: `(path, account)`, the shared one alone
/// when `settings.json` is shared.
pub(crate) fn wanted(config: &Config) -> Vec<(PathBuf, Option<String>)> {
    if is_shared(config) {
        return vec![(config.shared.dir().join(SETTINGS), None)];
    }
    config
        .accounts
        .iter()
        .map(|(account, home)| (home.join(SETTINGS), Some(account.clone())))
        .collect()
}

/// Whether `settings.json` is one of `shared_files`.
pub(crate) fn is_shared(config: &Config) -> bool {
    config.shared.file_names().iter().any(|n| n == SETTINGS)
}

/// Why a settings file cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// Its links cannot be followed.
    #[error(transparent)]
    Links(#[from] FsError),
    /// The file cannot be read (not a regular file, too large, ...).
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Finds and reads the settings file `path` of `account`.
pub(crate) fn open(path: &Path, account: Option<&str>) -> Result<Target, OpenError> {
    let file = final_target(path)?;
    let current = match read_regular(&file, MAX_SETTINGS, true)? {
        None => None,
        Some(bytes) => {
            let meta = std::fs::metadata(&file).map_err(|e| FsError::new("inspect", &file, e))?;
            Some((bytes, Keep::of(&meta)))
        }
    };
    Ok(Target {
        path: path.to_path_buf(),
        account: account.map(str::to_string),
        file,
        current,
    })
}

/// The 1-based line and column of the first byte of `bytes` that is not
/// UTF-8, or the text.
pub(crate) fn text_of(bytes: &[u8]) -> Result<&str, (usize, usize)> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[start..]).chars().count() + 1;
        (line, column)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_that_is_not_utf8_is_placed_by_line_and_column() {
        assert_eq!(text_of(b"{\n  \"\xc3\xa9\xff\": 1}"), Err((2, 5)));
        assert_eq!(text_of(b"{}"), Ok("{}"));
    }
}
