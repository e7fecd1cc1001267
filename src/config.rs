//! The YAML configuration: parsed strictly, checked as a whole, and every
//! error names the file, the key and (where YAML gives them) line and column.
//!
//! Parsing happens in two passes. serde rejects what is malformed (unknown
//! keys, wrong types, duplicate keys) and already carries a location. The
//! second pass checks what serde cannot (absolute paths, account names,
//! duplicate homes); for those, the key's line is found again in the text.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::links::shared::{self, SharedLinks};

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
    /// Account name → home, sorted by name.
    pub accounts: BTreeMap<String, PathBuf>,
    /// The symlink that tools follow to reach the active account's home.
    pub active_link: PathBuf,
    /// The required shared links and the directory holding their targets.
    pub shared: SharedLinks,
    /// Where the lock, the intent record, the latch and the audit log live.
    pub state_dir: PathBuf,
    /// Sidecar settings (defaults when the section is absent).
    pub serve: ServeConfig,
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

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `--config` nor `$HOMESWAP_CONFIG` was given.
    #[error("no configuration file: pass --config PATH or set ${CONFIG_ENV}")]
    NotGiven,
    /// The file could not be read.
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the schema.
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

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    accounts: BTreeMap<String, PathBuf>,
    active_link: PathBuf,
    shared_dir: PathBuf,
    #[serde(default)]
    shared: Option<Vec<String>>,
    state_dir: PathBuf,
    #[serde(default)]
    serve: Option<RawServe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    admin: Option<RawAdmin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    socket: Option<PathBuf>,
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
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses and checks configuration text; `path` is used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = serde_yaml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Checker { path, text }.check(raw)
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

/// The second pass: semantic checks with locations recovered from the text.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn check(&self, raw: RawConfig) -> Result<Config, ConfigError> {
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

        let names = raw.shared.unwrap_or_else(|| {
            shared::DEFAULT_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        if names.is_empty() {
            return Err(self.invalid(&["shared"], "the list of shared links must not be empty"));
        }
        for (i, n) in names.iter().enumerate() {
            if let Err(why) = shared::check_name(n) {
                return Err(self.invalid(&["shared"], format!("entry {}: {why}", i + 1)));
            }
            if names[..i].contains(n) {
                return Err(self.invalid(&["shared"], format!("{n:?} is listed twice")));
            }
        }

        // Homes must be distinct from each other and from the other paths:
        // two accounts on one home, or a home that is the shared dir or the
        // active link itself, would make ensure or swap act on the wrong thing.
        let accounts: Vec<(&String, &PathBuf)> = raw.accounts.iter().collect();
        for (i, (name, home)) in accounts.iter().enumerate() {
            if let Some((other, _)) = accounts[..i].iter().find(|(_, h)| same_path(h, home)) {
                return Err(self.invalid(
                    &["accounts", name],
                    format!(
                        "home {} is also the home of account {other}",
                        home.display()
                    ),
                ));
            }
            for (what, p) in [
                ("shared_dir", &raw.shared_dir),
                ("active_link", &raw.active_link),
                ("state_dir", &raw.state_dir),
            ] {
                if same_path(home, p) {
                    return Err(self.invalid(
                        &["accounts", name],
                        format!("home {} is the same path as {what}", home.display()),
                    ));
                }
            }
        }
        if same_path(&raw.active_link, &raw.shared_dir) {
            return Err(self.invalid(
                &["active_link"],
                "the active link is the same path as shared_dir",
            ));
        }
        if raw.active_link.parent().is_none() {
            return Err(self.invalid(
                &["active_link"],
                "the active link cannot be the root directory",
            ));
        }

        let serve = self.serve(raw.serve)?;
        Ok(Config {
            path: self.path.to_path_buf(),
            accounts: raw.accounts,
            active_link: raw.active_link,
            shared: SharedLinks::new(raw.shared_dir, names),
            state_dir: raw.state_dir,
            serve,
        })
    }

    fn serve(&self, raw: Option<RawServe>) -> Result<ServeConfig, ConfigError> {
        let raw = raw.unwrap_or(RawServe {
            listen: None,
            interval: None,
            admin: None,
        });
        let listen = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        self.socket_addr(&["serve", "listen"], &listen)?;
        let interval = match raw.interval {
            None => DEFAULT_INTERVAL,
            Some(s) => {
                let d = humantime::parse_duration(&s).map_err(|e| {
                    self.invalid(
                        &["serve", "interval"],
                        format!("bad duration {s:?}: {e} (examples: 30s, 5m)"),
                    )
                })?;
                if d < Duration::from_secs(1) {
                    return Err(
                        self.invalid(&["serve", "interval"], "the interval must be at least 1s")
                    );
                }
                d
            }
        };
        let admin = match raw.admin {
            None => None,
            Some(a) => {
                if a.listen.is_none() && a.socket.is_none() {
                    return Err(self.invalid(
                        &["serve", "admin"],
                        "give at least one of listen (TCP, with token_file) or socket",
                    ));
                }
                if let Some(l) = &a.listen {
                    self.socket_addr(&["serve", "admin", "listen"], l)?;
                    match &a.token_file {
                        None => return Err(self.invalid(
                            &["serve", "admin"],
                            "listen needs token_file (the TCP admin API requires a bearer token)",
                        )),
                        Some(t) => self.absolute(&["serve", "admin", "token_file"], t)?,
                    }
                    // Port 0 asks the kernel for any free port, so two of them never clash.
                    if l == &listen && !l.ends_with(":0") {
                        return Err(self.invalid(
                            &["serve", "admin", "listen"],
                            "the admin listener must not share the read-only listener's address",
                        ));
                    }
                }
                if let Some(s) = &a.socket {
                    self.absolute(&["serve", "admin", "socket"], s)?;
                }
                Some(AdminConfig {
                    listen: a.listen,
                    token_file: a.token_file,
                    socket: a.socket,
                })
            }
        };
        Ok(ServeConfig {
            listen,
            interval,
            admin,
        })
    }

    fn socket_addr(&self, key: &[&str], value: &str) -> Result<(), ConfigError> {
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

    fn absolute(&self, key: &[&str], p: &Path) -> Result<(), ConfigError> {
        if !p.is_absolute() {
            return Err(self.invalid(key, format!("{} is not an absolute path", p.display())));
        }
        if p.components().any(|c| c == Component::ParentDir) {
            return Err(self.invalid(
                key,
                format!("{} contains '..': write the path without it", p.display()),
            ));
        }
        Ok(())
    }

    fn invalid(&self, key: &[&str], message: impl Into<String>) -> ConfigError {
        let (line, column) = match find_key(self.text, key) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.join("."),
            message: message.into(),
            line,
            column,
        }
    }
}

/// Finds the 1-based line and column of a nested key in block-style YAML,
/// following indentation: each key of `path` must sit deeper than its
/// parent. Flow-style mappings are not searched (the location is then
/// simply left out of the message).
fn find_key(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    let mut lines = text.lines().enumerate();
    for key in path {
        found = None;
        for (n, line) in lines.by_ref() {
            let body = line.trim_start();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let indent = line.len() - body.len();
            if let Some(p) = parent_indent {
                if indent <= p {
                    return None; // left the parent's block without finding the key
                }
            }
            let k = body.split(':').next().unwrap_or("").trim();
            let k = k.trim_matches(|c| c == '"' || c == '\'');
            if k == *key && body[body.find(':').unwrap_or(0)..].starts_with(':') {
                found = Some((n + 1, indent + 1));
                parent_indent = Some(indent);
                break;
            }
        }
        found?;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.shared.names(), shared::DEFAULT_NAMES);
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
            err.contains("accounts.b: home /h/a/ is also the home of account a"),
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

    #[test]
    fn find_key_follows_nesting() {
        let text = "a:\n  x: 1\nb:\n  x: 2\n  y:\n    x: 3\n";
        assert_eq!(find_key(text, &["b", "x"]), Some((4, 3)));
        assert_eq!(find_key(text, &["b", "y", "x"]), Some((6, 5)));
        assert_eq!(find_key(text, &["a", "y"]), None);
    }
}
