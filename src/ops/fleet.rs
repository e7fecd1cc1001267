//! What the fleet view means on this host: whether it may be used now and,
//! when not, why in one sentence; and the `fleet` part of the status
//! document (`status`, `GET /api/v1/status`, `limits`, the page), naming
//! the instance each limit and usage report was seen on.
//!
//! A view is used while `fleet` is configured, `<state_dir>/fleet.json`
//! reads, it was made from the configured Prometheus and selector, and its
//! last successful refresh is at most `fleet.max_age` old. Anything else
//! (no sidecar, Prometheus down, slow or answering garbage for longer than
//! that) leaves the failover to this host's own knowledge. Nothing here
//! touches the network: the sidecar does that, and writes the file.

use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, FleetConfig};
use crate::fs::pathfmt::shown;
use crate::ops::usage::UsageWindowView;
use crate::state::fleet::{FleetAccount, FleetFile, FleetHeader, FleetView, SeenWindow};
use crate::state::limits::rfc3339;
use crate::state::usage::Window;
use crate::state::StateDir;

/// A refresh time further ahead than this of the local clock is not
/// believed (a clock jumped back, or a file from another host).
const FUTURE_SLACK: u64 = 300;

/// The fleet view as this host may use it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FleetKnowledge {
    /// `fleet.max_age`, when `fleet` is configured.
    max_age: Option<Duration>,
    /// The view as read (also when it may not be used): its header, its
    /// accounts' lines read on demand.
    read: Option<FleetFile>,
    /// Why the view may not be used; `None` when it may (or without `fleet`).
    unused: Option<String>,
}

impl FleetKnowledge {
    /// Reads the view of `config`'s fleet at `now`; nothing without `fleet`.
    pub(crate) fn load(config: &Config, state: &StateDir, now: u64) -> FleetKnowledge {
        let Some(fleet) = &config.fleet else {
            return FleetKnowledge::default();
        };
        let (read, unused) = match FleetFile::read(state) {
            Ok(Some(f)) => {
                let why = unusable(fleet, &f.header, now);
                (Some(f), why)
            }
            Ok(None) => (
                None,
                Some(format!(
                    "no fleet view yet: 'homeswap serve' writes {} every fleet.interval ({}); is it running?",
                    shown(&state.fleet()),
                    humantime::format_duration(fleet.interval)
                )),
            ),
            Err(e) => (None, Some(format!("the fleet view cannot be read: {e}"))),
        };
        FleetKnowledge {
            max_age: Some(fleet.max_age),
            read,
            unused,
        }
    }

    /// Whether `fleet` is configured.
    pub(crate) fn configured(&self) -> bool {
        self.max_age.is_some()
    }

    /// The view, when it may be used.
    pub(crate) fn view(&self) -> Option<&FleetFile> {
        self.read.as_ref().filter(|_| self.unused.is_none())
    }

    /// Why the view is not used (only with `fleet` configured).
    pub(crate) fn unused(&self) -> Option<&str> {
        self.unused.as_deref()
    }

    /// What the view knows of `account`, when the view may be used.
    pub(crate) fn account(&self, account: &str) -> Option<FleetAccount> {
        self.view()?.account(account)
    }
}

/// Why the view of header `view` may not be used for `fleet` at `now`;
/// `None` when it may.
fn unusable(fleet: &FleetConfig, view: &FleetHeader, now: u64) -> Option<String> {
    if view.prometheus != fleet.prometheus || view.selector != fleet.selector {
        return Some(format!(
            "the fleet view was made from {} {}, not the configured fleet.prometheus and fleet.selector; the sidecar replaces it within fleet.interval",
            view.prometheus, view.selector
        ));
    }
    let failure = view.failure.as_ref().map(|f| {
        format!(
            "the last refresh at {} failed ({}): {}",
            rfc3339(f.at),
            f.outcome.as_str(),
            f.message
        )
    });
    let Some(age) = (view.refreshed > 0).then(|| now.saturating_sub(view.refreshed)) else {
        return Some(match failure {
            Some(f) => format!("no fleet view yet: {f}"),
            None => "no fleet view yet".to_string(),
        });
    };
    if view.refreshed > now + FUTURE_SLACK {
        return Some(format!(
            "the fleet view is dated {}, in the future: check this host's clock",
            rfc3339(view.refreshed)
        ));
    }
    if age > fleet.max_age.as_secs() {
        return Some(format!(
            "the fleet view is {} old, older than fleet.max_age ({}); {}",
            humantime::format_duration(Duration::from_secs(age)),
            humantime::format_duration(fleet.max_age),
            failure.unwrap_or_else(|| "no refresh since: is 'homeswap serve' running?".into())
        ));
    }
    None
}

/// The `fleet` object of the status document and of `limits --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FleetStatus {
    /// `fleet.prometheus`.
    pub(crate) prometheus: String,
    /// `fleet.selector`.
    pub(crate) selector: String,
    /// True when a failover now would use the view.
    pub(crate) used: bool,
    /// Why it would not (`null` when it would).
    pub(crate) reason: Option<String>,
    /// RFC 3339 time of the last successful refresh; `null`: none yet.
    pub(crate) refreshed: Option<String>,
    /// Seconds since then; `null`: none yet.
    pub(crate) age_seconds: Option<u64>,
    /// `fleet.max_age` in seconds.
    pub(crate) max_age_seconds: u64,
    /// The last refresh, when it failed after the data was taken.
    pub(crate) last_error: Option<FleetErrorView>,
    /// Prometheus's warnings at the last refresh (a partial answer).
    pub(crate) warnings: Vec<String>,
    /// Series ignored at the last refresh (NaN, out of range, bad labels).
    pub(crate) dropped: usize,
    /// Every configured account limited somewhere, in `failover.order`.
    pub(crate) limits: Vec<FleetLimitView>,
    /// Every configured account's freshest usage report, in `failover.order`.
    pub(crate) usage: Vec<FleetUsageView>,
}

/// A failed refresh, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FleetErrorView {
    /// RFC 3339 time of the attempt.
    pub(crate) at: String,
    /// `error` or `timeout`.
    pub(crate) outcome: &'static str,
    /// What failed.
    pub(crate) message: String,
}

/// One account limited somewhere in the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FleetLimitView {
    /// The account.
    pub(crate) account: String,
    /// RFC 3339 end of the latest limit reported (what the choice uses).
    pub(crate) until: String,
    /// Unix seconds of the same.
    pub(crate) until_unix: u64,
    /// How many instances report it limited.
    pub(crate) limited_on: usize,
    /// The instances, latest reset first (the first eight).
    pub(crate) instances: Vec<FleetInstanceLimit>,
}

/// One instance's limit of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FleetInstanceLimit {
    /// The `instance` label.
    pub(crate) instance: String,
    /// RFC 3339 end of its limit.
    pub(crate) until: String,
    /// Unix seconds of the same.
    pub(crate) until_unix: u64,
}

/// An account's freshest usage report in the fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FleetUsageView {
    /// The account.
    pub(crate) account: String,
    /// The instance that reported it.
    pub(crate) instance: String,
    /// RFC 3339 time it was reported.
    pub(crate) updated: String,
    /// Unix seconds of the same.
    pub(crate) updated_unix: u64,
    /// The five-hour window; `null` when not reported.
    pub(crate) five_hour: Option<UsageWindowView>,
    /// The seven-day window; `null` when not reported.
    pub(crate) seven_day: Option<UsageWindowView>,
}

/// The `fleet` object for `config` at `now`; `None` without `fleet`.
pub(crate) fn status(config: &Config, state: &StateDir, now: u64) -> Option<FleetStatus> {
    let fleet = config.fleet.as_ref()?;
    let k = FleetKnowledge::load(config, state, now);
    // Every line at once: status shows every account.
    let whole: Option<FleetView> = k.read.as_ref().and_then(|f| f.to_view(&state.fleet()).ok());
    let view = whole.as_ref();
    let limits = view
        .map(|v| limit_views(v, config, now))
        .unwrap_or_default();
    let usage = view.map(|v| usage_views(v, config)).unwrap_or_default();
    Some(FleetStatus {
        prometheus: fleet.prometheus.clone(),
        selector: fleet.selector.clone(),
        used: k.unused.is_none(),
        reason: k.unused.clone(),
        refreshed: view
            .filter(|v| v.refreshed > 0)
            .map(|v| rfc3339(v.refreshed)),
        age_seconds: view.and_then(|v| v.age(now)),
        max_age_seconds: fleet.max_age.as_secs(),
        last_error: view
            .and_then(|v| v.failure.as_ref())
            .map(|f| FleetErrorView {
                at: rfc3339(f.at),
                outcome: f.outcome.as_str(),
                message: f.message.clone(),
            }),
        warnings: view.map(|v| v.warnings.clone()).unwrap_or_default(),
        dropped: view.map_or(0, |v| v.dropped),
        limits,
        usage,
    })
}

/// Every configured account limited somewhere at `now`, in `failover.order`.
fn limit_views(view: &FleetView, config: &Config, now: u64) -> Vec<FleetLimitView> {
    config
        .failover
        .order
        .iter()
        .filter_map(|account| {
            let a = view.accounts.get(account)?;
            let latest = a.latest_limit(now)?;
            Some(FleetLimitView {
                account: account.clone(),
                until: rfc3339(latest.until),
                until_unix: latest.until,
                limited_on: a.limited_on,
                instances: a
                    .limited
                    .iter()
                    .filter(|l| l.until > now)
                    .map(|l| FleetInstanceLimit {
                        instance: l.instance.clone(),
                        until: rfc3339(l.until),
                        until_unix: l.until,
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Every configured account's freshest usage report, in `failover.order`.
fn usage_views(view: &FleetView, config: &Config) -> Vec<FleetUsageView> {
    config
        .failover
        .order
        .iter()
        .filter_map(|account| {
            let u = view.usage(account)?;
            let window = |w: Window| u.window(w).map(window_view);
            Some(FleetUsageView {
                account: account.clone(),
                instance: u.instance.clone(),
                updated: rfc3339(u.updated),
                updated_unix: u.updated,
                five_hour: window(Window::FiveHour),
                seven_day: window(Window::SevenDay),
            })
        })
        .collect()
}

fn window_view(w: &SeenWindow) -> UsageWindowView {
    UsageWindowView {
        used_percentage: w.ratio * 100.0,
        ratio: w.ratio,
        resets_at: w.resets_at.map(rfc3339),
        resets_at_unix: w.resets_at.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fleet::{RefreshFailure, RefreshOutcome, SeenLimit};
    use std::path::Path;

    const NOW: u64 = 1_800_000_000;

    fn config(dir: &Path, fleet: bool) -> Config {
        let d = dir.display();
        let section = if fleet {
            "fleet:\n  prometheus: http://prom:9090\n  max_age: 2m\n"
        } else {
            ""
        };
        Config::parse(
            &dir.join("h.yaml"),
            &format!("accounts:\n  a: {d}/a\n  b: {d}/b\nactive_link: {d}/active\nshared_dir: {d}/shared\nstate_dir: {d}/state\n{section}"),
        )
        .unwrap()
    }

    fn view(refreshed: u64) -> FleetView {
        let mut v = FleetView {
            prometheus: "http://prom:9090".into(),
            selector: r#"{job="homeswap"}"#.into(),
            refreshed,
            ..FleetView::default()
        };
        v.accounts.insert(
            "a".into(),
            FleetAccount {
                limited: vec![SeenLimit {
                    instance: "host1:9464".into(),
                    until: NOW + 3600,
                }],
                limited_on: 1,
                usage: None,
            },
        );
        v
    }

    #[test]
    fn a_fresh_view_is_used_and_shown_naming_the_instance() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), true);
        let state = StateDir::new(&c.state_dir);
        view(NOW - 10).write(&state).unwrap();
        let k = FleetKnowledge::load(&c, &state, NOW);
        assert!(k.configured() && k.unused().is_none(), "{k:?}");
        let a = k.account("a").unwrap();
        assert_eq!(a.latest_limit(NOW).unwrap().instance, "host1:9464");
        let s = status(&c, &state, NOW).unwrap();
        assert!(s.used);
        assert_eq!(s.age_seconds, Some(10));
        assert_eq!(s.limits.len(), 1);
        assert_eq!(s.limits[0].instances[0].instance, "host1:9464");
        assert_eq!(s.limits[0].until_unix, NOW + 3600);
        // Without fleet: nothing at all.
        let plain = config(dir.path(), false);
        assert!(status(&plain, &state, NOW).is_none());
        assert!(!FleetKnowledge::load(&plain, &state, NOW).configured());
    }

    #[test]
    fn a_missing_stale_foreign_or_broken_view_is_not_used_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), true);
        let state = StateDir::new(&c.state_dir);
        let why = |now| {
            FleetKnowledge::load(&c, &state, now)
                .unused()
                .map(str::to_string)
                .unwrap_or_default()
        };
        assert!(
            why(NOW).starts_with("no fleet view yet: 'homeswap serve' writes "),
            "{}",
            why(NOW)
        );
        let mut v = view(NOW - 121);
        v.write(&state).unwrap();
        assert!(
            why(NOW).contains("the fleet view is 2m 1s old, older than fleet.max_age (2m); no refresh since: is 'homeswap serve' running?"),
            "{}",
            why(NOW)
        );
        let k = FleetKnowledge::load(&c, &state, NOW);
        assert!(k.account("a").is_none(), "a stale view knows nothing");
        v.failure = Some(RefreshFailure {
            at: NOW - 5,
            outcome: RefreshOutcome::Error,
            message: "connection refused".into(),
        });
        v.write(&state).unwrap();
        assert!(
            why(NOW).ends_with("failed (error): connection refused"),
            "{}",
            why(NOW)
        );
        let s = status(&c, &state, NOW).unwrap();
        assert!(!s.used && s.reason.is_some());
        assert_eq!(s.last_error.unwrap().outcome, "error");
        assert_eq!(s.limits.len(), 1, "still shown, as not used");
        v.refreshed = 0;
        v.write(&state).unwrap();
        assert!(
            why(NOW).starts_with("no fleet view yet: the last refresh at "),
            "{}",
            why(NOW)
        );
        let mut other = view(NOW);
        other.prometheus = "http://old:9090".into();
        other.write(&state).unwrap();
        assert!(
            why(NOW).contains("made from http://old:9090"),
            "{}",
            why(NOW)
        );
        view(NOW + 3600).write(&state).unwrap();
        assert!(why(NOW).contains("in the future"), "{}", why(NOW));
        std::fs::write(state.fleet(), "garbage").unwrap();
        assert!(
            why(NOW).starts_with("the fleet view cannot be read: "),
            "{}",
            why(NOW)
        );
    }
}
