//! Step 4 with the fleet view: what other hosts saw joins this host's own
//! knowledge, read from `<state_dir>/fleet.json` (never the network).
//!
//! - An account limited on any instance is skipped until the latest reset
//!   reported, the skip naming the instance.
//! - Usage: per account, the freshest report, this host's (`usage.json`)
//!   or another instance's, is what the threshold rule and the used-up
//!   week judge; a tie goes to this host's own.
//! - Only the accounts the choice comes to are looked up in the view (one
//!   line of `fleet.json` each): the choice's cost does not grow with the
//!   fleet.
//! - A view that may not be used (see `ops::fleet`) adds nothing, and the
//!   output says why: the choice goes by this host's knowledge alone.
//!
//! Whatever was passed over for the fleet's sake is said in the output and
//! in the audit line (`fleet`), naming the instance.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::config::Config;
use crate::ops::fleet::FleetKnowledge;
use crate::state::fleet::{FleetAccount, FleetAudit, FleetPass, PassedFor, SeenLimit};
use crate::state::limits::rfc3339;
use crate::state::usage::{AccountUsage, UsageRecord, Window};
use crate::state::StateDir;

/// How many accounts passed over are named in the output and the audit
/// line (the rest are counted): a fleet with hundreds of accounts limited
/// must not print hundreds of lines into a hook's stderr.
const NAMED: usize = 10;

/// What the fleet knows, for one choice. Accounts are looked up in the
/// view one at a time, as the choice comes to them, and kept (the choice
/// and its notes ask several questions of each).
#[derive(Debug, Default)]
pub(crate) struct FleetChoice {
    /// The view and whether it may be used.
    knowledge: FleetKnowledge,
    /// The view's age at the choice, when used.
    age: Option<u64>,
    /// The accounts looked up so far, and what the view knows of each.
    seen: RefCell<HashMap<String, Option<Rc<FleetAccount>>>>,
}

/// Why the fleet made a choice pass an account over.
enum Pass {
    /// Limited there: that limit, and on how many instances in all.
    Limited(SeenLimit, usize),
    /// Its usage reported there is at the threshold: the report's
    /// instance, the window and its percent.
    Usage(String, Window, f64),
}

impl FleetChoice {
    /// Reads the view's header (nothing without `fleet`).
    pub(crate) fn load(config: &Config, state: &StateDir, now: u64) -> FleetChoice {
        let knowledge = FleetKnowledge::load(config, state, now);
        let age = knowledge.view().and_then(|v| v.age(now));
        FleetChoice {
            knowledge,
            age,
            seen: RefCell::new(HashMap::new()),
        }
    }

    /// What the usable view knows of `account`.
    fn account(&self, account: &str) -> Option<Rc<FleetAccount>> {
        let mut seen = self.seen.borrow_mut();
        if let Some(known) = seen.get(account) {
            return known.clone();
        }
        let known = self.knowledge.account(account).map(Rc::new);
        seen.insert(account.to_string(), known.clone());
        known
    }

    /// The usage the choice judges `account` by: the freshest report, this
    /// host's (`local`) or another instance's; a tie goes to this host's.
    pub(crate) fn usage<'u>(
        &self,
        account: &str,
        local: &'u UsageRecord,
    ) -> Option<Cow<'u, AccountUsage>> {
        let mine = local.accounts.get(account);
        let seen = self.account(account).and_then(|a| a.usage.clone());
        match (mine, seen) {
            (Some(m), Some(s)) if s.updated > m.updated => Some(Cow::Owned(s.as_account_usage())),
            (None, Some(s)) => Some(Cow::Owned(s.as_account_usage())),
            (m, _) => m.map(Cow::Borrowed),
        }
    }

    /// The limit of `account` that ends last, when another instance
    /// reports it at `now`, and how many instances report it.
    fn limit(&self, account: &str, now: u64) -> Option<(SeenLimit, usize)> {
        let known = self.account(account)?;
        let seen = known.latest_limit(now)?.clone();
        Some((seen, known.limited_on))
    }

    /// Why `account` is skipped, when another instance reports it limited.
    pub(crate) fn limited_line(&self, account: &str, now: u64) -> Option<String> {
        let (seen, on) = self.limit(account, now)?;
        Some(self.limited_text(account, &seen, on))
    }

    /// `account a: limited on host1:9464 until ... (the fleet view, 3 s old)`.
    fn limited_text(&self, account: &str, seen: &SeenLimit, on: usize) -> String {
        let more = match on.saturating_sub(1) {
            0 => String::new(),
            n => format!(" and {n} other instance(s)"),
        };
        format!(
            "account {account}: limited on {}{more} until {} (the fleet view{})",
            seen.instance,
            rfc3339(seen.until),
            self.age_text()
        )
    }

    /// Where the usage the choice judged `account` by was reported, when
    /// it was another instance: ` (reported on h1:9464 at ...)`.
    pub(crate) fn usage_source(&self, account: &str, local: &UsageRecord) -> String {
        let mine = local.accounts.get(account).map_or(0, |u| u.updated);
        match self.account(account).and_then(|a| a.usage.clone()) {
            Some(s) if s.updated > mine => {
                format!(" (reported on {} at {})", s.instance, rfc3339(s.updated))
            }
            _ => String::new(),
        }
    }

    /// The notes of a choice: why the view was not used, or which
    /// accounts the fleet made it pass over (walking `failover.order` from
    /// the one after `active` to `to`, or all the way round for none).
    pub(crate) fn notes(
        &self,
        config: &Config,
        known_here: impl Fn(&str) -> bool,
        local: &UsageRecord,
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
            passed_over_total: 0,
        };
        if let Some(why) = self.knowledge.unused() {
            let note = format!("the fleet view was not used ({why}); the choice went by this host's knowledge alone");
            return (vec![note], Some(audit));
        }
        let mut notes = Vec::new();
        for name in passed(config, active, to) {
            if known_here(name) {
                continue; // this host knew it already (limited or disabled here)
            }
            let Some(pass) = self.passed_over(name, config, local, now) else {
                continue;
            };
            audit.passed_over_total += 1;
            if audit.passed_over.len() < NAMED {
                let (line, entry) = self.describe(name, pass, config);
                notes.push(line);
                audit.passed_over.push(entry);
            }
        }
        if audit.passed_over_total > NAMED {
            notes.push(format!(
                "... and {} more account(s) passed over for what other instances reported (see 'homeswap limits')",
                audit.passed_over_total - NAMED
            ));
        }
        (notes, Some(audit))
    }

    /// Why the fleet made the choice pass `name` over, if it did: limited
    /// on another instance, or its usage reported there at the threshold.
    fn passed_over(
        &self,
        name: &str,
        config: &Config,
        local: &UsageRecord,
        now: u64,
    ) -> Option<Pass> {
        if let Some((seen, on)) = self.limit(name, now) {
            return Some(Pass::Limited(seen, on));
        }
        let t = config.failover.threshold_for(name)?;
        let mine = local.accounts.get(name).map_or(0, |u| u.updated);
        let known = self.account(name)?;
        let seen = known.usage.as_ref().filter(|s| s.updated > mine)?;
        let (w, x) = Window::ALL
            .iter()
            .filter_map(|w| seen.window(*w).map(|x| (*w, x)))
            .filter(|(_, x)| x.resets_at.is_none_or(|r| r > now))
            .filter(|(_, x)| x.ratio * 100.0 >= f64::from(t))
            .max_by(|a, b| a.1.ratio.total_cmp(&b.1.ratio))?;
        Some(Pass::Usage(seen.instance.clone(), w, x.ratio * 100.0))
    }

    /// The note and the audit entry of a pass.
    fn describe(&self, name: &str, pass: Pass, config: &Config) -> (String, FleetPass) {
        match pass {
            Pass::Limited(seen, on) => (
                format!("{}: passed over", self.limited_text(name, &seen, on)),
                FleetPass {
                    account: name.to_string(),
                    why: PassedFor::Limited,
                    until: Some(rfc3339(seen.until)),
                    instance: seen.instance,
                },
            ),
            Pass::Usage(instance, w, percent) => (
                format!(
                    "account {name}: its {} usage ({percent:.0}%, reported on {instance}) is at or above {} ({}%): passed over",
                    w.short(),
                    match config.failover.thresholds.contains_key(name) {
                        true => "its own threshold (failover.thresholds)",
                        false => "failover.threshold",
                    },
                    config.failover.threshold_for(name).unwrap_or(100)
                ),
                FleetPass {
                    account: name.to_string(),
                    why: PassedFor::Usage,
                    instance,
                    until: None,
                },
            ),
        }
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
    use crate::state::disabled::DisabledRecord;
    use crate::state::fleet::{FleetAccount, FleetView, SeenLimit, SeenUsage, SeenWindow};
    use crate::state::limits::LimitsRecord;
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

    /// The choice from the active account `c`, as step 4 makes it, with
    /// `local` as this host's usage record.
    fn choose(
        c: &Config,
        state: &StateDir,
        local: UsageRecord,
        now: u64,
    ) -> (Result<String, Vec<String>>, Vec<String>, Option<FleetAudit>) {
        let lock = crate::state::usage::UsageLock::try_acquire(state, std::time::Duration::ZERO)
            .unwrap()
            .unwrap();
        local.write(state, &lock).unwrap();
        let chosen = crate::ops::failover::choice::choose(
            c,
            state,
            &LimitsRecord::default(),
            Some("c"),
            now,
        );
        (chosen.to, chosen.notes, chosen.fleet)
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
                why: PassedFor::Limited,
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
        assert_eq!(audit.unwrap().passed_over[0].why, PassedFor::Usage);
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
    fn an_accounts_own_threshold_judges_the_fleets_usage_and_a_disabled_one_is_held_out_here() {
        let dir = tempfile::tempdir().unwrap();
        let seen = |a: f64, b: f64| {
            [
                ("a", reported("host1:9464", NOW - 60, a)),
                ("b", reported("host1:9464", NOW - 60, b)),
            ]
        };
        // a at 95% elsewhere is below its own 97%: taken.
        let own = "failover:\n  threshold: 90\n  thresholds: { a: 97 }\n";
        let c = config(dir.path(), own, "");
        let state = write(&c, NOW - 1, &seen(95.0, 10.0));
        let (to, notes, _) = choose(&c, &state, UsageRecord::default(), NOW);
        assert_eq!((to.unwrap().as_str(), notes.len()), ("a", 0));
        // a at 85% elsewhere is above its own 80%: passed over, saying whose threshold.
        let own = "failover:\n  threshold: 90\n  thresholds: { a: 80 }\n";
        let c = config(dir.path(), own, "");
        let state = write(&c, NOW - 1, &seen(85.0, 10.0));
        let (to, notes, _) = choose(&c, &state, UsageRecord::default(), NOW);
        assert_eq!(to.unwrap(), "b");
        assert_eq!(
            notes,
            ["account a: its 5h usage (85%, reported on host1:9464) is at or above its own threshold (failover.thresholds) (80%): passed over"]
        );
        // Disabled here, limited elsewhere: skipped as disabled, and not
        // named as passed over for what the fleet saw.
        let state = write(&c, NOW - 1, &[("a", limited("host1:9464", NOW + 60))]);
        let mut disabled = DisabledRecord::default();
        disabled.accounts.insert(
            "a".into(),
            crate::state::disabled::Disabled {
                since: NOW - 5,
                reason: None,
            },
        );
        disabled.write(&state).unwrap();
        let (to, notes, audit) = choose(&c, &state, UsageRecord::default(), NOW);
        assert_eq!(to.unwrap(), "b");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(audit.unwrap().passed_over_total, 0);
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

    #[test]
    fn many_accounts_passed_over_are_named_ten_at_most_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..14).map(|i| format!("x{i:02}")).collect();
        let d = dir.path().display();
        let mut yaml = String::from("accounts:\n");
        for n in &names {
            std::fs::create_dir_all(dir.path().join(n)).unwrap();
            yaml.push_str(&format!("  {n}: {d}/{n}\n"));
        }
        yaml.push_str(&format!("active_link: {d}/active\nshared_dir: {d}/shared\nstate_dir: {d}/state\nfleet:\n  prometheus: http://prom:9090\n"));
        let c = Config::parse(&dir.path().join("h.yaml"), &yaml).unwrap();
        let limited_ones: Vec<(&str, FleetAccount)> = names[1..13]
            .iter()
            .map(|n| (n.as_str(), limited("host9:9464", NOW + 60)))
            .collect();
        let state = write(&c, NOW, &limited_ones);
        let chosen = crate::ops::failover::choice::choose(
            &c,
            &state,
            &LimitsRecord::default(),
            Some("x00"),
            NOW,
        );
        assert_eq!(chosen.to.unwrap(), "x13");
        assert_eq!(chosen.notes.len(), 11, "{:?}", chosen.notes);
        assert_eq!(
            chosen.notes[10],
            "... and 2 more account(s) passed over for what other instances reported (see 'homeswap limits')"
        );
        let audit = chosen.fleet.unwrap();
        assert_eq!((audit.passed_over.len(), audit.passed_over_total), (10, 12));
    }
}
