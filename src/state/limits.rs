//! The accounts' limits: which account hit its usage limit, why, since
//! when and until when, and the last swap a failover made (for the settle
//! rule). One record, `<state_dir>/limits.json`, written atomically under
//! the state lock, so it survives restarts and a crash never leaves half
//! of it.
//!
//! An account is limited while now is before its `until`; an expired
//! entry is not a limit (and is dropped at the next write). A file that
//! cannot be read or parsed is reported by whoever reads it and counts as
//! "no known limits": it never panics and never touches the latch.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fs::error::FsError;
use crate::state::StateDir;

/// Why an account is limited (the `reason` label of the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LimitReason {
    /// Claude Code's usage limit (`StopFailure` `rate_limit`).
    RateLimit,
    /// The credential was refused or the billing failed.
    Auth,
    /// The statusline's usage crossed `failover.threshold`.
    Usage,
    /// An operator asked for it.
    Manual,
}

impl LimitReason {
    /// Every reason, in the contract's order (the metric's label values).
    pub(crate) const ALL: [LimitReason; 4] = [
        LimitReason::RateLimit,
        LimitReason::Auth,
        LimitReason::Usage,
        LimitReason::Manual,
    ];

    /// The contract's name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            LimitReason::RateLimit => "rate_limit",
            LimitReason::Auth => "auth",
            LimitReason::Usage => "usage",
            LimitReason::Manual => "manual",
        }
    }

    /// The reason named `s`, if it is one.
    pub(crate) fn parse(s: &str) -> Option<LimitReason> {
        LimitReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Where a limit's end came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UntilSource {
    /// Given by the caller (`--until`, the API's `until`).
    Given,
    /// Read from Claude Code's message (`resets 9:46am (UTC)`).
    Message,
    /// No usable reset time: `failover.cooldown` from the limit on.
    Cooldown,
}

impl UntilSource {
    /// The name used in JSON and messages.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            UntilSource::Given => "given",
            UntilSource::Message => "message",
            UntilSource::Cooldown => "cooldown",
        }
    }
}

/// One account's limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountLimit {
    /// Why.
    pub(crate) reason: LimitReason,
    /// Unix seconds the limit was first reported.
    pub(crate) since: u64,
    /// Unix seconds it ends.
    pub(crate) until: u64,
    /// Where `until` came from.
    pub(crate) source: UntilSource,
}

/// The last swap a failover made: a failover naming no `from` within
/// `failover.settle` of it is the same event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LastFailover {
    /// Unix seconds of the swap.
    pub(crate) time: u64,
    /// The account failed over from.
    pub(crate) from: Option<String>,
    /// The account failed over to.
    pub(crate) to: String,
}

/// The whole record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LimitsRecord {
    /// Account → its limit (expired ones may linger until the next write).
    #[serde(default)]
    pub(crate) accounts: BTreeMap<String, AccountLimit>,
    /// The last swap by failover.
    #[serde(default)]
    pub(crate) last_failover: Option<LastFailover>,
}

impl LimitsRecord {
    /// Reads `<state_dir>/limits.json`; no file is no limits.
    pub(crate) fn read(state: &StateDir) -> Result<LimitsRecord, FsError> {
        StateDir::read_record(&state.limits(), "read the limits", "parse the limits")
            .map(Option::unwrap_or_default)
    }

    /// Reads the record; an unreadable one is empty, with why it was.
    pub(crate) fn read_or_empty(state: &StateDir) -> (LimitsRecord, Option<String>) {
        match LimitsRecord::read(state) {
            Ok(r) => (r, None),
            Err(e) => (LimitsRecord::default(), Some(e.to_string())),
        }
    }

    /// Writes the record atomically, without the limits expired at `now`.
    pub(crate) fn write(&mut self, state: &StateDir, now: u64) -> Result<(), FsError> {
        self.accounts.retain(|_, l| l.until > now);
        state.write_record(&state.limits(), "write the limits", self)
    }

    /// `account`'s limit if it holds at `now`.
    pub(crate) fn limited(&self, account: &str, now: u64) -> Option<&AccountLimit> {
        self.accounts.get(account).filter(|l| l.until > now)
    }

    /// Records a limit of `account`. A limit that already holds keeps its
    /// `since`; the new end replaces the old one.
    pub(crate) fn record(&mut self, account: &str, mut limit: AccountLimit) {
        if let Some(old) = self.limited(account, limit.since) {
            limit.since = old.since;
        }
        self.accounts.insert(account.to_string(), limit);
    }

    /// Ends `account`'s limit; true if it had one that held at `now`.
    pub(crate) fn clear(&mut self, account: &str, now: u64) -> bool {
        self.accounts.remove(account).is_some_and(|l| l.until > now)
    }
}

/// The current Unix time in seconds (0 for a clock before 1970).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The last second RFC 3339's four-digit year can spell,
/// 9999-12-31T23:59:59Z.
pub(crate) const LAST_RFC3339_SECOND: u64 = 253_402_300_799;

/// Unix seconds as RFC 3339 (UTC). A time past the year 9999 (only a
/// corrupt or hand-edited file holds one) is shown as the last second of
/// 9999 rather than panicking the formatter.
pub(crate) fn rfc3339(secs: u64) -> String {
    let secs = secs.min(LAST_RFC3339_SECOND);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(since: u64, until: u64) -> AccountLimit {
        AccountLimit {
            reason: LimitReason::RateLimit,
            since,
            until,
            source: UntilSource::Message,
        }
    }

    #[test]
    fn a_limit_holds_until_its_end_and_survives_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let mut r = LimitsRecord::read(&state).unwrap();
        assert_eq!(r, LimitsRecord::default());
        r.record("a", limit(100, 200));
        r.record("b", limit(100, 150));
        r.write(&state, 120).unwrap();
        let back = LimitsRecord::read(&state).unwrap();
        assert!(back.limited("a", 199).is_some());
        assert!(back.limited("a", 200).is_none());
        assert!(back.limited("b", 160).is_none());
        let mut back = back;
        back.write(&state, 160).unwrap();
        assert!(!LimitsRecord::read(&state)
            .unwrap()
            .accounts
            .contains_key("b"));
    }

    #[test]
    fn a_repeated_limit_keeps_its_start() {
        let mut r = LimitsRecord::default();
        r.record("a", limit(100, 200));
        r.record("a", limit(150, 300));
        assert_eq!(r.accounts["a"], limit(100, 300));
    }

    #[test]
    fn an_unreadable_file_is_reported_as_no_limits() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(state.limits(), b"{not json").unwrap();
        let (r, why) = LimitsRecord::read_or_empty(&state);
        assert_eq!(r, LimitsRecord::default());
        let why = why.unwrap();
        assert!(
            why.contains("parse the limits") && why.contains("limits.json"),
            "{why}"
        );
    }

    #[test]
    fn a_time_past_the_year_9999_is_shown_without_a_panic() {
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(LAST_RFC3339_SECOND + 1), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn reasons_round_trip_their_names() {
        for r in LimitReason::ALL {
            assert_eq!(LimitReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(LimitReason::parse("nope"), None);
    }
}
