//! Checking and repairing the shared links of one account home.
//!
//! [`check_account`] is read-only and classifies every required link into
//! one [`LinkState`]. [`ensure_account`] repairs only what is safe: it
//! creates a missing link or a missing target directory and refuses
//! everything else, so it can never delete, move or overwrite an entry.
//!
//! Everything below a home is reached through a directory descriptor
//! (`fstatat`, `readlinkat`, `symlinkat`) with no symlink followed, and a
//! link is created with `symlinkat`, which fails rather than replace an
//! entry that appeared between the check and the act.

pub mod active;
pub mod shared;
pub mod validate;

use std::ffi::OsStr;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{readlinkat, AtFlags};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fsync, symlinkat};
use serde::Serialize;

use crate::fs::atomic::open_dir;
use crate::fs::error::{FsContext, FsError};
use crate::fs::pathfmt::{self, shown};
use crate::links::shared::{RequiredLink, SharedLinks};

/// Mode of a shared target directory homeswap creates: transcripts and
/// session environments are private to the operator's user.
pub const TARGET_DIR_MODE: u32 = 0o700;

/// The state of one required link of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// A symlink to `<shared_dir>/N`, which is a directory.
    Ok,
    /// Nothing at `<home>/N`.
    Missing,
    /// The right link, but its target directory does not exist.
    TargetMissing,
    /// A symlink to anything else.
    Divergent,
    /// A regular file, directory or other entry where the link belongs.
    NotALink,
    /// The account home itself does not exist.
    HomeMissing,
    /// An I/O error while checking.
    Error,
}

impl LinkState {
    /// Every state, in the contract's order (for the metrics' stateset).
    pub const ALL: [LinkState; 7] = [
        LinkState::Ok,
        LinkState::Missing,
        LinkState::TargetMissing,
        LinkState::Divergent,
        LinkState::NotALink,
        LinkState::HomeMissing,
        LinkState::Error,
    ];

    /// The contract's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Ok => "ok",
            LinkState::Missing => "missing",
            LinkState::TargetMissing => "target_missing",
            LinkState::Divergent => "divergent",
            LinkState::NotALink => "not_a_link",
            LinkState::HomeMissing => "home_missing",
            LinkState::Error => "error",
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The finding for one link: its state and what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// The account the link belongs to.
    pub account: String,
    /// The required name, e.g. `projects`.
    pub link: String,
    /// Where the link sits: `<home>/<link>`.
    #[serde(serialize_with = "pathfmt::path")]
    pub path: PathBuf,
    /// Where it must point: `<shared_dir>/<link>`.
    #[serde(serialize_with = "pathfmt::path")]
    pub expected: PathBuf,
    /// The classification.
    pub state: LinkState,
    /// What a divergent link points to.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "pathfmt::opt_path"
    )]
    pub points_to: Option<PathBuf>,
    /// What sits there instead (`not_a_link`), or the error (`error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl LinkReport {
    /// True when the link is `ok`.
    pub fn is_ok(&self) -> bool {
        self.state == LinkState::Ok
    }
}

/// The problem line an operator reads: account, link, state, paths and
/// what to do, e.g. `account b: projects: divergent: points to /tmp/x,
/// expected /srv/shared/projects; ...`.
impl fmt::Display for LinkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, expected) = (shown(&self.path), shown(&self.expected));
        write!(
            f,
            "account {}: {}: {}: ",
            self.account, self.link, self.state
        )?;
        match self.state {
            LinkState::Ok => write!(f, "{path} points to {expected}"),
            LinkState::Missing => write!(
                f,
                "{path} does not exist, expected a link to {expected}; run 'homeswap ensure {}' to create it",
                self.account
            ),
            LinkState::TargetMissing => write!(
                f,
                "{path} points to {expected}, which does not exist; run 'homeswap ensure {}' to create it",
                self.account
            ),
            LinkState::Divergent => write!(
                f,
                "points to {}, expected {expected}; merge what it holds into {expected} and replace the link by hand",
                shown(self.points_to.as_deref().unwrap_or(Path::new("?")))
            ),
            LinkState::NotALink if self.detail.as_deref() == Some("a directory") => write!(
                f,
                "{path} is a directory, expected a link to {expected}; run 'homeswap adopt {}' to move its contents into {expected} and link it",
                self.account
            ),
            LinkState::NotALink => write!(
                f,
                "{path} is {}, expected a link to {expected}; move it aside, then run 'homeswap ensure {}'",
                self.detail.as_deref().unwrap_or("not a symlink"),
                self.account
            ),
            LinkState::HomeMissing => write!(
                f,
                "the home {} does not exist; create it or fix accounts.{} in the configuration",
                shown(self.path.parent().unwrap_or(Path::new("/"))),
                self.account
            ),
            LinkState::Error => write!(
                f,
                "{}",
                self.detail.as_deref().unwrap_or("unknown error")
            ),
        }
    }
}

/// Every link of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountReport {
    /// The account name.
    pub account: String,
    /// Its home.
    #[serde(serialize_with = "pathfmt::path")]
    pub home: PathBuf,
    /// One report per required link, in configured order.
    pub links: Vec<LinkReport>,
}

impl AccountReport {
    /// True when every link is `ok`.
    pub fn is_ok(&self) -> bool {
        self.links.iter().all(LinkReport::is_ok)
    }

    /// The links that are not `ok`.
    pub fn problems(&self) -> impl Iterator<Item = &LinkReport> {
        self.links.iter().filter(|l| !l.is_ok())
    }
}

/// What opening the home gave: a descriptor, or the state every link gets.
enum Home {
    Open(OwnedFd),
    Unusable(LinkState, Option<String>),
}

fn open_home(home: &Path) -> Home {
    match open_dir(home) {
        Ok(fd) => Home::Open(fd),
        Err(Errno::ENOENT) => Home::Unusable(LinkState::HomeMissing, None),
        Err(Errno::ENOTDIR) => Home::Unusable(
            LinkState::Error,
            Some(format!("the home {} is not a directory", shown(home))),
        ),
        Err(e) => Home::Unusable(
            LinkState::Error,
            Some(FsError::new("open the home", home, e).to_string()),
        ),
    }
}

fn file_kind(mode: u32) -> &'static str {
    match SFlag::from_bits_truncate(mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFREG => "a regular file",
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFCHR => "a character device",
        SFlag::S_IFBLK => "a block device",
        _ => "not a symlink",
    }
}

/// What a correct link's target makes of it: `ok`, `target_missing` or
/// `error`. The same for every home, so a full validation looks at each
/// target once, not once per home.
#[derive(Debug, Clone)]
struct TargetCheck {
    state: LinkState,
    detail: Option<String>,
}

fn check_target(req: &RequiredLink) -> TargetCheck {
    let (state, detail) = match std::fs::metadata(&req.target) {
        Ok(m) if m.is_dir() => (LinkState::Ok, None),
        Ok(_) => (
            LinkState::Error,
            Some(format!(
                "the target {} exists but is not a directory; move it aside so 'homeswap ensure' can create the directory",
                shown(&req.target)
            )),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (LinkState::TargetMissing, None),
        Err(e) => (
            LinkState::Error,
            Some(FsError::new("inspect the target", &req.target, e).to_string()),
        ),
    };
    TargetCheck { state, detail }
}

/// Classifies one link, given its home's descriptor and its target's check.
fn check_link(
    account: &str,
    home: &Path,
    home_fd: &OwnedFd,
    req: &RequiredLink,
    target: &TargetCheck,
) -> LinkReport {
    let path = home.join(&req.name);
    let mut report = LinkReport {
        account: account.to_string(),
        link: req.name.clone(),
        path: path.clone(),
        expected: req.target.clone(),
        state: LinkState::Ok,
        points_to: None,
        detail: None,
    };
    let name = OsStr::new(&req.name);
    let st = match fstatat(home_fd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => {
            report.state = LinkState::Missing;
            return report;
        }
        Err(e) => {
            report.state = LinkState::Error;
            report.detail = Some(FsError::new("inspect", &path, e).to_string());
            return report;
        }
    };
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFLNK {
        report.state = LinkState::NotALink;
        report.detail = Some(file_kind(st.st_mode).to_string());
        return report;
    }
    let held = match readlinkat(home_fd.as_fd(), name) {
        Ok(t) => PathBuf::from(t),
        Err(e) => {
            report.state = LinkState::Error;
            report.detail = Some(FsError::new("read the link", &path, e).to_string());
            return report;
        }
    };
    // The contract asks for exactly `<shared_dir>/N`; a relative link or one
    // through another path would break as soon as a home moves.
    if held != req.target {
        report.state = LinkState::Divergent;
        report.points_to = Some(held);
        return report;
    }
    report.state = target.state;
    report.detail = target.detail.clone();
    report
}

/// Checks every required link of one account; read-only.
pub fn check_account(account: &str, home: &Path, shared: &SharedLinks) -> AccountReport {
    let targets: Vec<TargetCheck> = shared.links().map(|r| check_target(&r)).collect();
    check_account_against(account, home, shared, &targets)
}

/// Checks every required link of every `(account, home)`; read-only. Each
/// shared target is looked at once for all of them.
pub fn check_accounts<'a>(
    accounts: impl IntoIterator<Item = (&'a str, &'a Path)>,
    shared: &SharedLinks,
) -> Vec<AccountReport> {
    let targets: Vec<TargetCheck> = shared.links().map(|r| check_target(&r)).collect();
    accounts
        .into_iter()
        .map(|(account, home)| check_account_against(account, home, shared, &targets))
        .collect()
}

fn check_account_against(
    account: &str,
    home: &Path,
    shared: &SharedLinks,
    targets: &[TargetCheck],
) -> AccountReport {
    let links = match open_home(home) {
        Home::Open(fd) => shared
            .links()
            .zip(targets)
            .map(|(r, t)| check_link(account, home, &fd, &r, t))
            .collect(),
        Home::Unusable(state, detail) => shared
            .links()
            .map(|r| LinkReport {
                account: account.to_string(),
                path: home.join(&r.name),
                link: r.name,
                expected: r.target,
                state,
                points_to: None,
                detail: detail.clone(),
            })
            .collect(),
    };
    AccountReport {
        account: account.to_string(),
        home: home.to_path_buf(),
        links,
    }
}

/// What ensure does (or would do) for one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnsureAction {
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
            EnsureAction::CreateTarget => "create the target directory",
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
    pub action: EnsureAction,
    /// The state after (absent in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<LinkReport>,
    /// Why the action failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl EnsureStep {
    /// True when this link is (or, in a dry run, would be) `ok`.
    pub fn is_ok(&self) -> bool {
        match &self.after {
            Some(after) => after.is_ok(),
            None => matches!(
                self.action,
                EnsureAction::Nothing | EnsureAction::CreateLink | EnsureAction::CreateTarget
            ),
        }
    }

    /// The operator's line for a step that did not end `ok`.
    pub fn problem(&self) -> Option<String> {
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
    pub account: String,
    /// Its home.
    #[serde(serialize_with = "pathfmt::path")]
    pub home: PathBuf,
    /// True when nothing was changed on purpose (`--dry-run`).
    pub dry_run: bool,
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

/// Creates `<shared_dir>/N` as a directory if nothing is there. An entry
/// that already exists is left alone (the re-check reports it if it is not
/// a directory).
fn create_target(shared: &SharedLinks, req: &RequiredLink) -> Result<(), FsError> {
    let dir = shared.dir();
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(TARGET_DIR_MODE)
            .create(dir)
            .fs("create the shared directory", dir)?;
    }
    let dirfd = open_dir(dir).fs("open the shared directory", dir)?;
    match mkdirat(
        dirfd.as_fd(),
        OsStr::new(&req.name),
        Mode::from_bits_truncate(TARGET_DIR_MODE),
    ) {
        Ok(()) => fsync(dirfd.as_fd()).fs("fsync the directory", dir),
        Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(FsError::new("create the target directory", &req.target, e)),
    }
}

/// Creates the link `<home>/N -> <shared_dir>/N`. `symlinkat` fails with
/// EEXIST rather than replace anything that appeared since the check.
fn create_link(home: &Path, home_fd: &OwnedFd, req: &RequiredLink) -> Result<(), FsError> {
    let path = home.join(&req.name);
    symlinkat(&req.target, home_fd.as_fd(), OsStr::new(&req.name)).fs("create the link", &path)?;
    fsync(home_fd.as_fd()).fs("fsync the home", home)
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
                    create_target(shared, &req).and_then(|_| create_link(home, fd, &req))
                }
                _ => Ok(()),
            };
            let after = match &home_fd {
                Some(fd) => check_link(account, home, fd, &req, &check_target(&req)),
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
    use std::os::unix::fs::symlink;

    struct Layout {
        _dir: tempfile::TempDir,
        home: PathBuf,
        shared: SharedLinks,
    }

    fn layout() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home-a");
        std::fs::create_dir(&home).unwrap();
        let shared = SharedLinks::with_defaults(dir.path().join("shared"));
        Layout {
            _dir: dir,
            home,
            shared,
        }
    }

    fn states(r: &AccountReport) -> Vec<LinkState> {
        r.links.iter().map(|l| l.state).collect()
    }

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
    fn every_state_is_classified() {
        let l = layout();
        std::fs::create_dir_all(l.shared.dir().join("session-env")).unwrap();
        symlink(
            l.shared.dir().join("session-env"),
            l.home.join("session-env"),
        )
        .unwrap();
        symlink(
            l.shared.dir().join("file-history"),
            l.home.join("file-history"),
        )
        .unwrap();
        std::fs::create_dir(l.home.join("projects")).unwrap();
        assert_eq!(
            states(&check_account("a", &l.home, &l.shared)),
            [LinkState::Ok, LinkState::TargetMissing, LinkState::NotALink]
        );
        std::fs::remove_dir(l.home.join("projects")).unwrap();
        symlink("/elsewhere/projects", l.home.join("projects")).unwrap();
        let r = check_account("a", &l.home, &l.shared);
        assert_eq!(r.links[2].state, LinkState::Divergent);
        assert_eq!(
            r.links[2].points_to.as_deref(),
            Some(Path::new("/elsewhere/projects"))
        );
        let missing = check_account("b", &l.home.with_file_name("nope"), &l.shared);
        assert_eq!(states(&missing), vec![LinkState::HomeMissing; 3]);
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
