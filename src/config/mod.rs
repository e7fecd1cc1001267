//! The YAML configuration: read safely, parsed strictly, checked as a whole,
//! and every error names the file, the key and the line and column.
//!
//! The files, in the order a configuration passes through them:
//!
//! - `file`: opens the file without blocking and refuses what is not a
//!   regular file or is larger than 1 MiB;
//! - `keys`: a first walk over the YAML document that refuses a key given
//!   twice in any mapping (serde would let the last one win) and an empty
//!   document, each at its line and column;
//! - `raw`: the serde schema the text deserializes into (unknown keys and
//!   wrong types are refused there, with yaml_serde's positions);
//! - `check`: turns the raw schema into a checked [`Config`] (names,
//!   absolute paths, listeners), with `overlap` (no configured path equal
//!   to or inside another) and `duration` (every duration within bounds);
//! - `position`: finds a key's line and column again in the text, for the
//!   errors that only the checks can see;
//! - `error`: [`ConfigError`] and how it is displayed.

mod check;
mod duration;
mod error;
mod failover;
mod file;
mod keys;
mod overlap;
mod position;
mod raw;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::links::shared::SharedLinks;

pub use error::ConfigError;
pub use failover::{FailoverConfig, DEFAULT_COOLDOWN, DEFAULT_SETTLE};

/// Environment variable read when `--config` is not given.
pub const CONFIG_ENV: &str = "HOMESWAP_CONFIG";

/// Default `serve.listen` (read-only listener).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Default `serve.interval` between full validations.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// A configuration that was loaded and passed every check.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Account name → home, sorted by name. Homes are in plain form: no
    /// `.` component, no doubled or trailing `/`.
    pub accounts: BTreeMap<String, PathBuf>,
    /// The symlink that tools follow to reach the active account's home.
    pub active_link: PathBuf,
    /// The required shared links and the directory holding their targets.
    pub shared: SharedLinks,
    /// Where the lock, the intent record, the latch and the audit log live.
    pub state_dir: PathBuf,
    /// Sidecar settings (defaults when the section is absent).
    pub serve: ServeConfig,
    /// Failover settings (defaults when the section is absent).
    pub failover: FailoverConfig,
}

/// The `serve:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Address of the read-only listener.
    pub listen: String,
    /// Time between periodic full validations.
    pub interval: Duration,
    /// The mutating API, if enabled.
    pub admin: Option<AdminConfig>,
}

/// The `serve.admin:` section: at least one of `listen` / `socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// TCP address of the admin listener (needs `token_file`).
    pub listen: Option<String>,
    /// File holding the bearer token for the TCP admin listener.
    pub token_file: Option<PathBuf>,
    /// Unix socket of the admin listener (peer uid checked).
    pub socket: Option<PathBuf>,
}

/// Where the configuration comes from: `--config`, else `$HOMESWAP_CONFIG`.
pub fn locate(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    match std::env::var_os(CONFIG_ENV) {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => Err(ConfigError::NotGiven),
    }
}

impl Config {
    /// Reads and checks the configuration file at `path` (symlinks are
    /// followed; a FIFO, a device or an oversized file is refused unread).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = file::read(path)?;
        Config::parse(path, &text)
    }

    /// Parses and checks configuration text; `path` is used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        keys::check_document(path, text)?;
        let raw: raw::RawConfig =
            serde_yaml::from_str(text).map_err(|e| ConfigError::syntax(path, &e))?;
        check::Checker::new(path, text).check(raw)
    }

    /// The home of `account`, if configured.
    pub fn home(&self, account: &str) -> Option<&Path> {
        self.accounts.get(account).map(PathBuf::as_path)
    }

    /// The account whose home is exactly `target`, if any.
    pub fn account_for_home(&self, target: &Path) -> Option<&str> {
        self.accounts
            .iter()
            .find(|(_, home)| same_path(home, target))
            .map(|(name, _)| name.as_str())
    }
}

/// Compares two absolute paths component by component, so that a trailing
/// slash or a doubled separator does not make them differ.
pub fn same_path(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

/// True for a name matching `^[a-z0-9][a-z0-9_-]{0,31}$`.
pub fn is_valid_account_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}
