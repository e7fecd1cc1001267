//! The plan: walk a real directory that sits where a shared link belongs and
//! compare every entry with the shared target, without changing anything.
//!
//! Everything is reached through directory descriptors opened with
//! `O_NOFOLLOW`, and entries are inspected with `fstatat(AT_SYMLINK_NOFOLLOW)`:
//! a symlink inside either tree is compared as a symlink (its text), never
//! followed. The act step ([`super::act`]) decides each entry again with
//! `decide` just before touching it, so it never acts on a stale plan.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use serde::Serialize;

use crate::fs::error::{FsContext, FsError};

/// What kind of entry sits at a path (symlinks not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (compared by the path it holds).
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

impl Kind {
    pub(crate) fn of(st: &FileStat) -> Kind {
        match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFREG => Kind::File,
            SFlag::S_IFLNK => Kind::Symlink,
            _ => Kind::Special,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Dir => "a directory",
            Kind::File => "a file",
            Kind::Symlink => "a symlink",
            Kind::Special => "a special file",
        })
    }
}

/// Why an entry of the account cannot simply join the target's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Clash {
    /// Both are regular files, with different bytes.
    DifferentBytes,
    /// Both are symlinks, holding different paths.
    DifferentLinks {
        /// What the account's symlink holds.
        ours: PathBuf,
        /// What the target's symlink holds.
        theirs: PathBuf,
    },
    /// One is a file and the other a directory, symlink or special file.
    Types {
        /// The account's entry.
        ours: Kind,
        /// The target's entry.
        theirs: Kind,
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

/// What happens to one entry of the real directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum ItemAction {
    /// Absent from the target: moved there (a directory moves whole).
    Move {
        /// What it is.
        kind: Kind,
    },
    /// The target holds the same bytes (or the same symlink): the
    /// account's copy is removed after comparing them again.
    Duplicate {
        /// What it is.
        kind: Kind,
    },
    /// Same path, different contents or types: refused, or with
    /// `--keep-both` moved beside the target's under a new name.
    Conflict {
        /// What it is in the account.
        kind: Kind,
        /// How the two differ.
        clash: Clash,
    },
}

/// One entry of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    /// The path relative to the real directory (and to the target).
    pub path: PathBuf,
    /// What adopt does with it.
    #[serde(flatten)]
    pub action: ItemAction,
}

/// The plan for one link of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkPlan {
    /// The required name, e.g. `projects`.
    pub link: String,
    /// The real directory: `<home>/<link>`.
    pub real: PathBuf,
    /// The shared target: `<shared_dir>/<link>`.
    pub target: PathBuf,
    /// False when the target does not exist yet (adopt creates it).
    pub target_exists: bool,
    /// Every entry that is moved, removed as a duplicate or in conflict,
    /// in walk order. Directories present on both sides are merged and
    /// not listed themselves.
    pub items: Vec<PlanItem>,
}

impl LinkPlan {
    /// How many entries move.
    pub fn moves(&self) -> usize {
        self.count(|a| matches!(a, ItemAction::Move { .. }))
    }

    /// How many account copies are byte-identical duplicates.
    pub fn duplicates(&self) -> usize {
        self.count(|a| matches!(a, ItemAction::Duplicate { .. }))
    }

    /// The conflicting entries.
    pub fn conflicts(&self) -> impl Iterator<Item = &PlanItem> {
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
    Move(Kind),
    /// A directory on both sides: walk into both.
    Merge,
    /// Same bytes or same symlink on both sides.
    Duplicate(Kind),
    /// Different on the two sides.
    Conflict(Kind, Clash),
}

/// One directory level of a walk: its descriptor and its path (for
/// messages only; every operation goes through the descriptor).
pub(crate) struct Level<'a> {
    /// The open directory.
    pub fd: &'a OwnedFd,
    /// Its path.
    pub path: &'a Path,
}

/// Inspects `name` in `dir` without following a symlink; `None` if absent.
pub(crate) fn stat_entry(dir: &Level, name: &OsStr) -> Result<Option<FileStat>, FsError> {
    match fstatat(dir.fd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(FsError::new("inspect", &dir.path.join(name), e)),
    }
}

/// Decides what to do with `name` of the real directory `real`, given the
/// target directory at the same place (`None`: it does not exist).
pub(crate) fn decide(
    real: &Level,
    target: Option<&Level>,
    name: &OsStr,
) -> Result<Option<Decision>, FsError> {
    let Some(ours) = stat_entry(real, name)? else {
        // Gone since the directory was listed: nothing to adopt.
        return Ok(None);
    };
    let ours = Kind::of(&ours);
    let theirs = match target {
        Some(t) => stat_entry(t, name)?.map(|st| Kind::of(&st)),
        None => None,
    };
    let (Some(target), Some(theirs)) = (target, theirs) else {
        return Ok(Some(Decision::Move(ours)));
    };
    Ok(Some(match (ours, theirs) {
        (Kind::Dir, Kind::Dir) => Decision::Merge,
        (Kind::File, Kind::File) => {
            if same_bytes(real, name, target, name)? {
                Decision::Duplicate(Kind::File)
            } else {
                Decision::Conflict(Kind::File, Clash::DifferentBytes)
            }
        }
        (Kind::Symlink, Kind::Symlink) => {
            let ours = read_link(real, name)?;
            let theirs = read_link(target, name)?;
            if ours == theirs {
                Decision::Duplicate(Kind::Symlink)
            } else {
                Decision::Conflict(Kind::Symlink, Clash::DifferentLinks { ours, theirs })
            }
        }
        (ours, theirs) => Decision::Conflict(ours, Clash::Types { ours, theirs }),
    }))
}

/// What a symlink holds.
pub(crate) fn read_link(dir: &Level, name: &OsStr) -> Result<PathBuf, FsError> {
    readlinkat(dir.fd.as_fd(), name)
        .map(PathBuf::from)
        .fs("read the link", &dir.path.join(name))
}

/// Opens a regular file for reading, refusing a symlink (and never
/// blocking on a FIFO swapped in since it was inspected).
pub(crate) fn open_file(dir: &Level, name: &OsStr) -> Result<std::fs::File, FsError> {
    let path = dir.path.join(name);
    let fd = openat(
        dir.fd.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .fs("open", &path)?;
    let st = fstat(&fd).fs("inspect", &path)?;
    if Kind::of(&st) != Kind::File {
        return Err(FsError::new(
            "read",
            &path,
            std::io::Error::other("it is no longer a regular file"),
        ));
    }
    Ok(std::fs::File::from(fd))
}

/// True when the two regular files hold the same bytes.
pub(crate) fn same_bytes(
    a: &Level,
    a_name: &OsStr,
    b: &Level,
    b_name: &OsStr,
) -> Result<bool, FsError> {
    let (a_path, b_path) = (a.path.join(a_name), b.path.join(b_name));
    let mut fa = open_file(a, a_name)?;
    let mut fb = open_file(b, b_name)?;
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

/// The names in a directory (without `.` and `..`), sorted, read in full
/// before anything in it changes.
pub(crate) fn list(dir: &Level) -> Result<Vec<OsString>, FsError> {
    let fd = dir.fd.try_clone().fs("list", dir.path)?;
    let mut d = Dir::from_fd(fd).fs("list", dir.path)?;
    let mut names = Vec::new();
    for entry in d.iter() {
        let entry = entry.fs("list", dir.path)?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_os_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Opens the directory `name` in `dir`, refusing a symlink.
pub(crate) fn open_subdir(dir: &Level, name: &OsStr) -> Result<OwnedFd, FsError> {
    openat(
        dir.fd.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .fs("open the directory", &dir.path.join(name))
}

/// Walks `real` against `target` and appends every decision to `items`;
/// `rel` is the path of this level relative to the link's directory.
pub(crate) fn plan_dir(
    real: &Level,
    target: Option<&Level>,
    rel: &Path,
    items: &mut Vec<PlanItem>,
) -> Result<(), FsError> {
    for name in list(real)? {
        let path = rel.join(&name);
        let action = match (decide(real, target, &name)?, target) {
            (None, _) => continue,
            // decide() merges only into an existing target directory; were
            // it ever not so, the entry stays where it is and the emptied
            // directory's rmdir fails loudly: nothing is lost.
            (Some(Decision::Merge), None) => continue,
            (Some(Decision::Merge), Some(target)) => {
                let (real_fd, target_fd) = (open_subdir(real, &name)?, open_subdir(target, &name)?);
                let (real_path, target_path) = (real.path.join(&name), target.path.join(&name));
                plan_dir(
                    &Level {
                        fd: &real_fd,
                        path: &real_path,
                    },
                    Some(&Level {
                        fd: &target_fd,
                        path: &target_path,
                    }),
                    &path,
                    items,
                )?;
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
