//! The required shared links, as checked code.
//!
//! Every account home must expose `<home>/N` as a symlink to exactly
//! `<shared_dir>/N` for each required name `N`. The defaults are Claude
//! Code's session environment, undo history and JSONL transcripts: if any of
//! them forks between accounts, a fail-over silently splits transcripts and
//! breaks resume and undo.

use std::path::{Path, PathBuf};

/// The production default: the entries Claude Code keeps per session.
pub(crate) const DEFAULT_NAMES: [&str; 3] = ["session-env", "file-history", "projects"];

/// The required names and the one directory that holds all their targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedLinks {
    dir: PathBuf,
    names: Vec<String>,
}

/// One required link of one home: where it sits and where it must point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredLink {
    /// The entry name, e.g. `projects`.
    pub name: String,
    /// The absolute target the link must hold, `<shared_dir>/<name>`.
    pub target: PathBuf,
}

impl SharedLinks {
    /// Builds the set; names are expected to have passed [`check_name`].
    pub(crate) fn new(dir: PathBuf, names: Vec<String>) -> SharedLinks {
        SharedLinks { dir, names }
    }

    /// The default names under `dir`.
    pub fn with_defaults(dir: PathBuf) -> SharedLinks {
        SharedLinks::new(dir, DEFAULT_NAMES.iter().map(|s| s.to_string()).collect())
    }

    /// The shared directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The required names, in configured order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every required link with its expected target.
    pub fn links(&self) -> impl Iterator<Item = RequiredLink> + '_ {
        self.names.iter().map(|n| RequiredLink {
            name: n.clone(),
            target: self.dir.join(n),
        })
    }
}

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

    // The seed's TestRequiredSharedIsCoherent: the defaults are pinned here
    // without touching the disk, so a rename or a dropped entry fails a test
    // instead of silently breaking fail-over in production.
    #[test]
    fn required_shared_is_coherent() {
        let shared = SharedLinks::with_defaults(PathBuf::from("/srv/claude-shared"));
        let links: Vec<RequiredLink> = shared.links().collect();
        let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["session-env", "file-history", "projects"]);
        for l in &links {
            assert!(
                l.target.is_absolute(),
                "{} is not absolute",
                l.target.display()
            );
            assert_eq!(l.target.file_name().unwrap(), l.name.as_str());
            assert!(check_name(&l.name).is_ok());
        }
        let parents: std::collections::BTreeSet<&Path> =
            links.iter().map(|l| l.target.parent().unwrap()).collect();
        assert_eq!(
            parents.len(),
            1,
            "targets must share one parent: {parents:?}"
        );
        assert_eq!(*parents.iter().next().unwrap(), shared.dir());
    }

    #[test]
    fn names_that_are_not_one_entry_are_rejected() {
        for bad in ["", ".", "..", "a/b", "/abs", "a\nb", "tab\there"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("projects").is_ok());
    }
}
