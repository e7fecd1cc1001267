//! Failovers killed with SIGKILL at random moments (failpoint sleeps widen
//! the windows between choosing, flipping and ensuring), after each of
//! which the next command must find:
//!
//! - the limits file absent or parseable (`limits` reports no error);
//! - the active link on a configured account whose links are all ok, no
//!   latch, no swap in progress;
//! - nothing but the lock, the audit log, the limits and the flip history
//!   in the state dir (no intent record, no temporary file).
//!
//! `HOMESWAP_FAILOVER_CRASH_ITERATIONS` sets the count (default 40);
//! `HOMESWAP_CRASH_SEED` replays a run (the seed is printed).
#![cfg(feature = "failpoints")]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::rng::{iterations, Rng};
use common::Sandbox;

/// Where a failover is made to stall (or fail) before it is killed.
const SCENARIOS: [&str; 5] = [
    "",
    "failover::after_choose=sleep(20)",
    "swap::after_flip=sleep(20)",
    "failover::after_choose=sleep(5);swap::after_flip=sleep(10);swap::ensure=return",
    "failover::after_choose=panic",
];

fn sandbox() -> Sandbox {
    Sandbox::with_accounts(&["a", "b", "c"], "failover:\n  settle: 0s\n")
}

fn check(s: &Sandbox, what: &str) {
    // `status` first: like every command it finishes an interrupted swap.
    let st: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    assert!(
        matches!(st["active"].as_str(), Some("a" | "b" | "c")),
        "{what}: {st}"
    );
    assert_eq!(st["ok"], true, "{what}: {st}");
    assert_eq!(st["latch"], serde_json::Value::Null, "{what}");
    assert_eq!(st["swap_in_progress"], false, "{what}");
    let l: serde_json::Value = serde_json::from_str(&s.ok(&["limits", "--json"]).stdout).unwrap();
    assert_eq!(l["error"], serde_json::Value::Null, "{what}: {l}");
    let names: BTreeSet<String> = std::fs::read_dir(s.state())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let allowed: BTreeSet<String> = ["lock", "audit.jsonl", "limits.json", "flips.json"]
        .into_iter()
        .map(String::from)
        .collect();
    assert!(names.is_subset(&allowed), "{what}: {names:?}");
    let active_dir = std::fs::read_dir(s.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("active") && n != "active")
        .collect::<Vec<_>>();
    assert!(
        active_dir.is_empty(),
        "{what}: temporary links {active_dir:?}"
    );
}

#[test]
fn failovers_killed_at_random_points_leave_limits_and_the_active_link_consistent() {
    let iterations = iterations("HOMESWAP_FAILOVER_CRASH_ITERATIONS", 40);
    let (mut rng, _) = Rng::from_env("failover crash");
    let s = sandbox();
    let mut killed_running = 0;
    for i in 0..iterations {
        let scenario = SCENARIOS[rng.below(SCENARIOS.len() as u64) as usize];
        let delay = Duration::from_millis(rng.below(40));
        let mut child = s.spawn(&["failover", "--reason", "rate_limit"], Some(scenario));
        let start = Instant::now();
        while start.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
            child.kill().unwrap();
        }
        child.wait().unwrap();
        check(
            &s,
            &format!("iteration {i}, {scenario:?} killed after {delay:?}"),
        );
        // Start the next iteration with every account eligible again.
        for a in ["a", "b", "c"] {
            s.ok(&["limits", "clear", a]);
        }
    }
    assert!(
        killed_running * 3 >= iterations,
        "only {killed_running} of {iterations} failovers were killed while running"
    );
}
