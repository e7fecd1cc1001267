//! Step 4 of a failover: the next account after the active one in
//! `failover.order` (wrapping) that can take over, or why none can.
//!
//! An account held out by `account disable` is never chosen. Usage (the
//! statusline's record) counts twice: an account whose seven-day window
//! is used up (100 %) with a reset in the future is limited until then,
//! and an account whose last known usage is at or above its threshold
//! (`failover.thresholds`, else `failover.threshold`; either window) is
//! taken only when no other eligible account is below its own: the first
//! such one in the order then.
//!
//! With `fleet`, what other instances reported counts too (`fleet`): an
//! account limited on any of them is skipped, and its usage is the
//! freshest report anywhere.

use crate::config::Config;
use crate::fs::pathfmt::one_line;
use crate::links::ensure_account;
use crate::ops::failover::fleet::FleetChoice;
use crate::state::disabled::DisabledRecord;
use crate::state::limits::{rfc3339, LimitsRecord};
use crate::state::usage::UsageRecord;

/// What the choice knows of the accounts besides the configuration.
pub(super) struct Known<'a> {
    /// Their limits.
    pub(super) limits: &'a LimitsRecord,
    /// Their last usage.
    pub(super) usage: &'a UsageRecord,
    /// Those held out of failover.
    pub(super) disabled: &'a DisabledRecord,
    /// What other instances reported (nothing without `fleet`).
    pub(super) fleet: &'a FleetChoice,
}

/// The account to fail over to, or one line per account saying why it
/// was skipped (the `exhausted` answer).
pub(super) fn next_account(
    config: &Config,
    known: &Known,
    active: Option<&str>,
    now: u64,
) -> Result<String, Vec<String>> {
    let order = &config.failover.order;
    // With no configured account active, the first in the order comes first.
    let start = active
        .and_then(|a| order.iter().position(|o| o == a))
        .map_or(0, |i| i + 1);
    let mut skipped = Vec::new();
    // The first eligible account at or above its threshold: the fallback.
    let mut high: Option<String> = None;
    for i in 0..order.len() {
        let name = &order[(start + i) % order.len()];
        match verdict(config, known, name, active, now) {
            Verdict::Take => return Ok(name.clone()),
            Verdict::High(why) => {
                skipped.push(why);
                high.get_or_insert_with(|| name.clone());
            }
            Verdict::Skip(why) => skipped.push(why),
        }
    }
    high.ok_or(skipped)
}

/// What the choice makes of one account.
enum Verdict {
    /// Take it.
    Take,
    /// Eligible, but at or above its threshold: only if no other is below.
    High(String),
    /// Never (this time), and why.
    Skip(String),
}

/// Whether `name` can take over, in the order of the contract's step 4.
fn verdict(config: &Config, known: &Known, name: &str, active: Option<&str>, now: u64) -> Verdict {
    if Some(name) == active {
        return Verdict::Skip(format!("account {name}: it is the active account"));
    }
    if let Some(d) = known.disabled.get(name) {
        let why = d.reason.as_deref().map(one_line).map(|r| format!(" ({r})"));
        return Verdict::Skip(format!(
            "account {name}: disabled since {}{} ('homeswap account enable {name}' lets failover choose it)",
            rfc3339(d.since),
            why.unwrap_or_default()
        ));
    }
    if let Some(l) = known.limits.limited(name, now) {
        return Verdict::Skip(format!(
            "account {name}: limited ({}) until {}",
            l.reason.as_str(),
            rfc3339(l.until)
        ));
    }
    if let Some(line) = known.fleet.limited_line(name, now) {
        return Verdict::Skip(line);
    }
    let reported = known.fleet.usage(name, known.usage);
    let reported = reported.as_deref();
    if let Some(until) = reported.and_then(|u| u.exhausted_until(now)) {
        return Verdict::Skip(format!(
            "account {name}: limited (its seven-day usage is at 100%{}) until {}",
            known.fleet.usage_source(name, known.usage),
            rfc3339(until)
        ));
    }
    let Some(home) = config.home(name) else {
        // The order holds configured accounts only (config check).
        return Verdict::Skip(format!("account {name}: not configured"));
    };
    let plan = ensure_account(name, home, &config.shared, true);
    if !plan.is_ok() {
        return Verdict::Skip(format!(
            "account {name}: its links cannot be made ok: {}",
            plan.problems().join("; ")
        ));
    }
    let threshold = config.failover.threshold_for(name);
    match threshold.filter(|t| reported.is_some_and(|u| u.at_or_above(*t, now))) {
        Some(t) => {
            let which = match config.failover.thresholds.contains_key(name) {
                true => "its own threshold (failover.thresholds)",
                false => "failover.threshold",
            };
            Verdict::High(format!(
                "account {name}: its usage is at or above {which} ({t}%){}",
                known.fleet.usage_source(name, known.usage)
            ))
        }
        None => Verdict::Take,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::limits::{AccountLimit, LimitReason, UntilSource};
    use crate::state::usage::{AccountUsage, WindowUsage};
    use std::path::Path;

    const NOW: u64 = 1_800_000_000;

    /// Three accounts a, b, c whose homes exist (their links can be made ok).
    fn config(dir: &Path, threshold: &str) -> Config {
        for h in ["a", "b", "c"] {
            std::fs::create_dir_all(dir.join(h)).unwrap();
        }
        let d = dir.display();
        Config::parse(
            &dir.join("homeswap.yaml"),
            &format!(
                "accounts:\n  a: {d}/a\n  b: {d}/b\n  c: {d}/c\nactive_link: {d}/active\nshared_dir: {d}/shared\nstate_dir: {d}/state\n{threshold}"
            ),
        )
        .unwrap()
    }

    fn used(five: f64, seven: f64, seven_resets: u64) -> AccountUsage {
        AccountUsage {
            updated: NOW,
            five_hour: Some(WindowUsage {
                used_percentage: five,
                resets_at: Some(NOW + 3600),
                fired: false,
            }),
            seven_day: Some(WindowUsage {
                used_percentage: seven,
                resets_at: Some(seven_resets),
                fired: false,
            }),
        }
    }

    /// The choice with nothing disabled.
    fn next(
        c: &Config,
        limits: &LimitsRecord,
        usage: &UsageRecord,
        active: Option<&str>,
        now: u64,
    ) -> Result<String, Vec<String>> {
        let disabled = DisabledRecord::default();
        let fleet = FleetChoice::default();
        let known = Known {
            limits,
            usage,
            disabled: &disabled,
            fleet: &fleet,
        };
        next_account(c, &known, active, now)
    }

    fn usage(entries: &[(&str, AccountUsage)]) -> UsageRecord {
        UsageRecord {
            accounts: entries
                .iter()
                .map(|(a, u)| (a.to_string(), u.clone()))
                .collect(),
        }
    }

    #[test]
    fn an_account_at_the_threshold_is_passed_over_for_one_below() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "failover:\n  threshold: 90\n");
        let u = usage(&[("b", used(91.0, 10.0, NOW + 9000))]);
        let none = LimitsRecord::default();
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "c");
        // The seven-day window counts as well.
        let u = usage(&[("b", used(10.0, 90.0, NOW + 9000))]);
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "c");
        // Without a threshold, usage does not reorder.
        let plain = config(dir.path(), "");
        assert_eq!(next(&plain, &none, &u, Some("a"), NOW).unwrap(), "b");
        // A reset window's usage is stale: b is below again.
        let mut stale = used(99.0, 10.0, NOW + 9000);
        stale.five_hour.as_mut().unwrap().resets_at = Some(NOW - 1);
        let u = usage(&[("b", stale)]);
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "b");
    }

    #[test]
    fn with_every_other_account_high_the_first_high_one_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "failover:\n  threshold: 90\n");
        let u = usage(&[
            ("b", used(95.0, 10.0, NOW + 9000)),
            ("c", used(99.0, 10.0, NOW + 9000)),
        ]);
        let none = LimitsRecord::default();
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "b");
        // A limited account is still never taken, high or not.
        let mut limits = LimitsRecord::default();
        limits.record(
            "b",
            AccountLimit {
                reason: LimitReason::Usage,
                since: NOW,
                until: NOW + 60,
                source: UntilSource::Given,
            },
        );
        assert_eq!(next(&c, &limits, &u, Some("a"), NOW).unwrap(), "c");
    }

    #[test]
    fn a_disabled_account_is_never_chosen_not_even_as_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "");
        let mut disabled = DisabledRecord::default();
        disabled.accounts.insert(
            "b".into(),
            crate::state::disabled::Disabled {
                since: NOW - 60,
                reason: Some("card expired".into()),
            },
        );
        let (none, no_usage) = (LimitsRecord::default(), UsageRecord::default());
        let known = Known {
            limits: &none,
            usage: &no_usage,
            disabled: &disabled,
            fleet: &FleetChoice::default(),
        };
        assert_eq!(next_account(&c, &known, Some("a"), NOW).unwrap(), "c");
        // With c active, the order wraps past b to a.
        assert_eq!(next_account(&c, &known, Some("c"), NOW).unwrap(), "a");
        disabled.accounts.insert(
            "c".into(),
            crate::state::disabled::Disabled {
                since: NOW,
                reason: None,
            },
        );
        let known = Known {
            limits: &none,
            usage: &no_usage,
            disabled: &disabled,
            fleet: &FleetChoice::default(),
        };
        let skipped = next_account(&c, &known, Some("a"), NOW).unwrap_err();
        assert!(
            skipped[0].starts_with("account b: disabled since 2027-01-15T07:59:00Z (card expired)"),
            "{skipped:?}"
        );
        assert!(
            skipped[1].starts_with("account c: disabled since"),
            "{skipped:?}"
        );
    }

    #[test]
    fn each_account_is_measured_against_its_own_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(
            dir.path(),
            "failover:\n  threshold: 95\n  thresholds: {b: 80}\n",
        );
        let none = LimitsRecord::default();
        // b at 85%: over its own 80, under the common 95: passed over for c.
        let u = usage(&[
            ("b", used(85.0, 10.0, NOW + 9000)),
            ("c", used(90.0, 10.0, NOW + 9000)),
        ]);
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "c");
        // c at 96%: over the common one too; b is the first high one.
        let u = usage(&[
            ("b", used(85.0, 10.0, NOW + 9000)),
            ("c", used(96.0, 10.0, NOW + 9000)),
        ]);
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "b");
        // b under its own: taken.
        let u = usage(&[("b", used(79.0, 10.0, NOW + 9000))]);
        assert_eq!(next(&c, &none, &u, Some("a"), NOW).unwrap(), "b");
    }

    #[test]
    fn a_used_up_week_is_limited_until_its_reset() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "");
        let u = usage(&[
            ("b", used(0.0, 100.0, NOW + 9000)),
            ("c", used(0.0, 100.0, NOW + 9000)),
        ]);
        let none = LimitsRecord::default();
        let skipped = next(&c, &none, &u, Some("a"), NOW).unwrap_err();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(
            skipped[0].contains(
                "account b: limited (its seven-day usage is at 100%) until 2027-01-15T10:30:00Z"
            ),
            "{skipped:?}"
        );
        // Once the week has reset, b is eligible again.
        assert_eq!(next(&c, &none, &u, Some("a"), NOW + 9000).unwrap(), "b");
    }
}
