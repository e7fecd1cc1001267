//! Durations in the configuration, each within bounds: a duration that is
//! accepted must be usable everywhere later (added to an `Instant`,
//! multiplied, slept on) without overflowing. `serve.interval` is the first;
//! `failover.cooldown` and `failover.settle` have their own [`Bounds`].

use std::time::Duration;

/// The range a configured duration must fall in, both ends included.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    /// The shortest accepted duration.
    pub(crate) min: Duration,
    /// The longest accepted duration.
    pub(crate) max: Duration,
}

/// `serve.interval`: at least a second (a tighter loop only burns CPU; file
/// notifications already report changes within a second), at most a day.
pub(super) const INTERVAL: Bounds = Bounds {
    min: Duration::from_secs(1),
    max: Duration::from_secs(24 * 3600),
};

/// `failover.cooldown`: at least a minute, at most a week (Claude Code's
/// longest window is seven days).
pub(super) const COOLDOWN: Bounds = Bounds {
    min: Duration::from_secs(60),
    max: Duration::from_secs(7 * 24 * 3600),
};

/// `failover.settle`: 0s (every failover without `from` counts) to an hour.
pub(super) const SETTLE: Bounds = Bounds {
    min: Duration::ZERO,
    max: Duration::from_secs(3600),
};

impl Bounds {
    /// Parses a humantime duration (`30s`, `5m`, `1h 30m`) and checks it;
    /// the error says what was wrong and what would be accepted.
    pub(super) fn parse(&self, text: &str) -> Result<Duration, String> {
        let range = format!("between {} and {}", show(self.min), show(self.max));
        let d = humantime::parse_duration(text).map_err(|e| {
            format!("bad duration {text:?}: {e} (give a duration {range}, e.g. 30s or 5m)")
        })?;
        if d < self.min || d > self.max {
            return Err(format!("{text} is out of range: give a duration {range}"));
        }
        Ok(d)
    }
}

/// A bound as an operator writes it: `24h`, not humantime's `1day`.
fn show(d: Duration) -> String {
    let s = d.as_secs();
    match (s, d.subsec_nanos()) {
        (0, _) | (_, 1..) => format!("{}ms", d.as_millis()),
        (s, 0) if s % 3600 == 0 => format!("{}h", s / 3600),
        (s, 0) if s % 60 == 0 => format!("{}m", s / 60),
        (s, _) => format!("{s}s"),
    }
}

/// A duration in a message: humantime's format (`5h`, `1m 30s`), with a
/// space before a long unit, which humantime glues on (`8days` is shown
/// `8 days`, `1day 2h` is `1 day 2h`).
pub(crate) fn human(d: Duration) -> String {
    humantime::format_duration(d)
        .to_string()
        .split(' ')
        .map(|token| {
            let unit = token.trim_start_matches(|c: char| c.is_ascii_digit());
            let long = matches!(unit, "day" | "days" | "month" | "months" | "year" | "years");
            match long && unit.len() < token.len() {
                true => format!("{} {unit}", &token[..token.len() - unit.len()]),
                false => token.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_unit_is_set_apart_and_a_short_one_is_not() {
        let h = |s: u64| human(Duration::from_secs(s));
        assert_eq!(h(8 * 86_400), "8 days");
        assert_eq!(h(86_400 + 7_200), "1 day 2h");
        assert_eq!(h(5 * 3600), "5h");
        assert_eq!(h(303), "5m 3s");
        assert_eq!(h(0), "0s");
    }

    #[test]
    fn the_interval_bounds_are_inclusive_and_overflow_is_an_error() {
        assert_eq!(INTERVAL.parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(INTERVAL.parse("24h"), Ok(Duration::from_secs(86_400)));
        for bad in [
            "999ms",
            "24h 1s",
            "18000000000000000000s",
            "99999999999999999999999h",
        ] {
            let e = INTERVAL.parse(bad).unwrap_err();
            assert!(e.contains("between 1s and 24h"), "{bad}: {e}");
        }
    }
}
