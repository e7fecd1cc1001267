//! Adopting a regular file where a file link belongs (Claude Code created
//! it before the link existed, or a tool's save replaced the link): the
//! plan (step 4) and the act (step 6) of one file link.
//!
//! - no target: the file moves into place (never replacing);
//! - the same bytes as the target: the account's copy is removed, once
//!   compared equal;
//! - a `*.jsonl` file that differs: merged into the target line by line
//!   ([`super::merge`]), written crash-safely (a temporary file, fsynced,
//!   renamed over the target, the shared dir fsynced), then the account's
//!   copy is removed, all under Claude Code's own lock on both copies
//!   (`append_lock`), so none of its appends falls in between. A process
//!   that keeps either file open for writing is refused (`writers`): it
//!   would write on into the replaced file. For writers that take no lock,
//!   the old target is read again after the rename and what was appended
//!   to it meanwhile is merged too (up to 5 rounds; if it still changes,
//!   those lines go into the account's copy and adopt stops asking for a
//!   re-run). The README has the numbers. A crash leaves the account's
//!   copy in place; the re-run merges again, which adds nothing, and
//!   removes it;
//! - any other difference: a conflict; with `--keep-both` the account's
//!   copy moves beside the target as `NAME.adopted-ACCOUNT-STAMP.EXT`.

use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::act::{after_move, Act, ActError};
use super::append_lock::{self, while_locked, AppendLock};
use super::merge::{is_jsonl, merge_lines};
use super::plan::{same_bytes, Clash, ItemAction, LinkPlan, PlanItem};
use super::writers::keeping_open;
use crate::fs::atomic::{self, split};
use crate::fs::error::{FsContext, FsError};
use crate::fs::temp::temp_name;
use crate::fs::{DirFd, EntryKind};
use crate::links::TARGET_DIR_MODE;

/// How often a merge is redone because the target changed under it
/// before the attempt gives up (and the re-run tries again).
const MERGE_ATTEMPTS: usize = 5;

/// What to do with the account's file, decided from both sides as they
/// are now; `None` when there is no regular file to adopt (any more).
fn decide(
    home: &DirFd,
    shared: Option<&DirFd>,
    name: &OsStr,
) -> Result<Option<ItemAction>, FsError> {
    if home.kind(name)? != Some(EntryKind::File) {
        return Ok(None);
    }
    let theirs = match shared {
        Some(s) => s.kind(name)?,
        None => None,
    };
    let kind = EntryKind::File;
    Ok(Some(match (shared, theirs) {
        (Some(s), Some(EntryKind::File)) => {
            if same_bytes(home, name, s, name)? {
                ItemAction::Duplicate { kind }
            } else if is_jsonl(&name.to_string_lossy()) {
                let (target, ours) = (read(s, name)?, read(home, name)?);
                ItemAction::Merge {
                    kind,
                    lines: merge_lines(&target, &ours).1,
                }
            } else {
                ItemAction::Conflict {
                    kind,
                    clash: Clash::DifferentBytes,
                }
            }
        }
        (_, Some(theirs)) => ItemAction::Conflict {
            kind,
            clash: Clash::Types { ours: kind, theirs },
        },
        _ => ItemAction::Move { kind },
    }))
}

/// Reads a whole regular file of `dir`, never through a symlink.
fn read(dir: &DirFd, name: &OsStr) -> Result<Vec<u8>, FsError> {
    let mut bytes = Vec::new();
    dir.open_file(name)?
        .read_to_end(&mut bytes)
        .fs("read", &dir.join(name))?;
    Ok(bytes)
}

/// The shared dir, if it exists.
fn open_shared(target: &Path) -> Result<Option<DirFd>, FsError> {
    let (dir, _) = split(target)?;
    match DirFd::open_following(dir) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.is(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.doing("open the shared directory")),
    }
}

/// Step 4 for one file link: compare the account's file with its target.
pub(crate) fn plan_file(home: &DirFd, name: &str, target: &Path) -> Result<LinkPlan, FsError> {
    let shared = open_shared(target)?;
    let n = OsStr::new(name);
    let target_exists = match &shared {
        Some(s) => s.kind(n)?.is_some(),
        None => false,
    };
    let items = decide(home, shared.as_ref(), n)?
        // The empty path: the file itself, not an entry inside it.
        .map(|action| PlanItem {
            path: PathBuf::new(),
            action,
        })
        .into_iter()
        .collect();
    Ok(LinkPlan {
        link: name.to_string(),
        real: home.join(n),
        target: target.to_path_buf(),
        target_exists,
        items,
    })
}

/// Step 6 for one file link: move, remove, merge or keep both, so that no
/// regular file is left where the link belongs.
pub(crate) fn adopt_file(
    act: &mut Act,
    home: &DirFd,
    name: &str,
    target: &Path,
) -> Result<(), ActError> {
    let n = OsStr::new(name);
    if home.kind(n)? != Some(EntryKind::File) {
        return Ok(());
    }
    let (dir, _) = split(target)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(TARGET_DIR_MODE)
        .create(dir)
        .fs("create the shared directory", dir)?;
    // A merge or copy a crash interrupted left a temporary file.
    atomic::remove_leftovers(target)?;
    let shared = DirFd::open_following(dir).map_err(|e| e.doing("open the shared directory"))?;
    if !is_jsonl(name) {
        return adopt_file_in(act, home, &shared, n, target);
    }
    // Claude Code appends to a JSONL file (history.jsonl) under its own
    // lock: held on both copies while the file is decided, merged and the
    // account's copy removed, no append of Claude Code falls in between.
    let locks = [
        AppendLock::take(home, n, append_lock::WAIT)?,
        AppendLock::take(&shared, n, append_lock::WAIT)?,
    ];
    while_locked(&locks, || adopt_file_in(act, home, &shared, n, target))
}

/// [`adopt_file`] once the shared dir is open (and, for a JSONL file, its
/// locks held).
fn adopt_file_in(
    act: &mut Act,
    home: &DirFd,
    shared: &DirFd,
    n: &OsStr,
    target: &Path,
) -> Result<(), ActError> {
    match decide(home, Some(shared), n)? {
        None => return Ok(()),
        Some(ItemAction::Move { kind }) => {
            act.move_entry(home, shared, n, n, kind)?;
            act.tally.moved += 1;
            after_move(target)?;
        }
        Some(ItemAction::Duplicate { .. }) => {
            home.unlink(n)?;
            act.tally.duplicates += 1;
        }
        Some(ItemAction::Merge { .. }) => {
            merge_into(home, shared, n)?;
            after_move(target)?;
            // Every line of the account's copy is in the target now.
            home.unlink(n)?;
            act.tally.moved += 1;
        }
        Some(ItemAction::Conflict { kind, clash }) => {
            if !act.journal.keep_both {
                return Err(ActError::NewConflict {
                    ours: home.join(n),
                    theirs: shared.join(n),
                    clash,
                });
            }
            let kept = act.keep_beside(home, shared, n, kind)?;
            after_move(&kept)?;
        }
    }
    act.progress.entries(1);
    home.sync().map_err(|e| e.doing("fsync the home"))?;
    Ok(())
}

/// Writes the merge of the account's file into the target: a temporary
/// file beside it (the target's permission bits), fsynced, renamed over
/// it, the directory fsynced. A session may have appended to the old file
/// after it was read (Claude Code appends to `history.jsonl` from every
/// session): the old file, still open, is read again after the rename and
/// whatever it gained is merged in the same way, until nothing more came.
fn merge_into(home: &DirFd, shared: &DirFd, name: &OsStr) -> Result<(), FsError> {
    refuse_if_kept_open(home, name)?;
    refuse_if_kept_open(shared, name)?;
    let mut source = read(home, name)?;
    let path = shared.join(name);
    for _ in 0..MERGE_ATTEMPTS {
        let mut held = shared.open_file(name)?;
        let before = read_all(&mut held, &path)?;
        let (merged, appended) = merge_lines(&before, &source);
        if appended == 0 {
            return Ok(());
        }
        let mode = shared.stat(name)?.map_or(0o600, |st| st.st_mode & 0o7777);
        let tmp = temp_name(name);
        let mut file = shared.create_file(&tmp, mode)?;
        let written = file
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .and_then(|()| file.write_all(&merged))
            .and_then(|()| file.sync_all())
            .fs("write the merged file", &shared.join(&tmp));
        drop(file);
        if let Err(e) = written.and_then(|()| {
            shared
                .rename(&tmp, shared, name)
                .map_err(|e| e.doing("rename the merged file over"))
        }) {
            let _ = shared.unlink(&tmp);
            return Err(e);
        }
        shared.sync()?;
        held.seek(SeekFrom::Start(0)).fs("read", &path)?;
        let after = read_all(&mut held, &path)?;
        if after == before {
            return Ok(());
        }
        // Appended to the old file meanwhile: those lines go in next.
        source = after;
    }
    // Still changing: the lines of the last replaced file go into the
    // account's copy (which only adopt touches now), so the re-run merges
    // them with it instead of losing them.
    let ours = read(home, name)?;
    let (kept, added) = merge_lines(&ours, &source);
    if added > 0 {
        let mode = home.stat(name)?.map_or(0o600, |st| st.st_mode & 0o7777);
        atomic::write_file(&home.join(name), &kept, mode)?;
    }
    Err(FsError::new(
        "merge into",
        &path,
        std::io::Error::other(format!(
            "the file kept changing during {MERGE_ATTEMPTS} merges; run adopt again when it is quieter"
        )),
    ))
}

/// Refuses a merge while a process keeps the file open for writing: it
/// would go on writing into the replaced file, and every line from then
/// on would be lost.
fn refuse_if_kept_open(dir: &DirFd, name: &OsStr) -> Result<(), FsError> {
    let Some(st) = dir.stat(name)? else {
        return Ok(());
    };
    let writers = keeping_open(st.st_dev, st.st_ino);
    if writers.is_empty() {
        return Ok(());
    }
    let who: Vec<String> = writers
        .iter()
        .map(|w| format!("pid {} ({})", w.pid, w.name))
        .collect();
    Err(FsError::new(
        "merge into",
        &dir.join(name),
        std::io::Error::other(format!(
            "{} keeps it open for writing, not as Claude Code appends (open, write, close under its lock): a merge replaces the file, and every line written to the old one afterwards would be lost; stop it or let it close the file, then run adopt again",
            who.join(", ")
        )),
    ))
}

/// Reads an open file to its end.
fn read_all(f: &mut std::fs::File, path: &Path) -> Result<Vec<u8>, FsError> {
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).fs("read", path)?;
    Ok(bytes)
}
