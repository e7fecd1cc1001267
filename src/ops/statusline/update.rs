//! What one status update changes in an account's usage record, and
//! whether it crosses `failover.threshold` (the hysteresis).
//!
//! A window is *armed* until its failover fires. It fires when its usage
//! reaches the threshold while armed; it re-arms when the usage drops below
//! the threshold or its reset time passes (a reset window is a new one).
//! So a crossing fires once, however many status updates report it.

use crate::state::usage::{AccountUsage, Window, WindowUsage};

use super::input::Reported;

/// The account's new usage, and the windows whose failover fires now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planned {
    /// The record's new entry for the account.
    pub(crate) entry: AccountUsage,
    /// Windows that crossed the threshold while armed (each fires once).
    pub(crate) fire: Vec<Window>,
}

/// The change `reported` makes to `old` at `now`; `None` when nothing
/// changes (no lock, no write). Windows not reported keep their values.
pub(crate) fn plan(
    old: Option<&AccountUsage>,
    reported: &[(Window, Reported)],
    threshold: Option<u8>,
    now: u64,
) -> Option<Planned> {
    let mut entry = old.cloned().unwrap_or_default();
    let mut fire = Vec::new();
    for (w, r) in reported {
        let was_fired = entry.window(*w).is_some_and(|u| u.fired);
        let mut new = WindowUsage {
            used_percentage: r.used_percentage,
            resets_at: r.resets_at,
            fired: false,
        };
        let high = threshold.is_some_and(|t| new.at_or_above(t, now));
        new.fired = high;
        if high && !was_fired {
            fire.push(*w);
        }
        *entry.window_mut(*w) = Some(new);
    }
    let same =
        old.is_some_and(|o| o.five_hour == entry.five_hour && o.seven_day == entry.seven_day);
    if same {
        return None;
    }
    entry.updated = now;
    Some(Planned { entry, fire })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five(pct: f64, resets_at: u64) -> Vec<(Window, Reported)> {
        vec![(
            Window::FiveHour,
            Reported {
                used_percentage: pct,
                resets_at: Some(resets_at),
            },
        )]
    }

    /// Applies `updates` in turn; how many fired at each.
    fn run(updates: &[(f64, u64, u64)]) -> Vec<usize> {
        let mut entry: Option<AccountUsage> = None;
        updates
            .iter()
            .map(|(pct, resets, now)| {
                match plan(entry.as_ref(), &five(*pct, *resets), Some(95), *now) {
                    Some(p) => {
                        entry = Some(p.entry);
                        p.fire.len()
                    }
                    None => 0,
                }
            })
            .collect()
    }

    #[test]
    fn a_crossing_fires_once_and_rearms_below_the_threshold() {
        assert_eq!(
            run(&[
                (42.0, 1000, 1),
                (95.0, 1000, 2),
                (96.0, 1000, 3),
                (96.0, 1000, 4),
                (99.5, 1000, 5),
                (80.0, 1000, 6),
                (97.0, 1000, 7),
            ]),
            vec![0, 1, 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn a_passed_reset_rearms_and_stale_usage_never_fires() {
        // Reported past its reset time: stale, so no failover, and armed
        // again for the new window.
        assert_eq!(
            run(&[
                (96.0, 1000, 10),
                (96.0, 1000, 1000),
                (96.0, 1000, 1001),
                (96.0, 6000, 1002)
            ]),
            vec![1, 0, 0, 1]
        );
    }

    #[test]
    fn an_unchanged_update_changes_nothing() {
        let first = plan(None, &five(42.0, 1000), Some(95), 1).unwrap();
        assert_eq!(first.entry.updated, 1);
        assert!(plan(Some(&first.entry), &five(42.0, 1000), Some(95), 2).is_none());
        assert!(plan(Some(&first.entry), &[], Some(95), 2).is_none());
        let moved = plan(Some(&first.entry), &five(43.0, 1000), Some(95), 3).unwrap();
        assert_eq!(moved.entry.updated, 3);
        // Without a threshold nothing fires.
        assert!(plan(None, &five(100.0, 1000), None, 1)
            .unwrap()
            .fire
            .is_empty());
    }

    #[test]
    fn a_window_not_reported_keeps_its_values() {
        let mut both = five(10.0, 1000);
        both.push((
            Window::SevenDay,
            Reported {
                used_percentage: 13.0,
                resets_at: Some(9000),
            },
        ));
        let first = plan(None, &both, Some(95), 1).unwrap().entry;
        let next = plan(Some(&first), &five(11.0, 1000), Some(95), 2)
            .unwrap()
            .entry;
        assert_eq!(next.seven_day, first.seven_day);
    }
}
