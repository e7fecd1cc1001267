//! The shipped logrotate rules (`deploy/logrotate/homeswap`) run by the real
//! `logrotate` under a running sidecar: each rotation renames the log and
//! compresses the one before, homeswap's next record starts a new log
//! (mode 0600), the sidecar counts every swap once across the rotations,
//! the status page shows what was written since, and no record is lost.
//!
//! Needs `logrotate` (`.ci/run` installs it), so `#[ignore]`d in a plain
//! `cargo test`; run with `--ignored`.
#![cfg(feature = "failpoints")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::server::Server;
use common::{tool, wait_for, Sandbox};

/// The shipped rules, pointed at the sandbox's log, `su` left out (the
/// test runs as whoever runs it, owner of the sandbox).
fn rules(s: &Sandbox) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/logrotate/homeswap");
    let text = std::fs::read_to_string(shipped).unwrap();
    assert!(text.contains("/var/lib/homeswap/audit.jsonl {"), "{text}");
    let log = s.state().join("audit.jsonl");
    let ours: String = text
        .replace("/var/lib/homeswap/audit.jsonl", log.to_str().unwrap())
        .lines()
        .filter(|l| !l.trim_start().starts_with("su "))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = s.root().join("logrotate.conf");
    std::fs::write(&path, ours).unwrap();
    path
}

/// One forced rotation (`-f`: the weekly rule would wait a week).
fn rotate(s: &Sandbox, rules: &Path) {
    let logrotate = tool::require("logrotate", "apt-get install -y logrotate");
    let out = Command::new(logrotate)
        .arg("-f")
        .arg("-s")
        .arg(s.root().join("logrotate.state"))
        .arg(rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn swapped(server: &Server) -> f64 {
    server
        .metrics()
        .value("homeswap_swaps_total{outcome=\"swapped\"}")
}

/// The `to` of every swap record in `text`, in order.
fn swaps_to(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["action"] == "swap")
        .map(|r| r["to"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gunzip(path: &Path) -> String {
    let out = Command::new("gzip").arg("-dc").arg(path).output().unwrap();
    assert!(out.status.success(), "gzip -dc {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs logrotate (run by .ci/run with --ignored)"]
fn the_shipped_rules_rotate_the_audit_log_under_a_running_sidecar_and_lose_nothing() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let rules = rules(&s);
    let log = s.state().join("audit.jsonl");
    let state = s.state();

    s.ok(&["swap", "b"]);
    wait_for("the CLI's swap counted", Duration::from_secs(5), || {
        swapped(&server) == 1.0
    });
    rotate(&s, &rules);
    assert!(
        !log.exists(),
        "nocreate: homeswap makes the next log itself"
    );
    assert_eq!(swaps_to(&read(&state.join("audit.jsonl.1"))), ["a", "b"]);

    s.ok(&["swap", "a"]);
    let meta = std::fs::metadata(&log).expect("the next record starts a new log");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    wait_for(
        "the swap after the rotation counted",
        Duration::from_secs(5),
        || swapped(&server) == 2.0,
    );
    let page = server.get("/").text();
    assert!(
        !page.contains("No swap, failover or latch clear recorded yet"),
        "the page shows the swap written since the rotation"
    );

    rotate(&s, &rules);
    s.ok(&["swap", "b"]);
    wait_for(
        "the swap after the second rotation counted",
        Duration::from_secs(5),
        || swapped(&server) == 3.0,
    );
    // Every record, once, oldest file first: .2.gz (compressed one
    // rotation late), .1, the live log.
    let mut all = swaps_to(&gunzip(&state.join("audit.jsonl.2.gz")));
    all.extend(swaps_to(&read(&state.join("audit.jsonl.1"))));
    all.extend(swaps_to(&read(&log)));
    assert_eq!(all, ["a", "b", "a", "b"]);
    assert_eq!(swapped(&server), 3.0, "no swap counted twice");
}
