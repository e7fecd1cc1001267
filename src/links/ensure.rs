//! Ensuring: brings one home's links to `ok` where that is safe, and
//! reports every link. It creates a missing link or a missing target
//! directory and refuses everything else, so it never deletes, moves or
//! overwrites an entry.
//!
//! A link is created with `symlinkat` and a target with `mkdirat`, both of
//! which fail rather than replace an entry that appeared between the check
//! and the act.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::Serialize;

use crate::config::{LinkKind, RequiredLink, SharedLinks};
use crate::fs::error::{FsContext, FsError};
use crate::fs::pathfmt;
use crate::fs::DirFd;
use crate::links::check::{check_account, check_link, check_target, open_home, Home};
use crate::links::state::{LinkReport, LinkState};

/// Mode of a shared target directory homeswap creates: transcripts and
/// session environments are private to the operator's user.
pub(crate) const TARGET_DIR_MODE: u32 = 0o700;

/// Mode of a shared target file homeswap creates (prompt history,
/// settings): private to the operator's user.
pub(crate) const TARGET_FILE_MODE: u32 = 0o600;

/// What ensure does (or would do) for one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EnsureAction {
    /// Already `ok`.
    Nothing,
    /// Create the link (and its target directory if absent).
    CreateLink,
    /// Create the target directory.
    CreateTarget,
    /// Refuse: repairing it could lose data, or needs an operator.
    Refuse,
}

impl fmt::Display for EnsureAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnsureAction::Nothing => "nothing to do",
            EnsureAction::CreateLink => "create the link",
            EnsureAction::CreateTarget => "create the target",
            EnsureAction::Refuse => "refuse",
        })
    }
}

/// Ensure's record for one link: what it found, did, and left.
#[derive(Debug, Clone, Serialize)]
pub struct EnsureStep {
    /// The state before.
    pub before: LinkReport,
    /// The action chosen from that state.
    pub(crate) action: EnsureAction,
    /// The state after (absent in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<LinkReport>,
    /// Why the action failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl EnsureStep {
    /// True when this link is (or, in a dry run, would be) `ok`.
    pub(crate) fn is_ok(&self) -> bool {
        match &self.after {
            Some(after) => after.is_ok(),
            None => matches!(
                self.action,
                EnsureAction::Nothing | EnsureAction::CreateLink | EnsureAction::CreateTarget
            ),
        }
    }

    /// The operator's line for a step that did not end `ok`.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.is_ok() {
            return None;
        }
        let shown = self.after.as_ref().unwrap_or(&self.before);
        Some(match &self.error {
            Some(e) => format!(
                "account {}: {}: {}: {} failed: {e}",
                shown.account, shown.link, shown.state, self.action
            ),
            None => shown.to_string(),
        })
    }
}

/// Ensure's record for one account.
#[derive(Debug, Clone, Serialize)]
pub struct EnsureReport {
    /// The account name.
    pub(crate) account: String,
    /// Its home.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) home: PathBuf,
    /// True when nothing was changed on purpose (`--dry-run`).
    pub(crate) dry_run: bool,
    /// One step per required link.
    pub steps: Vec<EnsureStep>,
}

impl EnsureReport {
    /// True when every link is (or would be) `ok`.
    pub fn is_ok(&self) -> bool {
        self.steps.iter().all(EnsureStep::is_ok)
    }

    /// One line per link that is not `ok` afterwards.
    pub fn problems(&self) -> Vec<String> {
        self.steps.iter().filter_map(EnsureStep::problem).collect()
    }

    /// The steps that changed (or would change) something.
    pub fn changes(&self) -> impl Iterator<Item = &EnsureStep> {
        self.steps.iter().filter(|s| {
            matches!(
                s.action,
                EnsureAction::CreateLink | EnsureAction::CreateTarget
            )
        })
    }
}

fn action_for(state: LinkState) -> EnsureAction {
    match state {
        LinkState::Ok => EnsureAction::Nothing,
        LinkState::Missing => EnsureAction::CreateLink,
        LinkState::TargetMissing => EnsureAction::CreateTarget,
        LinkState::Divergent | LinkState::NotALink | LinkState::HomeMissing | LinkState::Error => {
            EnsureAction::Refuse
        }
    }
}

/// Creates `<shared_dir>/N` as a directory (an empty file, for a file
/// link) if nothing is there. An entry that already exists is left alone
/// (the re-check reports it if it is of the wrong kind).
fn create_target(shared: &SharedLinks, req: &RequiredLink) -> Result<(), FsError> {
    let dir = shared.dir();
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(TARGET_DIR_MODE)
            .create(dir)
            .fs("create the shared directory", dir)?;
    }
    let dir = DirFd::open_following(dir).map_err(|e| e.doing("open the shared directory"))?;
    let name = OsStr::new(&req.name);
    let created = match req.kind {
        LinkKind::Dir => dir.mkdir(name, TARGET_DIR_MODE),
        // O_EXCL: a file that appeared meanwhile is never truncated.
        LinkKind::File => dir.create_file(name, TARGET_FILE_MODE).and_then(|f| {
            f.sync_all()
                .fs("fsync the new target file", &dir.join(name))
        }),
    };
    match created {
        Ok(()) => dir.sync(),
        Err(e) if e.is(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e.doing(match req.kind {
            LinkKind::Dir => "create the target directory",
            LinkKind::File => "create the target file",
        })),
    }
}

/// Creates the link `<home>/N -> <shared_dir>/N`. `symlinkat` fails with
/// EEXIST rather than replace anything that appeared since the check.
fn create_link(home: &DirFd, req: &RequiredLink) -> Result<(), FsError> {
    home.symlink(OsStr::new(&req.name), &req.target)?;
    home.sync().map_err(|e| e.doing("fsync the home"))
}

/// Brings one account's links to `ok` where that is safe, and reports every
/// link. With `dry_run` it only plans. Never deletes, moves or overwrites.
pub fn ensure_account(
    account: &str,
    home: &Path,
    shared: &SharedLinks,
    dry_run: bool,
) -> EnsureReport {
    let before = check_account(account, home, shared);
    let home_fd = match open_home(home) {
        Home::Open(fd) => Some(fd),
        Home::Unusable(..) => None,
    };
    let steps = before
        .links
        .into_iter()
        .zip(shared.links())
        .map(|(before, req)| {
            let action = action_for(before.state);
            if dry_run {
                return EnsureStep {
                    before,
                    action,
                    after: None,
                    error: None,
                };
            }
            let result = match (action, &home_fd) {
                (EnsureAction::CreateTarget, _) => create_target(shared, &req),
                (EnsureAction::CreateLink, Some(fd)) => {
                    create_target(shared, &req).and_then(|_| create_link(fd, &req))
                }
                _ => Ok(()),
            };
            let after = match &home_fd {
                Some(fd) => check_link(account, fd, &req, &check_target(&req)),
                None => before.clone(),
            };
            EnsureStep {
                before,
                action,
                after: Some(after),
                error: result.err().map(|e| e.to_string()),
            }
        })
        .collect();
    EnsureReport {
        account: account.to_string(),
        home: home.to_path_buf(),
        dry_run,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::fixture::{layout, states};
    use std::os::unix::fs::symlink;

    #[test]
    fn a_fresh_home_has_every_link_missing_and_ensure_makes_them_ok() {
        let l = layout();
        let r = check_account("a", &l.home, &l.shared);
        assert_eq!(states(&r), vec![LinkState::Missing; 3]);
        let e = ensure_account("a", &l.home, &l.shared, false);
        assert!(e.is_ok(), "{:?}", e.problems());
        for link in l.shared.links() {
            assert_eq!(
                std::fs::read_link(l.home.join(&link.name)).unwrap(),
                link.target
            );
            assert!(link.target.is_dir());
        }
        assert!(check_account("a", &l.home, &l.shared).is_ok());
    }

    #[test]
    fn ensure_refuses_a_regular_file_where_the_link_belongs() {
        let l = layout();
        std::fs::write(l.home.join("projects"), b"mine").unwrap();
        let e = ensure_account("a", &l.home, &l.shared, false);
        assert!(!e.is_ok());
        assert_eq!(std::fs::read(l.home.join("projects")).unwrap(), b"mine");
        let problems = e.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("account a: projects: not_a_link: "),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains("is a regular file"), "{}", problems[0]);
        // The other links were still created: every problem at once, no early stop.
        assert!(l
            .home
            .join("session-env")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn ensure_refuses_a_divergent_link_and_leaves_it() {
        let l = layout();
        symlink("/tmp/x", l.home.join("projects")).unwrap();
        let e = ensure_account("a", &l.home, &l.shared, false);
        assert_eq!(
            std::fs::read_link(l.home.join("projects")).unwrap(),
            Path::new("/tmp/x")
        );
        let expected = l.shared.dir().join("projects");
        assert_eq!(
            e.problems(),
            vec![format!(
                "account a: projects: divergent: points to /tmp/x, expected {}; merge what it holds into {} and replace the link by hand",
                expected.display(),
                expected.display()
            )]
        );
    }

    #[test]
    fn dry_run_changes_nothing() {
        let l = layout();
        let e = ensure_account("a", &l.home, &l.shared, true);
        assert!(e.is_ok());
        assert_eq!(e.changes().count(), 3);
        assert_eq!(std::fs::read_dir(&l.home).unwrap().count(), 0);
        assert!(!l.shared.dir().exists());
    }

    #[test]
    fn ensure_on_a_missing_home_refuses_without_creating_it() {
        let l = layout();
        let gone = l.home.with_file_name("gone");
        let e = ensure_account("g", &gone, &l.shared, false);
        assert!(!e.is_ok());
        assert!(!gone.exists());
        assert_eq!(e.problems().len(), 3);
        assert!(e.problems()[0].contains("home_missing"));
    }
}
