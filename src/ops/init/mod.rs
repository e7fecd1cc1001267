//! `homeswap init --from DIR`: turns one existing Claude Code home into
//! homeswap's layout without losing a byte, journaled and resumable.
//!
//! 1. **Plan** (`plan`): the request's paths, the recommended shared
//!    entries the home holds, `~/.claude.json` to copy; refuse (nothing
//!    changed) when the configuration file, the home, the shared dir or
//!    the state dir exists, when `DIR` is a link already or not a
//!    directory, when a shared entry is of the wrong kind, or when the
//!    shared dir is on another file system. `--dry-run` stops here.
//! 2. **Journal**: the state dir is created under a temporary name with
//!    the journal (`init.json`, the request and the plan) inside, then
//!    renamed into place: it exists only with its journal.
//! 3. Create the shared dir.
//! 4. **Move the home** to `DIR-NAME`, `DIR` becoming the active link to
//!    it, atomically (`place`: a tool opening `DIR` finds the directory
//!    or the link, never nothing).
//! 5. **Move each shared entry** into the shared dir the same way, its old
//!    name becoming its link.
//! 6. **Ensure** the account: the links of the shared entries the home did
//!    not hold, and their targets.
//! 7. Copy `~/.claude.json` into the home (where Claude Code reads it once
//!    `CLAUDE_CONFIG_DIR` is set); the original stays. One that is not a
//!    regular file (a FIFO, a directory, a dangling link) is not copied,
//!    and the plan and the result say so.
//! 8. Write the configuration (never replacing another file; at the
//!    default place, its missing directories are created 0700 first),
//!    validate it, remove the journal.
//!
//! The failpoint `init::after_move` fires after steps 3 to 8 (after each
//! entry in step 5). Each step looks at the disk before acting, so running
//! the same command again after a crash at any point finishes the work.

mod error;
mod place;
pub(crate) mod plan;

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::fs::atomic::{self, split};
use crate::fs::error::{FsContext, FsError};
use crate::fs::pathfmt::shown;
use crate::fs::temp::{is_temp_of, temp_name};
use crate::fs::DirFd;
use crate::links::validate::validate_all;
use crate::links::{ensure_account, TARGET_DIR_MODE};
use crate::ops::progress::Progress;
use crate::state::StateDir;

pub(crate) use error::InitError;
pub(crate) use plan::{plan, InitPlan, InitRequest, Move};

/// The mode of the configuration's directories init creates at the
/// default place: the file names every home and the state dir.
const CONFIG_DIR_MODE: u32 = 0o700;

/// The journal: the request and the plan it is carrying out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InitJournal {
    /// What was asked.
    pub(crate) request: InitRequest,
    /// The entries that move into the shared dir.
    pub(crate) moves: Vec<Move>,
    /// `~/.claude.json` to copy, if any.
    pub(crate) claude_json: Option<PathBuf>,
    /// Why a `~/.claude.json` that is there is not copied, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claude_json_skipped: Option<String>,
}

/// What init did.
#[derive(Debug, Clone)]
pub(crate) struct InitReport {
    /// What it carried out.
    pub(crate) journal: InitJournal,
    /// True when it finished a run a crash had interrupted.
    pub(crate) resumed: bool,
    /// Where `~/.claude.json` was copied to, if it was.
    pub(crate) copied_claude_json: Option<PathBuf>,
    /// The unmanaged entries validation warned about.
    pub(crate) warnings: Vec<String>,
    /// True when there was nothing to do: the same init had finished.
    pub(crate) already: bool,
}

/// Whether the init of `req` has finished before: `DIR` is the link to the
/// home and the configuration file holds exactly what init writes.
fn already_done(req: &InitRequest) -> bool {
    let text = req.config_text().ok();
    std::fs::read_link(&req.from).ok().as_deref() == Some(req.home.as_path())
        && std::fs::symlink_metadata(&req.home).is_ok_and(|m| m.is_dir())
        && text.is_some_and(|t| std::fs::read(&req.config).ok().as_deref() == Some(t.as_bytes()))
}

/// What init ended with.
#[derive(Debug, Clone)]
pub(crate) enum InitOutcome {
    /// The home is converted (now, or it was already).
    Done(InitReport),
    /// A dry run: the plan, nothing changed.
    Planned(InitPlan),
}

/// Plans, or with a journal in the state dir, resumes; then runs steps 3
/// to 8, each reported to `progress`. `home_env` is `$HOME` (where
/// `~/.claude.json` is looked for).
pub(crate) fn init(
    req: &InitRequest,
    home_env: Option<&Path>,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<InitOutcome, InitError> {
    let journal_path = StateDir::new(&req.state_dir).init_journal();
    let found: Option<InitJournal> = StateDir::read_record(
        &journal_path,
        "read the init journal",
        "parse the init journal",
    )
    .map_err(|e| InitError::Refused(vec![e.to_string()]))?;
    let (journal, resumed) = match found {
        Some(j) if j.request == *req => (j, true),
        Some(j) => return Err(another_init_recorded(&j, &journal_path)),
        None if already_done(req) => return already_converted(req).map(InitOutcome::Done),
        None => {
            let p = plan(req, home_env)?;
            if dry_run {
                return Ok(InitOutcome::Planned(p));
            }
            (start(p)?, false)
        }
    };
    if dry_run {
        return Err(InitError::Refused(vec![format!(
            "an interrupted init is recorded in {}; run it without --dry-run to finish it",
            shown(&journal_path)
        )]));
    }
    let stopped = |e: String| InitError::Stopped {
        error: e,
        journal: journal_path.clone(),
    };
    let copied = steps(&journal, progress).map_err(stopped)?;
    progress.step("write and validate the configuration");
    let warnings = finish(&journal, &journal_path).map_err(stopped)?;
    Ok(InitOutcome::Done(InitReport {
        journal,
        resumed,
        copied_claude_json: copied,
        warnings,
        already: false,
    }))
}

/// The refusal while another init's journal is in the state dir.
fn another_init_recorded(j: &InitJournal, journal_path: &Path) -> InitError {
    InitError::Refused(vec![format!(
        "an interrupted init of {} (account {}, config {}) is recorded in {}; run it again with the same arguments to finish it",
        shown(&j.request.from),
        j.request.account,
        shown(&j.request.config),
        shown(journal_path)
    )])
}

/// The same init finished before: nothing to do, once it validates.
fn already_converted(req: &InitRequest) -> Result<InitReport, InitError> {
    let config = Config::load(&req.config).map_err(|e| InitError::Refused(vec![e.to_string()]))?;
    let report = validate_all(&config);
    if !report.is_ok() {
        return Err(InitError::Refused(report.problems()));
    }
    Ok(InitReport {
        journal: InitJournal {
            request: req.clone(),
            moves: Vec::new(),
            claude_json: None,
            claude_json_skipped: None,
        },
        resumed: false,
        copied_claude_json: None,
        warnings: report.warnings(),
        already: true,
    })
}

/// Step 2 for a plan without refusals: the journal, in a new state dir.
fn start(p: InitPlan) -> Result<InitJournal, InitError> {
    if !p.refusals.is_empty() {
        return Err(InitError::Refused(p.refusals));
    }
    let j = InitJournal {
        request: p.request,
        moves: p.moves,
        claude_json: p.claude_json,
        claude_json_skipped: p.claude_json_skipped,
    };
    create_state_dir(&j).map_err(|e| InitError::Refused(vec![e.to_string()]))?;
    Ok(j)
}

/// Step 2: the state dir, born with its journal inside.
fn create_state_dir(j: &InitJournal) -> Result<(), FsError> {
    let (parent, name) = split(&j.request.state_dir)?;
    let parent = DirFd::open_following(parent)?;
    // A crash before the rename left a temporary state dir: remove it
    // (its journal, then the directory; rmdir fails on anything else).
    for old in parent.list()?.into_iter().filter(|t| is_temp_of(t, name)) {
        if parent.kind(&old)? == Some(crate::fs::EntryKind::Dir) {
            let _ = atomic::remove_file(&StateDir::new(&parent.join(&old)).init_journal());
            let _ = atomic::remove_leftovers(&StateDir::new(&parent.join(&old)).init_journal());
            parent.rmdir(&old)?;
        }
    }
    let tmp = temp_name(name);
    parent.mkdir(&tmp, 0o700)?;
    let bytes = serde_json::to_vec_pretty(j)
        .map_err(std::io::Error::other)
        .fs("write the init journal", &parent.join(&tmp))?;
    let journal = StateDir::new(&parent.join(&tmp)).init_journal();
    let written = atomic::write_file(&journal, &bytes, 0o600)
        .and_then(|()| parent.rename_noreplace(&tmp, &parent, name))
        .and_then(|()| parent.sync());
    if written.is_err() {
        let _ = std::fs::remove_file(&journal);
        let _ = parent.rmdir(&tmp);
    }
    written
}

/// Steps 3 to 7; returns where `~/.claude.json` was copied, if it was.
fn steps(j: &InitJournal, progress: &dyn Progress) -> Result<Option<PathBuf>, String> {
    let r = &j.request;
    let s = |e: FsError| e.to_string();
    // 3. The shared dir.
    progress.step("create the shared dir");
    std::fs::DirBuilder::new()
        .mode(TARGET_DIR_MODE)
        .create(&r.shared_dir)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists if r.shared_dir.is_dir() => Ok(()),
            _ => Err(e),
        })
        .fs("create the shared directory", &r.shared_dir)
        .map_err(s)?;
    after_step(&r.shared_dir)?;
    // 4. The home moves to DIR-NAME; DIR becomes the active link.
    progress.step("move the home");
    let (parent, from_name) = split(&r.from).map_err(s)?;
    let (home_parent, home_name) = split(&r.home).map_err(s)?;
    let parent = DirFd::open_following(parent).map_err(s)?;
    let home_parent = DirFd::open_following(home_parent).map_err(s)?;
    place::place(&parent, from_name, &home_parent, home_name, &r.home).map_err(s)?;
    after_step(&r.home)?;
    // 5. Each shared entry moves into the shared dir, leaving its link.
    let home = DirFd::open_following(&r.home).map_err(s)?;
    let shared = DirFd::open_following(&r.shared_dir).map_err(s)?;
    for m in &j.moves {
        progress.step(&m.name);
        let n = OsStr::new(&m.name);
        place::place(&home, n, &shared, n, &r.shared_dir.join(n)).map_err(s)?;
        progress.entries(1);
        after_step(&r.shared_dir.join(n))?;
    }
    // 6. Ensure: the links of what the home did not hold.
    progress.step("create the other links");
    let config = Config::parse(&r.config, &r.config_text().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let ensured = ensure_account(&r.account, &r.home, &config.shared, false);
    if !ensured.is_ok() {
        return Err(ensured.problems().join("; "));
    }
    after_step(&r.home)?;
    // 7. ~/.claude.json, copied where Claude Code reads it with
    //    CLAUDE_CONFIG_DIR set; never removed.
    let mut copied = None;
    if let Some(src) = &j.claude_json {
        let dest = r.home.join(".claude.json");
        if std::fs::symlink_metadata(&dest).is_err() {
            progress.step(".claude.json");
            let bytes = std::fs::read(src).fs("read", src).map_err(s)?;
            atomic::write_file(&dest, &bytes, 0o600).map_err(s)?;
            progress.bytes(bytes.len() as u64);
        }
        copied = Some(dest.clone());
        after_step(&dest)?;
    }
    Ok(copied)
}

/// Step 8: the configuration, written without replacing another file,
/// validated; then the journal goes. Returns the validation's warnings.
fn finish(j: &InitJournal, journal: &Path) -> Result<Vec<String>, String> {
    let r = &j.request;
    let text = r.config_text().map_err(|e| e.to_string())?;
    match std::fs::read(&r.config) {
        Ok(held) if held == text.as_bytes() => {}
        Ok(_) => {
            return Err(format!(
                "{} appeared meanwhile with other contents; init does not replace it",
                shown(&r.config)
            ))
        }
        Err(_) => {
            if let (true, Some(dir)) = (r.make_config_dir, r.config.parent()) {
                atomic::create_dirs(dir, CONFIG_DIR_MODE).map_err(|e| e.to_string())?;
            }
            write_new(&r.config, text.as_bytes()).map_err(|e| e.to_string())?
        }
    }
    after_step(&r.config)?;
    let config = Config::load(&r.config).map_err(|e| e.to_string())?;
    let report = validate_all(&config);
    if !report.is_ok() {
        return Err(format!("validate: {}", report.problems().join("; ")));
    }
    atomic::remove_file(journal).map_err(|e| e.to_string())?;
    Ok(report.warnings())
}

/// Writes a new file crash-safely (temporary file, fsync, link into place
/// without replacing, fsync of the directory).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    let dir = DirFd::open_following(dir)?;
    let tmp = temp_name(name);
    let mut file = dir.create_file(&tmp, 0o644)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .fs("write", &dir.join(&tmp))
        .and_then(|()| dir.rename_noreplace(&tmp, &dir, name));
    if written.is_err() {
        let _ = dir.unlink(&tmp);
    }
    written?;
    dir.sync()
}

/// The `init::after_move` failpoint: after each step.
fn after_step(what: &Path) -> Result<(), String> {
    fail::fail_point!("init::after_move", |_| Err(format!(
        "failpoint init::after_move after {}",
        shown(what)
    )));
    let _ = what;
    Ok(())
}
