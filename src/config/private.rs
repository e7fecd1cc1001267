//! The entries each home keeps for itself (`private`): never shared, and
//! never reported as drift.
//!
//! A private pattern is an exact entry name, a prefix (`.claude.json.*`:
//! a trailing `*`), a suffix (`*.lock`: a leading `*`), or `*` alone (every
//! entry: drift reports switched off). Nothing else is special.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::names::check_name;

/// Claude Code's per-account and per-process entries and its caches, each
/// with why it is private (the README's table says the same). A name
/// these match may never be shared, whatever the file's own `private`
/// list says: the list replaces the default for drift reports only.
pub(crate) const DEFAULT_PRIVATE: [(&str, &str); 20] = [
    // Per account: identity and login, never shared.
    (
        ".credentials.json",
        "the account's OAuth tokens (per account): sharing it merges two accounts into one, every account then runs on one login",
    ),
    (
        ".credentials.json.*",
        "the temporary names of Claude Code's rewrites of .credentials.json (per account)",
    ),
    (
        ".claude.json",
        "identity, onboarding and per-project trust (per account); Claude Code rewrites it by rename, which would replace a link anyway",
    ),
    (
        ".claude.json.*",
        "the backups and temporary names of .claude.json (per account)",
    ),
    ("backups", "the backups of .claude.json (per account)"),
    ("statsig", "the account's feature-flag assignment (per account)"),
    ("stats-cache.json", "the account's usage statistics (per account)"),
    ("policy-limits.json", "the account's organisation policy (per account)"),
    ("telemetry", "telemetry queued by the account (per account)"),
    // Per process.
    (
        "sessions",
        "the registry of running Claude Code processes (per process): shared, one account's processes would be taken for another's",
    ),
    ("ide", "IDE connection lock files of running processes (per process)"),
    ("*.lock", "lock files of running processes (per process)"),
    (
        ".oauth_refresh.lock.*",
        "the owner record of Claude Code's OAuth refresh lock and its temporary names (per process)",
    ),
    // Caches.
    ("debug", "debug logs (a cache of each home)"),
    ("paste-cache", "pasted text (a cache of each home)"),
    ("image-cache", "pasted images (a cache of each home)"),
    ("cache", "caches such as the changelog (of each home)"),
    (
        "shell-snapshots",
        "snapshots of the shell environment, rebuilt per session (a cache of each home)",
    ),
    ("usage-data", "usage data (a cache of each home)"),
    // Holds absolute paths of the home it was installed in.
    (
        "plugins",
        "installed plugins (per account): its known_marketplaces.json holds absolute paths of the home it was installed in, so one copy cannot serve two homes",
    ),
];

/// Whether the entry `name` matches `pattern` (see the module's head).
fn pattern_matches(pattern: &str, name: &[u8]) -> bool {
    let p = pattern.as_bytes();
    if p == b"*" {
        true
    } else if let Some(prefix) = p.strip_suffix(b"*") {
        name.starts_with(prefix)
    } else if let Some(suffix) = p.strip_prefix(b"*") {
        name.ends_with(suffix)
    } else {
        name == p
    }
}

/// The pattern of Claude Code's default list that makes `name` private,
/// and why; `None` for a name the default leaves shareable.
pub(crate) fn default_reason(name: &str) -> Option<(&'static str, &'static str)> {
    DEFAULT_PRIVATE
        .iter()
        .find(|(p, _)| pattern_matches(p, name.as_bytes()))
        .copied()
}

/// The `private` patterns of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Private {
    patterns: Vec<String>,
}

impl Default for Private {
    fn default() -> Private {
        Private::new(DEFAULT_PRIVATE.iter().map(|(p, _)| p.to_string()).collect())
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
        self.patterns.iter().any(|p| pattern_matches(p, name))
    }

    /// The first pattern other than `*` alone that `name` matches: `*`
    /// switches drift reports off, it makes no link private.
    pub(crate) fn naming(&self, name: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|p| *p != "*" && pattern_matches(p, name.as_bytes()))
            .map(String::as_str)
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
            ".credentials.json.tmp.e4074b60",
            ".oauth_refresh.lock",
            ".oauth_refresh.lock.owner",
            ".oauth_refresh.lock.owner.tmp.a29a0de1",
            ".storage-write.lock",
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
        for (p, _) in DEFAULT_PRIVATE {
            assert!(check_pattern(p).is_ok(), "{p}");
        }
    }
}
