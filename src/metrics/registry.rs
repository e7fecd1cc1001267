//! The Prometheus registry: the contract's families that are kept as
//! registry metrics (the latch, validation and swap counts and durations),
//! the per-account limit and usage gauges, `homeswap_build_info`, and the
//! `process_*` collector.
//!
//! Names, types, labels and help texts are the contract's; a change here
//! breaks the dashboard and the alert rules.

use super::process::ProcessMetrics;
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;

use crate::ops::failover::FailoverOutcome;
use crate::ops::swap::Attempt;
use crate::state::fleet::RefreshOutcome;
use crate::state::limits::LimitReason;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};

/// Every swap outcome label, so each series exists from the start: the
/// names of the swap's own outcome type, in its order.
pub const SWAP_OUTCOMES: [&str; Attempt::ALL.len()] = {
    let mut names = [""; Attempt::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Attempt::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Every failover outcome label, exported from the start.
pub const FAILOVER_OUTCOMES: [&str; FailoverOutcome::ALL.len()] = {
    let mut names = [""; FailoverOutcome::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = FailoverOutcome::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Every fleet refresh outcome label, exported while `fleet` is configured.
pub const FLEET_OUTCOMES: [&str; RefreshOutcome::ALL.len()] = {
    let mut names = [""; RefreshOutcome::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = RefreshOutcome::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Every failover reason label, exported from the start.
pub const FAILOVER_REASONS: [&str; LimitReason::ALL.len()] = {
    let mut names = [""; LimitReason::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = LimitReason::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Why constructing or registering a metric below cannot fail: its name,
/// help and labels are constants that are valid, and unique in the registry.
const VALID: &str = "constant metric names, labels and help texts are valid and unique";

/// The registry and a handle on each metric the sidecar updates in it.
pub(super) struct Families {
    /// Everything below plus `homeswap_build_info` and `process_*`.
    registry: Registry,
    /// `homeswap_partial_swap`: the latch.
    pub(super) partial_swap: IntGauge,
    /// `homeswap_last_validation_timestamp_seconds`.
    pub(super) last_validation: Gauge,
    /// `homeswap_validation_duration_seconds`.
    pub(super) validation_duration: Histogram,
    /// `homeswap_validations_total`.
    pub(super) validations: IntCounter,
    /// `homeswap_swaps_total{outcome}`.
    pub(super) swaps: IntCounterVec,
    /// `homeswap_swap_duration_seconds`.
    pub(super) swap_duration: Histogram,
    /// `homeswap_failovers_total{reason,outcome}`.
    pub(super) failovers: IntCounterVec,
    /// `homeswap_account_limited{account}`.
    pub(super) account_limited: IntGaugeVec,
    /// `homeswap_account_limit_reset_timestamp_seconds{account}`.
    pub(super) limit_reset: IntGaugeVec,
    /// `homeswap_account_usage_ratio{account,window}`.
    pub(super) usage_ratio: GaugeVec,
    /// `homeswap_account_usage_reset_timestamp_seconds{account,window}`.
    pub(super) usage_reset: IntGaugeVec,
    /// `homeswap_account_usage_updated_timestamp_seconds{account}`.
    pub(super) usage_updated: IntGaugeVec,
    /// `homeswap_fleet_view_age_seconds`: no labels; its one series exists
    /// only while `fleet` is configured.
    pub(super) fleet_view_age: GaugeVec,
    /// `homeswap_fleet_queries_total{outcome}`: fleet view refreshes.
    pub(super) fleet_queries: IntCounterVec,
}

impl Families {
    /// Creates every metric and registers it, plus the `process_*` collector.
    pub(super) fn new() -> Families {
        let registry = Registry::new();
        let partial_swap = IntGauge::new(
            "homeswap_partial_swap",
            "The partial-swap latch: 1 set (every swap refused), 0 clear.",
        )
        .expect(VALID);
        let last_validation = Gauge::new(
            "homeswap_last_validation_timestamp_seconds",
            "Unix time of the last completed validation.",
        )
        .expect(VALID);
        let validation_duration = Histogram::with_opts(
            HistogramOpts::new(
                "homeswap_validation_duration_seconds",
                "Time of one full validation.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
        )
        .expect(VALID);
        let validations =
            IntCounter::new("homeswap_validations_total", "Completed validations.").expect(VALID);
        let swaps = IntCounterVec::new(
            Opts::new("homeswap_swaps_total", "Swap attempts by outcome."),
            &["outcome"],
        )
        .expect(VALID);
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
        .expect(VALID);
        for outcome in SWAP_OUTCOMES {
            swaps.with_label_values(&[outcome]);
        }
        let failovers = IntCounterVec::new(
            Opts::new(
                "homeswap_failovers_total",
                "Failover attempts by reason and outcome.",
            ),
            &["reason", "outcome"],
        )
        .expect(VALID);
        for reason in FAILOVER_REASONS {
            for outcome in FAILOVER_OUTCOMES {
                failovers.with_label_values(&[reason, outcome]);
            }
        }
        let account_limited = IntGaugeVec::new(
            Opts::new(
                "homeswap_account_limited",
                "1 while the account is limited (until its reset time or failover.cooldown), else 0.",
            ),
            &["account"],
        )
        .expect(VALID);
        let limit_reset = IntGaugeVec::new(
            Opts::new(
                "homeswap_account_limit_reset_timestamp_seconds",
                "Unix time the account's limit ends; 0 when not limited.",
            ),
            &["account"],
        )
        .expect(VALID);
        let usage_ratio = GaugeVec::new(
            Opts::new(
                "homeswap_account_usage_ratio",
                "Last usage reported by the statusline, 0..1; window five_hour or seven_day; absent until reported.",
            ),
            &["account", "window"],
        )
        .expect(VALID);
        let usage_reset = IntGaugeVec::new(
            Opts::new(
                "homeswap_account_usage_reset_timestamp_seconds",
                "Unix time the usage window resets, as last reported by the statusline; 0 when not reported; absent until usage is reported.",
            ),
            &["account", "window"],
        )
        .expect(VALID);
        let usage_updated = IntGaugeVec::new(
            Opts::new(
                "homeswap_account_usage_updated_timestamp_seconds",
                "Unix time of the last usage report recorded for the account; absent until usage is reported.",
            ),
            &["account"],
        )
        .expect(VALID);
        let fleet_view_age = GaugeVec::new(
            Opts::new(
                "homeswap_fleet_view_age_seconds",
                "Age of the fleet view (the last successful refresh from fleet.prometheus; before the first one, since the sidecar started); absent without fleet.",
            ),
            &[],
        )
        .expect(VALID);
        let fleet_queries = IntCounterVec::new(
            Opts::new(
                "homeswap_fleet_queries_total",
                "Fleet view refreshes by outcome: ok, error (refused, HTTP or Prometheus error, garbage), timeout (fleet.timeout).",
            ),
            &["outcome"],
        )
        .expect(VALID);

        for c in [
            Box::new(partial_swap.clone()) as Box<dyn Collector>,
            Box::new(last_validation.clone()),
            Box::new(validation_duration.clone()),
            Box::new(validations.clone()),
            Box::new(swaps.clone()),
            Box::new(swap_duration.clone()),
            Box::new(failovers.clone()),
            Box::new(account_limited.clone()),
            Box::new(limit_reset.clone()),
            Box::new(usage_ratio.clone()),
            Box::new(usage_reset.clone()),
            Box::new(usage_updated.clone()),
            Box::new(fleet_view_age.clone()),
            Box::new(fleet_queries.clone()),
            Box::new(build_info()),
            Box::new(ProcessMetrics::for_self()),
        ] {
            registry.register(c).expect(VALID);
        }
        Families {
            registry,
            partial_swap,
            last_validation,
            validation_duration,
            validations,
            swaps,
            swap_duration,
            failovers,
            account_limited,
            limit_reset,
            usage_ratio,
            usage_reset,
            usage_updated,
            fleet_view_age,
            fleet_queries,
        }
    }

    /// Every registered family with its current values, sorted by name.
    pub(super) fn gather(&self) -> Vec<MetricFamily> {
        self.registry.gather()
    }
}

/// `homeswap_build_info{version}`: always 1, labelled with this build's version.
fn build_info() -> IntGaugeVec {
    let build_info = IntGaugeVec::new(
        Opts::new(
            "homeswap_build_info",
            "Always 1; the version label says which build runs.",
        ),
        &["version"],
    )
    .expect(VALID);
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    build_info
}
