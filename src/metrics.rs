//! The sidecar's Prometheus metrics, on a registry of their own. Other
//! modules only feed it (a validation report, a swap outcome, the latch);
//! names, types and labels are the contract's.
//!
//! A scrape does not gather and encode the registry: the exposition is
//! encoded once after each change and handed out as shared bytes until the
//! next change. The `process_*` values (CPU time, memory, descriptors) change
//! on their own, so a cached exposition is also re-encoded once it is older
//! than [`PROCESS_REFRESH`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::links::LinkState;
use crate::validate::ValidationReport;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How old the `process_*` values in a served exposition may be.
pub const PROCESS_REFRESH: Duration = Duration::from_secs(1);

/// Every swap outcome label, so each series exists from the start.
pub const SWAP_OUTCOMES: [&str; 6] = [
    "swapped",
    "already_active",
    "rolled_back",
    "refused",
    "partial",
    "busy",
];

/// The registry and every metric in it.
pub struct Metrics {
    registry: Registry,
    link_healthy: IntGaugeVec,
    link_state: IntGaugeVec,
    active_account: IntGaugeVec,
    partial_swap: IntGauge,
    last_validation: Gauge,
    validation_duration: Histogram,
    validations: IntCounter,
    swaps: IntCounterVec,
    swap_duration: Histogram,
    /// Bumped by every change, so a scrape knows whether the cache is current.
    generation: AtomicU64,
    /// The latest encoded exposition.
    cache: RwLock<Option<Exposition>>,
}

/// An encoded exposition and what it was encoded from.
struct Exposition {
    /// The [`Metrics::generation`] it shows.
    generation: u64,
    /// When it was encoded (its `process_*` values are from then).
    at: Instant,
    /// The text, shared by every response that serves it.
    body: Bytes,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric, plus the `process_*` collector.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let link_healthy = IntGaugeVec::new(
            Opts::new(
                "homeswap_link_healthy",
                "1 when the shared link is ok, else 0.",
            ),
            &["account", "link"],
        )
        .unwrap();
        let link_state = IntGaugeVec::new(
            Opts::new(
                "homeswap_link_state",
                "Stateset: 1 for the shared link's current state, 0 for each other state.",
            ),
            &["account", "link", "state"],
        )
        .unwrap();
        let active_account = IntGaugeVec::new(
            Opts::new(
                "homeswap_active_account",
                "1 for the account the active link points at, 0 for the others.",
            ),
            &["account"],
        )
        .unwrap();
        let partial_swap = IntGauge::new(
            "homeswap_partial_swap",
            "The partial-swap latch: 1 set (every swap refused), 0 clear.",
        )
        .unwrap();
        let last_validation = Gauge::new(
            "homeswap_last_validation_timestamp_seconds",
            "Unix time of the last completed validation.",
        )
        .unwrap();
        let validation_duration = Histogram::with_opts(
            HistogramOpts::new(
                "homeswap_validation_duration_seconds",
                "Time of one full validation.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
        )
        .unwrap();
        let validations =
            IntCounter::new("homeswap_validations_total", "Completed validations.").unwrap();
        let swaps = IntCounterVec::new(
            Opts::new("homeswap_swaps_total", "Swap attempts by outcome."),
            &["outcome"],
        )
        .unwrap();
        let swap_duration = Histogram::with_opts(
            HistogramOpts::new(
                "homeswap_swap_duration_seconds",
                "Time of one swap attempt.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
        )
        .unwrap();
        let build_info = IntGaugeVec::new(
            Opts::new(
                "homeswap_build_info",
                "Always 1; the version label says which build runs.",
            ),
            &["version"],
        )
        .unwrap();
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for outcome in SWAP_OUTCOMES {
            swaps.with_label_values(&[outcome]);
        }

        for c in [
            Box::new(link_healthy.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(link_state.clone()),
            Box::new(active_account.clone()),
            Box::new(partial_swap.clone()),
            Box::new(last_validation.clone()),
            Box::new(validation_duration.clone()),
            Box::new(validations.clone()),
            Box::new(swaps.clone()),
            Box::new(swap_duration.clone()),
            Box::new(build_info),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            link_healthy,
            link_state,
            active_account,
            partial_swap,
            last_validation,
            validation_duration,
            validations,
            swaps,
            swap_duration,
            generation: AtomicU64::new(0),
            cache: RwLock::new(None),
        }
    }

    /// Marks the cached exposition as out of date.
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records a completed validation: every link's health and state, the
    /// active account, the time and the duration. Series of accounts or
    /// links no longer configured are dropped.
    pub fn observe_validation(
        &self,
        report: &ValidationReport,
        accounts: &[String],
        duration: Duration,
    ) {
        self.link_healthy.reset();
        self.link_state.reset();
        self.active_account.reset();
        for a in &report.accounts {
            for l in &a.links {
                self.link_healthy
                    .with_label_values(&[a.account.as_str(), l.link.as_str()])
                    .set(i64::from(l.state == LinkState::Ok));
                for s in LinkState::ALL {
                    self.link_state
                        .with_label_values(&[a.account.as_str(), l.link.as_str(), s.as_str()])
                        .set(i64::from(l.state == s));
                }
            }
        }
        for name in accounts {
            let active = report.active.account.as_deref() == Some(name.as_str());
            self.active_account
                .with_label_values(&[name.as_str()])
                .set(i64::from(active));
        }
        self.validation_duration.observe(duration.as_secs_f64());
        self.validations.inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.last_validation.set(now.as_secs_f64());
        self.changed();
    }

    /// Records the latch.
    pub fn observe_latch(&self, set: bool) {
        self.partial_swap.set(i64::from(set));
        self.changed();
    }

    /// Records one swap attempt.
    pub fn observe_swap(&self, outcome: &str, duration: Duration) {
        self.swaps.with_label_values(&[outcome]).inc();
        self.swap_duration.observe(duration.as_secs_f64());
        self.changed();
    }

    /// The text exposition of every metric: the cached one while nothing
    /// changed and its `process_*` values are under [`PROCESS_REFRESH`]
    /// old, else a fresh one (which then becomes the cached one).
    pub fn encode(&self) -> Bytes {
        // Read before gathering: a change made while encoding leaves the
        // cache one generation behind, so the next scrape encodes again.
        let generation = self.generation.load(Ordering::Acquire);
        let current = |c: &Option<Exposition>| match c {
            Some(e) if e.generation == generation && e.at.elapsed() < PROCESS_REFRESH => {
                Some(e.body.clone())
            }
            _ => None,
        };
        if let Some(body) = current(&self.cache.read().unwrap_or_else(|p| p.into_inner())) {
            return body;
        }
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        // Another scrape may have encoded while this one waited for the lock.
        if let Some(body) = current(&cache) {
            return body;
        }
        let body = Bytes::from(self.encode_now());
        *cache = Some(Exposition {
            generation,
            at: Instant::now(),
            body: body.clone(),
        });
        body
    }

    /// Gathers and encodes the registry, bypassing the cache.
    pub fn encode_now(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(8 * 1024);
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encoding into a Vec cannot fail");
        buf
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_without_a_change_serves_the_cached_bytes() {
        let m = Metrics::new();
        let first = m.encode();
        let second = m.encode();
        assert_eq!(first.as_ptr(), second.as_ptr(), "encoded twice");
    }

    #[test]
    fn a_change_is_in_the_very_next_scrape() {
        let m = Metrics::new();
        let before = m.encode();
        m.observe_latch(true);
        let after = String::from_utf8(m.encode().to_vec()).unwrap();
        assert_ne!(before.as_ptr(), after.as_ptr());
        assert!(after.contains("homeswap_partial_swap 1\n"), "{after}");
        m.observe_swap("busy", Duration::from_millis(3));
        let again = String::from_utf8(m.encode().to_vec()).unwrap();
        assert!(
            again.contains("homeswap_swaps_total{outcome=\"busy\"} 1\n"),
            "{again}"
        );
    }

    #[test]
    fn process_values_are_refreshed_after_process_refresh() {
        let m = Metrics::new();
        let first = m.encode();
        std::thread::sleep(PROCESS_REFRESH + Duration::from_millis(50));
        assert_ne!(first.as_ptr(), m.encode().as_ptr());
    }
}
