//! Drift: the entries of a home that no list names (unmanaged entries).
//!
//! Claude Code adds entries to its home from one release to the next. An
//! entry that is neither a link (`shared`, `shared_files`) nor private is
//! reported as a warning, so an operator decides whether a new entry is
//! user data (share it) or the account's own (keep it private) before a
//! failover forks it silently. What is private is configuration
//! (`config::Private`).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::config::SharedLinks;
use crate::fs::pathfmt::shown;
use crate::fs::temp::is_temp;
use crate::fs::{DirFd, EntryKind, FsError};

/// An entry of a home that is neither a link nor private.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UnmanagedEntry {
    /// The entry's name: its text, or its escaped form (`\xff`) when it
    /// is not UTF-8.
    pub(crate) name: String,
    /// What it is: `a directory`, `a regular file`, ...
    pub(crate) kind: String,
    /// The list it would belong to if shared: `shared` or `shared_files`;
    /// none for what no link can share (a FIFO, a socket, a device, a
    /// symlink itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) share_as: Option<&'static str>,
}

impl UnmanagedEntry {
    /// The warning line of `account`'s entry.
    pub(crate) fn line(&self, account: &str) -> String {
        format!("account {account}: unmanaged entry: {self}")
    }
}

/// `todos (a directory): neither shared nor private; add it to shared or
/// private`; for what cannot be shared, what can be done instead.
impl fmt::Display for UnmanagedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): neither shared nor private; ",
            shown(Path::new(&self.name)),
            self.kind,
        )?;
        match self.share_as {
            Some(list) => write!(f, "add it to {list} or private"),
            None if self.kind == EntryKind::Symlink.describe() => f.write_str(
                "a symlink is shared by what it names: put that in its place to share it, or add it to private",
            ),
            None => write!(
                f,
                "{} cannot be shared (a shared target is a directory or a regular file): add it to private",
                self.kind
            ),
        }
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
        // A link's target must be a directory or a regular file.
        let share_as = match kind {
            EntryKind::Dir => Some("shared"),
            EntryKind::File => Some("shared_files"),
            _ => None,
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
