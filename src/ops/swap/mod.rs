//! The swap: flip the active link to another account's home, make sure that
//! account's shared links are right, and undo the flip if they cannot be.
//! The CLI and the admin API both call [`swap`]; there is no other path.
//!
//! `swap(T)`, with `A` the account the active link points at now:
//!
//! 1. If the partial-swap latch is set, refuse; change nothing.
//! 2. If `T` is not configured, fail as a usage error.
//! 3. Take the state lock (waiting up to 5 s, else *busy*). Under it, finish
//!    any swap a crash interrupted (see [`recover`]), then read the latch and
//!    `A` again: another process may have changed them while we waited.
//!    If `T == A`, succeed without changing anything.
//! 4. Refuse before the flip what the flip could only make worse: an active
//!    link that is a real file or directory, or a `T` whose links ensure
//!    would refuse (divergent, not a link, home missing).
//! 5. Write the intent record (A's exact link target, T) durably.
//! 6. **Flip**: create a symlink to T's home under a temporary name beside
//!    the active link, `rename(2)` it over the active link, fsync the
//!    directory. Readers see A or T, never nothing.
//! 7. **Ensure** T's links. On success remove the intent record: swapped.
//! 8. If ensure failed, **roll back**: flip the active link back to exactly
//!    what it held (or remove it, if there was none). On success remove the
//!    intent record and fail with the ensure errors: A is still active.
//! 9. If the rollback failed too, set the **latch** (memory first, then
//!    `latch.json`) and fail as a partial swap. If the latch could not be
//!    persisted, the intent record stays, so the next command retries the
//!    rollback and latches again rather than forget the failure.
//!
//! Every attempt, whatever its end, is one line in the audit log.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::fs::atomic;
use crate::fs::error::{FsError, Joined};
use crate::links::active::ActiveLink;
use crate::links::validate::validate_all;
use crate::links::{ensure_account, EnsureAction};
use crate::ops::context::Context;
use crate::state::audit::{self, now_rfc3339, AuditEntry};
use crate::state::intent::IntentRecord;
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

/// How a successful swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapOutcome {
    /// The active link now points at the new account.
    Swapped,
    /// The account was already active; nothing changed.
    AlreadyActive,
}

impl SwapOutcome {
    /// The contract's name (also the metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            SwapOutcome::Swapped => "swapped",
            SwapOutcome::AlreadyActive => "already_active",
        }
    }
}

/// A successful swap.
#[derive(Debug, Clone, Serialize)]
pub struct SwapReport {
    /// The account active before.
    pub from: Option<String>,
    /// The account active now.
    pub active: String,
    /// Swapped or already active.
    pub outcome: SwapOutcome,
    /// What ensure created for the new account.
    pub created: Vec<String>,
    /// Things that went wrong without failing the swap (e.g. the audit log).
    pub warnings: Vec<String>,
    /// An interrupted swap finished first, if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Recovery>,
    /// Wall time of the attempt.
    pub duration_seconds: f64,
}

/// Why a swap did not succeed. The CLI and the HTTP API map these to exit
/// codes and statuses in one place each.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The partial-swap latch is set; nothing was changed.
    #[error("swap refused: the partial-swap latch is set{}; check 'homeswap latch show', repair the links, then run 'homeswap latch clear --reason TEXT'", describe_latch(.0))]
    Latched(LatchRecord),
    /// `to` is not a configured account.
    #[error("unknown account {account:?}: configured accounts are {}", .known.join(", "))]
    UnknownAccount {
        /// The name asked for.
        account: String,
        /// The configured names.
        known: Vec<String>,
    },
    /// Another homeswap held the lock too long.
    #[error("swap to {to} not started: {source}")]
    Busy {
        /// The account asked for.
        to: String,
        /// The lock's report.
        source: LockError,
    },
    /// Refused before the flip; nothing was changed.
    #[error("swap to {to} refused before the flip, nothing changed: {}", Joined(.problems))]
    Refused {
        /// The account asked for.
        to: String,
        /// One line per reason.
        problems: Vec<String>,
    },
    /// Failed, and the previous state is in place (rolled back, or the
    /// flip itself failed).
    #[error("swap {} -> {to} failed and was rolled back; {} is still active: {}", or_none(.from), or_none(.from), Joined(.errors))]
    RolledBack {
        /// The account still active.
        from: Option<String>,
        /// The account asked for.
        to: String,
        /// What failed.
        errors: Vec<String>,
    },
    /// Ensure and rollback both failed: the latch is now set.
    #[error("partial swap {} -> {to}: ensure and rollback both failed, the latch is set{}: {}; repair the links, then run 'homeswap latch clear --reason TEXT'", or_none(.from), if .latch_error.is_some() { " in memory only" } else { "" }, Joined(.errors))]
    Partial {
        /// The account active before.
        from: Option<String>,
        /// The account asked for.
        to: String,
        /// What failed, ensure's errors then the rollback's.
        errors: Vec<String>,
        /// Why persisting the latch failed, if it did.
        latch_error: Option<String>,
    },
}

fn or_none(a: &Option<String>) -> &str {
    a.as_deref().unwrap_or("(none)")
}

fn describe_latch(l: &LatchRecord) -> String {
    let mut s = String::new();
    if !l.set_at.is_empty() {
        s.push_str(&format!(
            " since {} (swap {} -> {})",
            l.set_at,
            or_none(&l.from),
            l.to
        ));
    }
    if !l.errors.is_empty() {
        s.push_str(&format!(": {}", Joined(&l.errors)));
    }
    s
}

impl SwapError {
    /// The `homeswap_swaps_total` outcome label.
    pub fn outcome(&self) -> &'static str {
        match self {
            SwapError::Latched(_)
            | SwapError::UnknownAccount { .. }
            | SwapError::Refused { .. } => "refused",
            SwapError::Busy { .. } => "busy",
            SwapError::RolledBack { .. } => "rolled_back",
            SwapError::Partial { .. } => "partial",
        }
    }

    /// The individual errors, for JSON answers and one-per-line output.
    pub fn errors(&self) -> Vec<String> {
        match self {
            SwapError::Latched(l) => l.errors.clone(),
            SwapError::Refused { problems, .. } => problems.clone(),
            SwapError::RolledBack { errors, .. } => errors.clone(),
            SwapError::Partial {
                errors,
                latch_error,
                ..
            } => errors.iter().cloned().chain(latch_error.clone()).collect(),
            SwapError::UnknownAccount { .. } | SwapError::Busy { .. } => vec![self.to_string()],
        }
    }
}

/// What recovery found and did about an interrupted swap.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// The interrupted swap, if an intent record was left.
    pub intent: Option<IntentRecord>,
    /// `swapped` (finished), `rolled_back`, `partial` (latched),
    /// `not_flipped` (crashed before the flip), `superseded` (the active
    /// link was changed by someone else since), or `cleaned` (only leftover
    /// temporary links were found).
    pub outcome: &'static str,
    /// Errors met while recovering.
    pub errors: Vec<String>,
    /// Temporary entries removed.
    #[serde(serialize_with = "crate::fs::pathfmt::paths")]
    pub removed: Vec<PathBuf>,
}

impl Recovery {
    /// One line for the operator.
    pub fn summary(&self) -> String {
        let mut s = match &self.intent {
            Some(i) => format!(
                "recovered an interrupted swap {} -> {} (started {} by pid {}): {}",
                or_none(&i.from),
                i.to,
                i.started,
                i.pid,
                self.outcome
            ),
            None => "removed leftover temporary links".to_string(),
        };
        if !self.removed.is_empty() {
            let names: Vec<String> = self
                .removed
                .iter()
                .map(|p| crate::fs::pathfmt::shown(p).to_string())
                .collect();
            s.push_str(&format!("; removed {}", names.join(", ")));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!("; {}", Joined(&self.errors)));
        }
        s
    }
}

/// Swaps the active account to `to`. See the module documentation.
pub fn swap(ctx: &Context, to: &str) -> Result<SwapReport, SwapError> {
    let start = Instant::now();
    let mut recovered = None;
    let result = swap_steps(ctx, to, &mut recovered);
    let duration = start.elapsed();

    let mut entry = AuditEntry::new("swap", "", duration);
    entry.to = Some(to.to_string());
    let mut result = result.map(|(from, outcome, created)| SwapReport {
        from,
        active: to.to_string(),
        outcome,
        created,
        warnings: Vec::new(),
        recovered,
        duration_seconds: duration.as_secs_f64(),
    });
    match &result {
        Ok(r) => {
            entry.from = r.from.clone();
            entry.outcome = r.outcome.as_str().to_string();
        }
        Err(e) => {
            entry.from = match e {
                SwapError::RolledBack { from, .. } | SwapError::Partial { from, .. } => {
                    from.clone()
                }
                _ => ActiveLink::read(&ctx.config).account,
            };
            entry.outcome = e.outcome().to_string();
            entry.errors = e.errors();
        }
    }
    if let Err(e) = audit::append(&ctx.state, &entry) {
        if let Ok(r) = &mut result {
            r.warnings.push(e.to_string());
        }
    }
    result
}

type Steps = (Option<String>, SwapOutcome, Vec<String>);

fn swap_steps(
    ctx: &Context,
    to: &str,
    recovered: &mut Option<Recovery>,
) -> Result<Steps, SwapError> {
    let config = &ctx.config;
    // 1. The latch refuses everything, before anything else is looked at.
    if let Some(l) = ctx.latch.current() {
        return Err(SwapError::Latched(l));
    }
    // 2. Only configured accounts.
    let Some(to_home) = config.home(to).map(Path::to_path_buf) else {
        return Err(SwapError::UnknownAccount {
            account: to.to_string(),
            known: config.accounts.keys().cloned().collect(),
        });
    };
    // 3. Lock, recover, re-read.
    let _lock =
        StateLock::acquire(&ctx.state, ctx.lock_timeout).map_err(|source| match source {
            LockError::Fs(e) => SwapError::Refused {
                to: to.to_string(),
                problems: vec![e.to_string()],
            },
            busy => SwapError::Busy {
                to: to.to_string(),
                source: busy,
            },
        })?;
    *recovered = recover_locked(ctx);
    if let Some(l) = ctx.latch.current() {
        return Err(SwapError::Latched(l));
    }
    let active = ActiveLink::read(config);
    let from = active.account.clone();
    if active.points_at(&to_home) {
        return Ok((from, SwapOutcome::AlreadyActive, Vec::new()));
    }
    // 4. Refuse what a flip cannot fix.
    let mut problems = Vec::new();
    if !active.is_replaceable() {
        problems.push(active.to_string());
    }
    let plan = ensure_account(to, &to_home, &config.shared, true);
    problems.extend(
        plan.steps
            .iter()
            .filter(|s| s.action == EnsureAction::Refuse)
            .filter_map(|s| s.problem()),
    );
    if !problems.is_empty() {
        return Err(SwapError::Refused {
            to: to.to_string(),
            problems,
        });
    }
    // 5. Intent.
    let intent = IntentRecord {
        from: from.clone(),
        from_target: active.target.clone(),
        to: to.to_string(),
        to_home: to_home.clone(),
        started: now_rfc3339(),
        pid: std::process::id(),
    };
    intent.write(&ctx.state).map_err(|e| SwapError::Refused {
        to: to.to_string(),
        problems: vec![e.to_string()],
    })?;
    // 6. Flip.
    if let Err(e) = flip(&config.active_link, &to_home) {
        let mut errors = vec![e.to_string()];
        errors.extend(
            IntentRecord::remove(&ctx.state)
                .err()
                .map(|e| e.to_string()),
        );
        return Err(SwapError::RolledBack {
            from,
            to: to.to_string(),
            errors,
        });
    }
    // 7. Ensure (a failure at the after-flip failpoint counts as ensure's).
    let ensured = after_flip(to).and_then(|_| ensure_target(ctx, to, &to_home));
    match ensured {
        Ok(created) => {
            // The swap is done; a leftover record would only make the next
            // command re-check an account that is already ok.
            let _ = IntentRecord::remove(&ctx.state);
            Ok((from, SwapOutcome::Swapped, created))
        }
        // 8. and 9.
        Err(errors) => Err(undo(ctx, &intent, errors)),
    }
}

/// Steps 8 and 9: roll back to the intent's previous target, or latch.
fn undo(ctx: &Context, intent: &IntentRecord, mut errors: Vec<String>) -> SwapError {
    match rollback(&ctx.config.active_link, intent.from_target.as_deref()) {
        Ok(()) => {
            if let Err(e) = IntentRecord::remove(&ctx.state) {
                errors.push(e.to_string());
            }
            SwapError::RolledBack {
                from: intent.from.clone(),
                to: intent.to.clone(),
                errors,
            }
        }
        Err(e) => {
            errors.push(format!("rollback failed: {e}"));
            let record = LatchRecord {
                set_at: now_rfc3339(),
                from: intent.from.clone(),
                to: intent.to.clone(),
                errors: errors.clone(),
                pid: std::process::id(),
            };
            let latch_error = match ctx.latch.set(record) {
                Ok(()) => {
                    // The latch now carries the failure; the record may go.
                    let _ = IntentRecord::remove(&ctx.state);
                    None
                }
                Err(e) => Some(format!("the latch holds in memory only: {e}")),
            };
            SwapError::Partial {
                from: intent.from.clone(),
                to: intent.to.clone(),
                errors,
                latch_error,
            }
        }
    }
}

fn flip(link: &Path, home: &Path) -> Result<(), FsError> {
    fail::fail_point!("swap::flip", |_| Err(failpoint_error(
        "replace the link",
        link,
        "swap::flip"
    )));
    atomic::replace_symlink(link, home)
}

fn after_flip(to: &str) -> Result<(), Vec<String>> {
    fail::fail_point!("swap::after_flip", |_| Err(vec![format!(
        "account {to}: failpoint swap::after_flip"
    )]));
    let _ = to;
    Ok(())
}

fn ensure_target(ctx: &Context, to: &str, home: &Path) -> Result<Vec<String>, Vec<String>> {
    fail::fail_point!("swap::ensure", |_| Err(vec![format!(
        "account {to}: ensure failed: failpoint swap::ensure"
    )]));
    let report = ensure_account(to, home, &ctx.config.shared, false);
    if report.is_ok() {
        Ok(report
            .changes()
            .map(|s| {
                format!(
                    "{}: {}",
                    crate::fs::pathfmt::shown(&s.before.path),
                    s.action
                )
            })
            .collect())
    } else {
        Err(report.problems())
    }
}

fn rollback(link: &Path, previous: Option<&Path>) -> Result<(), FsError> {
    fail::fail_point!("swap::rollback", |_| Err(failpoint_error(
        "restore the link",
        link,
        "swap::rollback"
    )));
    match previous {
        Some(target) => atomic::replace_symlink(link, target),
        // There was no active link before: the one the flip made goes.
        None => atomic::remove_file(link),
    }
}

#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn failpoint_error(op: &'static str, path: &Path, name: &str) -> FsError {
    FsError::new(op, path, std::io::Error::other(format!("failpoint {name}")))
}

/// Finishes a swap that a crash interrupted and removes leftover temporary
/// links, if there is anything to do and no other homeswap is at work.
/// Every command calls this first. Returns what was done.
pub fn recover(ctx: &Context) -> Option<Recovery> {
    let intent_left = ctx.state.intent().exists();
    if !intent_left && !temp_paths(ctx).iter().any(|p| has_leftovers(p)) {
        return None;
    }
    // A held lock means a live operation owns the record and the
    // temporaries: nothing is interrupted, so leave them.
    let _lock = StateLock::acquire(&ctx.state, Duration::ZERO).ok()?;
    recover_locked(ctx)
}

/// The entries whose temporaries a crash may leave: the active link (a
/// flip) and the state files written atomically.
fn temp_paths(ctx: &Context) -> [PathBuf; 3] {
    [
        ctx.config.active_link.clone(),
        ctx.state.intent(),
        ctx.state.latch(),
    ]
}

fn has_leftovers(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let prefix = format!(".{}.homeswap-tmp.", name.to_string_lossy());
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        })
        .unwrap_or(false)
}

/// Recovery proper; the caller holds the lock.
fn recover_locked(ctx: &Context) -> Option<Recovery> {
    let start = Instant::now();
    let mut errors = Vec::new();
    let mut removed = Vec::new();
    for path in temp_paths(ctx) {
        match atomic::remove_leftovers(&path) {
            Ok(r) => removed.extend(r),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let intent = match IntentRecord::read(&ctx.state) {
        Ok(i) => i,
        Err(e) => {
            // An unreadable record cannot be acted on; keep it for the
            // operator under another name so it stops blocking recovery.
            let aside = ctx
                .state
                .dir()
                .join(format!("intent.json.unreadable-{}", std::process::id()));
            let _ = std::fs::rename(ctx.state.intent(), &aside);
            errors.push(format!("{e}; moved aside to {}", aside.display()));
            None
        }
    };
    if intent.is_none() && removed.is_empty() && errors.is_empty() {
        return None;
    }
    let outcome = match &intent {
        None => "cleaned",
        Some(i) => finish_interrupted(ctx, i, &mut errors),
    };
    let recovery = Recovery {
        intent,
        outcome,
        errors,
        removed,
    };
    if let Some(i) = &recovery.intent {
        let mut entry = AuditEntry::new("recover", outcome, start.elapsed());
        entry.from = i.from.clone();
        entry.to = Some(i.to.clone());
        entry.errors = recovery.errors.clone();
        let _ = audit::append(&ctx.state, &entry);
    }
    Some(recovery)
}

/// Applies the swap's own rules to an interrupted swap.
fn finish_interrupted(
    ctx: &Context,
    intent: &IntentRecord,
    errors: &mut Vec<String>,
) -> &'static str {
    let active = ActiveLink::read(&ctx.config);
    let outcome = if active.points_at(&intent.to_home) {
        // Crashed after the flip: ensure decides between done and rollback.
        match ensure_target(ctx, &intent.to, &intent.to_home) {
            Ok(_) => "swapped",
            Err(e) => match undo(ctx, intent, e) {
                SwapError::RolledBack { errors: e, .. } => {
                    errors.extend(e);
                    return "rolled_back";
                }
                other => {
                    errors.extend(other.errors());
                    return "partial";
                }
            },
        }
    } else if active.target == intent.from_target {
        "not_flipped"
    } else {
        errors.push(format!(
            "{} was changed by someone else since the swap started; left as it is",
            crate::fs::pathfmt::shown(&active.path)
        ));
        "superseded"
    };
    if let Err(e) = IntentRecord::remove(&ctx.state) {
        errors.push(e.to_string());
    }
    outcome
}

/// A successful latch clear.
#[derive(Debug, Clone, Serialize)]
pub struct ClearReport {
    /// The latch that was cleared; `None` when none was set.
    pub cleared: Option<LatchRecord>,
    /// The account active now.
    pub active: Option<String>,
    /// Problems writing the audit log.
    pub warnings: Vec<String>,
}

/// Why the latch was not cleared.
#[derive(Debug, thiserror::Error)]
pub enum ClearError {
    /// The reason is empty.
    #[error(
        "a reason is required: say what was repaired, e.g. --reason 'relinked b/projects by hand'"
    )]
    NoReason,
    /// The active account does not validate ok.
    #[error("latch not cleared: the active account is not healthy yet: {}", Joined(.problems))]
    StillUnhealthy {
        /// One line per problem.
        problems: Vec<String>,
    },
    /// Another homeswap held the lock.
    #[error("latch not cleared: {0}")]
    Busy(LockError),
    /// The latch file could not be removed.
    #[error("latch not cleared: {0}")]
    Fs(#[from] FsError),
}

/// Clears the partial-swap latch after re-validating: refused while the
/// active link is not on a configured account whose links are all ok.
pub fn clear_latch(ctx: &Context, reason: &str) -> Result<ClearReport, ClearError> {
    if reason.trim().is_empty() {
        return Err(ClearError::NoReason);
    }
    let start = Instant::now();
    let _lock = StateLock::acquire(&ctx.state, ctx.lock_timeout).map_err(|e| match e {
        LockError::Fs(e) => ClearError::Fs(e),
        busy => ClearError::Busy(busy),
    })?;
    let Some(record) = ctx.latch.current() else {
        return Ok(ClearReport {
            cleared: None,
            active: ActiveLink::read(&ctx.config).account,
            warnings: Vec::new(),
        });
    };
    let report = validate_all(&ctx.config);
    let mut problems = Vec::new();
    match &report.active.account {
        None => problems.push(report.active.to_string()),
        Some(a) => {
            if let Some(acc) = report.account(a) {
                problems.extend(acc.problems().map(ToString::to_string));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ClearError::StillUnhealthy { problems });
    }
    ctx.latch.clear()?;
    let mut entry = AuditEntry::new("latch_clear", "cleared", start.elapsed());
    entry.from = record.from.clone();
    entry.to = Some(record.to.clone());
    entry.reason = Some(reason.to_string());
    let warnings = audit::append(&ctx.state, &entry)
        .err()
        .map(|e| e.to_string())
        .into_iter()
        .collect();
    Ok(ClearReport {
        cleared: Some(record),
        active: report.active.account,
        warnings,
    })
}
