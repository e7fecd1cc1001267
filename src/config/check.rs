//! The checks serde cannot make: turning the raw schema into a [`Config`]
//! that keeps its promises (valid account names, absolute and separate
//! paths, usable link names, listeners and durations in range). Each
//! error names the key and, found again in the text, its line and column.
//!
//! Every check is linear in the size of the configuration, or n log n
//! where paths are compared (`overlap`): 10,000 accounts check in
//! milliseconds.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::checker::Checker;
use super::duration;
use super::error::ConfigError;
use super::failover;
use super::fleet;
use super::model::{
    is_valid_account_name, AdminConfig, Config, ServeConfig, DEFAULT_INTERVAL, DEFAULT_LISTEN,
};
use super::names::{check_name, DEFAULT_NAMES};
use super::overlap::{self, Named};
use super::private::{check_pattern, default_reason, Private};
use super::raw::{RawAdmin, RawConfig, RawServe};
use super::shared::SharedLinks;

impl Checker<'_> {
    /// The checked configuration, or the first thing wrong with it.
    pub(super) fn check(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        if raw.accounts.is_empty() {
            return Err(self.invalid(&["accounts"], "at least one account is required"));
        }
        for (name, home) in &raw.accounts {
            if !is_valid_account_name(name) {
                return Err(self.invalid(
                    &["accounts", name],
                    format!(
                        "bad account name {name:?}: it must match ^[a-z0-9][a-z0-9_-]{{0,31}}$"
                    ),
                ));
            }
            self.absolute(&["accounts", name], home)?;
        }
        self.absolute(&["active_link"], &raw.active_link)?;
        self.absolute(&["shared_dir"], &raw.shared_dir)?;
        self.absolute(&["state_dir"], &raw.state_dir)?;
        if raw.active_link.parent().is_none() {
            return Err(self.invalid(
                &["active_link"],
                "the active link cannot be the root directory",
            ));
        }
        self.separate(&raw)?;
        let names = self.shared_names(raw.shared)?;
        let files = self.file_names(raw.shared_files, &names)?;
        let private = self.private(raw.private, &names, &files)?;
        self.nothing_private_shared(&names, &files, &private)?;
        let serve = self.serve(raw.serve.unwrap_or_default())?;
        let failover =
            failover::check(self, raw.failover.unwrap_or_default(), &raw.accounts.order)?;
        let fleet = raw.fleet.map(|f| fleet::check(self, f)).transpose()?;
        Ok(Config {
            path: self.path().to_path_buf(),
            accounts: raw
                .accounts
                .map
                .into_iter()
                .map(|(name, home)| (name, plain(&home)))
                .collect(),
            active_link: plain(&raw.active_link),
            shared: SharedLinks::new(plain(&raw.shared_dir), names)
                .with_files(files)
                .with_private(private),
            state_dir: plain(&raw.state_dir),
            serve,
            failover,
            fleet,
        })
    }

    /// No home, shared dir, state dir or active link equal to or inside
    /// another (see `overlap`).
    fn separate(&self, raw: &RawConfig) -> Result<(), ConfigError> {
        // The fixed keys first: a home equal to one of them is reported
        // under the account's key, the one more likely mistyped.
        let mut paths: Vec<Named> = [
            ("shared_dir", &raw.shared_dir),
            ("state_dir", &raw.state_dir),
            ("active_link", &raw.active_link),
        ]
        .into_iter()
        .map(|(key, path)| Named {
            key: key.to_string(),
            path,
        })
        .collect();
        paths.extend(raw.accounts.iter().map(|(name, home)| Named {
            key: format!("accounts.{name}"),
            path: home,
        }));
        match overlap::find(&paths) {
            None => Ok(()),
            Some(o) => {
                // Account names and top-level keys hold no '.'.
                let key: Vec<&str> = o.inner.key.split('.').collect();
                Err(self.invalid(&key, o.message()))
            }
        }
    }

    /// The `shared` list (default: Claude Code's three), each name one
    /// plain directory entry name, none twice.
    fn shared_names(&self, raw: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
        let names = raw.unwrap_or_else(|| DEFAULT_NAMES.iter().map(|s| s.to_string()).collect());
        if names.is_empty() {
            return Err(self.invalid(&["shared"], "the list of shared links must not be empty"));
        }
        let mut seen = HashSet::new();
        for (i, n) in names.iter().enumerate() {
            if let Err(why) = check_name(n) {
                return Err(self.invalid(&["shared"], format!("entry {} {n:?}: {why}", i + 1)));
            }
            if !seen.insert(n.as_str()) {
                return Err(self.invalid(&["shared"], format!("{n:?} is listed twice")));
            }
        }
        Ok(names)
    }

    /// The `shared_files` list (default: none), each name one plain entry
    /// name, none twice and none also a directory link.
    fn file_names(
        &self,
        raw: Option<Vec<String>>,
        dirs: &[String],
    ) -> Result<Vec<String>, ConfigError> {
        let names = raw.unwrap_or_default();
        let mut seen = HashSet::new();
        for (i, n) in names.iter().enumerate() {
            if let Err(why) = check_name(n) {
                return Err(
                    self.invalid(&["shared_files"], format!("entry {} {n:?}: {why}", i + 1))
                );
            }
            if !seen.insert(n.as_str()) {
                return Err(self.invalid(&["shared_files"], format!("{n:?} is listed twice")));
            }
            if dirs.contains(n) {
                return Err(self.invalid(
                    &["shared_files"],
                    format!("{n:?} is also in shared: a name is either a directory link (shared) or a file link (shared_files)"),
                ));
            }
        }
        Ok(names)
    }

    /// The `private` list (default: Claude Code's per-account and
    /// per-process entries), each an entry name or a `*` pattern, none
    /// also a link.
    fn private(
        &self,
        raw: Option<Vec<String>>,
        dirs: &[String],
        files: &[String],
    ) -> Result<Private, ConfigError> {
        let Some(patterns) = raw else {
            return Ok(Private::default());
        };
        for (i, p) in patterns.iter().enumerate() {
            if let Err(why) = check_pattern(p) {
                return Err(self.invalid(&["private"], format!("entry {} {p:?}: {why}", i + 1)));
            }
            let list = if dirs.contains(p) {
                "shared"
            } else if files.contains(p) {
                "shared_files"
            } else {
                continue;
            };
            return Err(self.invalid(
                &["private"],
                format!("{p:?} is also in {list}: an entry is either shared or private"),
            ));
        }
        Ok(Private::new(patterns))
    }

    /// No link name that is private: by Claude Code's default list
    /// (always: the file's own list replaces it for drift reports, but
    /// never makes a per-account entry shareable) or by a pattern of the
    /// file's own list (`*` alone excepted: it only silences drift).
    fn nothing_private_shared(
        &self,
        dirs: &[String],
        files: &[String],
        private: &Private,
    ) -> Result<(), ConfigError> {
        let lists = [("shared", dirs), ("shared_files", files)];
        for (key, names) in lists {
            for (i, n) in names.iter().enumerate() {
                let why = if let Some((pattern, why)) = default_reason(n) {
                    let by = if pattern == n {
                        String::new()
                    } else {
                        format!(" (by the pattern {pattern:?})")
                    };
                    format!("it is private by Claude Code's default list{by}: {why}")
                } else if let Some(pattern) = private.naming(n) {
                    format!("it matches your private list ({pattern:?}): an entry is either shared or private")
                } else {
                    continue;
                };
                return Err(self.invalid(
                    &[key],
                    format!(
                        "entry {} {n:?} cannot be shared: {why}; remove it from {key}",
                        i + 1
                    ),
                ));
            }
        }
        Ok(())
    }

    fn serve(&self, raw: RawServe) -> Result<ServeConfig, ConfigError> {
        let listen = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        self.socket_addr(&["serve", "listen"], &listen)?;
        let interval = match raw.interval {
            None => DEFAULT_INTERVAL,
            Some(s) => self.duration(&["serve", "interval"], &s, duration::INTERVAL)?,
        };
        let admin = match raw.admin {
            None => None,
            Some(a) => Some(self.admin(a, &listen)?),
        };
        Ok(ServeConfig {
            listen,
            interval,
            admin,
        })
    }

    fn admin(&self, a: RawAdmin, read_only: &str) -> Result<AdminConfig, ConfigError> {
        if a.listen.is_none() && a.socket.is_none() {
            return Err(self.invalid(
                &["serve", "admin"],
                "give at least one of listen (TCP, with token_file) or socket",
            ));
        }
        if let Some(l) = &a.listen {
            self.socket_addr(&["serve", "admin", "listen"], l)?;
            match &a.token_file {
                None => {
                    return Err(self.invalid(
                        &["serve", "admin"],
                        "listen needs token_file (the TCP admin API requires a bearer token)",
                    ))
                }
                Some(t) => self.absolute(&["serve", "admin", "token_file"], t)?,
            }
            // Port 0 asks the kernel for any free port, so two of them never clash.
            if l == read_only && !l.ends_with(":0") {
                return Err(self.invalid(
                    &["serve", "admin", "listen"],
                    "the admin listener must not share the read-only listener's address",
                ));
            }
        }
        if let Some(s) = &a.socket {
            self.absolute(&["serve", "admin", "socket"], s)?;
        }
        Ok(AdminConfig {
            listen: a.listen,
            token_file: a.token_file,
            socket: a.socket,
        })
    }
}

/// A path in plain form: no `.` components, no doubled or trailing `/`.
fn plain(p: &Path) -> PathBuf {
    p.components().collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::model::{DEFAULT_INTERVAL, DEFAULT_LISTEN};
    use crate::config::names::DEFAULT_NAMES;
    use crate::config::{is_valid_account_name, Config, ConfigError};

    const GOOD: &str = "\
accounts:
  a: /h/a
  b: /h/b
active_link: /h/active
shared_dir: /h/shared
state_dir: /var/lib/homeswap
";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/homeswap.yaml"), text)
    }

    #[test]
    fn a_minimal_config_gets_the_default_links_and_serve_settings() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.shared.names(), DEFAULT_NAMES);
        assert_eq!(c.serve.listen, DEFAULT_LISTEN);
        assert_eq!(c.serve.interval, DEFAULT_INTERVAL);
        assert!(c.serve.admin.is_none());
    }

    #[test]
    fn an_unknown_key_is_rejected_with_file_key_and_position() {
        let err = parse(&format!(
            "{GOOD}serve:\n  listen: 127.0.0.1:1\n  intervall: 5s\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("/etc/homeswap.yaml: "), "{err}");
        assert!(err.contains("intervall"), "{err}");
        assert!(err.contains("line 9 column 3"), "{err}");
    }

    #[test]
    fn a_relative_home_is_rejected_at_its_line() {
        let err = parse(&GOOD.replace("/h/b", "h/b")).unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/homeswap.yaml: accounts.b: h/b is not an absolute path (line 3, column 3)"
        );
    }

    #[test]
    fn duplicate_homes_are_rejected() {
        let err = parse(&GOOD.replace("/h/b", "/h/a/"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("accounts.b: /h/a/ is the same path as accounts.a (/h/a)"),
            "{err}"
        );
    }

    #[test]
    fn a_home_equal_to_the_shared_dir_or_active_link_is_rejected() {
        let err = parse(&GOOD.replace("b: /h/b", "b: /h/shared"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("same path as shared_dir"), "{err}");
        let err = parse(&GOOD.replace("b: /h/b", "b: /h/active"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("same path as active_link"), "{err}");
    }

    #[test]
    fn bad_account_names_are_rejected() {
        for bad in ["B", "-b", "b.c", "a234567890123456789012345678901234"] {
            let err = parse(&GOOD.replace("  b: /h/b", &format!("  {bad:?}: /h/b")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("bad account name"), "{bad}: {err}");
        }
        assert!(is_valid_account_name("0a_b-c"));
    }

    #[test]
    fn bad_shared_names_are_rejected() {
        for bad in ["[]", "[a/b]", "['..']", "[x, x]", "['']"] {
            assert!(parse(&format!("{GOOD}shared: {bad}\n")).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_admin_tcp_listener_requires_a_token_file() {
        let err = parse(&format!(
            "{GOOD}serve:\n  admin:\n    listen: 127.0.0.1:9465\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("serve.admin: listen needs token_file"),
            "{err}"
        );
        assert!(err.contains("line 8"), "{err}");
    }

    #[test]
    fn a_bad_interval_is_rejected() {
        let err = parse(&format!("{GOOD}serve:\n  interval: soon\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.interval: bad duration"), "{err}");
    }

    #[test]
    fn a_duplicate_yaml_key_is_rejected() {
        let err = parse(&format!("{GOOD}state_dir: /x\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate"), "{err}");
    }
}
