//! The sidecar's Prometheus metrics, on a registry of their own. Other
//! modules only feed it (a validation report, a swap outcome, the latch);
//! names, types and labels are the contract's.
//!
//! A scrape does not gather and encode the registry: the exposition is
//! encoded once after each change and handed out as shared bytes until the
//! next change. The `process_*` values (CPU time, memory, descriptors) change
//! on their own, so a cached exposition is also re-encoded once it is older
//! than [`PROCESS_REFRESH`].
//!
//! The per-link and per-account gauges (`homeswap_link_healthy`,
//! `homeswap_link_state`, `homeswap_active_account`) are not registry
//! metrics: at 1,000 accounts they are 25,000 series, which as registry
//! entries cost tens of megabytes and a rebuild of every series per
//! validation. They are kept as the validation's states ([`LinkSeries`])
//! and written straight into the exposition, in the text the registry's
//! encoder would give them (same HELP, TYPE, label order and sort order).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::links::validate::ValidationReport;
use crate::links::LinkState;

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
    /// The link and account gauges, written into the exposition by hand.
    links: RwLock<LinkSeries>,
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
            Box::new(partial_swap.clone()) as Box<dyn prometheus::core::Collector>,
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
            links: RwLock::new(LinkSeries::default()),
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
        let series = LinkSeries::from_report(report, accounts);
        *self.links.write().unwrap_or_else(|p| p.into_inner()) = series;
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

    /// Encodes every metric, bypassing the cache: the registry's families
    /// and the link families, merged in name order.
    pub fn encode_now(&self) -> Vec<u8> {
        let links = self.links.read().unwrap_or_else(|p| p.into_inner());
        let mut buf = Vec::with_capacity(8 * 1024 + links.links.len() * 600);
        let mut own = LinkSeries::FAMILIES.iter().peekable();
        let encoder = TextEncoder::new();
        for family in self.registry.gather() {
            while let Some(f) = own.next_if(|f| f.0 < family.name()) {
                links.write_family(f.0, &mut buf);
            }
            encoder
                .encode(&[family], &mut buf)
                .expect("encoding into a Vec cannot fail");
        }
        for f in own {
            links.write_family(f.0, &mut buf);
        }
        buf
    }
}

/// Every link state, sorted by its name as the exposition sorts series.
const STATES_BY_NAME: [LinkState; 7] = [
    LinkState::Divergent,
    LinkState::Error,
    LinkState::HomeMissing,
    LinkState::Missing,
    LinkState::NotALink,
    LinkState::Ok,
    LinkState::TargetMissing,
];

/// The states behind the link and account gauges, in exposition order.
#[derive(Debug, Default)]
struct LinkSeries {
    /// (account, link, state), sorted by account, then link.
    links: Vec<(String, String, LinkState)>,
    /// (account, whether the active link points at it), sorted by account.
    accounts: Vec<(String, bool)>,
}

impl LinkSeries {
    /// Name and help of each family, sorted by name.
    const FAMILIES: [(&'static str, &'static str); 3] = [
        (
            "homeswap_active_account",
            "1 for the account the active link points at, 0 for the others.",
        ),
        (
            "homeswap_link_healthy",
            "1 when the shared link is ok, else 0.",
        ),
        (
            "homeswap_link_state",
            "Stateset: 1 for the shared link's current state, 0 for each other state.",
        ),
    ];

    /// The series of one validation; accounts or links no longer
    /// configured are simply not in it.
    fn from_report(report: &ValidationReport, accounts: &[String]) -> LinkSeries {
        let mut links: Vec<(String, String, LinkState)> = report
            .accounts
            .iter()
            .flat_map(|a| a.links.iter())
            .map(|l| (l.account.clone(), l.link.clone(), l.state))
            .collect();
        links.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        let mut accounts: Vec<(String, bool)> = accounts
            .iter()
            .map(|a| {
                let active = report.active.account.as_deref() == Some(a.as_str());
                (a.clone(), active)
            })
            .collect();
        accounts.sort();
        LinkSeries { links, accounts }
    }

    /// Writes one family as the text encoder would; nothing when it has
    /// no series yet.
    fn write_family(&self, name: &str, buf: &mut Vec<u8>) {
        let help = LinkSeries::FAMILIES
            .iter()
            .find(|f| f.0 == name)
            .map_or("", |f| f.1);
        let mut out = String::new();
        let head = |out: &mut String| {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
        };
        match name {
            "homeswap_active_account" if !self.accounts.is_empty() => {
                head(&mut out);
                for (account, active) in &self.accounts {
                    let _ = writeln!(
                        out,
                        "{name}{{account=\"{}\"}} {}",
                        Escaped(account),
                        u8::from(*active)
                    );
                }
            }
            "homeswap_link_healthy" if !self.links.is_empty() => {
                head(&mut out);
                for (account, link, state) in &self.links {
                    let _ = writeln!(
                        out,
                        "{name}{{account=\"{}\",link=\"{}\"}} {}",
                        Escaped(account),
                        Escaped(link),
                        u8::from(*state == LinkState::Ok)
                    );
                }
            }
            "homeswap_link_state" if !self.links.is_empty() => {
                head(&mut out);
                for (account, link, state) in &self.links {
                    for s in STATES_BY_NAME {
                        let _ = writeln!(
                            out,
                            "{name}{{account=\"{}\",link=\"{}\",state=\"{}\"}} {}",
                            Escaped(account),
                            Escaped(link),
                            s.as_str(),
                            u8::from(*state == s)
                        );
                    }
                }
            }
            _ => {}
        }
        buf.extend_from_slice(out.as_bytes());
    }
}

/// A label value escaped as the text format wants (`\\`, `\"`, `\n`).
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
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

    /// The link families as registry metrics encode them (the code they
    /// replaced), to pin that the hand-written text is the same.
    fn as_registry_metrics(report: &ValidationReport, accounts: &[String]) -> String {
        let registry = Registry::new();
        let vec = |name: &str, labels: &[&str]| {
            let help = LinkSeries::FAMILIES.iter().find(|f| f.0 == name).unwrap().1;
            let v = IntGaugeVec::new(Opts::new(name, help), labels).unwrap();
            registry.register(Box::new(v.clone())).unwrap();
            v
        };
        let healthy = vec("homeswap_link_healthy", &["account", "link"]);
        let state = vec("homeswap_link_state", &["account", "link", "state"]);
        let active = vec("homeswap_active_account", &["account"]);
        for a in &report.accounts {
            for l in &a.links {
                healthy
                    .with_label_values(&[&a.account, &l.link])
                    .set(i64::from(l.state == LinkState::Ok));
                for s in LinkState::ALL {
                    state
                        .with_label_values(&[&a.account, &l.link, s.as_str()])
                        .set(i64::from(l.state == s));
                }
            }
        }
        for name in accounts {
            let on = report.active.account.as_deref() == Some(name.as_str());
            active.with_label_values(&[name]).set(i64::from(on));
        }
        TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap()
    }

    #[test]
    fn link_families_are_written_exactly_as_the_registry_would() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut yaml = String::from("accounts:\n");
        for name in ["b", "a", "c-1", "a_2"] {
            std::fs::create_dir(root.join(name)).unwrap();
            yaml.push_str(&format!("  {name}: {}\n", root.join(name).display()));
        }
        yaml.push_str(&format!(
            "active_link: {}\nshared_dir: {}\nstate_dir: {}\n",
            root.join("active").display(),
            root.join("shared").display(),
            root.join("state").display()
        ));
        let config = crate::config::Config::parse(&root.join("c.yaml"), &yaml).unwrap();
        crate::links::ensure_account("a", &root.join("a"), &config.shared, false);
        std::fs::write(root.join("b").join("projects"), b"x").unwrap();
        std::os::unix::fs::symlink("/elsewhere", root.join("b").join("session-env")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("active")).unwrap();
        std::fs::remove_dir(root.join("c-1")).unwrap();
        let report = crate::links::validate::validate_all(&config);
        let accounts: Vec<String> = config.accounts.keys().cloned().collect();

        let m = Metrics::new();
        m.observe_validation(&report, &accounts, Duration::from_millis(1));
        let ours = String::from_utf8(m.encode_now()).unwrap();
        let expected = as_registry_metrics(&report, &accounts);
        for family in LinkSeries::FAMILIES.map(|f| f.0) {
            let pick = |text: &str| -> Vec<String> {
                text.lines()
                    .filter(|l| l.split([' ', '{']).any(|w| w == family))
                    .map(str::to_string)
                    .collect()
            };
            assert!(!pick(&expected).is_empty(), "{family}");
            assert_eq!(pick(&ours), pick(&expected), "{family}");
        }
        // And the families keep their place in the name order.
        let names: Vec<&str> = ours
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn before_the_first_validation_no_link_series_are_written() {
        let text = String::from_utf8(Metrics::new().encode_now()).unwrap();
        assert!(!text.contains("homeswap_link_"), "{text}");
        assert!(text.contains("homeswap_build_info{version="), "{text}");
    }

    #[test]
    fn process_values_are_refreshed_after_process_refresh() {
        let m = Metrics::new();
        let first = m.encode();
        std::thread::sleep(PROCESS_REFRESH + Duration::from_millis(50));
        assert_ne!(first.as_ptr(), m.encode().as_ptr());
    }
}
