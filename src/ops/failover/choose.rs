//! Step 4 of a failover: the next account after the active one in
//! `failover.order` (wrapping) that can take over, or why none can.
//!
//! Usage (the statusline's record) counts twice: an account whose
//! seven-day window is used up (100 %) with a reset in the future is
//! limited until then, and an account whose last known usage is at or
//! above `failover.threshold` (either window) is taken only when no other
//! eligible account is below it: the first such one in the order then.

use std::borrow::Cow;

use crate::config::Config;
use crate::links::ensure_account;
use crate::ops::failover::fleet::FleetChoice;
use crate::state::limits::{rfc3339, LimitsRecord};
use crate::state::usage::{AccountUsage, UsageRecord};

/// The account to fail over to, or one line per account saying why it
/// was skipped (the `exhausted` answer). `fleet` adds what other
/// instances reported: their limits, and usage fresher than `usage`'s.
pub(super) fn next_account(
    config: &Config,
    limits: &LimitsRecord,
    usage: &UsageRecord,
    fleet: &FleetChoice,
    active: Option<&str>,
    now: u64,
) -> Result<String, Vec<String>> {
    let order = &config.failover.order;
    // With no configured account active, the first in the order comes first.
    let start = active
        .and_then(|a| order.iter().position(|o| o == a))
        .map_or(0, |i| i + 1);
    let mut skipped = Vec::new();
    // The first eligible account at or above the threshold: the fallback.
    let mut high: Option<String> = None;
    for i in 0..order.len() {
        let name = &order[(start + i) % order.len()];
        if Some(name.as_str()) == active {
            skipped.push(format!("account {name}: it is the active account"));
            continue;
        }
        let known = match eligible(config, limits, usage, fleet, name, now) {
            Ok(known) => known,
            Err(why) => {
                skipped.push(why);
                continue;
            }
        };
        if let Some(t) = config
            .failover
            .threshold
            .filter(|t| known.as_deref().is_some_and(|u| u.at_or_above(*t, now)))
        {
            skipped.push(format!(
                "account {name}: its usage is at or above failover.threshold ({t}%){}",
                fleet.usage_source(name, usage)
            ));
            high.get_or_insert_with(|| name.clone());
            continue;
        }
        return Ok(name.clone());
    }
    high.ok_or(skipped)
}

/// Whether `name` can take over: its last known usage (the freshest
/// anywhere, for the threshold rule) when it can, else the line saying
/// why not. Cheapest first: the limits (here, then in the fleet) before
/// the usage and the links.
fn eligible<'u>(
    config: &Config,
    limits: &LimitsRecord,
    usage: &'u UsageRecord,
    fleet: &FleetChoice,
    name: &str,
    now: u64,
) -> Result<Option<Cow<'u, AccountUsage>>, String> {
    if let Some(l) = limits.limited(name, now) {
        return Err(format!(
            "account {name}: limited ({}) until {}",
            l.reason.as_str(),
            rfc3339(l.until)
        ));
    }
    if let Some(line) = fleet.limited_line(name, now) {
        return Err(line);
    }
    let known = fleet.usage(name, usage);
    if let Some(until) = known.as_deref().and_then(|u| u.exhausted_until(now)) {
        return Err(format!(
            "account {name}: limited (its seven-day usage is at 100%{}) until {}",
            fleet.usage_source(name, usage),
            rfc3339(until)
        ));
    }
    let Some(home) = config.home(name) else {
        // Not reached: the order holds configured accounts only (config check).
        return Err(format!("account {name}: not configured"));
    };
    let plan = ensure_account(name, home, &config.shared, true);
    if !plan.is_ok() {
        return Err(format!(
            "account {name}: its links cannot be made ok: {}",
            plan.problems().join("; ")
        ));
    }
    Ok(known)
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
        assert_eq!(
            next_account(&c, &none, &u, &FleetChoice::default(), Some("a"), NOW).unwrap(),
            "c"
        );
        // The seven-day window counts as well.
        let u = usage(&[("b", used(10.0, 90.0, NOW + 9000))]);
        assert_eq!(
            next_account(&c, &none, &u, &FleetChoice::default(), Some("a"), NOW).unwrap(),
            "c"
        );
        // Without a threshold, usage does not reorder.
        let plain = config(dir.path(), "");
        assert_eq!(
            next_account(&plain, &none, &u, &FleetChoice::default(), Some("a"), NOW).unwrap(),
            "b"
        );
        // A reset window's usage is stale: b is below again.
        let mut stale = used(99.0, 10.0, NOW + 9000);
        stale.five_hour.as_mut().unwrap().resets_at = Some(NOW - 1);
        let u = usage(&[("b", stale)]);
        assert_eq!(
            next_account(&c, &none, &u, &FleetChoice::default(), Some("a"), NOW).unwrap(),
            "b"
        );
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
        assert_eq!(
            next_account(&c, &none, &u, &FleetChoice::default(), Some("a"), NOW).unwrap(),
            "b"
        );
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
        assert_eq!(
            next_account(&c, &limits, &u, &FleetChoice::default(), Some("a"), NOW).unwrap(),
            "c"
        );
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
        let skipped =
            next_account(&c, &none, &u, &FleetChoice::default(), Some("a"), NOW).unwrap_err();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(
            skipped[0].contains(
                "account b: limited (its seven-day usage is at 100%) until 2027-01-15T10:30:00Z"
            ),
            "{skipped:?}"
        );
        // Once the week has reset, b is eligible again.
        assert_eq!(
            next_account(
                &c,
                &none,
                &u,
                &FleetChoice::default(),
                Some("a"),
                NOW + 9000
            )
            .unwrap(),
            "b"
        );
    }
}
