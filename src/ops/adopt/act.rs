//! The act (step 6): walk a real directory and its target together and
//! put every entry of the account into the target, never overwriting and
//! never leaving an entry in neither place.
//!
//! Each entry is decided again (`decide`) just before it is touched:
//!
//! - *move*: into the target under its own name (see `entry` for
//!   how one entry moves, also across file systems). A crash in between
//!   leaves the entry in both places, which the re-run sees as a duplicate.
//! - *duplicate*: the bytes were compared equal a moment ago; the account's
//!   copy is unlinked.
//! - *merge*: both sides hold a directory; walk into both, then `rmdir`
//!   the emptied account directory (never a recursive delete).
//! - *conflict*: only with `--keep-both`: moved (as above) beside the
//!   target's entry as `NAME.adopted-ACCOUNT-STAMP.EXT`, recorded in the
//!   journal first.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::across::remove_temporaries;
use super::entry::{self, remove_empty_dir, Moved};
use super::journal::AdoptJournal;
use super::plan::{decide, same_bytes, Decision};
use crate::fs::error::FsError;
use crate::fs::{DirFd, EntryKind};
use crate::ops::progress::Progress;
use crate::state::StateDir;

/// Why the act stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActError {
    /// A file-system operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A conflict appeared after the plan (and `--keep-both` is off).
    #[error(
        "{} and {} differ ({clash}); they did not when the plan was made",
        crate::fs::pathfmt::shown(ours),
        crate::fs::pathfmt::shown(theirs)
    )]
    NewConflict {
        /// The account's entry.
        ours: PathBuf,
        /// The target's entry.
        theirs: PathBuf,
        /// How they differ.
        clash: super::plan::Clash,
    },
}

/// What the act did so far (kept across links of one adoption).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Entries moved into a target.
    pub(crate) moved: usize,
    /// Account copies removed as byte-identical duplicates.
    pub(crate) duplicates: usize,
}

/// One adoption's act: its choices (the journal's) and its tally.
pub(crate) struct Act<'a> {
    /// The journal: the account and the stamp for kept-both names, whether
    /// to keep both, and where each kept-both entry is recorded before it
    /// moves (its `kept_both` is the list the operator is shown).
    pub(crate) journal: &'a mut AdoptJournal,
    /// Remove temporary copies a crashed run left in the target.
    pub(crate) resumed: bool,
    /// What was done.
    pub(crate) tally: Tally,
    /// Where the journal is written.
    pub(crate) state: &'a StateDir,
    /// Where the entries done and the bytes copied are reported.
    pub(crate) progress: &'a dyn Progress,
}

impl Act<'_> {
    /// Moves everything in `real` into `target`; on success `real` is empty.
    pub(crate) fn adopt_dir(&mut self, real: &DirFd, target: &DirFd) -> Result<(), ActError> {
        if self.resumed {
            remove_temporaries(target)?;
        }
        for name in real.list()? {
            let Some(decision) = decide(real, Some(target), &name)? else {
                continue;
            };
            match decision {
                Decision::Move(kind) => {
                    self.move_entry(real, target, &name, &name, kind)?;
                    self.tally.moved += 1;
                    self.progress.entries(1);
                    after_move(&target.join(&name))?;
                }
                Decision::Merge => self.adopt_subdir(real, target, &name, &name)?,
                Decision::Duplicate(_) => {
                    real.unlink(&name)?;
                    self.tally.duplicates += 1;
                    self.progress.entries(1);
                }
                Decision::Conflict(kind, clash) => {
                    if !self.journal.keep_both {
                        return Err(ActError::NewConflict {
                            ours: real.join(&name),
                            theirs: target.join(&name),
                            clash,
                        });
                    }
                    let kept = self.keep_beside(real, target, &name, kind)?;
                    self.progress.entries(1);
                    after_move(&kept)?;
                }
            }
        }
        real.sync()?;
        target.sync()?;
        Ok(())
    }

    /// Moves a conflicting entry beside the target's under the first free
    /// kept-both name. A name already holding the same bytes is this
    /// entry's copy from an interrupted run: the account's copy goes.
    pub(super) fn keep_beside(
        &mut self,
        real: &DirFd,
        target: &DirFd,
        name: &OsStr,
        kind: EntryKind,
    ) -> Result<PathBuf, ActError> {
        for n in 1..=u32::MAX {
            let j = &self.journal;
            let kept = kept_name(name, &j.account, &j.stamp, n, kind == EntryKind::Dir);
            let kept_path = target.join(&kept);
            match target.kind(&kept)? {
                None => {
                    self.record_kept(&kept_path)?;
                    self.move_entry(real, target, name, &kept, kind)?;
                    return Ok(kept_path);
                }
                Some(EntryKind::File)
                    if kind == EntryKind::File && same_bytes(real, name, target, &kept)? =>
                {
                    self.record_kept(&kept_path)?;
                    real.unlink(name)?;
                    return Ok(kept_path);
                }
                Some(_) => {}
            }
        }
        // Only after u32::MAX taken names: an error, not a panic.
        let ours = real.join(name);
        Err(FsError::new(
            "find a free kept-both name beside",
            &target.join(name),
            std::io::Error::other(format!(
                "every kept-both name of {} is taken",
                crate::fs::pathfmt::shown(&ours)
            )),
        )
        .into())
    }

    /// Moves `name` of `real` to `new_name` in `target`, never replacing
    /// an entry there; a directory that cannot be renamed has its entries
    /// moved one by one.
    pub(super) fn move_entry(
        &mut self,
        real: &DirFd,
        target: &DirFd,
        name: &OsStr,
        new_name: &OsStr,
        kind: EntryKind,
    ) -> Result<(), ActError> {
        let moved = entry::move_entry(real, target, name, new_name, kind, self.progress)?;
        if moved == Moved::DirCreated {
            self.adopt_subdir(real, target, name, new_name)?;
        }
        Ok(())
    }

    /// Moves everything in the directory `name` of `real` into the
    /// directory `new_name` of `target`, then removes the emptied original
    /// (never a recursive delete).
    fn adopt_subdir(
        &mut self,
        real: &DirFd,
        target: &DirFd,
        name: &OsStr,
        new_name: &OsStr,
    ) -> Result<(), ActError> {
        let (from, to) = (real.open_dir(name)?, target.open_dir(new_name)?);
        self.adopt_dir(&from, &to)?;
        drop(from);
        Ok(remove_empty_dir(real, name)?)
    }

    /// Records a kept-both path in the journal before the entry moves there.
    fn record_kept(&mut self, path: &Path) -> Result<(), FsError> {
        if !self.journal.kept_both.iter().any(|p| p == path) {
            self.journal.kept_both.push(path.to_path_buf());
            self.journal.write(self.state)?;
        }
        Ok(())
    }
}

/// The kept-both name of a conflicting entry: `x.jsonl` becomes
/// `x.adopted-b-20261124T1200Z.jsonl` (the extension stays last, so tools
/// still recognize the file), then `...-2.jsonl` and so on if taken. A
/// directory, or a name without an extension, gets the suffix at the end.
pub(crate) fn kept_name(
    name: &OsStr,
    account: &str,
    stamp: &str,
    n: u32,
    is_dir: bool,
) -> OsString {
    let bytes = name.as_bytes();
    let mut suffix = format!(".adopted-{account}-{stamp}").into_bytes();
    if n > 1 {
        suffix.extend_from_slice(format!("-{n}").as_bytes());
    }
    let dot = if is_dir {
        None
    } else {
        bytes
            .iter()
            .rposition(|&b| b == b'.')
            .filter(|&i| i > 0 && i + 1 < bytes.len())
    };
    let out = match dot {
        Some(i) => [&bytes[..i], &suffix, &bytes[i..]].concat(),
        None => [bytes, &suffix].concat(),
    };
    OsString::from_vec(out)
}

/// The `adopt::after_move` failpoint: after each entry moved.
pub(super) fn after_move(dest: &Path) -> Result<(), FsError> {
    fail::fail_point!("adopt::after_move", |_| Err(FsError::new(
        "continue after moving",
        dest,
        std::io::Error::other("failpoint adopt::after_move")
    )));
    let _ = dest;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_names_keep_the_extension_last() {
        let k = |n: &str, i, dir| kept_name(OsStr::new(n), "b", "20261124T1200Z", i, dir);
        assert_eq!(k("x.jsonl", 1, false), "x.adopted-b-20261124T1200Z.jsonl");
        assert_eq!(k("x.jsonl", 2, false), "x.adopted-b-20261124T1200Z-2.jsonl");
        assert_eq!(k("notes", 1, false), "notes.adopted-b-20261124T1200Z");
        assert_eq!(k(".env", 1, false), ".env.adopted-b-20261124T1200Z");
        assert_eq!(k("a.tar.gz", 1, false), "a.tar.adopted-b-20261124T1200Z.gz");
        assert_eq!(k("dir.d", 1, true), "dir.d.adopted-b-20261124T1200Z");
    }
}
