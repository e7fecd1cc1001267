//! Adopt: move a real directory that sits where a shared link belongs into
//! the shared target, losing nothing, then replace it by the link. A
//! regular file where a file link belongs is adopted the same way (`file`:
//! moved, removed as a duplicate, merged line by line for `*.jsonl`
//! ([`merge`]), or a conflict). The CLI
//! calls [`adopt`]; this file runs steps 1 and 2 below in the operations'
//! skeleton (`ops::skeleton`: the latch, the lock, the audit line), `run`
//! steps 3 to 7 for one account, `link` does a step for one link, [`plan`] compares, [`act`] walks and decides,
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
//!    - of this account: resume it, with the choices it recorded and
//!      those asked now (no `--link`: every link);
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
pub(crate) mod act;
mod append_lock;
mod entry;
mod file;
pub(crate) mod journal;
mod link;
pub mod merge;
pub(crate) mod plan;
mod request;
mod run;
mod writers;

pub(crate) use request::{conflicts, AdoptReport};
pub use request::{AdoptError, AdoptRequest};

use std::ffi::OsStr;
use std::path::PathBuf;

use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::fs::DirFd;
use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::ops::progress::{Progress, Quiet};
use crate::ops::skeleton::{self, refuse_if_latched, Operation};
use crate::state::audit::{Action, AdoptCounts, Subject};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

use journal::{AdoptJournal, Found};
use merge::is_jsonl;
use run::{refused, run, Run};

/// Adopts the account's real directories. See the module documentation.
pub fn adopt(ctx: &Context, req: &AdoptRequest) -> Result<AdoptReport, AdoptError> {
    adopt_reporting(ctx, req, &Quiet)
}

/// [`adopt`], reporting the entries done and the bytes copied to
/// `progress` as it goes.
pub(crate) fn adopt_reporting(
    ctx: &Context,
    req: &AdoptRequest,
    progress: &dyn Progress,
) -> Result<AdoptReport, AdoptError> {
    skeleton::run(
        ctx,
        &mut Adopt {
            req,
            home: PathBuf::new(),
            progress,
            waited: Vec::new(),
        },
    )
}

/// One adoption, as the skeleton runs it.
struct Adopt<'r> {
    /// What was asked.
    req: &'r AdoptRequest,
    /// The account's home, once step 1 found it configured.
    home: PathBuf,
    /// Where the act reports its progress.
    progress: &'r dyn Progress,
    /// What waiting before the state lock took, for the report.
    waited: Vec<String>,
}

impl Operation for Adopt<'_> {
    type Report = AdoptReport;
    type Error = AdoptError;
    const ACTION: Action = Action::Adopt;

    fn latched(&self, latch: LatchRecord) -> Option<AdoptError> {
        Some(AdoptError::Latched {
            account: self.req.account.clone(),
            latch: Box::new(latch),
        })
    }

    fn busy(&self, source: LockError) -> AdoptError {
        AdoptError::Busy {
            account: self.req.account.clone(),
            source,
        }
    }

    fn lock_failed(&self, e: FsError) -> AdoptError {
        refused(&self.req.account, e)
    }

    /// 1. Usage, then the latch.
    fn check(&mut self, ctx: &Context) -> Result<(), AdoptError> {
        let (config, req) = (&ctx.config, self.req);
        self.home = home_of(config, &req.account)?.to_path_buf();
        if let Some(link) = req.links.iter().find(|l| !config.shared.is_link(l)) {
            return Err(AdoptError::UnknownLink {
                account: req.account.clone(),
                link: link.clone(),
                known: config.shared.all_names().map(str::to_string).collect(),
            });
        }
        refuse_if_latched(ctx, self)?;
        if !req.dry_run {
            self.wait_out_left_locks(ctx);
        }
        Ok(())
    }

    /// Step 2 under the lock (the latch read again): a journal left by an
    /// interrupted adoption, the active account; then steps 3 to 7.
    fn run(&mut self, ctx: &Context, _lock: &StateLock) -> Result<AdoptReport, AdoptError> {
        let _ = atomic::remove_leftovers(&ctx.state.adopt_journal());
        let mut found = self.interrupted(ctx)?;
        let active = ActiveLink::read(&ctx.config);
        let account = &self.req.account;
        if found.own.is_none()
            && active.account.as_deref() == Some(account.as_str())
            && !self.req.force_active
        {
            return Err(AdoptError::Active {
                account: account.clone(),
                active_link: active.path,
            });
        }
        let this = self.this_run(&found);
        let mut report = run(ctx, &this, self.req.dry_run, self.progress)?;
        // A dry run finished nothing; it only planned what is left.
        report.resumed = if self.req.dry_run {
            None
        } else {
            found.finished.or(found.own)
        };
        found.warnings.append(&mut report.warnings);
        self.waited.append(&mut found.warnings);
        report.warnings = std::mem::take(&mut self.waited);
        Ok(report)
    }

    /// Every adoption that got past the usage checks is recorded, whatever
    /// its end, naming the links it adopted; a dry run is not.
    fn subject(&self, _: &Context, result: &Result<AdoptReport, AdoptError>) -> Option<Subject> {
        let adopt = match result {
            _ if self.req.dry_run => return None,
            Err(AdoptError::UnknownAccount(_) | AdoptError::UnknownLink { .. }) => return None,
            Ok(r) => Some(r.counts.clone()),
            Err(AdoptError::Stopped { counts, .. }) => Some(AdoptCounts::clone(counts)),
            Err(_) => None,
        };
        Some(Subject {
            to: Some(self.req.account.clone()),
            adopt,
            ..Subject::default()
        })
    }

    fn warn(report: &mut AdoptReport, warning: String) {
        report.warnings.push(warning);
    }
}

/// What step 2 found of interrupted adoptions.
#[derive(Debug, Default)]
struct Interrupted {
    /// Another configured account's, finished first.
    finished: Option<AdoptJournal>,
    /// This account's own: resumed.
    own: Option<AdoptJournal>,
    /// One of an account no longer configured: set aside.
    parked: Option<Box<AdoptJournal>>,
    /// What the operator is told about them.
    warnings: Vec<String>,
}

impl Adopt<'_> {
    /// Before the state lock: when an adoption was interrupted, Claude
    /// Code's append locks its merge may have left (in that account's home
    /// and in the shared dir) are waited out until stale, so that the
    /// resumed merge does not wait for them under the state lock, holding
    /// up every swap (RELIABILITY.md, section 7).
    fn wait_out_left_locks(&mut self, ctx: &Context) {
        let Ok(Some(j)) = AdoptJournal::read(&ctx.state) else {
            return;
        };
        let config = &ctx.config;
        let Some(home) = config.home(&j.account) else {
            return;
        };
        let dirs = [
            DirFd::open(home),
            DirFd::open_following(config.shared.dir()),
        ];
        for name in config.shared.file_names().iter().filter(|n| is_jsonl(n)) {
            for dir in dirs.iter().flatten() {
                let start = std::time::Instant::now();
                if append_lock::wait_out(dir, OsStr::new(name), append_lock::WAIT) {
                    self.waited.push(format!(
                        "waited {:.1}s for Claude Code's lock {}.lock (an interrupted adoption of account {} may have left it) before taking the state lock",
                        start.elapsed().as_secs_f64(),
                        crate::fs::pathfmt::shown(&dir.join(OsStr::new(name))),
                        j.account
                    ));
                }
            }
        }
    }

    /// Step 2's journal: finishing another account's adoption writes back
    /// what it set aside, so look again until the journal is this
    /// account's, set aside or gone.
    fn interrupted(&self, ctx: &Context) -> Result<Interrupted, AdoptError> {
        let (config, account) = (&ctx.config, &self.req.account);
        let journal_path = ctx.state.adopt_journal();
        let mut found = Interrupted::default();
        while let Some(j) = AdoptJournal::read(&ctx.state).map_err(|e| refused(account, e))? {
            match Found::of(j, account, config) {
                Found::Own(j) => {
                    if let Some(p) = &j.parked {
                        found.warnings.push(p.notice(config, &journal_path));
                    }
                    found.own = Some(j);
                    break;
                }
                Found::Unconfigured(j) => {
                    found.warnings.push(j.notice(config, &journal_path));
                    found.parked = Some(Box::new(j));
                    break;
                }
                Found::Other(j, _) if self.req.dry_run => {
                    return Err(AdoptError::Refused {
                        account: account.clone(),
                        problems: vec![format!(
                            "an adoption of account {} (started {} by pid {}) was interrupted; run 'homeswap adopt {}' to finish it first",
                            j.account, j.started, j.pid, j.account
                        )],
                    });
                }
                Found::Other(j, other_home) => {
                    run(
                        ctx,
                        &Run::resume(j.clone(), other_home),
                        false,
                        self.progress,
                    )?;
                    found.finished.get_or_insert(j);
                }
            }
        }
        Ok(found)
    }

    /// This account's run: its own interrupted one resumed (with what this
    /// request adds), or a new one.
    fn this_run(&self, found: &Interrupted) -> Run {
        let req = self.req;
        let Some(own) = &found.own else {
            let journal = AdoptJournal::new(&req.account, &req.links, req.keep_both);
            return Run {
                journal: AdoptJournal {
                    parked: found.parked.clone(),
                    ..journal
                },
                home: self.home.clone(),
                resumed: false,
            };
        };
        let mut this = Run::resume(own.clone(), self.home.clone());
        this.journal.keep_both |= req.keep_both;
        if req.links.is_empty() {
            // No --link asks for every link: a directory planted since
            // the interrupted run (not among its links) is adopted too,
            // instead of refusing the resume for ever.
            this.journal.links.clear();
        }
        for l in &req.links {
            if !this.journal.links.contains(l) {
                this.journal.links.push(l.clone());
            }
        }
        this
    }
}
