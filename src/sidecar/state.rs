//! The sidecar's shared state: the current configuration, the latest
//! validation, and the metrics fed from both. The HTTP handlers, the
//! validation loop and the signal handlers all go through this; the swap and
//! the latch clear are the library's own functions, called here exactly as
//! the CLI calls them.
//!
//! Every method that touches the file system blocks; async callers run them
//! on tokio's blocking pool.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use crate::config::{Config, ConfigError};
use crate::links::validate::{validate_all, ValidationReport};
use crate::links::LinkState;
use crate::metrics::{Metrics, UsageSeries};
use crate::ops::context::Context;
use crate::ops::failover::{self, FailoverError, FailoverReport, FailoverRequest};
use crate::ops::status::StatusDocument;
use crate::ops::swap::{self, ClearError, ClearReport, SwapError, SwapReport};
use crate::sidecar::logging::List;
use crate::state::latch::LatchRecord;

/// The result of the latest validation, with the latch read at that time.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every account's links and the active link.
    pub report: ValidationReport,
    /// The latch, if set.
    pub latch: Option<LatchRecord>,
    /// When the validation completed.
    pub at: SystemTime,
}

impl Snapshot {
    /// Why the sidecar is not ready; empty when it is.
    pub fn not_ready_reasons(&self) -> Vec<String> {
        crate::ops::status::problems(&self.report, self.latch.as_ref())
    }
}

/// State shared by the listeners, the validation loop and the signals.
pub struct Sidecar {
    config_path: PathBuf,
    ctx: RwLock<Arc<Context>>,
    latest: RwLock<Option<Snapshot>>,
    /// The metrics, fed from validations, swaps and the latch.
    pub metrics: Metrics,
    heartbeat: AtomicU64,
    /// Wakes the validation loop (file-system events, swaps, reloads).
    pub validate_now: Notify,
}

impl std::fmt::Debug for Sidecar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sidecar")
            .field("config_path", &self.config_path)
            .finish()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Sidecar {
    /// A sidecar for the configuration loaded from `config_path`, with the
    /// context start-up recovery used: its latch is the process's latch.
    pub fn new(config_path: &Path, ctx: Context) -> Arc<Sidecar> {
        Arc::new(Sidecar {
            config_path: config_path.to_path_buf(),
            ctx: RwLock::new(Arc::new(ctx)),
            latest: RwLock::new(None),
            metrics: Metrics::new(),
            heartbeat: AtomicU64::new(unix_now()),
            validate_now: Notify::new(),
        })
    }

    /// The configuration and state in force now.
    pub fn context(&self) -> Arc<Context> {
        self.ctx.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The latest validation, if one has completed.
    pub fn latest(&self) -> Option<Snapshot> {
        self.latest
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Marks the validation loop as alive.
    pub fn beat(&self) {
        self.heartbeat.store(unix_now(), Ordering::Relaxed);
    }

    /// Whether the validation loop has run within `limit`.
    pub fn is_alive(&self, limit: Duration) -> bool {
        unix_now().saturating_sub(self.heartbeat.load(Ordering::Relaxed)) <= limit.as_secs()
    }

    /// Validates everything, updates the metrics and the snapshot, and logs
    /// what changed since the previous validation.
    pub fn revalidate(&self) -> Snapshot {
        self.validate_and_record().0
    }

    /// [`Sidecar::revalidate`], answering whether the report differs from
    /// the previous one (true for the first).
    pub fn revalidate_changed(&self) -> bool {
        self.validate_and_record().1
    }

    fn validate_and_record(&self) -> (Snapshot, bool) {
        let ctx = self.context();
        let start = Instant::now();
        let report = validate_all(&ctx.config);
        let latch = ctx.latch.current();
        let duration = start.elapsed();
        let accounts: Vec<String> = ctx.config.accounts.keys().cloned().collect();
        self.metrics
            .observe_validation(&report, &accounts, duration);
        self.metrics.observe_latch(latch.is_some());
        // The limits file is in the watched state dir: a change shows here
        // within a second.
        let limits = crate::ops::limits::limits(&ctx);
        if let Some(e) = &limits.error {
            tracing::warn!(error = %e, "the limits file cannot be read; no limits are known");
        }
        let gauges: Vec<(String, bool, u64)> = limits
            .accounts
            .into_iter()
            .map(|a| (a.account, a.limited, a.until_unix))
            .collect();
        self.metrics.observe_limits(&gauges);
        // So is the usage file (the statusline's record).
        let usage = crate::ops::usage::usage(&ctx);
        if let Some(e) = &usage.error {
            tracing::warn!(error = %e, "the usage file cannot be read; no usage is known");
        }
        self.metrics.observe_usage(&UsageSeries::of(&usage));
        let snapshot = Snapshot {
            report,
            latch,
            at: SystemTime::now(),
        };
        let previous = self
            .latest
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .replace(snapshot.clone());
        log_changes(previous.as_ref(), &snapshot);
        self.beat();
        let changed = previous.is_none_or(|p| p.report != snapshot.report);
        (snapshot, changed)
    }

    /// Swaps through the library's one swap function, then records the
    /// outcome and revalidates so the metrics show the new state at once.
    pub fn swap(&self, to: &str) -> Result<SwapReport, SwapError> {
        let ctx = self.context();
        let start = Instant::now();
        let result = swap::swap(&ctx, to);
        let outcome = match &result {
            Ok(r) => r.outcome.as_str(),
            Err(e) => e.outcome(),
        };
        self.metrics.observe_swap(outcome, start.elapsed());
        match &result {
            Ok(r) => tracing::info!(to, from = r.from.as_deref(), outcome, "swap"),
            Err(e) => {
                let errors = e.errors();
                tracing::warn!(
                    to,
                    from = swap_from(e),
                    outcome,
                    error = %e,
                    error_count = errors.len(),
                    errors = ?List(&errors),
                    "swap failed"
                );
            }
        }
        if let Ok(SwapReport {
            recovered: Some(r), ..
        }) = &result
        {
            tracing::warn!(recovery = %r.summary(), "recovered an interrupted swap");
        }
        self.revalidate();
        result
    }

    /// Fails over through the library's one failover function, then
    /// records the failover (and its swap, if one was attempted) and
    /// revalidates so the metrics show the new state at once.
    pub fn failover(&self, req: &FailoverRequest) -> Result<FailoverReport, FailoverError> {
        let ctx = self.context();
        let start = Instant::now();
        let result = failover::failover(&ctx, req);
        let reason = req.reason.as_str();
        let (outcome, swap_outcome) = match &result {
            Ok(r) => (r.outcome.as_str(), r.swap_outcome),
            Err(e) => (
                e.outcome().as_str(),
                match e {
                    FailoverError::Swap { source, .. } => Some(source.outcome()),
                    _ => None,
                },
            ),
        };
        self.metrics.observe_failover(reason, outcome);
        if let Some(o) = swap_outcome {
            self.metrics.observe_swap(o, start.elapsed());
        }
        match &result {
            Ok(r) => tracing::info!(
                reason,
                from = r.from.as_deref(),
                active = r.active.as_deref(),
                outcome,
                "failover"
            ),
            Err(e) => {
                let errors = e.errors();
                tracing::warn!(
                    reason,
                    from = req.from.as_deref(),
                    outcome,
                    error = %e,
                    error_count = errors.len(),
                    errors = ?List(&errors),
                    "failover failed"
                );
            }
        }
        self.revalidate();
        result
    }

    /// Clears the latch through the library's one clear function.
    pub fn clear_latch(&self, reason: &str) -> Result<ClearReport, ClearError> {
        let ctx = self.context();
        let result = swap::clear_latch(&ctx, reason);
        match &result {
            Ok(r) if r.cleared.is_some() => tracing::info!(reason, "latch cleared"),
            Ok(_) => {}
            Err(e) => {
                let problems = match e {
                    ClearError::StillUnhealthy { problems } => problems.as_slice(),
                    _ => &[],
                };
                tracing::warn!(
                    reason,
                    error = %e,
                    error_count = problems.len(),
                    problems = ?List(problems),
                    "latch clear refused"
                );
            }
        }
        self.revalidate();
        result
    }

    /// Reloads the configuration file. On error the old configuration stays
    /// in force. Listener addresses are bound at start and keep their
    /// sockets until a restart.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let config = Config::load(&self.config_path)?;
        let mut guard = self.ctx.write().unwrap_or_else(|p| p.into_inner());
        let new = Context::reloaded(config, &guard);
        if new.config.serve != guard.config.serve {
            tracing::warn!("the serve: section changed; listeners and the admin token keep their start-up settings until a restart");
        }
        *guard = Arc::new(new);
        Ok(())
    }

    /// The document of `GET /api/v1/status` (the same as `status --json`).
    pub fn status(&self) -> StatusDocument {
        let ctx = self.context();
        // The first validation runs before any listener accepts, so this
        // validates here only if a caller comes before it.
        let snapshot = self.latest().unwrap_or_else(|| self.revalidate());
        StatusDocument::new(&ctx, &snapshot.report, snapshot.latch, snapshot.at)
    }
}

/// The account a failed swap left active, where the error says.
fn swap_from(e: &SwapError) -> Option<&str> {
    match e {
        SwapError::RolledBack { from, .. } | SwapError::Partial { from, .. } => from.as_deref(),
        _ => None,
    }
}

/// One log event per link, active account or latch change.
fn log_changes(previous: Option<&Snapshot>, now: &Snapshot) {
    let old_states: BTreeMap<(&str, &str), LinkState> = previous
        .map(|p| {
            p.report
                .accounts
                .iter()
                .flat_map(|a| {
                    a.links
                        .iter()
                        .map(|l| ((l.account.as_str(), l.link.as_str()), l.state))
                })
                .collect()
        })
        .unwrap_or_default();
    if previous.is_none() {
        let links: usize = now.report.accounts.iter().map(|a| a.links.len()).sum();
        let problems = now.report.problems();
        tracing::info!(
            accounts = now.report.accounts.len(),
            links,
            problems = problems.len(),
            "first validation"
        );
        for p in problems {
            tracing::warn!(problem = %p, "link problem");
        }
    }
    for a in &now.report.accounts {
        for l in &a.links {
            let before = old_states
                .get(&(l.account.as_str(), l.link.as_str()))
                .copied();
            if before.is_none() || before == Some(l.state) {
                continue;
            }
            let from = before.map(LinkState::as_str).unwrap_or_default();
            if l.state == LinkState::Ok {
                tracing::info!(account = %l.account, link = %l.link, from, state = %l.state, "link state changed");
            } else {
                tracing::warn!(account = %l.account, link = %l.link, from, state = %l.state, problem = %l, "link state changed");
            }
        }
    }
    // Drift: a warning per unmanaged entry when it first shows.
    for a in &now.report.accounts {
        let before = previous.and_then(|p| p.report.account(&a.account));
        for u in &a.unmanaged {
            if before.is_none_or(|b| !b.unmanaged.contains(u)) {
                tracing::warn!(account = %a.account, entry = %u.name, warning = %u.line(&a.account), "unmanaged entry");
            }
        }
    }
    let old_active = previous.map(|p| &p.report.active);
    if old_active.map(|a| (&a.account, &a.problem))
        != Some((&now.report.active.account, &now.report.active.problem))
    {
        match &now.report.active.account {
            Some(a) => tracing::info!(account = %a, "active account"),
            None => tracing::warn!(problem = %now.report.active, "no configured account is active"),
        }
    }
    let was_set = previous.map(|p| p.latch.is_some());
    if was_set != Some(now.latch.is_some()) {
        match &now.latch {
            Some(l) => {
                tracing::error!(
                    from = l.from.as_deref(),
                    to = %l.to,
                    set_at = %l.set_at,
                    error_count = l.errors.len(),
                    errors = ?List(&l.errors),
                    "partial-swap latch is set"
                );
            }
            None if was_set == Some(true) => tracing::info!("partial-swap latch is clear"),
            None => {}
        }
    }
}
