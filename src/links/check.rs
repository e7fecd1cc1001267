//! Checking: classifies every required link of a home into one
//! [`LinkState`], read-only.
//!
//! Everything below a home is reached through its [`DirFd`] (`fstatat`,
//! `readlinkat`) with no symlink followed. A shared target is the same for
//! every home, so a full validation looks at each one once
//! ([`check_accounts`]), not once per home.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::config::{LinkKind, RequiredLink, SharedLinks};
use crate::fs::pathfmt::shown;
use crate::fs::{DirFd, EntryKind, FsError};
use crate::links::drift::{describe, is_unmanaged_name};
use crate::links::state::{AccountReport, LinkReport, LinkState};

/// What opening the home gave: a descriptor, or the state every link gets.
pub(crate) enum Home {
    /// The home, open for `*at` calls.
    Open(DirFd),
    /// No link can be checked; each gets this state and detail.
    Unusable(LinkState, Option<String>),
}

/// Opens a configured home (the kernel may follow it if it is a symlink).
pub(crate) fn open_home(home: &Path) -> Home {
    match DirFd::open_following(home) {
        Ok(fd) => Home::Open(fd),
        Err(e) if e.is(Errno::ENOENT) => Home::Unusable(LinkState::HomeMissing, None),
        Err(e) if e.is(Errno::ENOTDIR) => Home::Unusable(
            LinkState::Error,
            Some(format!("the home {} is not a directory", shown(home))),
        ),
        Err(e) => Home::Unusable(LinkState::Error, Some(e.doing("open the home").to_string())),
    }
}

/// What a correct link's target makes of it: `ok`, `target_missing` or
/// `error`. The same for every home.
#[derive(Debug, Clone)]
pub(crate) struct TargetCheck {
    /// The state a correct link gets.
    state: LinkState,
    /// Why, when that state is `error`.
    detail: Option<String>,
}

/// Looks at one shared target, not following it (the shared dir itself,
/// a configured path, may be a symlink). A target of the wrong kind (a file
/// where a directory link points, or the reverse) or a symlink is an
/// `error`: no link can make it right, and a link to a link is not what
/// the kind says (Claude Code breaks a `settings.json` link to a link when
/// it rewrites the file; the target may lead anywhere).
pub(crate) fn check_target(req: &RequiredLink) -> TargetCheck {
    let (state, detail) = match std::fs::symlink_metadata(&req.target) {
        Ok(m) if m.is_dir() && req.kind == LinkKind::Dir => (LinkState::Ok, None),
        Ok(m) if m.is_file() && req.kind == LinkKind::File => (LinkState::Ok, None),
        Ok(m) if m.file_type().is_symlink() => {
            (LinkState::Error, Some(symlinked_target(req)))
        }
        Ok(m) => (
            LinkState::Error,
            Some(format!(
                "the target {} exists but is {}, not {}; move it aside so 'homeswap ensure' can create {}",
                shown(&req.target),
                EntryKind::from_mode(m.mode()).describe(),
                req.kind.describe(),
                match req.kind {
                    LinkKind::Dir => "the directory",
                    LinkKind::File => "an empty file",
                }
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

/// The detail of a shared target that is itself a symlink.
fn symlinked_target(req: &RequiredLink) -> String {
    let to = match std::fs::read_link(&req.target) {
        Ok(to) => shown(&to).to_string(),
        Err(_) => "?".to_string(),
    };
    format!(
        "the target {} is a symlink (to {to}), not {}; homeswap never follows it: put {} itself in its place, or move the link aside so 'homeswap ensure' can create {}",
        shown(&req.target),
        req.kind.describe(),
        match req.kind {
            LinkKind::Dir => "the directory",
            LinkKind::File => "the file",
        },
        match req.kind {
            LinkKind::Dir => "an empty directory",
            LinkKind::File => "an empty file",
        }
    )
}

/// Classifies one link, given its home's descriptor and its target's check.
pub(crate) fn check_link(
    account: &str,
    home: &DirFd,
    req: &RequiredLink,
    target: &TargetCheck,
) -> LinkReport {
    check_link_listed(account, home, req, target, false)
}

/// [`check_link`], told whether the home's listing showed the entry as a
/// symlink. Then `readlinkat` comes first: it succeeds only on a symlink,
/// which is all `fstatat` would have said, so the `fstatat` is made only
/// when it fails (the entry changed since the listing, or was never one).
fn check_link_listed(
    account: &str,
    home: &DirFd,
    req: &RequiredLink,
    target: &TargetCheck,
    listed_symlink: bool,
) -> LinkReport {
    let name = OsStr::new(&req.name);
    let mut report = LinkReport {
        account: account.to_string(),
        link: req.name.clone(),
        path: home.join(name),
        expected: req.target.clone(),
        state: LinkState::Ok,
        points_to: None,
        detail: None,
    };
    let mut held_state = |held: PathBuf| {
        // The contract asks for exactly `<shared_dir>/N`; a relative
        // link or one through another path would break as soon as a
        // home moves.
        if held != req.target {
            report.points_to = Some(held);
            (LinkState::Divergent, None)
        } else {
            (target.state, target.detail.clone())
        }
    };
    let fast = match listed_symlink {
        true => home.read_link(name).ok(),
        false => None,
    };
    let (state, detail) = match fast {
        Some(held) => held_state(held),
        None => match home.kind(name) {
            Ok(None) => (LinkState::Missing, None),
            Err(e) => (LinkState::Error, Some(e.to_string())),
            Ok(Some(EntryKind::Symlink)) => match home.read_link(name) {
                Err(e) => (LinkState::Error, Some(e.to_string())),
                Ok(held) => held_state(held),
            },
            Ok(Some(kind)) => (LinkState::NotALink, Some(kind.describe().to_string())),
        },
    };
    report.state = state;
    report.detail = detail;
    report
}

/// Every required link with its target's check.
fn required(shared: &SharedLinks) -> Vec<(RequiredLink, TargetCheck)> {
    shared
        .links()
        .map(|r| {
            let t = check_target(&r);
            (r, t)
        })
        .collect()
}

/// Checks every required link of one account; read-only.
pub fn check_account(account: &str, home: &Path, shared: &SharedLinks) -> AccountReport {
    check_account_against(account, home, shared, &required(shared), false)
}

/// Checks every required link of every `(account, home)`, and looks at
/// its credentials file; read-only. Each shared target is looked at once
/// for all of them.
pub(crate) fn check_accounts<'a>(
    accounts: impl IntoIterator<Item = (&'a str, &'a Path)>,
    shared: &SharedLinks,
) -> Vec<AccountReport> {
    let required = required(shared);
    accounts
        .into_iter()
        .map(|(account, home)| check_account_against(account, home, shared, &required, true))
        .collect()
}

/// One account against targets already checked (and its credentials file
/// when `credentials`). One listing of the home serves both the drift scan
/// and the link checks (which entries are symlinks).
fn check_account_against(
    account: &str,
    home: &Path,
    shared: &SharedLinks,
    required: &[(RequiredLink, TargetCheck)],
    credentials: bool,
) -> AccountReport {
    let mut creds = None;
    let (links, unmanaged) = match open_home(home) {
        Home::Open(fd) => {
            if credentials {
                creds = crate::links::credentials::read(&fd);
            }
            let mut symlinks = vec![false; required.len()];
            let mut drift = Vec::new();
            let listed = fd.scan(|name, kind| {
                let link = required
                    .iter()
                    .position(|(r, _)| r.name.as_bytes() == name.as_bytes());
                match link {
                    Some(i) => symlinks[i] = kind == Some(EntryKind::Symlink),
                    None if is_unmanaged_name(name, shared) => drift.push(name.to_os_string()),
                    None => {}
                }
            });
            let links = required
                .iter()
                .zip(symlinks)
                .map(|((r, t), s)| check_link_listed(account, &fd, r, t, s))
                .collect();
            // A home that cannot be listed shows that in its links' states.
            (
                links,
                listed
                    .and_then(|()| describe(&fd, drift))
                    .unwrap_or_default(),
            )
        }
        Home::Unusable(state, detail) => (
            required
                .iter()
                .map(|(r, _)| LinkReport {
                    account: account.to_string(),
                    path: home.join(&r.name),
                    link: r.name.clone(),
                    expected: r.target.clone(),
                    state,
                    points_to: None,
                    detail: detail.clone(),
                })
                .collect(),
            Vec::new(),
        ),
    };
    AccountReport {
        account: account.to_string(),
        home: home.to_path_buf(),
        links,
        unmanaged,
        credentials: creds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::fixture::{layout, states};
    use std::os::unix::fs::symlink;

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
    fn a_listing_that_no_longer_holds_decides_nothing() {
        // The listing said "symlink", but the entry changed since: the
        // check looks again and classifies what is there now.
        let l = layout();
        std::fs::create_dir_all(l.shared.dir().join("session-env")).unwrap();
        std::fs::create_dir(l.home.join("session-env")).unwrap();
        let fd = DirFd::open(&l.home).unwrap();
        let checked: Vec<_> = required(&l.shared)
            .iter()
            .map(|(r, t)| check_link_listed("a", &fd, r, t, true))
            .collect();
        let states: Vec<_> = checked.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [LinkState::NotALink, LinkState::Missing, LinkState::Missing]
        );
        assert_eq!(checked[0].detail.as_deref(), Some("a directory"));
    }

    #[test]
    fn every_kind_of_entry_where_a_link_belongs_is_named() {
        let l = layout();
        std::fs::create_dir(l.home.join("session-env")).unwrap();
        std::fs::write(l.home.join("file-history"), b"x").unwrap();
        nix::unistd::mkfifo(
            &l.home.join("projects"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let r = check_account("a", &l.home, &l.shared);
        assert_eq!(states(&r), vec![LinkState::NotALink; 3]);
        let details: Vec<_> = r.links.iter().map(|l| l.detail.as_deref()).collect();
        assert_eq!(
            details,
            [Some("a directory"), Some("a regular file"), Some("a FIFO")]
        );
        assert!(
            r.links[0].to_string().contains("run 'homeswap adopt a'"),
            "{}",
            r.links[0]
        );
        assert!(
            r.links[2]
                .to_string()
                .contains("is a FIFO, expected a link"),
            "{}",
            r.links[2]
        );
    }
}
