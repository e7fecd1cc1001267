//! What a `setup claude-code` run did, per file and in all, and why one
//! changed nothing.

use std::path::PathBuf;

use crate::fs::error::FsError;
use crate::fs::pathfmt::shown;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::setup::change::Change;
use crate::ops::setup::command::NotText;
use crate::ops::setup::diff;
use crate::ops::setup::target::OpenError;
use crate::ops::skeleton::Ended;
use crate::state::audit::Outcome;
use crate::state::lock::LockError;

/// One settings file's part of a run.
#[derive(Debug, Clone)]
pub(crate) struct FileReport {
    /// The path as the configuration names it.
    pub(crate) path: PathBuf,
    /// The account whose home holds it; `None` for the shared file.
    pub(crate) account: Option<String>,
    /// The file written: `path` with its links followed.
    pub(crate) file: PathBuf,
    /// Whether a file was there before.
    pub(crate) existed: bool,
    /// Its text before.
    pub(crate) before: String,
    /// Its text after (or, in a dry run, as it would be).
    pub(crate) after: String,
    /// What changed, one entry a change.
    pub(crate) changes: Vec<Change>,
    /// Whether it was written (false: nothing to change, or a dry run).
    pub(crate) written: bool,
}

impl FileReport {
    /// Whether the edit changed the text.
    pub(crate) fn changed(&self) -> bool {
        self.before != self.after
    }

    /// The unified diff from before to after (empty when unchanged).
    pub(crate) fn diff(&self) -> String {
        let name = shown(&self.file).to_string();
        let old = if self.existed {
            name.as_str()
        } else {
            "/dev/null"
        };
        diff::unified(&self.before, &self.after, old, &name)
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub(crate) struct SetupReport {
    /// Every settings file, in the configuration's order.
    pub(crate) files: Vec<FileReport>,
    /// What the operator should know (one line each).
    pub(crate) warnings: Vec<String>,
    /// The request was a dry run.
    pub(crate) dry_run: bool,
    /// The request was `--remove`.
    pub(crate) remove: bool,
}

impl Ended for SetupReport {
    fn outcome(&self) -> Outcome {
        if self.files.iter().any(|f| f.written) {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }
}

/// Why `setup claude-code` changed nothing (or, [`SetupError::Write`],
/// not everything).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// A path the commands would name is not text.
    #[error(transparent)]
    NotText(#[from] NotText),
    /// A settings file is not JSON.
    #[error("{} does not parse as JSON at line {line}, column {column}: {message}; fix it and run setup again (nothing was changed)", shown(.path))]
    Unparsable {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A settings file is JSON, but not of Claude Code's shape where
    /// homeswap would write.
    #[error("{}: {why} (nothing was changed)", shown(.path))]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A settings file or its links cannot be read.
    #[error("{0} (nothing was changed)")]
    Open(#[from] OpenError),
    /// A settings file could not be written; those before it were.
    #[error("{source}{}", written_note(.written))]
    Write {
        /// The files written before.
        written: Vec<PathBuf>,
        /// What failed.
        source: FsError,
    },
    /// Another file-system failure.
    #[error(transparent)]
    Fs(FsError),
    /// Another homeswap held the state lock too long.
    #[error("setup not done: {0}")]
    Busy(LockError),
}

/// "; written before it: ..." for a write that failed part-way.
fn written_note(written: &[PathBuf]) -> String {
    match written {
        [] => " (nothing was changed)".to_string(),
        w => format!(
            "; written before it: {}; run setup again once it is fixed",
            w.iter()
                .map(|p| shown(p).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Ended for SetupError {
    fn outcome(&self) -> Outcome {
        match self {
            SetupError::Busy(_) => Outcome::Busy,
            _ => Outcome::Refused,
        }
    }
}

impl Classified for SetupError {
    /// The contract: 1 for a file that does not parse (and what cannot be
    /// read or written), 2 for usage.
    fn class(&self) -> ErrorClass {
        match self {
            SetupError::NotText(_) => ErrorClass::Usage,
            SetupError::Busy(_) => ErrorClass::BusyRefused,
            _ => ErrorClass::Refused,
        }
    }
}
