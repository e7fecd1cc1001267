//! One account's links, one at a time: which real directories to adopt and
//! whether every link could end `ok` (step 3), the plan of one link (step
//! 4) and its act (step 6). The steps are in [`super`]'s documentation.

use std::ffi::OsStr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

use nix::errno::Errno;

use super::act::{Act, ActError};
use super::entry::{is_one_of, remove_empty_dir};
use super::plan::{plan_dir, LinkPlan};
use crate::config::SharedLinks;
use crate::fs::error::{FsContext, FsError};
use crate::fs::{DirFd, EntryKind};
use crate::links::{check_account, LinkState, TARGET_DIR_MODE};

/// Step 3: the links to adopt (`wanted`, or every link that is a real
/// directory when `wanted` is empty), or one line per reason the account
/// could not end `ok`, each naming link, path and what to do.
pub(crate) fn select(
    account: &str,
    home: &Path,
    shared: &SharedLinks,
    wanted: &[String],
) -> Result<Vec<String>, Vec<String>> {
    let before = check_account(account, home, shared);
    let mut selected = wanted.to_vec();
    let mut problems = Vec::new();
    for link in &before.links {
        // A file link takes a regular file, a directory link a directory.
        let file_link = shared.file_names().contains(&link.link);
        let (want, what) = if file_link {
            (EntryKind::File, "a regular file")
        } else {
            (EntryKind::Dir, "a directory")
        };
        let found = link
            .path
            .symlink_metadata()
            .ok()
            .map(|m| EntryKind::from_mode(m.mode()));
        let adoptable = link.state == LinkState::NotALink && found == Some(want);
        if wanted.is_empty() && adoptable {
            selected.push(link.link.clone());
        }
        let chosen = wanted.is_empty() || wanted.contains(&link.link);
        match link.state {
            LinkState::Ok | LinkState::Missing | LinkState::TargetMissing => {}
            LinkState::NotALink if adoptable && chosen => {
                if let Ok(m) = std::fs::symlink_metadata(&link.expected) {
                    let kind = EntryKind::from_mode(m.mode());
                    if kind != want {
                        // Never followed: a merge or move through a link
                        // would write wherever it leads.
                        problems.push(format!(
                            "account {account}: {}: the target {} exists but is {}, not {what}; move it aside first",
                            link.link,
                            crate::fs::pathfmt::shown(&link.expected),
                            kind.describe()
                        ));
                    }
                }
            }
            LinkState::NotALink if adoptable => problems.push(format!(
                "account {account}: {}: {} is {what} too and would be left unlinked; add --link {} or leave out --link",
                link.link,
                crate::fs::pathfmt::shown(&link.path),
                link.link
            )),
            LinkState::NotALink => problems.push(format!(
                "account {account}: {}: {} is {}, not {what}; adopt moves {} only: move it aside by hand, then run 'homeswap adopt {account}'",
                link.link,
                crate::fs::pathfmt::shown(&link.path),
                link.detail.as_deref().unwrap_or("something else"),
                if file_link { "regular files into file links" } else { "directories into directory links" },
            )),
            _ => problems.push(link.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(selected)
    } else {
        Err(problems)
    }
}

/// Opens `<home>/<name>` as a directory, never following a symlink there;
/// `None` when it is gone (a re-run after the `rmdir`).
fn open_real(home: &DirFd, name: &str) -> Result<Option<DirFd>, FsError> {
    match home.open_dir(OsStr::new(name)) {
        Ok(dir) => Ok(Some(dir)),
        // ELOOP / ENOTDIR: the link (or something else) is there now.
        Err(e) if is_one_of(&e, &[Errno::ENOENT, Errno::ELOOP, Errno::ENOTDIR]) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Step 4 for one link: compare the real directory with its target.
pub(crate) fn plan_link(home: &DirFd, name: &str, target: &Path) -> Result<LinkPlan, FsError> {
    let mut plan = LinkPlan {
        link: name.to_string(),
        real: home.join(OsStr::new(name)),
        target: target.to_path_buf(),
        target_exists: target.is_dir(),
        items: Vec::new(),
    };
    let Some(real) = open_real(home, name)? else {
        return Ok(plan);
    };
    let target = match DirFd::open_following(target) {
        Ok(dir) => Some(dir),
        Err(e) if e.is(Errno::ENOENT) => None,
        Err(e) => return Err(e.doing("open the target")),
    };
    plan_dir(&real, target.as_ref(), Path::new(""), &mut plan.items)?;
    Ok(plan)
}

/// Step 6 for one link: create the target, move everything, `rmdir` the
/// emptied real directory, fsync the home.
pub(crate) fn adopt_link(
    act: &mut Act,
    home: &DirFd,
    name: &str,
    target: &Path,
) -> Result<(), ActError> {
    let Some(real) = open_real(home, name)? else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(TARGET_DIR_MODE)
        .create(target)
        .fs("create the target directory", target)?;
    let target = DirFd::open_following(target).map_err(|e| e.doing("open the target"))?;
    act.adopt_dir(&real, &target)?;
    drop(real);
    remove_empty_dir(home, OsStr::new(name))?;
    home.sync().map_err(|e| e.doing("fsync the home"))?;
    Ok(())
}
