//! The fleet view's records: what it knows of each account, where it
//! came from, and what a failover's audit line says of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::usage::{AccountUsage, Window, WindowUsage};

/// How many instances are named per limited account (the rest counted).
pub(crate) const INSTANCES_KEPT: usize = 8;

/// How a refresh ended (the `outcome` label of `homeswap_fleet_queries_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RefreshOutcome {
    /// Every query answered, and the view was replaced.
    Ok,
    /// A query failed: refused, an HTTP error, Prometheus's error, garbage.
    Error,
    /// A query did not answer within `fleet.timeout`.
    Timeout,
}

impl RefreshOutcome {
    /// Every outcome, in the contract's order (the metric's label values).
    pub(crate) const ALL: [RefreshOutcome; 3] = [
        RefreshOutcome::Ok,
        RefreshOutcome::Error,
        RefreshOutcome::Timeout,
    ];

    /// The contract's name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Ok => "ok",
            RefreshOutcome::Error => "error",
            RefreshOutcome::Timeout => "timeout",
        }
    }
}

/// The last refresh, when it failed after the data was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshFailure {
    /// Unix seconds of the failed attempt.
    pub(crate) at: u64,
    /// `error` or `timeout`.
    pub(crate) outcome: RefreshOutcome,
    /// What failed, one line (never a credential).
    pub(crate) message: String,
}

/// One instance that reports an account limited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeenLimit {
    /// Its `instance` label.
    pub(crate) instance: String,
    /// Unix seconds its limit ends.
    pub(crate) until: u64,
}

/// One window of a usage report seen in the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SeenWindow {
    /// Usage, 0..=1.
    pub(crate) ratio: f64,
    /// Unix seconds the window resets, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resets_at: Option<u64>,
}

/// The freshest usage report of an account, anywhere in the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SeenUsage {
    /// The instance that reported it.
    pub(crate) instance: String,
    /// Unix seconds it was reported there.
    pub(crate) updated: u64,
    /// The five-hour window, if reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) five_hour: Option<SeenWindow>,
    /// The seven-day window, if reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seven_day: Option<SeenWindow>,
}

impl SeenUsage {
    /// One window.
    pub(crate) fn window(&self, w: Window) -> Option<&SeenWindow> {
        match w {
            Window::FiveHour => self.five_hour.as_ref(),
            Window::SevenDay => self.seven_day.as_ref(),
        }
    }

    /// The report as the statusline's record would hold it (percent used).
    pub(crate) fn as_account_usage(&self) -> AccountUsage {
        let window = |w: Option<&SeenWindow>| {
            w.map(|w| WindowUsage {
                used_percentage: w.ratio * 100.0,
                resets_at: w.resets_at,
                fired: false,
            })
        };
        AccountUsage {
            updated: self.updated,
            five_hour: window(self.five_hour.as_ref()),
            seven_day: window(self.seven_day.as_ref()),
        }
    }
}

/// What the fleet knows of one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FleetAccount {
    /// Instances that report it limited, latest reset first (at most
    /// [`INSTANCES_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) limited: Vec<SeenLimit>,
    /// How many instances report it limited in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) limited_on: usize,
    /// The freshest usage report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) usage: Option<SeenUsage>,
}

pub(super) fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What a failover's audit line says of the fleet view (part of the
/// audit record, so it reads back leniently like the rest of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FleetAudit {
    /// Whether the choice used the view.
    #[serde(default)]
    pub(crate) used: bool,
    /// Why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// The view's age in seconds, when used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) age_seconds: Option<u64>,
    /// Accounts passed over for what was seen elsewhere (the first ten).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) passed_over: Vec<FleetPass>,
    /// How many were passed over in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) passed_over_total: usize,
}

/// Why an account was passed over for what another instance reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PassedFor {
    /// It is limited there.
    Limited,
    /// Its usage there is at or above `failover.threshold`.
    Usage,
}

/// One account passed over for what another instance reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FleetPass {
    /// The account.
    pub(crate) account: String,
    /// What was seen.
    pub(crate) why: PassedFor,
    /// Where it was seen.
    #[serde(default)]
    pub(crate) instance: String,
    /// RFC 3339 end of that limit (`limited` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<String>,
}

/// The whole view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FleetView {
    /// The Prometheus it was read from (a view of another is not used).
    pub(crate) prometheus: String,
    /// The selector it was read with.
    pub(crate) selector: String,
    /// Unix seconds of the last refresh that succeeded; 0: none yet.
    pub(crate) refreshed: u64,
    /// The last refresh, when it failed after that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) failure: Option<RefreshFailure>,
    /// Prometheus's warnings at the last refresh (a partial answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<String>,
    /// Series ignored at the last refresh (NaN, out of range, bad labels).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) dropped: usize,
    /// Account → what the fleet knows of it.
    #[serde(default)]
    pub(crate) accounts: BTreeMap<String, FleetAccount>,
}

impl FleetView {
    /// The instance whose limit of `account` ends last, if one holds at
    /// `now` (the tests' question; a choice asks `FleetFile`).
    #[cfg(test)]
    pub(crate) fn limited(&self, account: &str, now: u64) -> Option<&SeenLimit> {
        self.accounts.get(account)?.latest_limit(now)
    }

    /// The freshest usage report of `account`.
    pub(crate) fn usage(&self, account: &str) -> Option<&SeenUsage> {
        self.accounts.get(account)?.usage.as_ref()
    }

    /// Seconds since the last successful refresh (`None`: never).
    pub(crate) fn age(&self, now: u64) -> Option<u64> {
        age(self.refreshed, now)
    }
}

impl FleetAccount {
    /// The limit that ends last, if it holds at `now`.
    pub(crate) fn latest_limit(&self, now: u64) -> Option<&SeenLimit> {
        self.limited.first().filter(|l| l.until > now)
    }
}

/// Seconds since `refreshed` (`None`: never refreshed).
pub(super) fn age(refreshed: u64, now: u64) -> Option<u64> {
    (refreshed > 0).then(|| now.saturating_sub(refreshed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDir;

    fn view() -> FleetView {
        let mut v = FleetView {
            prometheus: "http://p:9090".into(),
            selector: r#"{job="homeswap"}"#.into(),
            refreshed: 1000,
            ..FleetView::default()
        };
        v.accounts.insert(
            "a".into(),
            FleetAccount {
                limited: vec![
                    SeenLimit {
                        instance: "host1:9464".into(),
                        until: 5000,
                    },
                    SeenLimit {
                        instance: "host2:9464".into(),
                        until: 4000,
                    },
                ],
                limited_on: 2,
                usage: Some(SeenUsage {
                    instance: "host2:9464".into(),
                    updated: 990,
                    five_hour: Some(SeenWindow {
                        ratio: 0.42,
                        resets_at: Some(2000),
                    }),
                    seven_day: None,
                }),
            },
        );
        v
    }

    #[test]
    fn a_view_round_trips_and_answers_for_its_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(FleetView::read(&state).unwrap(), None);
        let v = view();
        v.write(&state).unwrap();
        assert_eq!(FleetView::read(&state).unwrap().as_ref(), Some(&v));
        assert_eq!(v.limited("a", 4999).unwrap().instance, "host1:9464");
        assert!(v.limited("a", 5000).is_none(), "ended");
        assert!(v.limited("b", 0).is_none());
        let u = v.usage("a").unwrap().as_account_usage();
        assert_eq!(u.updated, 990);
        assert_eq!(u.five_hour.unwrap().used_percentage, 42.0);
        assert_eq!(v.age(1003), Some(3));
        assert_eq!(FleetView::default().age(1003), None);
    }

    #[test]
    fn garbage_a_symlink_and_a_fifo_are_errors_not_views() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(state.fleet(), b"{\"accounts\": 7").unwrap();
        let e = FleetView::read(&state).unwrap_err().to_string();
        assert!(
            e.contains("parse the fleet view") && e.contains("fleet.json"),
            "{e}"
        );
        std::fs::remove_file(state.fleet()).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), state.fleet()).unwrap();
        assert!(
            FleetView::read(&state).is_err(),
            "a symlink is not followed"
        );
        std::fs::remove_file(state.fleet()).unwrap();
        nix::unistd::mkfifo(&state.fleet(), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = FleetView::read(&state).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
