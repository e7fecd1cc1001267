//! The required shared links, as checked code.
//!
//! Every account home must expose `<home>/N` as a symlink to exactly
//! `<shared_dir>/N` for each required name `N`. The defaults are Claude
//! Code's session environment, undo history and JSONL transcripts: if any of
//! them forks between accounts, a fail-over silently splits transcripts and
//! breaks resume and undo.

use std::path::{Path, PathBuf};

use super::names::DEFAULT_NAMES;
use super::private::Private;

/// The required names and the one directory that holds all their targets:
/// directory links (`shared`), file links (`shared_files`) and the entries
/// each home keeps for itself (`private`, see [`Private`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedLinks {
    dir: PathBuf,
    names: Vec<String>,
    files: Vec<String>,
    private: Private,
}

/// What a link's target must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LinkKind {
    /// A directory (`shared`).
    Dir,
    /// A regular file (`shared_files`).
    File,
}

impl LinkKind {
    /// The target's kind as an operator reads it: "a directory".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            LinkKind::Dir => "a directory",
            LinkKind::File => "a regular file",
        }
    }
}

/// One required link of one home: where it sits and where it must point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredLink {
    /// The entry name, e.g. `projects`.
    pub name: String,
    /// The absolute target the link must hold, `<shared_dir>/<name>`.
    pub target: PathBuf,
    /// Whether the target is a directory or a regular file.
    pub(crate) kind: LinkKind,
}

impl SharedLinks {
    /// Builds the set with no file links and the default private list;
    /// names are expected to have passed `names::check_name`.
    pub(crate) fn new(dir: PathBuf, names: Vec<String>) -> SharedLinks {
        SharedLinks {
            dir,
            names,
            files: Vec::new(),
            private: Private::default(),
        }
    }

    /// The same set with these file links (names checked, none also a
    /// directory link).
    pub fn with_files(mut self, files: Vec<String>) -> SharedLinks {
        self.files = files;
        self
    }

    /// The same set with this private list.
    pub(crate) fn with_private(mut self, private: Private) -> SharedLinks {
        self.private = private;
        self
    }

    /// The default names under `dir`.
    pub fn with_defaults(dir: PathBuf) -> SharedLinks {
        SharedLinks::new(dir, DEFAULT_NAMES.iter().map(|s| s.to_string()).collect())
    }

    /// The shared directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory link names (`shared`), in configured order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The file link names (`shared_files`), in configured order.
    pub fn file_names(&self) -> &[String] {
        &self.files
    }

    /// Every link name: the directory links, then the file links.
    pub fn all_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.names.iter().chain(&self.files).map(String::as_str)
    }

    /// The entries each home keeps for itself.
    pub fn private(&self) -> &Private {
        &self.private
    }

    /// Whether `name` is one of the links (directory or file).
    pub(crate) fn is_link(&self, name: &str) -> bool {
        self.all_names().any(|n| n == name)
    }

    /// Every required link with its expected target: the directory links,
    /// then the file links, each in configured order.
    pub fn links(&self) -> impl Iterator<Item = RequiredLink> + '_ {
        let dirs = self.names.iter().map(|n| (n, LinkKind::Dir));
        let files = self.files.iter().map(|n| (n, LinkKind::File));
        dirs.chain(files).map(|(n, kind)| RequiredLink {
            name: n.clone(),
            target: self.dir.join(n),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::names::check_name;

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
}
