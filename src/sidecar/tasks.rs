//! The sidecar's background tasks: the validation loop (every interval and
//! soon after a file-system notification) and the audit-log loop (counts
//! the swaps other processes made, soon after they are logged).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::metrics::Metrics;
use crate::sidecar::audit_tail::AuditTail;
use crate::sidecar::watch::Watcher;
use crate::sidecar::Sidecar;
use crate::state::audit::{Action, AuditRecord, Outcome};
use crate::state::limits::LimitReason;

/// How long after a notification the loop waits, so that a burst of
/// changes (a whole home re-created) costs one validation, not hundreds.
const COALESCE: Duration = Duration::from_millis(50);

/// Validates every interval, and soon after every notification on
/// `changed` (the watcher) or `sidecar.validate_now` (a reload).
pub(crate) async fn validation_loop(
    sidecar: Arc<Sidecar>,
    watcher: Option<Arc<Watcher>>,
    changed: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let interval = sidecar.context().config.serve.interval;
        let notified = tokio::select! {
            // tokio saturates a deadline past its range: no interval panics.
            _ = tokio::time::sleep(interval) => false,
            _ = changed.notified() => true,
            _ = sidecar.validate_now.notified() => true,
            _ = stop.changed() => return,
        };
        if notified {
            tokio::time::sleep(COALESCE).await;
            // The validation below sees whatever the burst changed, so a
            // wake-up stored during the pause would only validate again.
            forget_stored_wakeup(&changed).await;
            forget_stored_wakeup(&sidecar.validate_now).await;
        }
        let (s, w) = (sidecar.clone(), watcher.clone());
        let _ = tokio::task::spawn_blocking(move || {
            let changed = s.revalidate_changed();
            // New directories to watch appear only with a notification or a
            // changed report; an unchanged periodic pass skips the re-adding
            // of every watch (thousands of path lookups at 1,000 accounts).
            if let Some(w) = w.filter(|_| notified || changed) {
                w.refresh(&s.context().config);
            }
        })
        .await;
    }
}

/// Consumes a wake-up stored in `notify`, if any, without waiting.
async fn forget_stored_wakeup(notify: &Notify) {
    tokio::select! {
        biased;
        _ = notify.notified() => {}
        _ = std::future::ready(()) => {}
    }
}

/// Reads the audit log when `appended` is notified (the watcher) and every
/// interval (where there is no watcher), counting what other processes did.
pub(crate) async fn audit_loop(
    sidecar: Arc<Sidecar>,
    mut tail: AuditTail,
    appended: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let interval = sidecar.context().config.serve.interval;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = appended.notified() => {}
            _ = stop.changed() => return,
        }
        let s = sidecar.clone();
        let Ok(t) = tokio::task::spawn_blocking(move || {
            let path = s.context().state.audit();
            if path != tail.path() {
                // A reload moved the state dir: its log's lines are history.
                tail = AuditTail::at_end(path);
            }
            let own = std::process::id();
            let stats = tail.poll(|r| count(&s.metrics, &r, own));
            if stats.garbage > 0 {
                tracing::warn!(
                    path = %crate::fs::pathfmt::shown(tail.path()),
                    lines = stats.garbage,
                    "audit log lines that are not audit records were skipped"
                );
            }
            tail
        })
        .await
        else {
            tracing::error!(
                "the audit-log reader failed; swaps of other processes are no longer counted"
            );
            return;
        };
        tail = t;
    }
}

/// Counts one audit record into the metrics: a swap or a failover another
/// process made.
/// The sidecar's own swaps (`pid` its own) were counted when it made them,
/// with the outcome even if the audit log could not be written.
pub(crate) fn count(metrics: &Metrics, r: &AuditRecord, own_pid: u32) {
    if r.pid == own_pid {
        return;
    }
    match r.action {
        Action::Failover => count_failover(metrics, r),
        Action::Swap => count_swap(metrics, r),
        _ => {}
    }
}

/// A swap another process made; only the contract's labels count.
fn count_swap(metrics: &Metrics, r: &AuditRecord) {
    // Only the contract's labels: a stray line must not add series.
    if !Outcome::SWAP.contains(&r.outcome) {
        tracing::warn!(
            outcome = r.outcome.as_str(),
            "audit log: a swap with an unknown outcome was not counted"
        );
        return;
    }
    let duration = Duration::try_from_secs_f64(r.duration_seconds).unwrap_or_default();
    metrics.observe_swap(r.outcome, duration);
}

/// A failover another process made; only the contract's labels count.
fn count_failover(metrics: &Metrics, r: &AuditRecord) {
    let reason = r.reason.as_deref().unwrap_or_default();
    match LimitReason::parse(reason) {
        Some(reason) if Outcome::FAILOVER.contains(&r.outcome) => {
            metrics.observe_failover(reason, r.outcome)
        }
        _ => {
            tracing::warn!(
                reason,
                outcome = r.outcome.as_str(),
                "audit log: a failover with an unknown reason or outcome was not counted"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record of an audit line with these fields; `None` when the
    /// line is not an audit record (the tail counts it as garbage).
    fn record(action: &str, outcome: &str, pid: u32, duration: f64) -> Option<AuditRecord> {
        serde_json::from_value(serde_json::json!({
            "action": action, "outcome": outcome, "pid": pid, "duration_seconds": duration
        }))
        .ok()
    }

    fn swaps(m: &Metrics, outcome: &str) -> bool {
        String::from_utf8(m.encode_now())
            .unwrap()
            .contains(&format!(
                "homeswap_swaps_total{{outcome=\"{outcome}\"}} 1\n"
            ))
    }

    #[test]
    fn other_processes_swaps_count_and_the_sidecars_own_do_not_twice() {
        let m = Metrics::new().unwrap();
        count(&m, &record("swap", "rolled_back", 10, 0.2).unwrap(), 99);
        assert!(swaps(&m, "rolled_back"));
        count(&m, &record("swap", "partial", 99, 0.2).unwrap(), 99);
        assert!(!swaps(&m, "partial"), "its own were counted already");
        count(&m, &record("adopt", "adopted", 10, 0.0).unwrap(), 99);
        // A word that is no outcome makes no record; one that is another
        // action's outcome is not a swap's.
        assert!(record("swap", "made_up", 10, 0.0).is_none());
        count(&m, &record("swap", "cleared", 10, 0.0).unwrap(), 99);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(!text.contains("cleared"), "no new series from a stray line");
    }

    #[test]
    fn absurd_durations_in_the_log_do_not_panic() {
        let m = Metrics::new().unwrap();
        for d in [f64::NAN, -1.0, f64::INFINITY, 1e300] {
            let mut r = record("swap", "busy", 10, 0.0).unwrap();
            r.duration_seconds = d;
            count(&m, &r, 99);
        }
    }

    #[test]
    fn other_processes_failovers_count_by_reason_and_outcome() {
        let m = Metrics::new().unwrap();
        let mut r = record("failover", "swapped", 10, 0.1).unwrap();
        r.reason = Some("rate_limit".into());
        count(&m, &r, 99);
        r.pid = 99;
        count(&m, &r, 99); // its own: counted when made
        r.pid = 10;
        r.reason = Some("made_up".into());
        count(&m, &r, 99);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(
            text.contains(
                "homeswap_failovers_total{outcome=\"swapped\",reason=\"rate_limit\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("homeswap_failovers_total{outcome=\"exhausted\",reason=\"manual\"} 0\n"),
            "{text}"
        );
    }
}
