//! The active link: which account tools reach right now.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::fs::error::FsError;
use crate::fs::pathfmt::{self, shown};

/// What the active link holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ActiveLink {
    /// The configured path of the active link.
    #[serde(serialize_with = "pathfmt::path")]
    pub(crate) path: PathBuf,
    /// The target it holds, when it is a symlink.
    #[serde(serialize_with = "pathfmt::opt_path")]
    pub(crate) target: Option<PathBuf>,
    /// The configured account whose home is that target.
    pub(crate) account: Option<String>,
    /// What is wrong when no configured account is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) problem: Option<ActiveProblem>,
}

/// Why no configured account is active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub(crate) enum ActiveProblem {
    /// Nothing exists at the active link's path.
    Missing,
    /// A file or directory sits where the link belongs.
    NotALink,
    /// The link points to a path that is no configured home.
    Unconfigured,
    /// It could not be read.
    Error(String),
}

impl ActiveLink {
    /// Reads the active link (without following it).
    pub(crate) fn read(config: &Config) -> ActiveLink {
        let path = config.active_link.clone();
        let mut active = ActiveLink {
            path: path.clone(),
            target: None,
            account: None,
            problem: None,
        };
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                active.problem = Some(ActiveProblem::Missing);
                return active;
            }
            Err(e) => {
                active.problem = Some(ActiveProblem::Error(
                    FsError::new("inspect", &path, e).to_string(),
                ));
                return active;
            }
            Ok(m) if !m.file_type().is_symlink() => {
                active.problem = Some(ActiveProblem::NotALink);
                return active;
            }
            Ok(_) => {}
        }
        match std::fs::read_link(&path) {
            Ok(target) => {
                active.account = config.account_for_home(&target).map(str::to_string);
                if active.account.is_none() {
                    active.problem = Some(ActiveProblem::Unconfigured);
                }
                active.target = Some(target);
            }
            Err(e) => {
                active.problem = Some(ActiveProblem::Error(
                    FsError::new("read the link", &path, e).to_string(),
                ))
            }
        }
        active
    }

    /// True when the link may be replaced by a flip: a symlink, or absent.
    pub(crate) fn is_replaceable(&self) -> bool {
        !matches!(
            self.problem,
            Some(ActiveProblem::NotALink | ActiveProblem::Error(_))
        )
    }

    /// Whether the active link's target is `home`.
    pub(crate) fn points_at(&self, home: &Path) -> bool {
        self.target
            .as_deref()
            .is_some_and(|t| crate::config::same_path(t, home))
    }
}

/// The operator's line when no configured account is active.
impl fmt::Display for ActiveLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = shown(&self.path);
        match (&self.problem, &self.account) {
            (None, Some(a)) => write!(f, "active link {path}: account {a}"),
            (Some(ActiveProblem::Missing), _) => write!(
                f,
                "active link {path}: missing: no account is active; run 'homeswap swap ACCOUNT'"
            ),
            (Some(ActiveProblem::NotALink), _) => write!(
                f,
                "active link {path}: not_a_link: a file or directory sits where the link belongs; move it aside, then run 'homeswap swap ACCOUNT'"
            ),
            (Some(ActiveProblem::Unconfigured), _) => write!(
                f,
                "active link {path}: unconfigured: points to {}, which is no configured account's home; run 'homeswap swap ACCOUNT'",
                shown(self.target.as_deref().unwrap_or(Path::new("?")))
            ),
            (Some(ActiveProblem::Error(e)), _) => write!(f, "active link {path}: error: {e}"),
            (None, None) => write!(f, "active link {path}: unknown"),
        }
    }
}
