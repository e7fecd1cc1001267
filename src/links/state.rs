//! What a check finds: the contract's [`LinkState`] of one link, the
//! [`LinkReport`] of one link with the line an operator reads, and the
//! [`AccountReport`] of one home. No file-system access here.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fs::pathfmt::{self, shown};
use crate::fs::EntryKind;
use crate::links::credentials::CredentialsFile;
use crate::links::drift::UnmanagedEntry;

/// The state of one required link of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// A symlink to `<shared_dir>/N`, which is a directory (a regular
    /// file for a file link).
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
    pub(crate) account: String,
    /// The required name, e.g. `projects`.
    pub link: String,
    /// Where the link sits: `<home>/<link>`.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) path: PathBuf,
    /// Where it must point: `<shared_dir>/<link>`.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) expected: PathBuf,
    /// The classification.
    pub state: LinkState,
    /// What a divergent link points to.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "pathfmt::opt_path"
    )]
    pub(crate) points_to: Option<PathBuf>,
    /// What sits there instead (`not_a_link`), or the error (`error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

impl LinkReport {
    /// True when the link is `ok`.
    pub(crate) fn is_ok(&self) -> bool {
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
            LinkState::NotALink if self.detail.as_deref() == Some(EntryKind::Dir.describe()) => write!(
                f,
                "{path} is a directory, expected a link to {expected}; run 'homeswap adopt {}' to move its contents into {expected} and link it",
                self.account
            ),
            LinkState::NotALink if self.detail.as_deref() == Some(EntryKind::File.describe()) => write!(
                f,
                "{path} is a regular file, expected a link to {expected}; run 'homeswap adopt {}' to move it into {expected} (or merge it, for a .jsonl file) and link it",
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
    pub(crate) account: String,
    /// Its home.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) home: PathBuf,
    /// One report per required link, in configured order.
    pub links: Vec<LinkReport>,
    /// Entries of the home in no list (warnings, not problems), by name.
    pub(crate) unmanaged: Vec<UnmanagedEntry>,
    /// Its `.credentials.json`, when a validation looked (never shown).
    #[serde(skip)]
    pub(crate) credentials: Option<CredentialsFile>,
}

impl AccountReport {
    /// True when every link is `ok`.
    pub fn is_ok(&self) -> bool {
        self.links.iter().all(LinkReport::is_ok)
    }

    /// One warning line per unmanaged entry.
    pub(crate) fn warnings(&self) -> impl Iterator<Item = String> + '_ {
        self.unmanaged.iter().map(|u| u.line(&self.account))
    }

    /// The links that are not `ok`.
    pub(crate) fn problems(&self) -> impl Iterator<Item = &LinkReport> {
        self.links.iter().filter(|l| !l.is_ok())
    }
}
