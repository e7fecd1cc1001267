//! `account add NAME [--home DIR]`: a new account, from nothing to its
//! home, its links and its entry in the configuration file.
//!
//! 1. Before the lock: the name (usage error), the home absolute and
//!    without `..` (usage error; default `<active_link>-NAME`), the name
//!    not configured yet (refused).
//! 2. Under the lock: read the configuration file again and edit it in
//!    memory (`config::add_account`): the edited text must parse to the
//!    configuration as it is plus exactly this account, and pass every
//!    check; else refused, nothing done.
//! 3. The home: created (mode 0700) when absent, in a directory that
//!    exists; an existing empty directory is used, and so is one that
//!    holds only this account's shared links (an add interrupted after
//!    step 4); anything else there is refused.
//! 4. Ensure its links (and their targets in the shared dir).
//! 5. Write the configuration atomically, keeping the file's mode (and a
//!    symlink a symlink).
//!
//! The configuration is written last: a crash before it leaves a home
//! with its links and the configuration as it was, and the same command
//! run again finishes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::error::{AccountError, RELOAD_HINT};
use crate::config::{self, is_valid_account_name, Config, SharedLinks};
use crate::fs::atomic::{self, split};
use crate::fs::error::FsError;
use crate::fs::pathfmt::shown;
use crate::fs::{DirFd, EntryKind};
use crate::links::ensure_account;
use crate::ops::context::Context;
use crate::ops::skeleton::{self, Ended, Operation};
use crate::state::audit::{Action, Outcome, Subject};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

/// The mode of a home `account add` creates: it will hold credentials.
const HOME_MODE: u32 = 0o700;

/// What `account add` is asked.
#[derive(Debug, Clone)]
pub(crate) struct AddRequest {
    /// The new account's name.
    pub(crate) account: String,
    /// Its home (default: [`default_home`]).
    pub(crate) home: Option<PathBuf>,
}

/// What `account add` did.
#[derive(Debug, Clone)]
pub(crate) struct AddReport {
    /// The account added.
    pub(crate) account: String,
    /// Its home.
    pub(crate) home: PathBuf,
    /// True when the home was created now (else an empty one was used).
    pub(crate) home_created: bool,
    /// The links ensure created, by name.
    pub(crate) links_created: Vec<String>,
    /// The configuration file written.
    pub(crate) config: PathBuf,
    /// What a person should know besides.
    pub(crate) notes: Vec<String>,
    /// What went wrong without undoing the add (the audit log).
    pub(crate) warnings: Vec<String>,
}

impl Ended for AddReport {
    fn outcome(&self) -> Outcome {
        Outcome::Added
    }
}

/// Where a new account's home goes by default: beside the active link,
/// `<active_link>-NAME` (as `init` names the first one).
pub(crate) fn default_home(config: &Config, account: &str) -> PathBuf {
    let mut s = config.active_link.clone().into_os_string();
    s.push(format!("-{account}"));
    PathBuf::from(s)
}

/// Adds the account. See the module documentation.
pub(crate) fn add_account(ctx: &Context, req: &AddRequest) -> Result<AddReport, AccountError> {
    skeleton::run(
        ctx,
        &mut Add {
            req,
            home: PathBuf::new(),
        },
    )
}

/// One `account add`, as the skeleton runs it.
struct Add<'r> {
    /// What was asked.
    req: &'r AddRequest,
    /// The home, once step 1 checked it.
    home: PathBuf,
}

impl Operation for Add<'_> {
    type Report = AddReport;
    type Error = AccountError;
    const ACTION: Action = Action::AccountAdd;

    fn latched(&self, _: LatchRecord) -> Option<AccountError> {
        None
    }

    fn busy(&self, source: LockError) -> AccountError {
        AccountError::Busy {
            account: self.req.account.clone(),
            source,
        }
    }

    fn lock_failed(&self, e: FsError) -> AccountError {
        AccountError::refused(&self.req.account, e.to_string())
    }

    /// Step 1.
    fn check(&mut self, ctx: &Context) -> Result<(), AccountError> {
        let name = &self.req.account;
        if !is_valid_account_name(name) {
            return Err(AccountError::Usage(format!(
                "bad account name {:?}: it must match ^[a-z0-9][a-z0-9_-]{{0,31}}$",
                crate::fs::pathfmt::one_line(name)
            )));
        }
        let home = match &self.req.home {
            Some(h) => h.clone(),
            None => default_home(&ctx.config, name),
        };
        if !home.is_absolute()
            || home
                .components()
                .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(AccountError::Usage(format!(
                "--home {} must be an absolute path without '..'",
                shown(&home)
            )));
        }
        self.home = home.components().collect();
        if let Some(h) = ctx.config.home(name) {
            return Err(AccountError::refused(
                name,
                format!("it is configured already (home {})", shown(h)),
            ));
        }
        Ok(())
    }

    /// Steps 2 to 5.
    fn run(&mut self, ctx: &Context, _: &StateLock) -> Result<AddReport, AccountError> {
        let name = &self.req.account;
        let refused = |p: String| AccountError::refused(name, p);
        let path = &ctx.config.path;
        // 2. The edit, checked before anything is touched.
        let text = config::read_text(path).map_err(|e| refused(e.to_string()))?;
        let edited = config::add_account(path, &text, name, &self.home)
            .map_err(|e| refused(e.to_string()))?;
        // 3. The home.
        let home_created = make_home(&self.home, &edited.config.shared).map_err(refused)?;
        // 4. Its links.
        let ensured = ensure_account(name, &self.home, &edited.config.shared, false);
        if !ensured.is_ok() {
            let mut problems = ensured.problems();
            problems.push(format!(
                "the home {} is there, the configuration is unchanged; fix that and run the same command again",
                shown(&self.home)
            ));
            return Err(AccountError::Refused {
                account: name.clone(),
                problems,
            });
        }
        // 5. The configuration.
        atomic::replace_file(path, edited.text.as_bytes())
            .map_err(|e| refused(format!("the configuration was not written: {e}")))?;
        Ok(AddReport {
            account: name.clone(),
            home: self.home.clone(),
            home_created,
            links_created: ensured.changes().map(|s| s.before.link.clone()).collect(),
            config: path.clone(),
            notes: vec![RELOAD_HINT.to_string()],
            warnings: Vec::new(),
        })
    }

    fn subject(&self, _: &Context, _: &Result<AddReport, AccountError>) -> Option<Subject> {
        Some(Subject {
            account: Some(self.req.account.clone()),
            home: (!self.home.as_os_str().is_empty()).then(|| shown(&self.home).to_string()),
            ..Subject::default()
        })
    }

    fn warn(report: &mut AddReport, warning: String) {
        report.warnings.push(warning);
    }
}

/// Step 3: creates `home` (true), or accepts the empty directory there
/// (false); why not, otherwise.
fn make_home(home: &Path, shared: &SharedLinks) -> Result<bool, String> {
    let (parent, name) = split(home).map_err(|e| e.to_string())?;
    let parent = DirFd::open_following(parent).map_err(|e| {
        format!(
            "the home's directory {} cannot be opened ({e}); create it first",
            shown(parent)
        )
    })?;
    match parent.kind(name).map_err(|e| e.to_string())? {
        None => {
            parent
                .mkdir(name, HOME_MODE)
                .and_then(|()| parent.sync())
                .map_err(|e| e.to_string())?;
            Ok(true)
        }
        // A symlink to a directory: the operator's choice of a home.
        Some(EntryKind::Dir | EntryKind::Symlink) => {
            let dir = DirFd::open_following(home).map_err(|e| {
                format!(
                    "the home {} exists and cannot be used as one: {e}",
                    shown(home)
                )
            })?;
            refuse_unless_empty(&dir, shared).map(|()| false)
        }
        Some(kind) => Err(format!(
            "the home {} exists and is {kind}, not a directory; give another --home",
            shown(home)
        )),
    }
}

/// The directory holds nothing but (some of) this account's shared links.
fn refuse_unless_empty(dir: &DirFd, shared: &SharedLinks) -> Result<(), String> {
    let entries = dir.list().map_err(|e| e.to_string())?;
    let ours = |n: &OsStr| {
        shared.links().any(|l| {
            OsStr::new(&l.name) == n
                && dir.kind(n).ok().flatten() == Some(EntryKind::Symlink)
                && dir.read_link(n).ok().as_deref() == Some(l.target.as_path())
        })
    };
    let others: Vec<String> = entries
        .iter()
        .filter(|n| !ours(n))
        .map(|n| shown(Path::new(n)).to_string())
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let listed: Vec<&str> = others.iter().take(5).map(String::as_str).collect();
    Err(format!(
        "the home {} exists and is not empty ({} entr{}: {}{}); homeswap adds only a new or empty home: give another --home, or to use this one as it is, add it under accounts: by hand and run 'homeswap ensure NAME' ('homeswap adopt NAME' where it holds its own projects, history, ...)",
        shown(dir.path()),
        others.len(),
        if others.len() == 1 { "y" } else { "ies" },
        listed.join(", "),
        if others.len() > listed.len() { ", ..." } else { "" }
    ))
}
