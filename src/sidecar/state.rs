//! The sidecar's shared state: the current configuration, the latest
//! validation, and the metrics fed from both. The validation loop, the
//! signal handlers and the operations of `api` (what the HTTP routes call)
//! all go through this.
//!
//! Every method that touches the file system blocks; async callers run them
//! on tokio's blocking pool.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;

use crate::config::{Config, ConfigError};
use crate::links::validate::{validate_all, ValidationReport};
use crate::links::LinkState;
use crate::metrics::{Metrics, MetricsError, UsageSeries};
use crate::ops::context::Context;
use crate::sidecar::logging::List;
use crate::state::latch::LatchRecord;
use crate::state::limits::unix_now;

/// The result of the latest validation, with the latch read at that time.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// Every account's links and the active link.
    pub(crate) report: ValidationReport,
    /// The latch, if set.
    pub(crate) latch: Option<LatchRecord>,
    /// When the validation completed.
    pub(crate) at: SystemTime,
}

impl Snapshot {
    /// Why the sidecar is not ready; empty when it is.
    pub(crate) fn not_ready_reasons(&self) -> Vec<String> {
        crate::ops::status::problems(&self.report, self.latch.as_ref())
    }
}

/// State shared by the listeners, the validation loop and the signals.
pub struct Sidecar {
    config_path: PathBuf,
    ctx: RwLock<Arc<Context>>,
    latest: RwLock<Option<Snapshot>>,
    /// The metrics, fed from validations, swaps and the latch.
    pub(crate) metrics: Metrics,
    heartbeat: AtomicU64,
    /// Wakes the validation loop (file-system events, swaps, reloads).
    pub(crate) validate_now: Notify,
}

impl std::fmt::Debug for Sidecar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sidecar")
            .field("config_path", &self.config_path)
            .finish()
    }
}

impl Sidecar {
    /// A sidecar for the configuration loaded from `config_path`, with the
    /// context start-up recovery used: its latch is the process's latch.
    pub fn new(config_path: &Path, ctx: Context) -> Result<Arc<Sidecar>, MetricsError> {
        Ok(Arc::new(Sidecar {
            config_path: config_path.to_path_buf(),
            ctx: RwLock::new(Arc::new(ctx)),
            latest: RwLock::new(None),
            metrics: Metrics::new()?,
            heartbeat: AtomicU64::new(unix_now()),
            validate_now: Notify::new(),
        }))
    }

    /// The configuration and state in force now.
    pub(crate) fn context(&self) -> Arc<Context> {
        self.ctx.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The latest validation, if one has completed.
    pub(crate) fn latest(&self) -> Option<Snapshot> {
        self.latest
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Marks the validation loop as alive.
    pub(crate) fn beat(&self) {
        self.heartbeat.store(unix_now(), Ordering::Relaxed);
    }

    /// Whether the validation loop has run within its liveness limit.
    pub(crate) fn is_alive(&self) -> bool {
        let limit = self.liveness_limit();
        unix_now().saturating_sub(self.heartbeat.load(Ordering::Relaxed)) <= limit.as_secs()
    }

    /// How long the validation loop may stay silent before it counts as
    /// stalled: it wakes at least every interval, so three missed wakes
    /// mean it is stuck. Saturating: no configured interval can overflow it.
    pub(crate) fn liveness_limit(&self) -> Duration {
        liveness_limit(self.context().config.serve.interval)
    }

    /// Validates everything, updates the metrics and the snapshot, and logs
    /// what changed since the previous validation.
    pub(crate) fn revalidate(&self) -> Snapshot {
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
        if let Some(e) = &limits.disabled_error {
            tracing::warn!(error = %e, "the disabled accounts' file cannot be read; none is known to be disabled");
        }
        let disabled: Vec<(String, bool)> = limits
            .accounts
            .iter()
            .map(|a| (a.account.clone(), a.disabled.is_some()))
            .collect();
        self.metrics.observe_disabled(&disabled);
        let gauges: Vec<(String, bool, u64)> = limits
            .accounts
            .into_iter()
            .map(|a| (a.account, a.limited, a.until_unix))
            .collect();
        self.metrics.observe_limits(&gauges);
        let thresholds: Vec<(String, Option<u8>)> = ctx
            .config
            .failover
            .order
            .iter()
            .map(|a| (a.clone(), ctx.config.failover.threshold_for(a)))
            .collect();
        self.metrics.observe_thresholds(&thresholds);
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

    /// Reloads the configuration file. On error the old configuration stays
    /// in force. Listener addresses are bound at start and keep their
    /// sockets until a restart.
    pub(crate) fn reload(&self) -> Result<(), ConfigError> {
        let config = Config::load(&self.config_path)?;
        let mut guard = self.ctx.write().unwrap_or_else(|p| p.into_inner());
        let new = Context::reloaded(config, &guard);
        if new.config.serve != guard.config.serve {
            tracing::warn!("the serve: section changed; listeners and the admin token keep their start-up settings until a restart");
        }
        *guard = Arc::new(new);
        Ok(())
    }
}

/// [`Sidecar::liveness_limit`] for `interval`.
fn liveness_limit(interval: Duration) -> Duration {
    interval
        .saturating_mul(3)
        .saturating_add(Duration::from_secs(5))
}

/// One log event per link, active account or latch change.
fn log_changes(previous: Option<&Snapshot>, now: &Snapshot) {
    match previous {
        None => log_first(now),
        Some(p) => log_link_changes(p, now),
    }
    log_new_drift(previous, now);
    log_new_credentials(previous, now);
    let old_active = previous.map(|p| &p.report.active);
    if old_active.map(|a| (&a.account, &a.problem))
        != Some((&now.report.active.account, &now.report.active.problem))
    {
        match &now.report.active.account {
            Some(a) => tracing::info!(account = %a, "active account"),
            None => tracing::warn!(problem = %now.report.active, "no configured account is active"),
        }
    }
    log_latch(previous.map(|p| p.latch.is_some()), now.latch.as_ref());
}

/// The first validation: a summary, and each problem.
fn log_first(now: &Snapshot) {
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

/// Each link whose state changed since `previous` (a link new since then
/// is not a change).
fn log_link_changes(previous: &Snapshot, now: &Snapshot) {
    let old_states: BTreeMap<(&str, &str), LinkState> = previous
        .report
        .accounts
        .iter()
        .flat_map(|a| {
            a.links
                .iter()
                .map(|l| ((l.account.as_str(), l.link.as_str()), l.state))
        })
        .collect();
    for l in now.report.accounts.iter().flat_map(|a| &a.links) {
        let Some(&before) = old_states.get(&(l.account.as_str(), l.link.as_str())) else {
            continue;
        };
        if before == l.state {
            continue;
        }
        let from = before.as_str();
        if l.state == LinkState::Ok {
            tracing::info!(account = %l.account, link = %l.link, from, state = %l.state, "link state changed");
        } else {
            tracing::warn!(account = %l.account, link = %l.link, from, state = %l.state, problem = %l, "link state changed");
        }
    }
}

/// A credentials finding (one refresh token in two homes, one modification
/// time), when it first shows: the line names accounts, never a token.
fn log_new_credentials(previous: Option<&Snapshot>, now: &Snapshot) {
    let before = previous
        .map(|p| p.report.credentials.warnings())
        .unwrap_or_default();
    for w in now.report.credentials.warnings() {
        if !before.contains(&w) {
            tracing::warn!(warning = %w, "credentials");
        }
    }
}

/// Drift: a warning per unmanaged entry when it first shows.
fn log_new_drift(previous: Option<&Snapshot>, now: &Snapshot) {
    for a in &now.report.accounts {
        let before = previous.and_then(|p| p.report.account(&a.account));
        for u in &a.unmanaged {
            if before.is_none_or(|b| !b.unmanaged.contains(u)) {
                tracing::warn!(account = %a.account, entry = %u.name, warning = %u.line(&a.account), "unmanaged entry");
            }
        }
    }
}

/// The latch, when it changed (`was_set`: `None` at the first validation).
fn log_latch(was_set: Option<bool>, now: Option<&LatchRecord>) {
    if was_set == Some(now.is_some()) {
        return;
    }
    match now {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_liveness_limit_saturates_instead_of_overflowing() {
        assert_eq!(liveness_limit(Duration::MAX), Duration::MAX);
        assert_eq!(
            liveness_limit(Duration::from_secs(18_000_000_000_000_000_000)),
            Duration::MAX
        );
        assert_eq!(
            liveness_limit(Duration::from_secs(30)),
            Duration::from_secs(95)
        );
    }
}
