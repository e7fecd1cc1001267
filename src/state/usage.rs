//! The accounts' last known usage: what Claude Code's status line reported
//! for each account's five-hour and seven-day windows (percent used, reset
//! time), when it last changed, and whether the threshold failover already
//! fired for the window (the hysteresis). One record,
//! `<state_dir>/usage.json`, written atomically.
//!
//! Many statuslines (one per session) write it. A writer takes
//! `<state_dir>/usage.lock` (not the swaps' lock), reads the record again,
//! changes its account only and writes it back, so none loses another's
//! update. The lock is waited for briefly, never long: a busy lock skips
//! the write, and the next status update, which still differs from the
//! record, writes it.
//!
//! A file that cannot be read or parsed counts as "no usage known" and is
//! reported by whoever reads it; it never panics.

use std::collections::BTreeMap;
use std::fs::File;
use std::time::Duration;

use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};

use crate::fs::error::FsError;
use crate::state::lock::flock_within;
use crate::state::StateDir;

/// One of the two windows Claude Code reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Window {
    /// The five-hour window.
    FiveHour,
    /// The seven-day window.
    SevenDay,
}

impl Window {
    /// Both, in the order they are shown.
    pub(crate) const ALL: [Window; 2] = [Window::FiveHour, Window::SevenDay];

    /// The contract's name (the metrics' `window` label, the JSON key).
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Window::FiveHour => "five_hour",
            Window::SevenDay => "seven_day",
        }
    }

    /// The short name shown in the status line.
    pub(crate) const fn short(self) -> &'static str {
        match self {
            Window::FiveHour => "5h",
            Window::SevenDay => "7d",
        }
    }
}

/// One window's last known usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WindowUsage {
    /// Percent used, 0..=100 (may be fractional).
    pub(crate) used_percentage: f64,
    /// Unix seconds the window resets, when reported.
    #[serde(default)]
    pub(crate) resets_at: Option<u64>,
    /// The threshold failover fired for this crossing (disarmed until the
    /// usage drops below the threshold or the window resets).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fired: bool,
}

impl WindowUsage {
    /// Whether the numbers still describe the current window: a window
    /// whose reset time has passed was reset since (its usage is stale).
    pub(crate) fn current(&self, now: u64) -> bool {
        self.resets_at.is_none_or(|r| r > now)
    }

    /// Whether the window is at or above `threshold` percent now.
    pub(crate) fn at_or_above(&self, threshold: u8, now: u64) -> bool {
        self.current(now) && self.used_percentage >= f64::from(threshold)
    }
}

/// One account's last known usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AccountUsage {
    /// Unix seconds the usage last changed.
    #[serde(default)]
    pub(crate) updated: u64,
    /// The five-hour window, once reported.
    #[serde(default)]
    pub(crate) five_hour: Option<WindowUsage>,
    /// The seven-day window, once reported.
    #[serde(default)]
    pub(crate) seven_day: Option<WindowUsage>,
}

impl AccountUsage {
    /// One window.
    pub(crate) fn window(&self, w: Window) -> Option<&WindowUsage> {
        match w {
            Window::FiveHour => self.five_hour.as_ref(),
            Window::SevenDay => self.seven_day.as_ref(),
        }
    }

    /// One window, to change it.
    pub(crate) fn window_mut(&mut self, w: Window) -> &mut Option<WindowUsage> {
        match w {
            Window::FiveHour => &mut self.five_hour,
            Window::SevenDay => &mut self.seven_day,
        }
    }

    /// Whether either window is at or above `threshold` percent now.
    pub(crate) fn at_or_above(&self, threshold: u8, now: u64) -> bool {
        Window::ALL
            .iter()
            .filter_map(|w| self.window(*w))
            .any(|u| u.at_or_above(threshold, now))
    }

    /// When the seven-day window is used up (100 %) and resets in the
    /// future: the account can do nothing until then.
    pub(crate) fn exhausted_until(&self, now: u64) -> Option<u64> {
        let w = self.seven_day.as_ref()?;
        let until = w.resets_at.filter(|r| *r > now)?;
        (w.used_percentage >= 100.0).then_some(until)
    }
}

/// The whole record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct UsageRecord {
    /// Account → its last known usage.
    #[serde(default)]
    pub(crate) accounts: BTreeMap<String, AccountUsage>,
}

impl UsageRecord {
    /// Reads `<state_dir>/usage.json`; no file is no usage known.
    pub(crate) fn read(state: &StateDir) -> Result<UsageRecord, FsError> {
        StateDir::read_record(&state.usage(), "read the usage", "parse the usage")
            .map(Option::unwrap_or_default)
    }

    /// Reads the record; an unreadable one is empty, with why it was.
    pub(crate) fn read_or_empty(state: &StateDir) -> (UsageRecord, Option<String>) {
        match UsageRecord::read(state) {
            Ok(r) => (r, None),
            Err(e) => (UsageRecord::default(), Some(e.to_string())),
        }
    }

    /// Writes the record atomically (temp + rename + fsync); the caller
    /// holds the [`UsageLock`].
    pub(crate) fn write(&self, state: &StateDir, _lock: &UsageLock) -> Result<(), FsError> {
        state.write_record(&state.usage(), "write the usage", self)
    }
}

/// Holding this means holding `<state_dir>/usage.lock`.
#[derive(Debug)]
pub(crate) struct UsageLock {
    _flock: Flock<File>,
}

/// How often a waiting writer tries again.
const RETRY_EVERY: Duration = Duration::from_millis(5);

impl UsageLock {
    /// Takes the lock, waiting at most `wait`; `Ok(None)` when another
    /// writer held it all that time (the caller skips its write).
    pub(crate) fn try_acquire(
        state: &StateDir,
        wait: Duration,
    ) -> Result<Option<UsageLock>, FsError> {
        state.create()?;
        let ops = ("open the usage lock", "inspect the usage lock");
        let flock = flock_within(&state.usage_lock(), ops, wait, RETRY_EVERY)?;
        Ok(flock.map(|flock| UsageLock { _flock: flock }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn window(pct: f64, resets_at: Option<u64>) -> WindowUsage {
        WindowUsage {
            used_percentage: pct,
            resets_at,
            fired: false,
        }
    }

    #[test]
    fn a_record_round_trips_and_a_busy_lock_is_skipped_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(UsageRecord::read(&state).unwrap(), UsageRecord::default());
        let mut r = UsageRecord::default();
        r.accounts.insert(
            "a".into(),
            AccountUsage {
                updated: 5,
                five_hour: Some(window(42.5, Some(1_795_600_000))),
                seven_day: None,
            },
        );
        let lock = UsageLock::try_acquire(&state, Duration::ZERO)
            .unwrap()
            .unwrap();
        r.write(&state, &lock).unwrap();
        let start = Instant::now();
        let second = UsageLock::try_acquire(&state, Duration::from_millis(30)).unwrap();
        assert!(second.is_none(), "held by the first");
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(lock);
        assert!(UsageLock::try_acquire(&state, Duration::ZERO)
            .unwrap()
            .is_some());
        assert_eq!(UsageRecord::read(&state).unwrap(), r);
    }

    #[test]
    fn garbage_and_huge_files_are_reported_as_no_usage() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(state.usage(), b"{\"accounts\": 7").unwrap();
        let (r, why) = UsageRecord::read_or_empty(&state);
        assert_eq!(r, UsageRecord::default());
        assert!(why.unwrap().contains("parse the usage"));
        std::fs::write(
            state.usage(),
            vec![b' '; (crate::state::RECORD_LIMIT + 10) as usize],
        )
        .unwrap();
        let (r, why) = UsageRecord::read_or_empty(&state);
        assert_eq!(r, UsageRecord::default());
        assert!(why.unwrap().contains("usage.json"));
    }

    #[test]
    fn stale_windows_do_not_count_and_a_used_up_week_is_exhausted() {
        let u = AccountUsage {
            updated: 0,
            five_hour: Some(window(96.0, Some(100))),
            seven_day: Some(window(100.0, Some(1000))),
        };
        assert!(u.at_or_above(95, 50));
        assert!(u.at_or_above(95, 500), "the week still counts");
        assert!(!u.five_hour.as_ref().unwrap().at_or_above(95, 100));
        assert_eq!(u.exhausted_until(500), Some(1000));
        assert_eq!(u.exhausted_until(1000), None);
        let unknown_reset = window(100.0, None);
        assert!(unknown_reset.at_or_above(100, u64::MAX));
    }
}
