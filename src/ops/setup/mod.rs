//! `homeswap setup claude-code [--dry-run] [--remove]`: puts homeswap's
//! hook (for every event of `ops::hook::EVENTS`) and status line into
//! Claude Code's settings, or takes exactly those out.
//!
//! 1. The files: the shared `settings.json` when it is in `shared_files`
//!    (every home's is a link to it), else every home's own
//!    ([`target::wanted`]); each followed through its links to the regular
//!    file it names, so that a link stays a link and its target is
//!    rewritten.
//! 2. Read and parse every one. One that is not JSON, or whose `hooks` or
//!    `statusLine` are not of Claude Code's shapes, refuses the whole run,
//!    naming the file (with the line and column): nothing is written.
//! 3. Edit each in memory ([`edit::Document`]): install (the hook updated
//!    in place where an older homeswap entry is, the user's status line
//!    wrapped) or remove. Everything else keeps its bytes.
//! 4. A dry run ends here, with the diffs. Otherwise each file whose text
//!    changed is rewritten crash-safely (a temporary file beside it,
//!    fsync, rename, fsync of the directory) with its mode and owner; a
//!    new one is created 0600. A file already set up is not touched.
//! 5. Warnings: a wrapped status line that lives in a home
//!    ([`wrapped::misplaced`]), a home whose `settings.json` is not the
//!    shared link, `disableAllHooks`.
//!
//! It runs in the skeleton (the state lock; one audit record, `setup`);
//! the latch does not refuse it: it changes no link.

pub(crate) mod change;
pub(crate) mod command;
mod diff;
pub(crate) mod edit;
mod hook_list;
mod report;
mod target;
mod tree;
mod wrapped;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::fs::error::FsError;
use crate::fs::pathfmt::shown;
use crate::ops::context::Context;
use crate::ops::skeleton::{self, Operation};
use crate::state::audit::{Action, Subject};
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

use command::{Commands, Program};
use edit::Document;
pub(crate) use report::{FileReport, SetupError, SetupReport};
use target::{Target, SETTINGS};
use tree::DocError;

/// What `setup claude-code` is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct SetupRequest {
    /// The commands to write, for this configuration and binary.
    pub(crate) commands: Commands,
    /// Take homeswap's entries out instead.
    pub(crate) remove: bool,
    /// Show the diffs; change nothing.
    pub(crate) dry_run: bool,
    /// `$HOME`, for the paths a wrapped status line names (`~/...`).
    pub(crate) home_env: Option<PathBuf>,
}

impl SetupRequest {
    /// The request for the configuration at `config` (made absolute: the
    /// commands run from any directory) run by `program`.
    pub(crate) fn new(
        config: &Path,
        program: &Program,
        remove: bool,
        dry_run: bool,
        home_env: Option<PathBuf>,
    ) -> Result<SetupRequest, SetupError> {
        let config = std::path::absolute(config)
            .map_err(|e| SetupError::Fs(FsError::new("find the absolute path of", config, e)))?;
        Ok(SetupRequest {
            commands: Commands::new(program, &config)?,
            remove,
            dry_run,
            home_env,
        })
    }
}

/// Runs `setup claude-code` as `req` asks.
pub(crate) fn setup(ctx: &Context, req: &SetupRequest) -> Result<SetupReport, SetupError> {
    skeleton::run(ctx, &mut Setup { req })
}

/// A setup as the skeleton runs it.
struct Setup<'a> {
    /// What was asked.
    req: &'a SetupRequest,
}

impl Operation for Setup<'_> {
    type Report = SetupReport;
    type Error = SetupError;
    const ACTION: Action = Action::Setup;

    /// It changes no link: a latch does not refuse it.
    fn latched(&self, _: LatchRecord) -> Option<SetupError> {
        None
    }

    fn busy(&self, e: LockError) -> SetupError {
        SetupError::Busy(e)
    }

    fn lock_failed(&self, e: FsError) -> SetupError {
        SetupError::Fs(e)
    }

    fn check(&mut self, _: &Context) -> Result<(), SetupError> {
        Ok(())
    }

    fn run(&mut self, ctx: &Context, _: &StateLock) -> Result<SetupReport, SetupError> {
        let mut files = edit_all(&ctx.config, self.req)?;
        let mut warnings = warnings(&ctx.config, self.req, &files);
        if !self.req.dry_run {
            write_all(&mut files)?;
        }
        warnings.dedup();
        Ok(SetupReport {
            files,
            warnings,
            dry_run: self.req.dry_run,
            remove: self.req.remove,
        })
    }

    fn subject(&self, _: &Context, result: &Result<SetupReport, SetupError>) -> Option<Subject> {
        if self.req.dry_run {
            return None;
        }
        let files = match result {
            Ok(r) => r
                .files
                .iter()
                .filter(|f| f.written)
                .map(|f| f.file.clone())
                .collect(),
            Err(SetupError::Write { written, .. }) => written.clone(),
            Err(_) => Vec::new(),
        };
        Some(Subject {
            reason: Some(if self.req.remove { "remove" } else { "install" }.to_string()),
            files,
            ..Subject::default()
        })
    }
}

/// Steps 1 to 3: every settings file found, read, parsed and edited in
/// memory; the first that cannot be refuses them all.
fn edit_all(config: &Config, req: &SetupRequest) -> Result<Vec<FileReport>, SetupError> {
    let mut out: Vec<FileReport> = Vec::new();
    for (path, account) in target::wanted(config) {
        let t = target::open(&path, account.as_deref())?;
        // Two homes whose settings.json lead to one file: edited once.
        if out.iter().any(|f| f.file == t.file) {
            continue;
        }
        out.push(edit_one(t, req)?);
    }
    Ok(out)
}

/// Step 3 for one file.
fn edit_one(t: Target, req: &SetupRequest) -> Result<FileReport, SetupError> {
    let before = match &t.current {
        Some((bytes, _)) => target::text_of(bytes)
            .map_err(|(line, column)| SetupError::Unparsable {
                path: t.file.clone(),
                line,
                column,
                message: "not UTF-8 text".to_string(),
            })?
            .to_string(),
        None => String::new(),
    };
    let refused = |e: DocError| match e {
        DocError::Syntax {
            line,
            column,
            message,
        } => SetupError::Unparsable {
            path: t.file.clone(),
            line,
            column,
            message,
        },
        DocError::Shape(why) => SetupError::Unusable {
            path: t.file.clone(),
            why,
        },
    };
    let doc = Document::parse(&before).map_err(refused)?;
    let changes = if req.remove {
        doc.remove().map_err(refused)?
    } else {
        doc.install(&req.commands).map_err(refused)?.changes
    };
    // --remove on a file that is not there: nothing to take out, and no
    // file is made.
    let after = if t.current.is_none() && req.remove {
        String::new()
    } else {
        doc.text()
    };
    Ok(FileReport {
        path: t.path,
        account: t.account,
        file: t.file,
        existed: t.current.is_some(),
        before,
        after,
        changes,
        written: false,
    })
}

/// Step 4: each changed file rewritten (its mode and owner kept) or
/// created (0600).
fn write_all(files: &mut [FileReport]) -> Result<(), SetupError> {
    let mut written = Vec::new();
    for f in files.iter_mut().filter(|f| f.changed()) {
        let keep = match std::fs::metadata(&f.file) {
            Ok(m) => Some(crate::fs::atomic::Keep::of(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(SetupError::Write {
                    written,
                    source: FsError::new("inspect", &f.file, e),
                })
            }
        };
        let result = match keep {
            Some(k) => crate::fs::atomic::rewrite_file(&f.file, f.after.as_bytes(), k),
            None => crate::fs::atomic::write_file(&f.file, f.after.as_bytes(), 0o600),
        };
        if let Err(source) = result {
            return Err(SetupError::Write { written, source });
        }
        f.written = true;
        written.push(f.file.clone());
    }
    Ok(())
}

/// Step 5.
fn warnings(config: &Config, req: &SetupRequest, files: &[FileReport]) -> Vec<String> {
    let mut out = Vec::new();
    if !req.remove {
        for f in files {
            if let Ok(doc) = Document::parse(&f.after) {
                if let Some(w) = doc.wrapped_statusline() {
                    out.extend(wrapped::misplaced(&w, config, req.home_env.as_deref()));
                }
                if doc.hooks_disabled() {
                    out.push(format!(
                        "{} sets \"disableAllHooks\": true: Claude Code runs no hook and no status line while it does",
                        shown(&f.file)
                    ));
                }
            }
        }
    }
    if target::is_shared(config) {
        out.extend(unlinked_homes(config));
    }
    out
}

/// The homes whose `settings.json` is not the link to the shared file:
/// Claude Code on those accounts does not see what setup wrote.
fn unlinked_homes(config: &Config) -> Vec<String> {
    let shared = config.shared.dir().join(SETTINGS);
    let mut out = Vec::new();
    for (account, home) in &config.accounts {
        let path = home.join(SETTINGS);
        let what = match std::fs::read_link(&path) {
            Ok(held) if crate::config::same_path(&held, &shared) => continue,
            Ok(held) => format!("a link to {}", shown(&held)),
            Err(_) if std::fs::symlink_metadata(&path).is_err() => "missing".to_string(),
            Err(_) => "not a link".to_string(),
        };
        out.push(format!(
            "account {account}: {} is {what}, not the link to {}: Claude Code on {account} does not see homeswap's hook and status line until it is ('homeswap validate' says what to do)",
            shown(&path),
            shown(&shared)
        ));
    }
    out
}
