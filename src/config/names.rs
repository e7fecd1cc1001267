//! The names of the link specification: Claude Code's default and
//! recommended shared entries, and the rule every link name follows.

/// The production default: the entries Claude Code keeps per session.
pub(crate) const DEFAULT_NAMES: [&str; 3] = ["session-env", "file-history", "projects"];

/// The directory links recommended for Claude Code: every directory of
/// its home that holds the user's own work (`examples/claude-code.yaml`,
/// and what `init` configures).
pub const RECOMMENDED_DIRS: [&str; 10] = [
    "session-env",
    "file-history",
    "projects",
    "todos",
    "tasks",
    "plans",
    "commands",
    "agents",
    "skills",
    "output-styles",
];

/// The file links recommended for Claude Code (see [`RECOMMENDED_DIRS`]).
pub const RECOMMENDED_FILES: [&str; 4] = [
    "history.jsonl",
    "settings.json",
    "CLAUDE.md",
    "keybindings.json",
];

/// The `failover.threshold` recommended for Claude Code: the status line
/// fails over at 95% of a window, before the hard limit
/// (`examples/claude-code.yaml`, and what `init` configures).
pub const RECOMMENDED_THRESHOLD: u8 = 95;

/// A shared link name must be one plain directory entry name: it is joined
/// to every home and to the shared dir, and printed in one-line messages.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("a shared link name must not be empty");
    }
    if name == "." || name == ".." {
        return Err("'.' and '..' are not usable entry names");
    }
    if name.contains('/') {
        return Err("give a single entry name, without '/'");
    }
    if name.chars().any(char::is_control) {
        return Err("control characters (newline, tab, ...) are not allowed in a link name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_one_entry_are_rejected() {
        for bad in ["", ".", "..", "a/b", "/abs", "a\nb", "tab\there"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("projects").is_ok());
    }
}
