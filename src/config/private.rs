//! The entries each home keeps for itself (`private`): never shared, and
//! never reported as drift.
//!
//! A private pattern is an exact entry name, a prefix (`.claude.json.*`:
//! a trailing `*`), a suffix (`*.lock`: a leading `*`), or `*` alone (every
//! entry: drift reports switched off). Nothing else is special.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::names::check_name;

/// Claude Code's per-account and per-process entries and its caches (the
/// README says why each one is private).
pub(crate) const DEFAULT_PRIVATE: [&str; 18] = [
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
    pub(crate) fn new(patterns: Vec<String>) -> Private {
        Private { patterns }
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
