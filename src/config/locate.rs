//! Where the configuration file is: `--config PATH`, else
//! `$HOMESWAP_CONFIG`, else the default place,
//! `$XDG_CONFIG_HOME/homeswap/config.yaml` (`~/.config/homeswap/config.yaml`
//! when `XDG_CONFIG_HOME` is unset, empty or not absolute, as the XDG base
//! directory specification says). `init` writes there when no `--config`
//! is given; every other command, the hook and the status line read it
//! from the same place.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::model::CONFIG_ENV;

/// How the configuration file was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--config PATH`.
    Flag,
    /// `$HOMESWAP_CONFIG`.
    Env,
    /// Neither: the default place.
    Default,
}

/// The configuration file's path and how it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// The file.
    pub(crate) path: PathBuf,
    /// Where the name came from.
    pub(crate) source: Source,
}

/// The configuration file named by `flag`, `$HOMESWAP_CONFIG` or the
/// default place; an error only when none of them names one (no home
/// directory is known).
pub(crate) fn locate(flag: Option<&Path>) -> Result<Located, ConfigError> {
    if let Some(p) = flag {
        return Ok(Located {
            path: p.to_path_buf(),
            source: Source::Flag,
        });
    }
    match std::env::var_os(CONFIG_ENV) {
        Some(v) if !v.is_empty() => Ok(Located {
            path: PathBuf::from(v),
            source: Source::Env,
        }),
        _ => default_path().map_or(Err(ConfigError::NotGiven), |path| {
            Ok(Located {
                path,
                source: Source::Default,
            })
        }),
    }
}

/// The default place of the configuration file for this process's
/// environment, if a home directory is known.
pub(crate) fn default_path() -> Option<PathBuf> {
    default_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
        account_home,
    )
}

/// The default place for these values of `$XDG_CONFIG_HOME` and `$HOME`;
/// `passwd_home` is asked only when `$HOME` is unset, empty or relative.
fn default_path_from(
    xdg: Option<OsString>,
    home: Option<OsString>,
    passwd_home: impl FnOnce() -> Option<PathBuf>,
) -> Option<PathBuf> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let config_home = match absolute(xdg) {
        Some(dir) => dir,
        None => absolute(home).or_else(passwd_home)?.join(".config"),
    };
    Some(config_home.join("homeswap").join("config.yaml"))
}

/// The user's home directory from the password database.
fn account_home() -> Option<PathBuf> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.dir)
        .filter(|d| d.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(xdg: Option<&str>, home: Option<&str>, passwd: Option<&str>) -> Option<PathBuf> {
        default_path_from(xdg.map(OsString::from), home.map(OsString::from), || {
            passwd.map(PathBuf::from)
        })
    }

    #[test]
    fn xdg_config_home_comes_first_then_home_then_the_password_database() {
        let want = |p: &str| Some(PathBuf::from(p));
        assert_eq!(
            at(Some("/x/cfg"), Some("/home/u"), None),
            want("/x/cfg/homeswap/config.yaml")
        );
        assert_eq!(
            at(None, Some("/home/u"), None),
            want("/home/u/.config/homeswap/config.yaml")
        );
        // Empty or relative: as if unset (the XDG specification).
        for xdg in ["", "cfg"] {
            assert_eq!(
                at(Some(xdg), Some("/home/u"), None),
                want("/home/u/.config/homeswap/config.yaml"),
                "{xdg:?}"
            );
        }
        assert_eq!(
            at(None, Some(""), Some("/home/p")),
            want("/home/p/.config/homeswap/config.yaml")
        );
        assert_eq!(at(None, None, None), None);
    }
}
