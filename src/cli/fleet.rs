//! The fleet view's lines in `status` and `limits`: whether it is used
//! (and why not), then every limit and usage report seen on another
//! instance, naming it.

use crate::ops::fleet::FleetStatus;
use crate::ops::usage::UsageWindowView;

/// The lines for `f`, each to be printed after `prefix`.
pub(crate) fn fleet_lines(f: &FleetStatus) -> Vec<String> {
    let mut lines = Vec::new();
    let source = format!("{} {}", f.prometheus, f.selector);
    match (&f.reason, f.age_seconds) {
        (Some(why), _) => lines.push(format!(
            "{source}: NOT USED: {why}; failovers go by this host's knowledge alone"
        )),
        (None, Some(age)) => lines.push(format!(
            "{source}: view {age} s old (used; fleet.max_age {} s)",
            f.max_age_seconds
        )),
        (None, None) => lines.push(format!("{source}: used")),
    }
    if let (None, Some(e)) = (&f.reason, &f.last_error) {
        lines.push(format!(
            "last refresh at {} failed ({}): {}",
            e.at, e.outcome, e.message
        ));
    }
    for w in &f.warnings {
        lines.push(format!("Prometheus warned: {w}"));
    }
    if f.dropped > 0 {
        lines.push(format!(
            "{} series ignored at the last refresh (NaN, out of range or badly labelled)",
            f.dropped
        ));
    }
    for l in &f.limits {
        for i in &l.instances {
            lines.push(format!(
                "{:<12} limited on {} until {}",
                l.account, i.instance, i.until
            ));
        }
        if l.limited_on > l.instances.len() {
            lines.push(format!(
                "{:<12} limited on {} instances in all",
                l.account, l.limited_on
            ));
        }
    }
    for u in &f.usage {
        let mut parts: Vec<String> = [("5h", &u.five_hour), ("7d", &u.seven_day)]
            .into_iter()
            .filter_map(|(name, w)| w.as_ref().map(|w| window(name, w)))
            .collect();
        parts.push(format!("reported on {} at {}", u.instance, u.updated));
        lines.push(format!("{:<12} usage {}", u.account, parts.join(" · ")));
    }
    lines
}

fn window(name: &str, w: &UsageWindowView) -> String {
    format!(
        "{name} {:.0}% (resets {})",
        w.used_percentage,
        w.resets_at.as_deref().unwrap_or("unknown")
    )
}
