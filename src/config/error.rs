//! [`ConfigError`]: every way a configuration can be refused, each naming
//! the file and, where the text has one, the key and its line and column.

use std::path::{Path, PathBuf};

use super::model::CONFIG_ENV;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `--config` nor `$HOMESWAP_CONFIG` was given, and no home
    /// directory is known for the default place.
    #[error("no configuration file: pass --config PATH or set ${CONFIG_ENV} (there is no default place: neither $XDG_CONFIG_HOME nor a home directory is known)")]
    NotGiven,
    /// Neither `--config` nor `$HOMESWAP_CONFIG` was given, and the default
    /// place holds no file.
    #[error("no configuration file: looked for --config, ${CONFIG_ENV}, {}; run 'homeswap init --from ~/.claude' to make one there, or pass --config PATH", looked.display())]
    NotFound { looked: PathBuf },
    /// The file could not be opened or read.
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The path names a FIFO, a device, a directory or a socket: reading
    /// it could block forever or never end.
    #[error("{}: not a regular file (it is {kind}): give the path of a YAML file", path.display())]
    NotRegularFile { path: PathBuf, kind: &'static str },
    /// The file is larger than any configuration has reason to be.
    #[error("{}: the configuration is larger than the limit of {} MiB", path.display(), limit >> 20)]
    TooLarge { path: PathBuf, limit: u64 },
    /// The file is not UTF-8 text.
    #[error("{}: the configuration is not UTF-8 text{}", path.display(), at(Some(*line), Some(*column)))]
    NotText {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// The file holds no YAML document (nothing, comments, or `---` alone).
    #[error("{}: the file is empty: it holds no configuration (line 1, column 1)", path.display())]
    Empty { path: PathBuf },
    /// The YAML is malformed or does not fit the schema; `message` is
    /// yaml_serde's, which names the key and ends with the position.
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// A value is well-formed YAML but not acceptable.
    #[error("{}: {key}: {message}{}", path.display(), at(*line, *column))]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
}

impl ConfigError {
    /// A yaml_serde error, with its position even where yaml_serde leaves
    /// it out of the message (it omits line 1, column 1).
    pub(super) fn syntax(path: &Path, e: &serde_yaml::Error) -> ConfigError {
        let mut message = e.to_string();
        if let Some(loc) = e.location() {
            let pos = format!("line {} column {}", loc.line(), loc.column());
            if !message.contains(&pos) {
                message = format!("{message} at {pos}");
            }
        }
        ConfigError::Syntax {
            path: path.to_path_buf(),
            message,
        }
    }
}

/// ` (line L, column C)`, or as much of it as is known.
fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}
