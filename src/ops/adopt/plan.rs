//! The plan: walk a real directory that sits where a shared link belongs and
//! compare every entry with the shared target, without changing anything.
//!
//! Everything below the real directory and the target is reached through
//! [`DirFd`]s, never following a symlink: a symlink inside either tree is
//! compared as a symlink (its text), never followed. The act step (`act`)
//! decides each entry again with `decide` just before touching it, so it
//! never acts on a stale plan.

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fs::error::{FsContext, FsError};
use crate::fs::{DirFd, EntryKind};

/// Why an entry of the account cannot simply join the target's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum Clash {
    /// Both are regular files, with different bytes.
    DifferentBytes,
    /// Both are symlinks, holding different paths.
    DifferentLinks {
        /// What the account's symlink holds.
        ours: PathBuf,
        /// What the target's symlink holds.
        theirs: PathBuf,
    },
    /// Different kinds of entry, e.g. a regular file and a directory.
    Types {
        /// The account's entry.
        ours: EntryKind,
        /// The target's entry.
        theirs: EntryKind,
    },
}

impl fmt::Display for Clash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clash::DifferentBytes => f.write_str("both are files, with different bytes"),
            Clash::DifferentLinks { ours, theirs } => write!(
                f,
                "both are symlinks, to {} and {}",
                crate::fs::pathfmt::shown(ours),
                crate::fs::pathfmt::shown(theirs)
            ),
            Clash::Types { ours, theirs } => {
                write!(f, "{ours} in the account, {theirs} in the target")
            }
        }
    }
}

/// What happens to one entry of the real directory (or to the regular file
/// where a file link belongs). In JSON, `action` is `move`, `duplicate`,
/// `merge` (file links only) or `conflict`, and `kind` is the entry's
/// [`EntryKind`]: `dir`, `file` (a regular file), `symlink`, `fifo`,
/// `socket`, `char_device`, `block_device` or `other`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub(crate) enum ItemAction {
    /// Absent from the target: moved there (a directory moves whole).
    Move {
        /// What it is.
        kind: EntryKind,
    },
    /// The target holds the same bytes (or the same symlink): the
    /// account's copy is removed after comparing them again.
    Duplicate {
        /// What it is.
        kind: EntryKind,
    },
    /// A `*.jsonl` file link's file that differs from the target: the
    /// target gains the account's lines it does not hold (`lines` of them).
    Merge {
        /// What it is (a regular file).
        kind: EntryKind,
        /// How many lines are appended to the target.
        lines: usize,
    },
    /// Same path, different contents or types: refused, or with
    /// `--keep-both` moved beside the target's under a new name.
    Conflict {
        /// What it is in the account.
        kind: EntryKind,
        /// How the two differ.
        clash: Clash,
    },
}

/// One entry of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PlanItem {
    /// The path relative to the real directory (and to the target); empty
    /// for the regular file of a file link, which is the item itself.
    pub(crate) path: PathBuf,
    /// What adopt does with it.
    #[serde(flatten)]
    pub(crate) action: ItemAction,
}

/// The plan for one link of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkPlan {
    /// The required name, e.g. `projects`.
    pub(crate) link: String,
    /// The real directory: `<home>/<link>`.
    pub(crate) real: PathBuf,
    /// The shared target: `<shared_dir>/<link>`.
    pub(crate) target: PathBuf,
    /// False when the target does not exist yet (adopt creates it).
    pub(crate) target_exists: bool,
    /// Every entry that is moved, removed as a duplicate or in conflict,
    /// in walk order. Directories present on both sides are merged and
    /// not listed themselves.
    pub(crate) items: Vec<PlanItem>,
}

impl LinkPlan {
    /// Where `item` sits in the account and in the target.
    pub(crate) fn paths_of(&self, item: &PlanItem) -> (PathBuf, PathBuf) {
        if item.path.as_os_str().is_empty() {
            return (self.real.clone(), self.target.clone());
        }
        (self.real.join(&item.path), self.target.join(&item.path))
    }

    /// How many entries move.
    pub(crate) fn moves(&self) -> usize {
        self.count(|a| matches!(a, ItemAction::Move { .. }))
    }

    /// How many account copies are byte-identical duplicates.
    pub(crate) fn duplicates(&self) -> usize {
        self.count(|a| matches!(a, ItemAction::Duplicate { .. }))
    }

    /// The conflicting entries.
    pub(crate) fn conflicts(&self) -> impl Iterator<Item = &PlanItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.action, ItemAction::Conflict { .. }))
    }

    fn count(&self, f: impl Fn(&ItemAction) -> bool) -> usize {
        self.items.iter().filter(|i| f(&i.action)).count()
    }
}

/// What to do with one entry, decided from both sides as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Not in the target: move it.
    Move(EntryKind),
    /// A directory on both sides: walk into both.
    Merge,
    /// Same bytes or same symlink on both sides.
    Duplicate(EntryKind),
    /// Different on the two sides.
    Conflict(EntryKind, Clash),
}

/// Decides what to do with `name` of the real directory `real`, given the
/// target directory at the same place (`None`: it does not exist).
pub(crate) fn decide(
    real: &DirFd,
    target: Option<&DirFd>,
    name: &OsStr,
) -> Result<Option<Decision>, FsError> {
    let Some(ours) = real.kind(name)? else {
        // Gone since the directory was listed: nothing to adopt.
        return Ok(None);
    };
    let theirs = match target {
        Some(t) => t.kind(name)?,
        None => None,
    };
    let (Some(target), Some(theirs)) = (target, theirs) else {
        return Ok(Some(Decision::Move(ours)));
    };
    Ok(Some(match (ours, theirs) {
        (EntryKind::Dir, EntryKind::Dir) => Decision::Merge,
        (EntryKind::File, EntryKind::File) => {
            if same_bytes(real, name, target, name)? {
                Decision::Duplicate(EntryKind::File)
            } else {
                Decision::Conflict(EntryKind::File, Clash::DifferentBytes)
            }
        }
        (EntryKind::Symlink, EntryKind::Symlink) => {
            let ours = real.read_link(name)?;
            let theirs = target.read_link(name)?;
            if ours == theirs {
                Decision::Duplicate(EntryKind::Symlink)
            } else {
                Decision::Conflict(EntryKind::Symlink, Clash::DifferentLinks { ours, theirs })
            }
        }
        (ours, theirs) => Decision::Conflict(ours, Clash::Types { ours, theirs }),
    }))
}

/// True when the two regular files hold the same bytes.
pub(crate) fn same_bytes(
    a: &DirFd,
    a_name: &OsStr,
    b: &DirFd,
    b_name: &OsStr,
) -> Result<bool, FsError> {
    let (a_path, b_path) = (a.join(a_name), b.join(b_name));
    let mut fa = a.open_file(a_name)?;
    let mut fb = b.open_file(b_name)?;
    let la = fa.metadata().fs("inspect", &a_path)?.len();
    let lb = fb.metadata().fs("inspect", &b_path)?.len();
    if la != lb {
        return Ok(false);
    }
    let mut ba = vec![0u8; 64 * 1024];
    let mut bb = vec![0u8; 64 * 1024];
    loop {
        let na = read_full(&mut fa, &mut ba).fs("read", &a_path)?;
        let nb = read_full(&mut fb, &mut bb).fs("read", &b_path)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Walks `real` against `target` and appends every decision to `items`;
/// `rel` is the path of this level relative to the link's directory. The
/// names of a level are read in full before anything in it is looked at.
pub(crate) fn plan_dir(
    real: &DirFd,
    target: Option<&DirFd>,
    rel: &Path,
    items: &mut Vec<PlanItem>,
) -> Result<(), FsError> {
    for name in real.list()? {
        let path = rel.join(&name);
        let action = match (decide(real, target, &name)?, target) {
            (None, _) => continue,
            // decide() merges only into an existing target directory; were
            // it ever not so, the entry stays where it is and the emptied
            // directory's rmdir fails loudly: nothing is lost.
            (Some(Decision::Merge), None) => continue,
            (Some(Decision::Merge), Some(target)) => {
                let (real, target) = (real.open_dir(&name)?, target.open_dir(&name)?);
                plan_dir(&real, Some(&target), &path, items)?;
                continue;
            }
            (Some(Decision::Move(kind)), _) => ItemAction::Move { kind },
            (Some(Decision::Duplicate(kind)), _) => ItemAction::Duplicate { kind },
            (Some(Decision::Conflict(kind, clash)), _) => ItemAction::Conflict { kind, clash },
        };
        items.push(PlanItem { path, action });
    }
    Ok(())
}
