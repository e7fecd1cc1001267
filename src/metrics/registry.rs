//! The Prometheus registry: the contract's families that are kept as
//! registry metrics (the latch, validation and swap counts and durations),
//! the per-account limit, usage, threshold and disabled gauges, the fleet
//! view's families, `homeswap_build_info`, and the `process_*` collector.
//!
//! Names, types, labels and help texts are the contract's; a change here
//! breaks the dashboard and the alert rules.

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};

use super::process::ProcessMetrics;
use crate::state::limits::LimitReason;
use crate::state::outcome::Outcome;

/// The buckets of `homeswap_validation_duration_seconds`.
const VALIDATION_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The buckets of `homeswap_swap_duration_seconds`.
const SWAP_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

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
    /// `homeswap_account_disabled{account}`.
    pub(super) account_disabled: IntGaugeVec,
    /// `homeswap_account_usage_threshold_ratio{account}`.
    pub(super) usage_threshold: GaugeVec,
    /// The fleet view's families.
    pub(super) fleet: FleetFamilies,
}

impl Families {
    /// Creates every metric and registers it, plus `homeswap_build_info`
    /// and the `process_*` collector; one row per family. An error (an
    /// invalid or duplicate name: a defect) is returned, never a panic.
    pub(super) fn new() -> prometheus::Result<Families> {
        let r = Registry::new();
        let families = Families {
            partial_swap: add(&r, IntGauge::new(
                "homeswap_partial_swap",
                "The partial-swap latch: 1 set (every swap refused), 0 clear.",
            )?)?,
            last_validation: add(&r, Gauge::new(
                "homeswap_last_validation_timestamp_seconds",
                "Unix time of the last completed validation.",
            )?)?,
            validation_duration: add(&r, histogram(
                "homeswap_validation_duration_seconds",
                "Time of one full validation.",
                &VALIDATION_BUCKETS,
            )?)?,
            validations: add(&r, IntCounter::new(
                "homeswap_validations_total",
                "Completed validations.",
            )?)?,
            swaps: add(&r, IntCounterVec::new(
                Opts::new("homeswap_swaps_total", "Swap attempts by outcome."),
                &["outcome"],
            )?)?,
            swap_duration: add(&r, histogram(
                "homeswap_swap_duration_seconds",
                "Time of one swap attempt.",
                &SWAP_BUCKETS,
            )?)?,
            failovers: add(&r, IntCounterVec::new(
                Opts::new("homeswap_failovers_total", "Failover attempts by reason and outcome."),
                &["reason", "outcome"],
            )?)?,
            account_limited: add(&r, IntGaugeVec::new(
                Opts::new("homeswap_account_limited", "1 while the account is limited (until its reset time or failover.cooldown), else 0."),
                &["account"],
            )?)?,
            limit_reset: add(&r, IntGaugeVec::new(
                Opts::new("homeswap_account_limit_reset_timestamp_seconds", "Unix time the account's limit ends; 0 when not limited."),
                &["account"],
            )?)?,
            usage_ratio: add(&r, GaugeVec::new(
                Opts::new("homeswap_account_usage_ratio", "Last usage reported by the statusline, 0..1; window five_hour or seven_day; absent until reported."),
                &["account", "window"],
            )?)?,
            usage_reset: add(&r, IntGaugeVec::new(
                Opts::new("homeswap_account_usage_reset_timestamp_seconds", "Unix time the usage window resets, as last reported by the statusline; 0 when not reported; absent until usage is reported."),
                &["account", "window"],
            )?)?,
            usage_updated: add(&r, IntGaugeVec::new(
                Opts::new("homeswap_account_usage_updated_timestamp_seconds", "Unix time of the last usage report recorded for the account; absent until usage is reported."),
                &["account"],
            )?)?,
            account_disabled: add(&r, IntGaugeVec::new(
                Opts::new("homeswap_account_disabled", "1 while the account is held out of failover by 'homeswap account disable', else 0."),
                &["account"],
            )?)?,
            usage_threshold: add(&r, GaugeVec::new(
                Opts::new("homeswap_account_usage_threshold_ratio", "The account's failover threshold (failover.thresholds, else failover.threshold) as 0..1; absent when none is set."),
                &["account"],
            )?)?,
            fleet: FleetFamilies::new(&r)?,
            registry: r,
        };
        add(&families.registry, build_info()?)?;
        families
            .registry
            .register(Box::new(ProcessMetrics::for_self()?))?;
        families.export_every_outcome();
        Ok(families)
    }

    /// Creates the series of every swap outcome and every failover reason
    /// and outcome, so each exists (at 0) from the start.
    fn export_every_outcome(&self) {
        for outcome in Outcome::SWAP {
            self.swaps.with_label_values(&[outcome.as_str()]);
        }
        for reason in LimitReason::ALL {
            for outcome in Outcome::FAILOVER {
                self.failovers
                    .with_label_values(&[reason.as_str(), outcome.as_str()]);
            }
        }
    }

    /// Every registered family with its current values, sorted by name.
    pub(super) fn gather(&self) -> Vec<MetricFamily> {
        self.registry.gather()
    }
}

/// The fleet view's families: registered always, with series only while
/// `fleet` is configured (`metrics/fleet.rs`).
pub(super) struct FleetFamilies {
    /// `homeswap_fleet_view_age_seconds` (no labels; a vector so that it
    /// can be absent without `fleet`).
    pub(super) view_age: GaugeVec,
    /// `homeswap_fleet_queries_total{outcome}`.
    pub(super) queries: IntCounterVec,
}

impl FleetFamilies {
    fn new(r: &Registry) -> prometheus::Result<FleetFamilies> {
        Ok(FleetFamilies {
            view_age: add(r, GaugeVec::new(
                Opts::new("homeswap_fleet_view_age_seconds", "Age of the fleet view (the last successful refresh from fleet.prometheus; before the first one, since the sidecar started); absent without fleet."),
                &[],
            )?)?,
            queries: add(r, IntCounterVec::new(
                Opts::new("homeswap_fleet_queries_total", "Fleet view refreshes by outcome: ok, error (refused, HTTP or Prometheus error, garbage), timeout (fleet.timeout)."),
                &["outcome"],
            )?)?,
        })
    }
}

/// Registers `metric` in `registry`; the handle kept to update it.
fn add<M: Collector + Clone + 'static>(registry: &Registry, metric: M) -> prometheus::Result<M> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

/// A histogram with these buckets.
fn histogram(name: &str, help: &str, buckets: &[f64]) -> prometheus::Result<Histogram> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
}

/// `homeswap_build_info{version}`: always 1, labelled with this build's version.
fn build_info() -> prometheus::Result<IntGaugeVec> {
    let build_info = IntGaugeVec::new(
        Opts::new(
            "homeswap_build_info",
            "Always 1; the version label says which build runs.",
        ),
        &["version"],
    )?;
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    Ok(build_info)
}
