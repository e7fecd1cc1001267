//! [`Checker`]: one configuration text's checks of single values, each
//! refusal an error at the key's line and column.

use std::path::{Component, Path};

use super::duration::Bounds;
use super::error::ConfigError;
use super::position;

/// Checks one configuration text; `path` names the file in errors.
pub(super) struct Checker<'a> {
    /// The file, for messages.
    path: &'a Path,
    /// Its text, to find a key's line and column.
    text: &'a str,
}

impl<'a> Checker<'a> {
    /// A checker of `text`, read from `path`.
    pub(super) fn new(path: &'a Path, text: &'a str) -> Checker<'a> {
        Checker { path, text }
    }

    /// The file checked.
    pub(super) fn path(&self) -> &'a Path {
        self.path
    }

    /// The duration `text` at `key`, within `bounds`.
    pub(super) fn duration(
        &self,
        key: &[&str],
        text: &str,
        bounds: Bounds,
    ) -> Result<std::time::Duration, ConfigError> {
        bounds.parse(text).map_err(|why| self.invalid(key, why))
    }

    /// `value` at `key` is an `IP:PORT`.
    pub(super) fn socket_addr(&self, key: &[&str], value: &str) -> Result<(), ConfigError> {
        value
            .parse::<std::net::SocketAddr>()
            .map(|_| ())
            .map_err(|_| {
                self.invalid(
                    key,
                    format!("bad address {value:?}: expected IP:PORT, e.g. 127.0.0.1:9464"),
                )
            })
    }

    /// `p` at `key` is absolute, without `..`.
    pub(super) fn absolute(&self, key: &[&str], p: &Path) -> Result<(), ConfigError> {
        if !p.is_absolute() {
            return Err(self.invalid(key, format!("{} is not an absolute path", p.display())));
        }
        // Refused rather than resolved: lexically, `/h/b/..` is not `/h`
        // when `b` is a symlink, and the overlap check compares lexically.
        if p.components().any(|c| c == Component::ParentDir) {
            return Err(self.invalid(
                key,
                format!("{} contains '..': write the path without it", p.display()),
            ));
        }
        Ok(())
    }

    /// The refusal of the value at `key`, at its line and column.
    pub(super) fn invalid(&self, key: &[&str], message: impl Into<String>) -> ConfigError {
        let (line, column) = position::locate(self.text, key).unzip();
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.join("."),
            message: message.into(),
            line,
            column,
        }
    }
}
