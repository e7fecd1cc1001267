//! Adopt: move a real directory that sits where a shared link belongs into
//! the shared target, losing nothing, then replace it by the link. A
//! regular file where a file link belongs is adopted the same way (`file`:
//! moved, removed as a duplicate, merged line by line for `*.jsonl`
//! ([`merge`]), or a conflict). The CLI
//! calls [`adopt`]; this file runs the steps below in order, `link` does a
//! step for one link, [`plan`] compares, [`act`] walks and decides,
//! `entry` moves one entry, `across` copies across file systems,
//! [`journal`] makes it resumable and `request` holds what is asked and
//! answered.
//!
//! `adopt(ACCOUNT)`:
//!
//! 1. Refuse an unknown account or link name (usage) and a set
//!    partial-swap latch.
//! 2. Take the state lock (the swaps' lock, 5 s, else busy). Re-read the
//!    latch. If a journal is left, a crash interrupted an adoption:
//!    - of this account: resume it, with the choices it recorded;
//!    - of another configured account: finish that one first;
//!    - of an account no longer configured: warn (what it is, how to finish
//!      or drop it) and set it aside, unchanged; nothing of this account
//!      depends on it.
//!
//!    Unless resuming, refuse the active account without `--force-active`:
//!    a live session may be writing into the directory.
//! 3. Refuse, changing nothing, when the account could not end `ok`: a
//!    link that is divergent, a regular file where a link belongs, a
//!    missing home, a target that is not a directory, or a real directory
//!    not selected with `--link`.
//! 4. **Plan**: walk every selected real directory against its target;
//!    each entry is a *move*, a *duplicate* (same bytes) or a *conflict*.
//!    `--dry-run` stops here. A conflict without `--keep-both` stops here
//!    too: nothing changed.
//! 5. Write the journal (account, links, `--keep-both`, the stamp of
//!    kept-both names, a journal set aside in step 2) durably.
//! 6. **Act**, per link: create the target if absent, move every entry
//!    into it without ever replacing one, `rmdir` the emptied real
//!    directory and fsync the home. An entry is always in the account, in
//!    the target, or (briefly, across file systems) in both.
//! 7. **Link**: ensure the account (creates the links where the real
//!    directories were). When every link is `ok`, remove the journal, or
//!    write back the one set aside in step 2.
//!
//! A crash anywhere after step 5 leaves the journal; the next `adopt` plans
//! again from what is on disk and finishes. Every adoption that got past
//! step 1 is one line in the audit log, whatever its end, naming the links
//! it adopted.

mod across;
pub mod act;
mod append_lock;
mod entry;
mod file;
pub mod journal;
mod link;
pub mod merge;
pub mod plan;
mod request;
mod writers;

pub use request::{conflicts, AdoptError, AdoptReport, AdoptRequest};

use std::path::PathBuf;
use std::time::Instant;

use crate::config::LinkKind;
use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::fs::DirFd;
use crate::links::active::ActiveLink;
use crate::links::ensure_account;
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::state::audit::{self, now_rfc3339, AdoptCounts, AuditEntry};
use crate::state::lock::StateLock;

use act::Act;
use journal::{AdoptJournal, Found};

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
    /// The account adopted.
    account: String,
    /// Its home.
    home: PathBuf,
    /// The links asked for (empty: every real directory).
    links: Vec<String>,
    /// Keep conflicting entries beside the target's.
    keep_both: bool,
    /// The stamp of kept-both names.
    stamp: String,
    /// Kept-both entries of the interrupted run being finished.
    kept_both: Vec<PathBuf>,
    /// True when this finishes an interrupted run.
    resumed: bool,
    /// A journal of an account no longer configured, written back at the end.
    parked: Option<Box<AdoptJournal>>,
}

impl Run {
    /// Finishes the interrupted adoption `j` of the account whose home is `home`.
    fn resume(j: &AdoptJournal, home: PathBuf) -> Run {
        Run {
            account: j.account.clone(),
            home,
            links: j.links.clone(),
            keep_both: j.keep_both,
            stamp: j.stamp.clone(),
            kept_both: j.kept_both.clone(),
            resumed: true,
            parked: j.parked.clone(),
        }
    }
}

/// Steps 1 and 2, then [`run`] for the steps under the lock.
fn adopt_steps(ctx: &Context, req: &AdoptRequest) -> Result<AdoptReport, AdoptError> {
    let config = &ctx.config;
    let account = req.account.clone();
    // 1. Usage, latch.
    let home = home_of(config, &account)?.to_path_buf();
    if let Some(link) = req.links.iter().find(|l| !config.shared.is_link(l)) {
        return Err(AdoptError::UnknownLink {
            account,
            link: link.clone(),
            known: config.shared.all_names().map(str::to_string).collect(),
        });
    }
    let latched = |latch| AdoptError::Latched {
        account: account.clone(),
        latch: Box::new(latch),
    };
    if let Some(l) = ctx.latch.current() {
        return Err(latched(l));
    }
    // 2. Lock, latch again, a journal left by an interrupted adoption.
    let _lock = StateLock::acquire_or(
        &ctx.state,
        ctx.lock_timeout,
        |source| AdoptError::Busy {
            account: account.clone(),
            source,
        },
        |e| refused(&account, e),
    )?;
    if let Some(l) = ctx.latch.current() {
        return Err(latched(l));
    }
    let journal_path = ctx.state.adopt_journal();
    let _ = atomic::remove_leftovers(&journal_path);
    let (mut finished, mut own, mut parked, mut warnings) = (None, None, None, Vec::new());
    // Finishing another account's adoption writes back what it set aside,
    // so look again until the journal is this account's, set aside or gone.
    while let Some(j) = AdoptJournal::read(&ctx.state).map_err(|e| refused(&account, e))? {
        match Found::of(j, &account, config) {
            Found::Own(j) => {
                if let Some(p) = &j.parked {
                    warnings.push(p.notice(config, &journal_path));
                }
                own = Some(j);
                break;
            }
            Found::Unconfigured(j) => {
                warnings.push(j.notice(config, &journal_path));
                parked = Some(Box::new(j));
                break;
            }
            Found::Other(j, _) if req.dry_run => {
                return Err(AdoptError::Refused {
                    account,
                    problems: vec![format!(
                        "an adoption of account {} (started {} by pid {}) was interrupted; run 'homeswap adopt {}' to finish it first",
                        j.account, j.started, j.pid, j.account
                    )],
                });
            }
            Found::Other(j, other_home) => {
                run(ctx, &Run::resume(&j, other_home), false)?;
                finished.get_or_insert(j);
            }
        }
    }
    let active = ActiveLink::read(config);
    if own.is_none() && active.account.as_deref() == Some(account.as_str()) && !req.force_active {
        return Err(AdoptError::Active {
            account,
            active_link: active.path,
        });
    }
    let this = match &own {
        Some(j) => {
            let mut this = Run::resume(j, home);
            this.keep_both |= req.keep_both;
            for l in &req.links {
                if !this.links.contains(l) {
                    this.links.push(l.clone());
                }
            }
            this
        }
        None => Run {
            account,
            home,
            links: req.links.clone(),
            keep_both: req.keep_both,
            stamp: stamp_now(),
            kept_both: Vec::new(),
            resumed: false,
            parked,
        },
    };
    let mut report = run(ctx, &this, req.dry_run)?;
    // A dry run finished nothing; it only planned what is left.
    report.resumed = if req.dry_run { None } else { finished.or(own) };
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

/// Steps 3 to 7 for one account, under the lock.
fn run(ctx: &Context, r: &Run, dry_run: bool) -> Result<AdoptReport, AdoptError> {
    let shared = &ctx.config.shared;
    // 3. Which links, and can the account end ok?
    let selected = link::select(&r.account, &r.home, shared, &r.links).map_err(|problems| {
        AdoptError::Refused {
            account: r.account.clone(),
            problems,
        }
    })?;
    let links = || shared.links().filter(|l| selected.contains(&l.name));
    // 4. Plan.
    let home = DirFd::open_following(&r.home)
        .map_err(|e| refused(&r.account, e.doing("open the home")))?;
    let mut plans = Vec::new();
    for l in links() {
        let plan = match l.kind {
            LinkKind::Dir => link::plan_link(&home, &l.name, &l.target),
            LinkKind::File => file::plan_file(&home, &l.name, &l.target),
        };
        plans.push(plan.map_err(|e| refused(&r.account, e))?);
    }
    if !r.keep_both && plans.iter().any(|p| p.conflicts().next().is_some()) {
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
        parked: r.parked.clone(),
    };
    journal
        .write(&ctx.state)
        .map_err(|e| refused(&r.account, e))?;
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
    for l in links() {
        let acted = match l.kind {
            LinkKind::Dir => link::adopt_link(&mut act, &home, &l.name, &l.target),
            LinkKind::File => file::adopt_file(&mut act, &home, &l.name, &l.target),
        };
        if let Err(e) = acted {
            let errors = vec![e.to_string()];
            return Err(stopped(ctx, r, &report.counts, Some(l.name), errors, &act));
        }
    }
    report.counts.moved = act.tally.moved;
    report.counts.duplicates = act.tally.duplicates;
    report.counts.kept_both = act.journal.kept_both.len();
    report.counts.kept_both_files = act.journal.kept_both.clone();
    // 7. Link.
    let ensured = ensure_account(&r.account, &r.home, shared, false);
    if !ensured.is_ok() {
        let errors = ensured.problems();
        return Err(stopped(ctx, r, &report.counts, None, errors, &act));
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
    if let Err(e) = journal.finish(&ctx.state) {
        report.warnings.push(e.to_string());
    }
    Ok(report)
}

/// Refused before anything changed, for a file-system error.
fn refused(account: &str, e: FsError) -> AdoptError {
    AdoptError::Refused {
        account: account.to_string(),
        problems: vec![e.to_string()],
    }
}

/// Stopped part-way in step 6 or 7: what was done so far (`counts` names
/// the links being adopted), what failed, and the journal left behind.
fn stopped(
    ctx: &Context,
    r: &Run,
    counts: &AdoptCounts,
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
            moved: act.tally.moved,
            duplicates: act.tally.duplicates,
            kept_both: act.journal.kept_both.len(),
            kept_both_files: act.journal.kept_both.clone(),
            ..counts.clone()
        }),
    }
}

/// The stamp of kept-both names: UTC, to the minute, `20261124T1200Z`.
fn stamp_now() -> String {
    // "2026-11-24T12:00:05Z" -> "20261124T1200Z"
    let digits: String = now_rfc3339().chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{date}T{}Z", time.get(..4).unwrap_or(time))
}
