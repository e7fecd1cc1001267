//! Drift: the entries each home keeps for itself (`private`), and the
//! entries of a home that no list names (unmanaged entries).
//!
//! Claude Code adds entries to its home from one release to the next. An
//! entry that is neither a link (`shared`, `shared_files`) nor private is
//! reported as a warning, so an operator decides whether a new entry is
//! user data (share it) or the account's own (keep it private) before a
//! failover forks it silently.
//!
//! A private pattern is an exact entry name, a prefix (`.claude.json.*`:
//! a trailing `*`), a suffix (`*.lock`: a leading `*`), or `*` alone (every
//! entry: drift reports switched off). Nothing else is special.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Serialize;

use crate::fs::pathfmt::shown;
use crate::fs::temp::is_temp;
use crate::fs::{DirFd, FsError};
use crate::links::shared::{check_name, SharedLinks};

/// Claude Code's per-account and per-process entries and its caches (the
/// README says why each one is private).
pub const DEFAULT_PRIVATE: [&str; 18] = [
    // Per account: identity and login, never shared.
    ".credentials.json",
    ".claude.json",
    ".claude.json.*",
    "backups",
    "statsig",
    "stats-cache.json",
    "policy-limits.json",
    "telemetry",
    // Per process.
    "sessions",
    "ide",
    "*.lock",
    // Caches.
    "debug",
    "paste-cache",
    "image-cache",
    "cache",
    "shell-snapshots",
    "usage-data",
    // Holds absolute paths of the home it was installed in.
    "plugins",
];

/// The `private` patterns of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Private {
    patterns: Vec<String>,
}

impl Default for Private {
    fn default() -> Private {
        Private::new(DEFAULT_PRIVATE.iter().map(|s| s.to_string()).collect())
    }
}

impl Private {
    /// The list; patterns are expected to have passed [`check_pattern`].
    pub fn new(patterns: Vec<String>) -> Private {
        Private { patterns }
    }

    /// The patterns, in configured order.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether the entry `name` is private.
    pub fn matches(&self, name: &OsStr) -> bool {
        let name = name.as_bytes();
        self.patterns.iter().any(|p| {
            let p = p.as_bytes();
            if p == b"*" {
                true
            } else if let Some(prefix) = p.strip_suffix(b"*") {
                name.starts_with(prefix)
            } else if let Some(suffix) = p.strip_prefix(b"*") {
                name.ends_with(suffix)
            } else {
                name == p
            }
        })
    }

    /// Whether `name` is exactly one of the patterns (not a wildcard match).
    pub fn lists(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p == name)
    }
}

/// A private pattern is one entry name with at most one `*`, at its start
/// or end (or `*` alone).
pub(crate) fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern == "*" {
        return Ok(());
    }
    let bare = pattern
        .strip_suffix('*')
        .or_else(|| pattern.strip_prefix('*'))
        .unwrap_or(pattern);
    if bare.contains('*') {
        return Err("a '*' may only stand at the start or the end of a private entry");
    }
    check_name(bare)
}

/// An entry of a home that is neither a link nor private.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmanagedEntry {
    /// The entry's name: its text, or its escaped form (`\xff`) when it
    /// is not UTF-8.
    pub name: String,
    /// What it is: `a directory`, `a regular file`, ...
    pub kind: String,
    /// The list it would belong to if shared: `shared` or `shared_files`.
    pub share_as: &'static str,
}

impl UnmanagedEntry {
    /// The warning line of `account`'s entry.
    pub fn line(&self, account: &str) -> String {
        format!("account {account}: unmanaged entry: {self}")
    }
}

/// `todos (a directory): neither shared nor private; add it to shared or private`.
impl fmt::Display for UnmanagedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): neither shared nor private; add it to {} or private",
            shown(Path::new(&self.name)),
            self.kind,
            self.share_as
        )
    }
}

/// Whether the entry `name` of a home is unmanaged: neither a link, nor
/// private, nor the temporary name of one of homeswap's own crash-safe
/// writes. Copies nothing unless the name is not UTF-8.
pub(crate) fn is_unmanaged_name(name: &OsStr, shared: &SharedLinks) -> bool {
    let linked = match name.to_str() {
        Some(text) => shared.is_link(text),
        None => shared.is_link(&shown(Path::new(name)).to_string()),
    };
    !(linked || shared.private().matches(name) || is_temp(name))
}

/// The unmanaged entries of an open home, sorted by name, from the
/// `names` its listing gave that [`is_unmanaged_name`] kept, each with its
/// kind. An entry gone since the listing is left out.
pub(crate) fn describe(
    home: &DirFd,
    mut names: Vec<OsString>,
) -> Result<Vec<UnmanagedEntry>, FsError> {
    names.sort();
    let mut found = Vec::with_capacity(names.len());
    for name in names {
        // Gone since the listing: nothing to report.
        let Some(kind) = home.kind(&name)? else {
            continue;
        };
        let share_as = match kind {
            crate::fs::EntryKind::Dir => "shared",
            _ => "shared_files",
        };
        let name = match name.into_string() {
            Ok(text) => text,
            Err(raw) => shown(Path::new(&raw)).to_string(),
        };
        found.push(UnmanagedEntry {
            name,
            kind: kind.describe().to_string(),
            share_as,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_suffix_patterns_match_and_nothing_else_does() {
        let p = Private::default();
        for private in [
            ".claude.json",
            ".claude.json.backup.1700000000",
            ".claude.json.tmp.12.3",
            "history.jsonl.lock",
            "sessions",
            "plugins",
        ] {
            assert!(p.matches(OsStr::new(private)), "{private}");
        }
        for not in [
            "todos",
            ".claude.jsonx",
            "history.jsonl",
            "lock",
            "sessions2",
        ] {
            assert!(!p.matches(OsStr::new(not)), "{not}");
        }
        assert!(Private::new(vec!["*".into()]).matches(OsStr::new("anything")));
    }

    #[test]
    fn patterns_are_one_entry_with_a_star_only_at_an_end() {
        for good in ["*", "*.lock", "x.*", "plain"] {
            assert!(check_pattern(good).is_ok(), "{good}");
        }
        for bad in ["", "a*b", "**", "a/b*", "*a*", ".."] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
        for p in DEFAULT_PRIVATE {
            assert!(check_pattern(p).is_ok(), "{p}");
        }
    }
}
