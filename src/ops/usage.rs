//! The accounts' usage as an operator sees it (the status document, the
//! status page, the metrics): the last `rate_limits` the statusline
//! recorded for each account.

use serde::Serialize;

/// The two windows Claude Code reports, in the order they are shown.
pub const WINDOWS: [&str; 2] = ["five_hour", "seven_day"];

/// One window's last known usage, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageWindowView {
    /// Percent used as Claude Code reported it (0..=100).
    pub used_percentage: f64,
    /// The same as a ratio, 0..=1 (the metric's value).
    pub ratio: f64,
    /// RFC 3339 time the window resets; `null` when not reported.
    pub resets_at: Option<String>,
    /// Unix seconds of the reset (0 when not reported; the metric's value).
    pub resets_at_unix: u64,
}

/// One account's last known usage, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountUsageView {
    /// The account.
    pub account: String,
    /// The five-hour window; `null` until reported.
    pub five_hour: Option<UsageWindowView>,
    /// The seven-day window; `null` until reported.
    pub seven_day: Option<UsageWindowView>,
    /// RFC 3339 time the usage was last recorded; `null` until reported.
    pub updated: Option<String>,
    /// True when a window is at or above `failover.threshold`.
    pub at_threshold: bool,
}

/// Every configured account's usage, in `failover.order`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageView {
    /// One entry per account.
    pub accounts: Vec<AccountUsageView>,
    /// `failover.threshold`, when set.
    pub threshold: Option<u8>,
    /// Why the usage file could not be read (then no usage is known).
    pub error: Option<String>,
}
