//! Failovers killed with SIGKILL at random moments (failpoint sleeps widen
//! the windows between choosing, flipping and ensuring), after each of
//! which the next command must find:
//!
//! - the limits file absent or parseable (`limits` reports no error);
//! - the active link on a configured account whose links are all ok, no
//!   latch, no swap in progress;
//! - nothing but the lock, the audit log and the limits in the state dir
//!   (no intent record, no temporary file).
//!
//! `HOMESWAP_FAILOVER_CRASH_ITERATIONS` sets the count (default 40);
//! `HOMESWAP_CRASH_SEED` replays a run (the seed is printed).
#![cfg(feature = "failpoints")]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Sandbox;

/// xorshift64*, so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Where a failover is made to stall (or fail) before it is killed.
const SCENARIOS: [&str; 5] = [
    "",
    "failover::after_choose=sleep(20)",
    "swap::after_flip=sleep(20)",
    "failover::after_choose=sleep(5);swap::after_flip=sleep(10);swap::ensure=return",
    "failover::after_choose=panic",
];

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    std::fs::create_dir(s.home("c")).unwrap();
    let mut text = String::from("accounts:\n");
    for a in ["a", "b", "c"] {
        text.push_str(&format!("  {a}: {}\n", s.home(a).display()));
    }
    text.push_str(&format!(
        "active_link: {}\nshared_dir: {}\nstate_dir: {}\nfailover:\n  settle: 0s\n",
        s.active().display(),
        s.shared().display(),
        s.state().display()
    ));
    std::fs::write(&s.config, text).unwrap();
    s.ok(&["ensure"]);
    s.ok(&["swap", "a"]);
    s
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
    let allowed: BTreeSet<String> = ["lock", "audit.jsonl", "limits.json"]
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
    let iterations: u64 = std::env::var("HOMESWAP_FAILOVER_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed = std::env::var("HOMESWAP_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("HOMESWAP_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
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
