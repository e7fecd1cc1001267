//! The YAML configuration: read safely, parsed strictly, checked as a whole,
//! and every error names the file, the key and the line and column.
//!
//! The files, in the order a configuration passes through them:
//!
//! - `locate`: which file: `--config`, `$HOMESWAP_CONFIG`, else the
//!   default place (`$XDG_CONFIG_HOME/homeswap/config.yaml`);
//! - `file`: opens the file without blocking and refuses what is not a
//!   regular file or is larger than 1 MiB;
//! - `keys`: a first walk over the YAML document that refuses a key given
//!   twice in any mapping (serde would let the last one win) and an empty
//!   document, each at its line and column;
//! - `raw`: the serde schema the text deserializes into (unknown keys and
//!   wrong types are refused there, with yaml_serde's positions);
//! - `check`: turns the raw schema into a checked [`Config`] (names,
//!   absolute paths, listeners; `failover` and `fleet` their sections), with `checker`
//!   (one value's checks, and the error at its key), `overlap` (no
//!   configured path equal to or inside another) and `duration` (every
//!   duration within bounds);
//! - `position`: finds a key's line and column again in the text, for the
//!   errors that only the checks can see;
//! - `error`: [`ConfigError`] and how it is displayed;
//! - `model`: the checked [`Config`] and its defaults;
//! - `edit`: an account added to or removed from the text, keeping its
//!   comments and order, checked by parsing the result;
//! - the link specification: `shared` ([`SharedLinks`]: which links every
//!   home has, and where they point), `private` ([`Private`]: the entries a
//!   home keeps for itself) and `names` (Claude Code's default and
//!   recommended lists, and the rule of a link name).

mod check;
mod checker;
mod duration;
mod edit;
mod error;
mod failover;
mod file;
mod fleet;
mod keys;
mod locate;
mod model;
mod names;
mod overlap;
mod position;
mod private;
mod raw;
mod shared;

use std::path::Path;

pub(crate) use duration::human as human_duration;
pub(crate) use edit::{add_account, remove_account};
pub use error::ConfigError;
pub(crate) use locate::{locate, Source};
pub(crate) use model::same_path;
pub use model::{is_valid_account_name, Config, ServeConfig};
pub(crate) use model::{FleetAuth, FleetConfig};
pub use names::{RECOMMENDED_DIRS, RECOMMENDED_FILES, RECOMMENDED_THRESHOLD};
pub use private::Private;
pub use shared::SharedLinks;
pub(crate) use shared::{LinkKind, RequiredLink};

/// The text of the configuration file at `path`, read as [`Config::load`]
/// reads it (for an edit of it).
pub(crate) fn read_text(path: &Path) -> Result<String, ConfigError> {
    file::read(path)
}

/// Reads and checks the configuration named by `flag`, `$HOMESWAP_CONFIG`
/// or the default place. A default place that holds no file is
/// [`ConfigError::NotFound`], which says where homeswap looked and how to
/// make one.
pub(crate) fn find_and_load(flag: Option<&Path>) -> Result<Config, ConfigError> {
    let located = locate(flag)?;
    match Config::load(&located.path) {
        Err(ConfigError::Read { path, source })
            if located.source == Source::Default
                && source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(ConfigError::NotFound { looked: path })
        }
        other => other,
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
        checker::Checker::new(path, text).check(raw)
    }
}
