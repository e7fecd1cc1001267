//! A refresh's four answers become one [`FleetView`]: per account, the
//! instances that report it limited (latest reset first) and the freshest
//! usage report anywhere. Every value is checked before it is believed:
//!
//! - a series without a valid account name, an unknown `window`, a value
//!   that is NaN, infinite, negative, beyond the year 9999 (times) or
//!   outside 0..=1 (ratios), or a report more than [`FUTURE_SLACK`] ahead
//!   of this host's clock is dropped, and counted (`dropped`);
//! - a limit whose reset has passed is no limit (an instance exports it
//!   until its next validation), and is left out without counting;
//! - conflicting instances: a limit reported by several instances holds
//!   until the latest of their resets, naming them all (the first
//!   [`INSTANCES_KEPT`]); two reports equally fresh are settled by the
//!   instance name, so every host picks the same one;
//! - the same series twice (one sidecar in two scrape jobs) counts once.

use std::collections::BTreeMap;

use crate::config::{is_valid_account_name, FleetConfig};
use crate::sidecar::fleet::answer::{printable, Answer, Sample};
use crate::state::fleet::{
    FleetAccount, FleetView, SeenLimit, SeenUsage, SeenWindow, INSTANCES_KEPT,
};
use crate::state::limits::LAST_RFC3339_SECOND;
use crate::state::usage::Window;

/// How far ahead of this host's clock a usage report may be (clocks
/// drift): a host whose clock is further ahead would win every
/// comparison of freshness.
pub(crate) const FUTURE_SLACK: u64 = 300;

/// The longest instance label kept (a label is any string).
const INSTANCE_CHARS: usize = 128;

/// What an instance is called when its series have no `instance` label.
const NO_INSTANCE: &str = "(no instance label)";

/// The four answers of one refresh.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    /// `QueryKind::Limits`.
    pub(crate) limits: Answer,
    /// `QueryKind::Updated`.
    pub(crate) updated: Answer,
    /// `QueryKind::Ratio`.
    pub(crate) ratio: Answer,
    /// `QueryKind::Reset`.
    pub(crate) reset: Answer,
}

/// The view the answers give at `now`.
pub(crate) fn build(config: &FleetConfig, answers: &Answers, now: u64) -> FleetView {
    let mut dropped = 0;
    let mut accounts: BTreeMap<String, FleetAccount> = BTreeMap::new();
    for (account, limits) in limits(&answers.limits, now, &mut dropped) {
        let entry = accounts.entry(account).or_default();
        entry.limited_on = limits.len();
        entry.limited = limits.into_iter().take(INSTANCES_KEPT).collect();
    }
    for (account, usage) in usage(answers, now, &mut dropped) {
        accounts.entry(account).or_default().usage = Some(usage);
    }
    let mut warnings: Vec<String> = [
        &answers.limits,
        &answers.updated,
        &answers.ratio,
        &answers.reset,
    ]
    .iter()
    .flat_map(|a| a.warnings.iter().cloned())
    .collect();
    warnings.sort();
    warnings.dedup();
    FleetView {
        prometheus: config.prometheus.clone(),
        selector: config.selector.clone(),
        refreshed: now,
        failure: None,
        warnings,
        dropped,
        accounts,
    }
}

/// The account and instance of a sample, when the account is a valid name.
fn names(s: &Sample) -> Option<(&str, String)> {
    let account = s.account.as_deref().filter(|a| is_valid_account_name(a))?;
    let instance = s
        .instance
        .as_deref()
        .map_or_else(|| NO_INSTANCE.to_string(), |i| printable(i, INSTANCE_CHARS));
    Some((account, instance))
}

/// A Unix time a value can stand for: finite, not negative, not past 9999.
fn unix_time(v: f64) -> Option<u64> {
    (v.is_finite() && (0.0..=LAST_RFC3339_SECOND as f64).contains(&v)).then_some(v as u64)
}

/// Per account, every instance's limit that still holds, latest first.
fn limits(answer: &Answer, now: u64, dropped: &mut usize) -> BTreeMap<String, Vec<SeenLimit>> {
    let mut by_account: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for s in &answer.samples {
        let (Some((account, instance)), Some(until)) = (names(s), unix_time(s.value)) else {
            *dropped += 1;
            continue;
        };
        if until <= now {
            continue; // ended; the instance has not revalidated since
        }
        let latest = by_account
            .entry(account.to_string())
            .or_default()
            .entry(instance)
            .or_insert(until);
        *latest = (*latest).max(until);
    }
    by_account
        .into_iter()
        .map(|(account, instances)| {
            let mut seen: Vec<SeenLimit> = instances
                .into_iter()
                .map(|(instance, until)| SeenLimit { instance, until })
                .collect();
            seen.sort_by(|x, y| y.until.cmp(&x.until).then(x.instance.cmp(&y.instance)));
            (account, seen)
        })
        .collect()
}

/// Per account, the freshest report (instance, time) and its windows.
fn usage(answers: &Answers, now: u64, dropped: &mut usize) -> BTreeMap<String, SeenUsage> {
    let mut freshest = freshest_reports(&answers.updated, now, dropped);
    let mut resets: BTreeMap<(String, Window), Option<u64>> = BTreeMap::new();
    for s in &answers.reset.samples {
        if let Some((account, window)) = of_report(s, &freshest, dropped) {
            match unix_time(s.value) {
                Some(r) => {
                    resets.insert((account.to_string(), window), (r > 0).then_some(r));
                }
                None => *dropped += 1,
            }
        }
    }
    let mut ratios: Vec<(String, Window, f64)> = Vec::new();
    for s in &answers.ratio.samples {
        if let Some((account, window)) = of_report(s, &freshest, dropped) {
            if s.value.is_finite() && (0.0..=1.0).contains(&s.value) {
                ratios.push((account.to_string(), window, s.value));
            } else {
                *dropped += 1;
            }
        }
    }
    for (account, window, ratio) in ratios {
        let Some(u) = freshest.get_mut(&account) else {
            continue;
        };
        let slot = match window {
            Window::FiveHour => &mut u.five_hour,
            Window::SevenDay => &mut u.seven_day,
        };
        // The same series twice: the higher usage counts.
        if slot.as_ref().is_none_or(|w| w.ratio < ratio) {
            *slot = Some(SeenWindow {
                ratio,
                resets_at: resets.get(&(account.clone(), window)).copied().flatten(),
            });
        }
    }
    // A report whose windows did not come (a scrape between the queries)
    // says nothing of its usage.
    freshest.retain(|_, u| u.five_hour.is_some() || u.seven_day.is_some());
    freshest
}

/// Per account, the freshest usage report's instance and time (windows
/// still empty).
fn freshest_reports(
    updated: &Answer,
    now: u64,
    dropped: &mut usize,
) -> BTreeMap<String, SeenUsage> {
    let mut freshest: BTreeMap<String, SeenUsage> = BTreeMap::new();
    for s in &updated.samples {
        let time = unix_time(s.value).filter(|t| *t > 0 && *t <= now + FUTURE_SLACK);
        let (Some((account, instance)), Some(updated)) = (names(s), time) else {
            *dropped += 1;
            continue;
        };
        // Fresher wins; equally fresh, the smaller instance name, so that
        // every host picks the same report.
        let better =
            |u: &SeenUsage| updated > u.updated || (updated == u.updated && instance < u.instance);
        if freshest.get(account).is_none_or(better) {
            let report = SeenUsage {
                instance,
                updated,
                five_hour: None,
                seven_day: None,
            };
            freshest.insert(account.to_string(), report);
        }
    }
    freshest
}

/// A usage window's sample that belongs to the freshest report of its
/// account: (account, window). Samples of other instances are skipped; a
/// bad account or window is dropped.
fn of_report<'a>(
    s: &'a Sample,
    freshest: &BTreeMap<String, SeenUsage>,
    dropped: &mut usize,
) -> Option<(&'a str, Window)> {
    let window = match s.window.as_deref() {
        Some("five_hour") => Window::FiveHour,
        Some("seven_day") => Window::SevenDay,
        _ => {
            *dropped += 1;
            return None;
        }
    };
    let Some((account, instance)) = names(s) else {
        *dropped += 1;
        return None;
    };
    freshest
        .get(account)
        .filter(|u| u.instance == instance)
        .map(|_| (account, window))
}
