//! The accounts' usage as an operator sees it (the status document, the
//! status page, the metrics): the last `rate_limits` the statusline
//! recorded for each account.

use serde::Serialize;

use crate::config::Config;
use crate::ops::context::Context;
use crate::state::limits::{rfc3339, unix_now};
use crate::state::usage::{UsageRecord, Window, WindowUsage};

/// One window's last known usage, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UsageWindowView {
    /// Percent used as Claude Code reported it (0..=100).
    pub(crate) used_percentage: f64,
    /// The same as a ratio, 0..=1 (the metric's value).
    pub(crate) ratio: f64,
    /// RFC 3339 time the window resets; `null` when not reported.
    pub(crate) resets_at: Option<String>,
    /// Unix seconds of the reset (0 when not reported; the metric's value).
    pub(crate) resets_at_unix: u64,
}

/// One account's last known usage, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AccountUsageView {
    /// The account.
    pub(crate) account: String,
    /// The five-hour window; `null` until reported.
    pub(crate) five_hour: Option<UsageWindowView>,
    /// The seven-day window; `null` until reported.
    pub(crate) seven_day: Option<UsageWindowView>,
    /// RFC 3339 time the usage was last recorded; `null` until reported.
    pub(crate) updated: Option<String>,
    /// Unix seconds of the same (0 until reported; the metric's value).
    pub(crate) updated_unix: u64,
    /// The account's threshold: its own (`failover.thresholds`), else
    /// `failover.threshold`; `null` when neither is set.
    pub(crate) threshold: Option<u8>,
    /// True when a window is at or above that threshold.
    pub(crate) at_threshold: bool,
}

/// Every configured account's usage, in `failover.order`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UsageView {
    /// One entry per account.
    pub(crate) accounts: Vec<AccountUsageView>,
    /// `failover.threshold`, when set (each account's own is in its entry).
    pub(crate) threshold: Option<u8>,
    /// Why the usage file could not be read (then no usage is known).
    pub(crate) error: Option<String>,
}

/// Reads the usage record now and builds the view.
pub(crate) fn usage(ctx: &Context) -> UsageView {
    let (record, error) = UsageRecord::read_or_empty(&ctx.state);
    view(&ctx.config, &record, error, unix_now())
}

/// The view of `record` at `now`: every configured account in
/// `failover.order`, reported or not.
pub(crate) fn view(
    config: &Config,
    record: &UsageRecord,
    error: Option<String>,
    now: u64,
) -> UsageView {
    let accounts = config
        .failover
        .order
        .iter()
        .map(|account| {
            let known = record.accounts.get(account);
            let window = |w: Window| known.and_then(|u| u.window(w)).map(window_view);
            let threshold = config.failover.threshold_for(account);
            AccountUsageView {
                account: account.clone(),
                five_hour: window(Window::FiveHour),
                seven_day: window(Window::SevenDay),
                updated: known.filter(|u| u.updated > 0).map(|u| rfc3339(u.updated)),
                updated_unix: known.map_or(0, |u| u.updated),
                threshold,
                at_threshold: threshold
                    .is_some_and(|t| known.is_some_and(|u| u.at_or_above(t, now))),
            }
        })
        .collect();
    UsageView {
        accounts,
        threshold: config.failover.threshold,
        error,
    }
}

fn window_view(u: &WindowUsage) -> UsageWindowView {
    UsageWindowView {
        used_percentage: u.used_percentage,
        ratio: (u.used_percentage / 100.0).clamp(0.0, 1.0),
        resets_at: u.resets_at.map(rfc3339),
        resets_at_unix: u.resets_at.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::usage::AccountUsage;
    use std::path::Path;

    #[test]
    fn every_account_is_listed_in_order_with_what_was_reported() {
        let config = Config::parse(
            Path::new("/etc/homeswap.yaml"),
            "accounts:\n  a: /h/a\n  b: /h/b\nactive_link: /h/active\nshared_dir: /h/shared\nstate_dir: /s\nfailover:\n  order: [b, a]\n  threshold: 40\n  thresholds: {b: 60}\n",
        )
        .unwrap();
        let mut record = UsageRecord::default();
        record.accounts.insert(
            "a".into(),
            AccountUsage {
                updated: 1_795_000_000,
                five_hour: Some(WindowUsage {
                    used_percentage: 42.0,
                    resets_at: Some(1_795_600_000),
                    fired: true,
                }),
                seven_day: None,
            },
        );
        let v = view(&config, &record, None, 1_795_000_001);
        assert_eq!(v.threshold, Some(40));
        assert_eq!(v.accounts[0].threshold, Some(60));
        assert_eq!(v.accounts[1].threshold, Some(40));
        assert_eq!(v.accounts.len(), 2);
        assert_eq!(v.accounts[0].account, "b");
        assert_eq!(v.accounts[0].five_hour, None);
        assert!(!v.accounts[0].at_threshold);
        let a = &v.accounts[1];
        assert!(a.at_threshold);
        assert_eq!(a.updated.as_deref(), Some("2026-11-18T11:06:40Z"));
        let five = a.five_hour.as_ref().unwrap();
        assert_eq!(five.ratio, 0.42);
        assert_eq!(five.resets_at_unix, 1_795_600_000);
        assert_eq!(five.resets_at.as_deref(), Some("2026-11-25T09:46:40Z"));
        assert_eq!(a.seven_day, None);
    }
}
