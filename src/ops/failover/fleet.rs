//! Step 4 with the fleet view: what other hosts saw joins this host's own
//! knowledge, read from `<state_dir>/fleet.json` (never the network).
//!
//! - An account limited on any instance is skipped until the latest reset
//!   reported, the skip naming the instance.
//! - Usage: per account, the freshest report, this host's (`usage.json`)
//!   or another instance's, is what the threshold rule and the used-up
//!   week judge; a tie goes to this host's own.
//! - A view that may not be used (see `ops::fleet`) adds nothing, and the
//!   output says why: the choice goes by this host's knowledge alone.
//!
//! Whatever was passed over for the fleet's sake is said in the output and
//! in the audit line (`fleet`), naming the instance.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::ops::fleet::FleetKnowledge;
use crate::state::fleet::{FleetAudit, FleetPass};
use crate::state::limits::{rfc3339, LimitsRecord};
use crate::state::usage::{UsageRecord, Window};
use crate::state::StateDir;

/// What the fleet knows, for one choice.
#[derive(Debug, Default)]
pub(crate) struct FleetChoice {
    /// The view and whether it may be used.
    knowledge: FleetKnowledge,
    /// The accounts whose usage the choice takes from another instance:
    /// (instance, Unix time of its report).
    from_fleet: BTreeMap<String, (String, u64)>,
    /// The view's age at the choice, when used.
    age: Option<u64>,
}

impl FleetChoice {
    /// Reads the view (nothing without `fleet`).
    pub(crate) fn load(config: &Config, state: &StateDir, now: u64) -> FleetChoice {
        let knowledge = FleetKnowledge::load(config, state, now);
        let age = knowledge.view().and_then(|v| v.age(now));
        FleetChoice {
            knowledge,
            from_fleet: BTreeMap::new(),
            age,
        }
    }

    /// The usage the choice goes by: `local` with each account's report
    /// replaced by a fresher one seen elsewhere.
    pub(crate) fn merged_usage(&mut self, mut local: UsageRecord, config: &Config) -> UsageRecord {
        self.from_fleet.clear();
        for account in &config.failover.order {
            let Some(seen) = self.knowledge.usage(account) else {
                continue;
            };
            let mine = local.accounts.get(account).map_or(0, |u| u.updated);
            if seen.updated > mine {
                local
                    .accounts
                    .insert(account.clone(), seen.as_account_usage());
                self.from_fleet
                    .insert(account.clone(), (seen.instance.clone(), seen.updated));
            }
        }
        local
    }

    /// Why `account` is skipped, when another instance reports it limited
    /// at `now`.
    pub(crate) fn limited_line(&self, account: &str, now: u64) -> Option<String> {
        let seen = self.knowledge.limited(account, now)?;
        let others = self.knowledge.limited_on(account).saturating_sub(1);
        let more = match others {
            0 => String::new(),
            n => format!(" and {n} other instance(s)"),
        };
        Some(format!(
            "account {account}: limited on {}{more} until {} (the fleet view{})",
            seen.instance,
            rfc3339(seen.until),
            self.age_text()
        ))
    }

    /// Where the usage the choice judged `account` by was reported, when
    /// it was another instance: ` (reported on h1:9464 at ...)`.
    pub(crate) fn usage_source(&self, account: &str) -> String {
        match self.from_fleet.get(account) {
            Some((instance, at)) => format!(" (reported on {instance} at {})", rfc3339(*at)),
            None => String::new(),
        }
    }

    /// The notes of a choice: why the view was not used, or which
    /// accounts the fleet made it pass over (walking `failover.order` from
    /// the one after `active` to `to`, or all the way round for none).
    pub(crate) fn notes(
        &self,
        config: &Config,
        limits: &LimitsRecord,
        usage: &UsageRecord,
        active: Option<&str>,
        to: Option<&str>,
        now: u64,
    ) -> (Vec<String>, Option<FleetAudit>) {
        if !self.knowledge.configured() {
            return (Vec::new(), None);
        }
        let mut audit = FleetAudit {
            used: self.knowledge.view().is_some(),
            reason: self.knowledge.unused().map(str::to_string),
            age_seconds: self.age,
            passed_over: Vec::new(),
        };
        if let Some(why) = self.knowledge.unused() {
            let note = format!("the fleet view was not used ({why}); the choice went by this host's knowledge alone");
            return (vec![note], Some(audit));
        }
        let mut notes = Vec::new();
        for name in passed(config, active, to) {
            if limits.limited(name, now).is_some() {
                continue; // this host knew it already
            }
            if let (Some(line), Some(seen)) = (
                self.limited_line(name, now),
                self.knowledge.limited(name, now),
            ) {
                notes.push(format!("{line}: passed over"));
                audit.passed_over.push(FleetPass {
                    account: name.to_string(),
                    why: "limited",
                    instance: seen.instance.clone(),
                    until: Some(rfc3339(seen.until)),
                });
                continue;
            }
            let (Some((instance, _)), Some(t)) =
                (self.from_fleet.get(name), config.failover.threshold)
            else {
                continue;
            };
            let Some(u) = usage.accounts.get(name).filter(|u| u.at_or_above(t, now)) else {
                continue;
            };
            let worst = Window::ALL
                .iter()
                .filter_map(|w| u.window(*w).filter(|x| x.current(now)).map(|x| (w, x)))
                .max_by(|a, b| a.1.used_percentage.total_cmp(&b.1.used_percentage));
            let Some((w, x)) = worst else {
                continue;
            };
            notes.push(format!(
                "account {name}: its {} usage ({:.0}%, reported on {instance}) is at or above failover.threshold ({t}%): passed over",
                w.short(),
                x.used_percentage
            ));
            audit.passed_over.push(FleetPass {
                account: name.to_string(),
                why: "usage",
                instance: instance.clone(),
                until: None,
            });
        }
        (notes, Some(audit))
    }

    fn age_text(&self) -> String {
        match self.age {
            Some(s) => format!(", {s} s old"),
            None => String::new(),
        }
    }
}

/// The accounts a choice looked at before `to`: after `active` in
/// `failover.order`, wrapping, up to `to` (all of them for `None`),
/// without `active`.
fn passed<'c>(config: &'c Config, active: Option<&str>, to: Option<&str>) -> Vec<&'c str> {
    let order = &config.failover.order;
    let start = active
        .and_then(|a| order.iter().position(|o| o == a))
        .map_or(0, |i| i + 1);
    (0..order.len())
        .map(|i| order[(start + i) % order.len()].as_str())
        .take_while(|name| Some(*name) != to)
        .filter(|name| Some(*name) != active)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::failover::choose::next_account;
    use crate::state::fleet::{FleetAccount, FleetView, SeenLimit, SeenUsage, SeenWindow};
    use crate::state::usage::{AccountUsage, WindowUsage};
    use std::path::Path;

    const NOW: u64 = 1_800_000_000;

    /// Accounts a, b, c (homes there), `failover` (a section or nothing),
    /// and `fleet` configured with `extra`.
    fn config(dir: &Path, failover: &str, extra: &str) -> Config {
        for h in ["a", "b", "c"] {
            std::fs::create_dir_all(dir.join(h)).unwrap();
        }
        let d = dir.display();
        Config::parse(
            &dir.join("homeswap.yaml"),
            &format!(
                "accounts:\n  a: {d}/a\n  b: {d}/b\n  c: {d}/c\nactive_link: {d}/active\nshared_dir: {d}/shared\nstate_dir: {d}/state\n{failover}fleet:\n  prometheus: http://prom:9090\n{extra}"
            ),
        )
        .unwrap()
    }

    fn write(config: &Config, refreshed: u64, accounts: &[(&str, FleetAccount)]) -> StateDir {
        let state = StateDir::new(&config.state_dir);
        FleetView {
            prometheus: "http://prom:9090".into(),
            selector: r#"{job="homeswap"}"#.into(),
            refreshed,
            accounts: accounts
                .iter()
                .map(|(a, f)| (a.to_string(), f.clone()))
                .collect(),
            ..FleetView::default()
        }
        .write(&state)
        .unwrap();
        state
    }

    fn limited(instance: &str, until: u64) -> FleetAccount {
        FleetAccount {
            limited: vec![SeenLimit {
                instance: instance.into(),
                until,
            }],
            limited_on: 1,
            usage: None,
        }
    }

    fn reported(instance: &str, updated: u64, five: f64) -> FleetAccount {
        FleetAccount {
            usage: Some(SeenUsage {
                instance: instance.into(),
                updated,
                five_hour: Some(SeenWindow {
                    ratio: five / 100.0,
                    resets_at: Some(NOW + 3600),
                }),
                seven_day: None,
            }),
            ..FleetAccount::default()
        }
    }

    /// The choice from the active account `c`, as step 4 makes it.
    fn choose(
        c: &Config,
        state: &StateDir,
        local: UsageRecord,
        now: u64,
    ) -> (Result<String, Vec<String>>, Vec<String>, Option<FleetAudit>) {
        let mut fleet = FleetChoice::load(c, state, now);
        let usage = fleet.merged_usage(local, c);
        let limits = LimitsRecord::default();
        let to = next_account(c, &limits, &usage, &fleet, Some("c"), now);
        let (notes, audit) = fleet.notes(
            c,
            &limits,
            &usage,
            Some("c"),
            to.as_ref().ok().map(String::as_str),
            now,
        );
        (to, notes, audit)
    }

    #[test]
    fn an_account_limited_on_another_instance_is_skipped_until_its_reset_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "", "");
        let state = write(&c, NOW - 3, &[("a", limited("host1:9464", NOW + 3600))]);
        let (to, notes, audit) = choose(&c, &state, UsageRecord::default(), NOW);
        assert_eq!(to.unwrap(), "b", "c's order would pick a");
        assert_eq!(
            notes,
            ["account a: limited on host1:9464 until 2027-01-15T09:00:00Z (the fleet view, 3 s old): passed over"]
        );
        let audit = audit.unwrap();
        assert!(audit.used && audit.reason.is_none());
        assert_eq!(audit.age_seconds, Some(3));
        assert_eq!(
            audit.passed_over,
            [FleetPass {
                account: "a".into(),
                why: "limited",
                instance: "host1:9464".into(),
                until: Some("2027-01-15T09:00:00Z".into()),
            }]
        );
        // Its reset passed: a again (the view is still fresh enough then).
        let c = config(dir.path(), "", "  interval: 1h\n  max_age: 2h\n");
        let (to, notes, _) = choose(&c, &state, UsageRecord::default(), NOW + 3600);
        assert_eq!((to.unwrap().as_str(), notes.len()), ("a", 0));
        // Every other account limited somewhere: exhausted, saying where.
        let state = write(
            &c,
            NOW,
            &[
                ("a", limited("host1:9464", NOW + 60)),
                ("b", limited("host2:9464", NOW + 60)),
            ],
        );
        let (to, _, audit) = choose(&c, &state, UsageRecord::default(), NOW);
        let skipped = to.unwrap_err();
        assert!(
            skipped
                .iter()
                .any(|s| s.starts_with("account b: limited on host2:9464 until")),
            "{skipped:?}"
        );
        assert_eq!(audit.unwrap().passed_over.len(), 2);
    }

    #[test]
    fn the_freshest_usage_anywhere_ranks_the_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "failover:\n  threshold: 90\n", "");
        // This host last saw a at 10%, ten minutes ago; host1 saw 95% a minute ago.
        let mut local = UsageRecord::default();
        local.accounts.insert(
            "a".into(),
            AccountUsage {
                updated: NOW - 600,
                five_hour: Some(WindowUsage {
                    used_percentage: 10.0,
                    resets_at: Some(NOW + 3600),
                    fired: false,
                }),
                seven_day: None,
            },
        );
        let state = write(
            &c,
            NOW - 1,
            &[("a", reported("host1:9464", NOW - 60, 95.0))],
        );
        let (to, notes, audit) = choose(&c, &state, local.clone(), NOW);
        assert_eq!(to.unwrap(), "b");
        assert_eq!(
            notes,
            ["account a: its 5h usage (95%, reported on host1:9464) is at or above failover.threshold (90%): passed over"]
        );
        assert_eq!(audit.unwrap().passed_over[0].why, "usage");
        // This host's report is the fresher one: it counts, a is taken.
        let state = write(
            &c,
            NOW - 1,
            &[("a", reported("host1:9464", NOW - 900, 95.0))],
        );
        assert_eq!(choose(&c, &state, local.clone(), NOW).0.unwrap(), "a");
        // A view older than fleet.max_age counts for nothing, and says so.
        let state = write(
            &c,
            NOW - 121,
            &[("a", reported("host1:9464", NOW - 60, 95.0))],
        );
        let (to, notes, audit) = choose(&c, &state, local, NOW);
        assert_eq!(to.unwrap(), "a");
        assert!(notes[0].starts_with("the fleet view was not used (the fleet view is 2m 1s old, older than fleet.max_age (2m)"), "{notes:?}");
        assert!(!audit.unwrap().used);
    }

    #[test]
    fn without_fleet_nothing_is_read_or_said() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let c = Config::parse(
            &dir.path().join("h.yaml"),
            &format!("accounts:\n  a: {d}/a\n  c: {d}/c\nactive_link: {d}/active\nshared_dir: {d}/shared\nstate_dir: {d}/state\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        let state = StateDir::new(&c.state_dir);
        let (to, notes, audit) = choose(&c, &state, UsageRecord::default(), NOW);
        assert_eq!((to.unwrap().as_str(), notes.len(), audit), ("a", 0, None));
    }
}
