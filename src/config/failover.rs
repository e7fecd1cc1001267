//! The `failover:` section: the accounts' preference order, how long a
//! limit without a known reset time lasts, the settle window, and the
//! statusline's usage threshold (one for all, and each account's own).

use std::collections::{BTreeMap, HashSet};

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
        Some(t) => Some(percent(checker, &["failover", "threshold"], t)?),
    };
    let thresholds = thresholds(checker, raw.thresholds.unwrap_or_default(), file_order)?;
    Ok(FailoverConfig {
        order,
        cooldown,
        settle,
        threshold,
        thresholds,
    })
}

/// A usage percent at `key`: 1..=100.
fn percent(checker: &Checker, key: &[&str], t: u64) -> Result<u8, ConfigError> {
    match u8::try_from(t) {
        Ok(p @ 1..=100) => Ok(p),
        _ => Err(checker.invalid(
            key,
            format!("{t} is out of range: give a usage percent between 1 and 100"),
        )),
    }
}

/// `failover.thresholds`: each name a configured account, each value a
/// usage percent.
fn thresholds(
    checker: &Checker,
    raw: BTreeMap<String, u64>,
    accounts: &[String],
) -> Result<BTreeMap<String, u8>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, t) in raw {
        let key = ["failover", "thresholds", name.as_str()];
        if !accounts.contains(&name) {
            return Err(checker.invalid(
                &key,
                format!(
                    "{name:?} is not a configured account (accounts: {})",
                    accounts.join(", ")
                ),
            ));
        }
        let p = percent(checker, &key, t)?;
        out.insert(name, p);
    }
    Ok(out)
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
    fn each_account_may_have_its_own_threshold_over_the_common_one() {
        let c = parse("failover:\n  threshold: 95\n  thresholds: {b: 80, c: 100}\n").unwrap();
        assert_eq!(c.failover.threshold_for("a"), Some(95));
        assert_eq!(c.failover.threshold_for("b"), Some(80));
        assert_eq!(c.failover.threshold_for("c"), Some(100));
        let c = parse("failover:\n  thresholds:\n    b: 80\n").unwrap();
        assert_eq!(c.failover.threshold_for("a"), None);
        assert_eq!(c.failover.threshold_for("b"), Some(80));
    }

    #[test]
    fn a_threshold_of_an_unknown_account_or_out_of_range_is_refused_at_its_line() {
        let e = parse("failover:\n  thresholds:\n    x: 80\n").unwrap_err();
        assert!(
            e.contains("failover.thresholds.x: \"x\" is not a configured account (accounts: c, a, b) (line 10, column 5)"),
            "{e}"
        );
        for bad in ["0", "101", "300"] {
            let e = parse(&format!("failover:\n  thresholds:\n    b: {bad}\n")).unwrap_err();
            assert!(
                e.contains(&format!("failover.thresholds.b: {bad} is out of range")),
                "{e}"
            );
        }
        let e = parse("failover:\n  thresholds: {b: 80, b: 90}\n").unwrap_err();
        assert!(e.contains("duplicate key"), "{e}");
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
