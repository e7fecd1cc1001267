//! The `failover:` section: the accounts' preference order, how long a
//! limit without a known reset time lasts, the settle window, and the
//! statusline's usage threshold.

use std::collections::HashSet;

use super::checker::Checker;
use super::duration;
use super::error::ConfigError;
use super::model::{FailoverConfig, DEFAULT_COOLDOWN, DEFAULT_SETTLE};
use super::raw::RawFailover;

/// The checked section; `file_order` is the order of `accounts:` in the
/// file (the default order).
pub(super) fn check(
    checker: &Checker,
    raw: RawFailover,
    file_order: &[String],
) -> Result<FailoverConfig, ConfigError> {
    let order = match raw.order {
        None => file_order.to_vec(),
        Some(names) => order(checker, names, file_order)?,
    };
    let cooldown = match raw.cooldown {
        None => DEFAULT_COOLDOWN,
        Some(s) => checker.duration(&["failover", "cooldown"], &s, duration::COOLDOWN)?,
    };
    let settle = match raw.settle {
        None => DEFAULT_SETTLE,
        Some(s) => checker.duration(&["failover", "settle"], &s, duration::SETTLE)?,
    };
    let threshold = match raw.threshold {
        None => None,
        Some(t @ 1..=100) => Some(t as u8),
        Some(t) => {
            return Err(checker.invalid(
                &["failover", "threshold"],
                format!("{t} is out of range: give a usage percent between 1 and 100"),
            ))
        }
    };
    Ok(FailoverConfig {
        order,
        cooldown,
        settle,
        threshold,
    })
}

/// Every name a configured account, none twice, all of them listed.
fn order(
    checker: &Checker,
    order: Vec<String>,
    accounts: &[String],
) -> Result<Vec<String>, ConfigError> {
    let key = ["failover", "order"];
    let known: HashSet<&str> = accounts.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    for (i, name) in order.iter().enumerate() {
        if !known.contains(name.as_str()) {
            return Err(checker.invalid(
                &key,
                format!(
                    "entry {} {name:?} is not a configured account (accounts: {})",
                    i + 1,
                    accounts.join(", ")
                ),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(checker.invalid(&key, format!("entry {} {name:?} is listed twice", i + 1)));
        }
    }
    let missing: Vec<&str> = accounts
        .iter()
        .map(String::as_str)
        .filter(|a| !seen.contains(a))
        .collect();
    if !missing.is_empty() {
        return Err(checker.invalid(
            &key,
            format!(
                "every account must be listed once; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::model::{Config, DEFAULT_COOLDOWN, DEFAULT_SETTLE};

    const GOOD: &str = "\
accounts:
  c: /h/c
  a: /h/a
  b: /h/b
active_link: /h/active
shared_dir: /h/shared
state_dir: /var/lib/homeswap
";

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(Path::new("/etc/h.yaml"), &format!("{GOOD}{extra}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_default_order_is_the_order_of_accounts_in_the_file() {
        let c = parse("").unwrap();
        assert_eq!(c.failover.order, ["c", "a", "b"]);
        assert_eq!(c.failover.cooldown, DEFAULT_COOLDOWN);
        assert_eq!(c.failover.settle, DEFAULT_SETTLE);
        assert_eq!(c.failover.threshold, None);
    }

    #[test]
    fn a_full_section_is_read() {
        let c =
            parse("failover:\n  order: [b, c, a]\n  cooldown: 2h\n  settle: 0s\n  threshold: 95\n")
                .unwrap();
        assert_eq!(c.failover.order, ["b", "c", "a"]);
        assert_eq!(c.failover.cooldown, Duration::from_secs(7200));
        assert_eq!(c.failover.settle, Duration::ZERO);
        assert_eq!(c.failover.threshold, Some(95));
    }

    #[test]
    fn bad_orders_name_the_entry_and_the_line() {
        let e = parse("failover:\n  order: [a, x, b, c]\n").unwrap_err();
        assert!(
            e.contains("failover.order: entry 2 \"x\" is not a configured account"),
            "{e}"
        );
        assert!(e.contains("line 9"), "{e}");
        let e = parse("failover:\n  order: [a, b, a, c]\n").unwrap_err();
        assert!(e.contains("entry 3 \"a\" is listed twice"), "{e}");
        let e = parse("failover:\n  order: [a, b]\n").unwrap_err();
        assert!(e.contains("missing: c"), "{e}");
    }

    #[test]
    fn bad_durations_thresholds_and_keys_are_refused() {
        for (extra, want) in [
            (
                "failover:\n  cooldown: 30s\n",
                "failover.cooldown: 30s is out of range",
            ),
            ("failover:\n  cooldown: 8d\n", "failover.cooldown"),
            (
                "failover:\n  settle: 2h\n",
                "failover.settle: 2h is out of range",
            ),
            (
                "failover:\n  settle: soon\n",
                "failover.settle: bad duration",
            ),
            (
                "failover:\n  threshold: 0\n",
                "failover.threshold: 0 is out of range",
            ),
            (
                "failover:\n  threshold: 101\n",
                "failover.threshold: 101 is out of range",
            ),
            ("failover:\n  treshold: 9\n", "treshold"),
        ] {
            let e = parse(extra).unwrap_err();
            assert!(e.contains(want), "{extra}: {e}");
        }
    }
}
