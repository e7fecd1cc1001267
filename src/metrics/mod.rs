//! The sidecar's Prometheus metrics. Other modules only feed them (a
//! validation report, a swap outcome, the latch) through [`Metrics`]; this
//! module calls nothing of theirs back. Names, types and labels are the
//! contract's.
//!
//! - `registry`: the registry, with the contract's counters, histograms,
//!   scalar gauges and the per-account limit gauges, `homeswap_build_info` and the `process_*` collector
//!   (`process`: CPU time in fractions of a second).
//! - `link_families`: the per-link and per-account gauges, kept as the
//!   last validation's states and written straight into the text.
//! - `fleet`: the fleet view's age and refresh counts, present only while
//!   `fleet` is configured.
//! - `exposition`: the encoded text, cached until the next change (or
//!   until its `process_*` values are [`PROCESS_REFRESH`] old).
//!
//! [`Metrics::encode_now`] merges the registry's families and the link
//! families in name order, so the exposition reads as one registry's would.

mod exposition;
mod fleet;
mod link_families;
mod process;
mod registry;

use std::collections::BTreeSet;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prometheus::{Encoder, TextEncoder};

use crate::links::validate::ValidationReport;
use crate::ops::usage::UsageView;
use crate::state::limits::LimitReason;
use crate::state::outcome::Outcome;
use crate::state::usage::Window;

use exposition::ExpositionCache;
pub(crate) use exposition::CONTENT_TYPE;
use link_families::LinkSeries;
use registry::Families;

/// One account's window for the usage gauges.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UsageSeries {
    /// The account.
    pub(crate) account: String,
    /// `five_hour` or `seven_day`.
    pub(crate) window: &'static str,
    /// Usage, 0..=1.
    pub(crate) ratio: f64,
    /// Unix seconds the window resets; 0 when not reported.
    pub(crate) resets_at: u64,
    /// Unix seconds of the account's last usage report (0: unknown).
    pub(crate) updated: u64,
}

impl UsageSeries {
    /// The usage gauges' series of a usage view: each window reported, per
    /// account.
    pub(crate) fn of(view: &UsageView) -> Vec<UsageSeries> {
        let mut out = Vec::new();
        for a in &view.accounts {
            for (window, w) in Window::ALL
                .map(Window::as_str)
                .into_iter()
                .zip([&a.five_hour, &a.seven_day])
            {
                if let Some(w) = w {
                    out.push(UsageSeries {
                        account: a.account.clone(),
                        window,
                        ratio: w.ratio,
                        resets_at: w.resets_at_unix,
                        updated: a.updated_unix,
                    });
                }
            }
        }
        out
    }
}

/// Every metric the sidecar exports and the cached exposition of them.
pub struct Metrics {
    /// The registry and its metrics.
    families: Families,
    /// The link and account gauges, written into the exposition by hand.
    links: RwLock<LinkSeries>,
    /// The latest encoded exposition.
    exposition: ExpositionCache,
    /// The accounts the limit gauges have series for.
    limit_accounts: Mutex<BTreeSet<String>>,
    /// The (account, window) pairs the usage gauges have series for.
    usage_series: Mutex<BTreeSet<(String, String)>>,
    /// While `fleet` is configured: the Unix time the fleet view's age
    /// counts from (its last refresh, else the sidecar's start).
    fleet_since: Mutex<Option<u64>>,
    /// The accounts the disabled gauge has series for.
    disabled_accounts: Mutex<BTreeSet<String>>,
    /// The accounts the threshold gauge has series for.
    threshold_accounts: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric, plus the `process_*` collector. An error
    /// is a defect in a name or help text (or a duplicate name).
    pub fn new() -> Result<Metrics, MetricsError> {
        Ok(Metrics {
            families: Families::new().map_err(MetricsError)?,
            links: RwLock::new(LinkSeries::default()),
            exposition: ExpositionCache::default(),
            limit_accounts: Mutex::new(BTreeSet::new()),
            usage_series: Mutex::new(BTreeSet::new()),
            fleet_since: Mutex::new(None),
            disabled_accounts: Mutex::new(BTreeSet::new()),
            threshold_accounts: Mutex::new(BTreeSet::new()),
        })
    }

    /// Records a completed validation: every link's health and state, the
    /// active account, the time and the duration. Series of accounts or
    /// links no longer configured are dropped.
    pub(crate) fn observe_validation(
        &self,
        report: &ValidationReport,
        accounts: &[String],
        duration: Duration,
    ) {
        let series = LinkSeries::from_report(report, accounts);
        *self.links.write().unwrap_or_else(|p| p.into_inner()) = series;
        let f = &self.families;
        f.validation_duration.observe(duration.as_secs_f64());
        f.validations.inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        f.last_validation.set(now.as_secs_f64());
        self.exposition.changed();
    }

    /// Records the latch.
    pub fn observe_latch(&self, set: bool) {
        self.families.partial_swap.set(i64::from(set));
        self.exposition.changed();
    }

    /// Records one swap attempt.
    pub(crate) fn observe_swap(&self, outcome: Outcome, duration: Duration) {
        self.families
            .swaps
            .with_label_values(&[outcome.as_str()])
            .inc();
        self.families.swap_duration.observe(duration.as_secs_f64());
        self.exposition.changed();
    }

    /// Records one failover attempt.
    pub(crate) fn observe_failover(&self, reason: LimitReason, outcome: Outcome) {
        self.families
            .failovers
            .with_label_values(&[reason.as_str(), outcome.as_str()])
            .inc();
        self.exposition.changed();
    }

    /// Records every configured account's limit: (account, limited, Unix
    /// time it ends or 0). Series of accounts no longer configured go.
    pub(crate) fn observe_limits(&self, limits: &[(String, bool, u64)]) {
        let f = &self.families;
        // Series are set in place and only those of accounts no longer
        // configured removed, so a scrape never sees a family half empty.
        let mut known = self
            .limit_accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<String> = limits.iter().map(|l| l.0.clone()).collect();
        for gone in known.difference(&now) {
            let _ = f.account_limited.remove_label_values(&[gone.as_str()]);
            let _ = f.limit_reset.remove_label_values(&[gone.as_str()]);
        }
        *known = now;
        for (account, limited, until) in limits {
            f.account_limited
                .with_label_values(&[account.as_str()])
                .set(i64::from(*limited));
            f.limit_reset
                .with_label_values(&[account.as_str()])
                .set(i64::try_from(*until).unwrap_or(i64::MAX));
        }
        self.exposition.changed();
    }

    /// Records the usage the statusline reported: one entry per account
    /// and window reported. A window not reported has no series (absent
    /// until reported); series no longer in the list go.
    pub(crate) fn observe_usage(&self, usage: &[UsageSeries]) {
        let f = &self.families;
        let mut known = self.usage_series.lock().unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<(String, String)> = usage
            .iter()
            .map(|u| (u.account.clone(), u.window.to_string()))
            .collect();
        for (account, window) in known.difference(&now) {
            let labels = [account.as_str(), window.as_str()];
            let _ = f.usage_ratio.remove_label_values(&labels);
            let _ = f.usage_reset.remove_label_values(&labels);
        }
        let reported = |set: &BTreeSet<(String, String)>| -> BTreeSet<String> {
            set.iter().map(|(a, _)| a.clone()).collect()
        };
        for gone in reported(&known).difference(&reported(&now)) {
            let _ = f.usage_updated.remove_label_values(&[gone.as_str()]);
        }
        *known = now;
        for u in usage {
            let labels = [u.account.as_str(), u.window];
            f.usage_ratio.with_label_values(&labels).set(u.ratio);
            f.usage_reset
                .with_label_values(&labels)
                .set(i64::try_from(u.resets_at).unwrap_or(i64::MAX));
            f.usage_updated
                .with_label_values(&[u.account.as_str()])
                .set(i64::try_from(u.updated).unwrap_or(i64::MAX));
        }
        self.exposition.changed();
    }

    /// Records which configured accounts are held out of failover:
    /// (account, disabled). Series of accounts no longer configured go.
    pub(crate) fn observe_disabled(&self, accounts: &[(String, bool)]) {
        let gauge = &self.families.account_disabled;
        let mut known = self
            .disabled_accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<String> = accounts.iter().map(|a| a.0.clone()).collect();
        for gone in known.difference(&now) {
            let _ = gauge.remove_label_values(&[gone.as_str()]);
        }
        *known = now;
        for (account, disabled) in accounts {
            gauge
                .with_label_values(&[account.as_str()])
                .set(i64::from(*disabled));
        }
        self.exposition.changed();
    }

    /// Records each configured account's failover threshold as a ratio:
    /// (account, percent). An account without one has no series (absent
    /// when none is set); series no longer in the list go.
    pub(crate) fn observe_thresholds(&self, thresholds: &[(String, Option<u8>)]) {
        let gauge = &self.families.usage_threshold;
        let mut known = self
            .threshold_accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<String> = thresholds
            .iter()
            .filter(|t| t.1.is_some())
            .map(|t| t.0.clone())
            .collect();
        for gone in known.difference(&now) {
            let _ = gauge.remove_label_values(&[gone.as_str()]);
        }
        *known = now;
        for (account, percent) in thresholds {
            if let Some(p) = percent {
                gauge
                    .with_label_values(&[account.as_str()])
                    .set(f64::from(*p) / 100.0);
            }
        }
        self.exposition.changed();
    }

    /// The text exposition of every metric: the cached one while nothing
    /// changed and its `process_*` values are under [`PROCESS_REFRESH`]
    /// old, else a fresh one (which then becomes the cached one).
    pub fn encode(&self) -> Bytes {
        self.exposition.get_or_encode(|| self.encode_now())
    }

    /// Encodes every metric, bypassing the cache: the registry's families
    /// and the link families, merged in name order.
    pub fn encode_now(&self) -> Vec<u8> {
        self.set_fleet_view_age();
        let links = self.links.read().unwrap_or_else(|p| p.into_inner());
        let mut buf = Vec::with_capacity(8 * 1024 + links.encoded_size_hint());
        let mut own = LinkSeries::FAMILIES.iter().peekable();
        let encoder = TextEncoder::new();
        for family in self.families.gather() {
            while let Some(f) = own.next_if(|f| f.0 < family.name()) {
                links.write_family(f.0, &mut buf);
            }
            encoder
                .encode(&[family], &mut buf)
                // gather() skips empty families, every family is named, and
                // writing into a Vec cannot fail: the encoder has no error to give.
                .expect("a gathered family encodes into a Vec");
        }
        for f in own {
            links.write_family(f.0, &mut buf);
        }
        buf
    }
}

/// The metrics could not be registered: a defect in a name, a help text
/// or a label (or a name used twice), found at start.
#[derive(Debug, thiserror::Error)]
#[error("the metrics could not be registered: {0}")]
pub struct MetricsError(prometheus::Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_gauges_follow_the_configured_accounts() {
        let m = Metrics::new().unwrap();
        m.observe_limits(&[("a".into(), true, 1_800_000_000), ("b".into(), false, 0)]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(
            text.contains("homeswap_account_limited{account=\"a\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "homeswap_account_limit_reset_timestamp_seconds{account=\"a\"} 1800000000\n"
        ));
        assert!(text.contains("homeswap_account_limited{account=\"b\"} 0\n"));
        m.observe_limits(&[("a".into(), false, 0)]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(
            text.contains("homeswap_account_limited{account=\"a\"} 0\n"),
            "{text}"
        );
        assert!(!text.contains("account=\"b\""), "{text}");
    }

    #[test]
    fn disabled_and_threshold_gauges_follow_the_accounts() {
        let m = Metrics::new().unwrap();
        m.observe_disabled(&[("a".into(), false), ("b".into(), true)]);
        m.observe_thresholds(&[("a".into(), Some(95)), ("b".into(), Some(80))]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        for series in [
            "homeswap_account_disabled{account=\"a\"} 0\n",
            "homeswap_account_disabled{account=\"b\"} 1\n",
            "homeswap_account_usage_threshold_ratio{account=\"a\"} 0.95\n",
            "homeswap_account_usage_threshold_ratio{account=\"b\"} 0.8\n",
        ] {
            assert!(text.contains(series), "{series} in {text}");
        }
        // b removed, a's threshold unset: their series go.
        m.observe_disabled(&[("a".into(), true)]);
        m.observe_thresholds(&[("a".into(), None)]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(
            text.contains("homeswap_account_disabled{account=\"a\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("account=\"b\""), "{text}");
        assert!(
            !text.contains("homeswap_account_usage_threshold_ratio{"),
            "{text}"
        );
    }

    #[test]
    fn usage_gauges_are_absent_until_reported_and_follow_the_record() {
        let m = Metrics::new().unwrap();
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(!text.contains("homeswap_account_usage_ratio{"), "{text}");
        let five = UsageSeries {
            account: "a".into(),
            window: "five_hour",
            ratio: 0.42,
            resets_at: 1_795_600_000,
            updated: 1_795_000_000,
        };
        let seven = UsageSeries {
            window: "seven_day",
            ratio: 0.13,
            ..five.clone()
        };
        m.observe_usage(&[five.clone(), seven]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        for series in [
            "homeswap_account_usage_ratio{account=\"a\",window=\"five_hour\"} 0.42\n",
            "homeswap_account_usage_ratio{account=\"a\",window=\"seven_day\"} 0.13\n",
            "homeswap_account_usage_reset_timestamp_seconds{account=\"a\",window=\"five_hour\"} 1795600000\n",
            "homeswap_account_usage_updated_timestamp_seconds{account=\"a\"} 1795000000\n",
        ] {
            assert!(text.contains(series), "{series} in {text}");
        }
        m.observe_usage(&[five]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(!text.contains("window=\"seven_day\""), "{text}");
        m.observe_usage(&[]);
        let text = String::from_utf8(m.encode_now()).unwrap();
        assert!(!text.contains("account=\"a\""), "{text}");
    }
}
