//! Steps 3 to 7 of an adoption, for one account under the lock: which
//! links, the plan, the journal, the act and the link (the steps are in
//! [`super`]'s documentation). A run is its journal, the account's home
//! and whether it finishes an interrupted run.

use std::path::PathBuf;

use super::act::Act;
use super::journal::AdoptJournal;
use super::plan::LinkPlan;
use super::request::{AdoptError, AdoptReport};
use super::{file, link};
use crate::config::{LinkKind, RequiredLink};
use crate::fs::error::FsError;
use crate::fs::DirFd;
use crate::links::ensure_account;
use crate::ops::context::Context;
use crate::ops::progress::Progress;
use crate::state::audit::{now_rfc3339, AdoptCounts};

/// One adoption's run: its journal (the account, the links asked for,
/// the choices, the kept-both entries so far, a journal set aside), the
/// account's home, and whether it finishes an interrupted run.
pub(super) struct Run {
    /// The journal this run writes (its `links`: the links asked for,
    /// empty for every real directory, until step 5 records the selected).
    pub(super) journal: AdoptJournal,
    /// The account's home.
    pub(super) home: PathBuf,
    /// True when this finishes an interrupted run.
    pub(super) resumed: bool,
}

impl Run {
    /// Finishes the interrupted adoption `journal` of the account whose
    /// home is `home`.
    pub(super) fn resume(journal: AdoptJournal, home: PathBuf) -> Run {
        Run {
            journal,
            home,
            resumed: true,
        }
    }
}

/// Steps 3 to 7 for one account, under the lock; the act's entries and
/// bytes reported to `progress`.
pub(super) fn run(
    ctx: &Context,
    r: &Run,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<AdoptReport, AdoptError> {
    let account = &r.journal.account;
    let shared = &ctx.config.shared;
    // 3. Which links, and can the account end ok?
    let selected =
        link::select(account, &r.home, shared, &r.journal.links).map_err(|problems| {
            AdoptError::Refused {
                account: account.clone(),
                problems,
            }
        })?;
    let links: Vec<RequiredLink> = shared
        .links()
        .filter(|l| selected.contains(&l.name))
        .collect();
    // 4. Plan.
    let home =
        DirFd::open_following(&r.home).map_err(|e| refused(account, e.doing("open the home")))?;
    let plans = plan_links(&home, &links).map_err(|e| refused(account, e))?;
    if !r.journal.keep_both && plans.iter().any(|p| p.conflicts().next().is_some()) {
        return Err(AdoptError::Conflicts {
            account: account.clone(),
            plan: plans,
            dry_run,
        });
    }
    let mut report = AdoptReport {
        account: account.clone(),
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
        links: selected,
        started: now_rfc3339(),
        pid: std::process::id(),
        ..r.journal.clone()
    };
    journal.write(&ctx.state).map_err(|e| refused(account, e))?;
    act_and_link(ctx, r, (&home, &links), &mut journal, &mut report, progress)?;
    if let Err(e) = journal.finish(&ctx.state) {
        report.warnings.push(e.to_string());
    }
    Ok(report)
}

/// Step 4 for each selected link.
fn plan_links(home: &DirFd, links: &[RequiredLink]) -> Result<Vec<LinkPlan>, FsError> {
    links
        .iter()
        .map(|l| match l.kind {
            LinkKind::Dir => link::plan_link(home, &l.name, &l.target),
            LinkKind::File => file::plan_file(home, &l.name, &l.target),
        })
        .collect()
}

/// Steps 6 and 7: act on every link, then ensure the account; the
/// report's counts and created links filled in.
fn act_and_link(
    ctx: &Context,
    r: &Run,
    (home, links): (&DirFd, &[RequiredLink]),
    journal: &mut AdoptJournal,
    report: &mut AdoptReport,
    progress: &dyn Progress,
) -> Result<(), AdoptError> {
    // 6. Act.
    let mut act = Act {
        journal,
        resumed: r.resumed,
        tally: Default::default(),
        state: &ctx.state,
        progress,
    };
    for l in links {
        progress.step(&l.name);
        let acted = match l.kind {
            LinkKind::Dir => link::adopt_link(&mut act, home, &l.name, &l.target),
            LinkKind::File => file::adopt_file(&mut act, home, &l.name, &l.target),
        };
        if let Err(e) = acted {
            let errors = vec![e.to_string()];
            return Err(stopped(
                ctx,
                &report.counts,
                Some(l.name.clone()),
                errors,
                &act,
            ));
        }
    }
    report.counts.moved = act.tally.moved;
    report.counts.duplicates = act.tally.duplicates;
    report.counts.kept_both = act.journal.kept_both.len();
    report.counts.kept_both_files = act.journal.kept_both.clone();
    // 7. Link.
    let ensured = ensure_account(&r.journal.account, &r.home, &ctx.config.shared, false);
    if !ensured.is_ok() {
        let errors = ensured.problems();
        return Err(stopped(ctx, &report.counts, None, errors, &act));
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
    Ok(())
}

/// Refused before anything changed, for a file-system error.
pub(super) fn refused(account: &str, e: FsError) -> AdoptError {
    AdoptError::Refused {
        account: account.to_string(),
        problems: vec![e.to_string()],
    }
}

/// Stopped part-way in step 6 or 7: what was done so far (`counts` names
/// the links being adopted), what failed, and the journal left behind.
fn stopped(
    ctx: &Context,
    counts: &AdoptCounts,
    link: Option<String>,
    errors: Vec<String>,
    act: &Act,
) -> AdoptError {
    AdoptError::Stopped {
        account: act.journal.account.clone(),
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
