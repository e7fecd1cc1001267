//! Adopt: move a real directory that sits where a shared link belongs into
//! the shared target, losing nothing, then replace it by the link. The CLI
//! calls [`adopt`]; [`plan`] compares, [`act`] moves, [`journal`] makes it
//! resumable.
//!
//! `adopt(ACCOUNT)`:
//!
//! 1. Refuse an unknown account or link name (usage), a set partial-swap
//!    latch, and (unless `--force-active`) the active account: a live
//!    session may be writing into the directory.
//! 2. Take the state lock (the swaps' lock, 5 s, else busy). Re-read the
//!    latch. If a journal is left, a crash interrupted an adoption: finish
//!    that one first, with the choices it recorded.
//! 3. Refuse, changing nothing, when the account could not end `ok`: a
//!    link that is divergent, a regular file where a link belongs, a
//!    missing home, a target that is not a directory, or a real directory
//!    not selected with `--link`.
//! 4. **Plan**: walk every selected real directory against its target;
//!    each entry is a *move*, a *duplicate* (same bytes) or a *conflict*.
//!    `--dry-run` stops here. A conflict without `--keep-both` stops here
//!    too: nothing changed.
//! 5. Write the journal (account, links, `--keep-both`, the stamp of
//!    kept-both names) durably.
//! 6. **Act**, per link: create the target if absent, move every entry
//!    into it without ever replacing one (see [`act`]), `rmdir` the emptied
//!    real directory and fsync the home. An entry is always in the account,
//!    in the target, or (briefly, across file systems) in both.
//! 7. **Link**: ensure the account (creates the links where the real
//!    directories were). When every link is `ok`, remove the journal.
//!
//! A crash anywhere after step 5 leaves the journal; the next `adopt` plans
//! again from what is on disk and finishes. Every adoption that got past
//! step 1 is one line in the audit log, whatever its end.

pub mod act;
pub mod journal;
pub mod plan;

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::fsync;
use serde::Serialize;

use crate::fs::atomic::{self, open_dir};
use crate::fs::error::{FsContext, FsError, Joined};
use crate::links::active::ActiveLink;
use crate::links::{check_account, ensure_account, LinkState, TARGET_DIR_MODE};
use crate::ops::context::Context;
use crate::state::audit::{self, now_rfc3339, AdoptCounts, AuditEntry};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

use act::{Act, ActError};
use journal::AdoptJournal;
use plan::{plan_dir, Level, LinkPlan};

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct AdoptRequest {
    /// The account whose real directories to adopt.
    pub account: String,
    /// Only these links (default: every link that is a real directory).
    pub links: Vec<String>,
    /// Keep a conflicting entry beside the target's instead of refusing.
    pub keep_both: bool,
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Adopt even though the account is the active one.
    pub force_active: bool,
}

/// A successful adoption (or dry run).
#[derive(Debug, Clone, Serialize)]
pub struct AdoptReport {
    /// The account.
    pub account: String,
    /// True when nothing was changed on purpose (`--dry-run`).
    pub dry_run: bool,
    /// The plan, one per adopted link.
    pub plan: Vec<LinkPlan>,
    /// What was done (all zero in a dry run).
    pub counts: AdoptCounts,
    /// The links ensure created where the real directories were.
    pub created: Vec<String>,
    /// An interrupted adoption finished first (its journal), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<AdoptJournal>,
    /// Things that went wrong without failing the adoption (the audit log).
    pub warnings: Vec<String>,
}

/// Why an adoption did not end with the account `ok`. The CLI maps these
/// to exit codes in one place.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// Not a configured account.
    #[error("unknown account {account:?}: configured accounts are {}", .known.join(", "))]
    UnknownAccount {
        /// The name asked for.
        account: String,
        /// The configured names.
        known: Vec<String>,
    },
    /// `--link` names no required shared link.
    #[error("account {account}: unknown link {link:?}: the shared links are {}", .known.join(", "))]
    UnknownLink {
        /// The account.
        account: String,
        /// The name asked for.
        link: String,
        /// The configured names.
        known: Vec<String>,
    },
    /// The partial-swap latch is set; nothing was changed.
    #[error("adopt {account} refused: the partial-swap latch is set (swap {} -> {}); repair it first: 'homeswap latch show'", .latch.from.as_deref().unwrap_or("(none)"), .latch.to)]
    Latched {
        /// The account.
        account: String,
        /// The latch.
        latch: Box<LatchRecord>,
    },
    /// The account is the active one; nothing was changed.
    #[error("adopt {account} refused: {account} is the active account ({}), and a live session may be writing into its directories; swap to another account first, or pass --force-active if no session is running", crate::fs::pathfmt::shown(active_link))]
    Active {
        /// The account.
        account: String,
        /// The active link.
        active_link: PathBuf,
    },
    /// Another homeswap held the lock; nothing was changed.
    #[error("adopt {account} not started: {source}")]
    Busy {
        /// The account.
        account: String,
        /// The lock's report.
        source: LockError,
    },
    /// The account could not end `ok`; nothing was changed.
    #[error("adopt {account} refused, nothing changed: {}", Joined(.problems))]
    Refused {
        /// The account.
        account: String,
        /// One line per reason, naming link, path and what to do.
        problems: Vec<String>,
    },
    /// Conflicts and no `--keep-both`; nothing was changed.
    #[error("adopt {account}: {} conflict(s), nothing changed", conflicts(.plan).len())]
    Conflicts {
        /// The account.
        account: String,
        /// The plan, conflicts included.
        plan: Vec<LinkPlan>,
        /// True when this was a dry run.
        dry_run: bool,
    },
    /// Stopped part-way: some entries moved, the rest still in the
    /// account. The journal stays; a re-run finishes.
    #[error("adopt {account}: stopped part-way{}: {}; nothing is lost (every entry is in the account or in the target); fix that, then run 'homeswap adopt {account}' again to finish (journal {})", .link.as_deref().map(|l| format!(" in {l}")).unwrap_or_default(), Joined(.errors), crate::fs::pathfmt::shown(journal))]
    Stopped {
        /// The account.
        account: String,
        /// The link being adopted when it stopped.
        link: Option<String>,
        /// What failed.
        errors: Vec<String>,
        /// The journal left for the re-run.
        journal: PathBuf,
        /// What was done before it stopped.
        counts: Box<AdoptCounts>,
    },
}

impl AdoptError {
    /// The audit log's outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            AdoptError::Conflicts { .. } => "conflicts",
            AdoptError::Busy { .. } => "busy",
            AdoptError::Stopped { .. } => "stopped",
            _ => "refused",
        }
    }

    /// The individual errors, one line each.
    pub fn errors(&self) -> Vec<String> {
        match self {
            AdoptError::Refused { problems, .. } => problems.clone(),
            AdoptError::Conflicts { account, plan, .. } => conflicts(plan)
                .into_iter()
                .map(|c| format!("account {account}: {c}"))
                .collect(),
            AdoptError::Stopped { errors, .. } => errors.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// One line per conflict: link, both paths and how they differ.
pub fn conflicts(plan: &[LinkPlan]) -> Vec<String> {
    plan.iter()
        .flat_map(|l| {
            l.conflicts().map(move |c| match &c.action {
                plan::ItemAction::Conflict { clash, .. } => format!(
                    "{}: conflict: {} and {}: {clash}",
                    l.link,
                    crate::fs::pathfmt::shown(&l.real.join(&c.path)),
                    crate::fs::pathfmt::shown(&l.target.join(&c.path))
                ),
                _ => unreachable!("conflicts() yields conflicts"),
            })
        })
        .collect()
}

/// Adopts the account's real directories. See the module documentation.
pub fn adopt(ctx: &Context, req: &AdoptRequest) -> Result<AdoptReport, AdoptError> {
    let start = Instant::now();
    let result = adopt_steps(ctx, req);
    let logged = match &result {
        _ if req.dry_run => false,
        Err(AdoptError::UnknownAccount { .. } | AdoptError::UnknownLink { .. }) => false,
        _ => true,
    };
    if !logged {
        return result;
    }
    let mut entry = AuditEntry::new("adopt", "", start.elapsed());
    entry.to = Some(req.account.clone());
    let mut result = result;
    match &result {
        Ok(r) => {
            entry.outcome = "adopted".to_string();
            entry.adopt = Some(r.counts.clone());
        }
        Err(e) => {
            entry.outcome = e.outcome().to_string();
            entry.errors = e.errors();
            if let AdoptError::Stopped { counts, .. } = e {
                entry.adopt = Some(AdoptCounts::clone(counts));
            }
        }
    }
    if let Err(e) = audit::append(&ctx.state, &entry) {
        if let Ok(r) = &mut result {
            r.warnings.push(e.to_string());
        }
    }
    result
}

/// The choices one adoption runs with.
struct Run {
    account: String,
    home: PathBuf,
    links: Vec<String>,
    keep_both: bool,
    stamp: String,
    /// Kept-both entries of the interrupted run being finished.
    kept_both: Vec<PathBuf>,
    resumed: bool,
}

fn adopt_steps(ctx: &Context, req: &AdoptRequest) -> Result<AdoptReport, AdoptError> {
    let config = &ctx.config;
    let account = req.account.clone();
    // 1. Usage, latch, active account.
    let Some(home) = config.home(&account).map(Path::to_path_buf) else {
        return Err(AdoptError::UnknownAccount {
            account,
            known: config.accounts.keys().cloned().collect(),
        });
    };
    let known = config.shared.names();
    if let Some(link) = req.links.iter().find(|l| !known.contains(l)) {
        return Err(AdoptError::UnknownLink {
            account,
            link: link.clone(),
            known: known.to_vec(),
        });
    }
    let latched = |latch| AdoptError::Latched {
        account: account.clone(),
        latch: Box::new(latch),
    };
    if let Some(l) = ctx.latch.current() {
        return Err(latched(l));
    }
    // 2. Lock, latch again, an interrupted adoption.
    let _lock =
        StateLock::acquire(&ctx.state, ctx.lock_timeout).map_err(|source| match source {
            LockError::Fs(e) => AdoptError::Refused {
                account: account.clone(),
                problems: vec![e.to_string()],
            },
            busy => AdoptError::Busy {
                account: account.clone(),
                source: busy,
            },
        })?;
    if let Some(l) = ctx.latch.current() {
        return Err(latched(l));
    }
    let refused = |e: FsError| AdoptError::Refused {
        account: account.clone(),
        problems: vec![e.to_string()],
    };
    let _ = atomic::remove_leftovers(&ctx.state.adopt_journal());
    let journal = AdoptJournal::read(&ctx.state).map_err(refused)?;
    let mut resumed = None;
    if let Some(j) = journal.filter(|j| j.account != account) {
        // Another account's adoption was interrupted: finish it first.
        if req.dry_run {
            return Err(AdoptError::Refused {
                account,
                problems: vec![format!(
                    "an adoption of account {} (started {} by pid {}) was interrupted; run 'homeswap adopt {}' to finish it first",
                    j.account, j.started, j.pid, j.account
                )],
            });
        }
        let other = Run {
            home: config
                .home(&j.account)
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            account: j.account.clone(),
            links: j.links.clone(),
            keep_both: j.keep_both,
            stamp: j.stamp.clone(),
            kept_both: j.kept_both.clone(),
            resumed: true,
        };
        run(ctx, &other, false)?;
        resumed = Some(j);
    }
    let journal = AdoptJournal::read(&ctx.state).map_err(refused)?;
    let active = ActiveLink::read(config);
    if journal.is_none() && active.account.as_deref() == Some(account.as_str()) && !req.force_active
    {
        return Err(AdoptError::Active {
            account,
            active_link: active.path,
        });
    }
    // 3. Which links, and can the account end ok?
    let mut this = Run {
        account: account.clone(),
        home,
        links: req.links.clone(),
        keep_both: req.keep_both,
        stamp: stamp_now(),
        kept_both: Vec::new(),
        resumed: false,
    };
    if let Some(j) = &journal {
        this.keep_both |= j.keep_both;
        this.stamp = j.stamp.clone();
        this.kept_both = j.kept_both.clone();
        this.resumed = true;
        for l in &j.links {
            if !this.links.contains(l) {
                this.links.push(l.clone());
            }
        }
    }
    let mut report = run(ctx, &this, req.dry_run)?;
    if report.resumed.is_none() {
        report.resumed = resumed.or(journal);
    }
    Ok(report)
}

/// Steps 3 to 7 for one account, under the lock.
fn run(ctx: &Context, r: &Run, dry_run: bool) -> Result<AdoptReport, AdoptError> {
    let shared = &ctx.config.shared;
    let before = check_account(&r.account, &r.home, shared);
    let mut selected = r.links.clone();
    let mut problems = Vec::new();
    for link in &before.links {
        let is_dir = link.state == LinkState::NotALink
            && link.path.symlink_metadata().is_ok_and(|m| m.is_dir());
        if r.links.is_empty() && is_dir {
            selected.push(link.link.clone());
        }
        let chosen = r.links.is_empty() || r.links.contains(&link.link);
        match link.state {
            LinkState::Ok | LinkState::Missing | LinkState::TargetMissing => {}
            LinkState::NotALink if is_dir && chosen => {
                if let Ok(m) = std::fs::symlink_metadata(&link.expected) {
                    if !m.is_dir() {
                        problems.push(format!(
                            "account {}: {}: the target {} exists but is not a directory; move it aside first",
                            r.account,
                            link.link,
                            crate::fs::pathfmt::shown(&link.expected)
                        ));
                    }
                }
            }
            LinkState::NotALink if is_dir => problems.push(format!(
                "account {}: {}: {} is a directory too and would be left unlinked; add --link {} or leave out --link",
                r.account,
                link.link,
                crate::fs::pathfmt::shown(&link.path),
                link.link
            )),
            LinkState::NotALink => problems.push(format!(
                "account {}: {}: {} is {}, not a directory; adopt moves directories only: move it aside by hand, then run 'homeswap adopt {}'",
                r.account,
                link.link,
                crate::fs::pathfmt::shown(&link.path),
                link.detail.as_deref().unwrap_or("not a directory"),
                r.account
            )),
            _ => problems.push(link.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(AdoptError::Refused {
            account: r.account.clone(),
            problems,
        });
    }
    // 4. Plan.
    let home_fd = open_dir(&r.home)
        .fs("open the home", &r.home)
        .map_err(|e| refused(r, e))?;
    let mut plans = Vec::new();
    for req in shared.links().filter(|l| selected.contains(&l.name)) {
        plans
            .push(plan_link(&home_fd, &r.home, &req.name, &req.target).map_err(|e| refused(r, e))?);
    }
    let has_conflicts = plans.iter().any(|p| p.conflicts().next().is_some());
    if has_conflicts && !r.keep_both {
        return Err(AdoptError::Conflicts {
            account: r.account.clone(),
            plan: plans,
            dry_run,
        });
    }
    let mut report = AdoptReport {
        account: r.account.clone(),
        dry_run,
        plan: plans,
        counts: AdoptCounts {
            links: selected.clone(),
            resumed: r.resumed,
            ..AdoptCounts::default()
        },
        created: Vec::new(),
        resumed: None,
        warnings: Vec::new(),
    };
    if dry_run {
        return Ok(report);
    }
    // 5. Journal.
    let mut journal = AdoptJournal {
        account: r.account.clone(),
        links: selected.clone(),
        keep_both: r.keep_both,
        stamp: r.stamp.clone(),
        kept_both: r.kept_both.clone(),
        started: now_rfc3339(),
        pid: std::process::id(),
    };
    journal.write(&ctx.state).map_err(|e| refused(r, e))?;
    // 6. Act.
    let mut act = Act {
        account: &r.account,
        stamp: &r.stamp,
        keep_both: r.keep_both,
        resumed: r.resumed,
        tally: Default::default(),
        journal: &mut journal,
        state: &ctx.state,
    };
    for req in shared.links().filter(|l| selected.contains(&l.name)) {
        if let Err(e) = adopt_link(&mut act, &home_fd, &r.home, &req.name, &req.target) {
            return Err(stopped(ctx, r, Some(req.name), vec![e.to_string()], &act));
        }
    }
    report.counts.moved = act.tally.moved;
    report.counts.duplicates = act.tally.duplicates;
    report.counts.kept_both = act.journal.kept_both.len();
    report.counts.kept_both_files = act.journal.kept_both.clone();
    // 7. Link.
    let ensured = ensure_account(&r.account, &r.home, shared, false);
    if !ensured.is_ok() {
        return Err(stopped(ctx, r, None, ensured.problems(), &act));
    }
    report.created = ensured
        .changes()
        .map(|s| {
            format!(
                "{}: created the link {} -> {}",
                s.before.link,
                crate::fs::pathfmt::shown(&s.before.path),
                crate::fs::pathfmt::shown(&s.before.expected)
            )
        })
        .collect();
    if let Err(e) = AdoptJournal::remove(&ctx.state) {
        report.warnings.push(e.to_string());
    }
    Ok(report)
}

fn refused(r: &Run, e: FsError) -> AdoptError {
    AdoptError::Refused {
        account: r.account.clone(),
        problems: vec![e.to_string()],
    }
}

fn stopped(
    ctx: &Context,
    r: &Run,
    link: Option<String>,
    errors: Vec<String>,
    act: &Act,
) -> AdoptError {
    AdoptError::Stopped {
        account: r.account.clone(),
        link,
        errors,
        journal: ctx.state.adopt_journal(),
        counts: Box::new(AdoptCounts {
            links: r.links.clone(),
            moved: act.tally.moved,
            duplicates: act.tally.duplicates,
            kept_both: act.journal.kept_both.len(),
            kept_both_files: act.journal.kept_both.clone(),
            resumed: r.resumed,
        }),
    }
}

/// Opens `<home>/<name>` as a directory, never following a symlink there;
/// `None` when it is gone (a re-run after the `rmdir`).
fn open_real(
    home_fd: &std::os::fd::OwnedFd,
    home: &Path,
    name: &str,
) -> Result<Option<std::os::fd::OwnedFd>, FsError> {
    match openat(
        home_fd.as_fd(),
        OsStr::new(name),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        // ELOOP / ENOTDIR: the link (or something else) is there now.
        Err(Errno::ENOENT | Errno::ELOOP | Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(FsError::new("open the directory", &home.join(name), e)),
    }
}

/// Step 4 for one link.
fn plan_link(
    home_fd: &std::os::fd::OwnedFd,
    home: &Path,
    name: &str,
    target: &Path,
) -> Result<LinkPlan, FsError> {
    let real = home.join(name);
    let mut plan = LinkPlan {
        link: name.to_string(),
        real: real.clone(),
        target: target.to_path_buf(),
        target_exists: target.is_dir(),
        items: Vec::new(),
    };
    let Some(real_fd) = open_real(home_fd, home, name)? else {
        return Ok(plan);
    };
    let target_fd = match open_dir(target) {
        Ok(fd) => Some(fd),
        Err(Errno::ENOENT) => None,
        Err(e) => return Err(FsError::new("open the target", target, e)),
    };
    let target_level = target_fd.as_ref().map(|fd| Level { fd, path: target });
    plan_dir(
        &Level {
            fd: &real_fd,
            path: &real,
        },
        target_level.as_ref(),
        Path::new(""),
        &mut plan.items,
    )?;
    Ok(plan)
}

/// Step 6 for one link: create the target, move everything, `rmdir`.
fn adopt_link(
    act: &mut Act,
    home_fd: &std::os::fd::OwnedFd,
    home: &Path,
    name: &str,
    target: &Path,
) -> Result<(), ActError> {
    let real = home.join(name);
    let Some(real_fd) = open_real(home_fd, home, name)? else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(TARGET_DIR_MODE)
        .create(target)
        .fs("create the target directory", target)?;
    let target_fd = open_dir(target).fs("open the target", target)?;
    act.adopt_dir(
        &Level {
            fd: &real_fd,
            path: &real,
        },
        &Level {
            fd: &target_fd,
            path: target,
        },
    )?;
    drop(real_fd);
    let home_level = Level {
        fd: home_fd,
        path: home,
    };
    act::remove_empty_dir(&home_level, OsStr::new(name))?;
    fsync(home_fd.as_fd()).fs("fsync the home", home)?;
    Ok(())
}

/// The stamp of kept-both names: UTC, to the minute, `20261124T1200Z`.
fn stamp_now() -> String {
    // "2026-11-24T12:00:05Z" -> "20261124T1200Z"
    let t = now_rfc3339();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    format!("{}T{}Z", &digits[..8], &digits[8..12])
}
