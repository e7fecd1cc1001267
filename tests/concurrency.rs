//! Concurrency: 64 HTTP swaps at once through the sidecar's admin API, with
//! CLI swaps from other processes in parallel. Every request must get a
//! contract answer, the swaps must run one at a time (the state lock), the
//! audit log must hold one line per attempt, and the end state must be
//! consistent. A failpoint sleep after each flip widens the window in which
//! an unserialized swap would interleave with another, and makes the lock
//! measurable: swaps that run one at a time take, together, at least the
//! sum of their sleeps.
#![cfg(feature = "failpoints")]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{wait_for, Sandbox};

use common::TOKEN;
const HTTP_SWAPS: usize = 64;
const CLI_SWAPS: usize = 8;
/// Each swap's failpoint sleep after its flip. About half the requests
/// really swap (the others find their account already active); their sleeps
/// end to end stay inside the lock's 5 s patience (busy is allowed anyway).
const SLEEP_MS: u64 = 50;

#[test]
fn concurrent_http_and_cli_swaps_are_serialized_and_each_answered_once() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let failpoints = format!("swap::after_flip=sleep({SLEEP_MS})");
    let server = Arc::new(s.serve(Some(&failpoints)));
    let start = Arc::new(Barrier::new(HTTP_SWAPS + CLI_SWAPS));

    let http: Vec<_> = (0..HTTP_SWAPS)
        .map(|i| {
            let (server, start) = (server.clone(), start.clone());
            std::thread::spawn(move || {
                let to = if i % 2 == 0 { "b" } else { "a" };
                start.wait();
                let began = Instant::now();
                let r =
                    server.admin_post("/api/v1/swap", Some(TOKEN), &format!(r#"{{"to":"{to}"}}"#));
                (r.status, r.text(), began, Instant::now())
            })
        })
        .collect();
    let cli: Vec<_> = (0..CLI_SWAPS)
        .map(|i| {
            let start = start.clone();
            let cmd = s.command(
                &["swap", if i % 2 == 0 { "a" } else { "b" }],
                Some(&failpoints),
            );
            std::thread::spawn(move || {
                let mut cmd = cmd;
                start.wait();
                let began = Instant::now();
                let out = cmd.output().unwrap();
                (out.status.code().unwrap_or(-1), began, Instant::now())
            })
        })
        .collect();

    let mut statuses = BTreeMap::new();
    let mut windows = Vec::new();
    for h in http {
        let (status, body, began, ended) = h.join().unwrap();
        windows.push((began, ended));
        assert!(
            status == 200 || status == 503,
            "HTTP swap answered {status}: {body}"
        );
        *statuses.entry(status).or_insert(0) += 1;
    }
    let mut codes = BTreeMap::new();
    for h in cli {
        let (code, began, ended) = h.join().unwrap();
        windows.push((began, ended));
        assert!(code == 0 || code == 4, "CLI swap exited {code}");
        *codes.entry(code).or_insert(0) += 1;
    }
    eprintln!("HTTP statuses {statuses:?}, CLI exit codes {codes:?}");

    // One audit line per attempt, whichever way it came in.
    let swaps: Vec<serde_json::Value> = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "swap")
        .collect();
    assert_eq!(
        swaps.len(),
        HTTP_SWAPS + CLI_SWAPS + 1,
        "the +1 is Sandbox::ready's swap"
    );

    // Serialized swaps form one chain from a: every real swap starts from
    // the account the previous one left, so a->b and b->a alternate. Two
    // swaps interleaving would both start from the same account.
    let count = |from: &str, to: &str| {
        swaps
            .iter()
            .filter(|e| e["outcome"] == "swapped" && e["from"] == from && e["to"] == to)
            .count()
    };
    let (ab, ba) = (count("a", "b"), count("b", "a"));
    assert!(ab == ba || ab == ba + 1, "a->b {ab} times, b->a {ba} times");
    let active = s.active_target().unwrap();
    let expected = if ab == ba { s.home("a") } else { s.home("b") };
    assert_eq!(active, expected, "a->b {ab}, b->a {ba}");

    // One at a time: from the first request to the last answer, at least
    // every real swap's sleep end to end. Swaps overlapping anywhere past
    // their flip would share their sleeps and end sooner.
    let first = windows.iter().map(|w| w.0).min().unwrap();
    let last = windows.iter().map(|w| w.1).max().unwrap();
    let serial = Duration::from_millis(SLEEP_MS) * (ab + ba) as u32;
    eprintln!(
        "{} swaps in {:?} (their sleeps end to end: {serial:?})",
        ab + ba,
        last - first
    );
    assert!(
        last - first >= serial,
        "{} swaps took {:?}, less than their sleeps end to end ({serial:?}): they overlapped",
        ab + ba,
        last - first
    );

    // The end state is consistent, and the sidecar counted every swap
    // once: its own 64 as it made them, the CLI's from the audit log.
    s.ok(&["validate"]);
    let counted = || -> f64 {
        server
            .metrics()
            .series
            .iter()
            .filter(|(k, _)| k.starts_with("homeswap_swaps_total{"))
            .map(|(_, v)| v)
            .sum()
    };
    wait_for("every swap counted", Duration::from_secs(2), || {
        counted() >= (HTTP_SWAPS + CLI_SWAPS) as f64
    });
    assert_eq!(counted(), (HTTP_SWAPS + CLI_SWAPS) as f64);
    // A CLI swap may have been the last: the sidecar sees it through its
    // file-system notifications.
    let series = format!(
        "homeswap_active_account{{account=\"{}\"}}",
        if ab == ba { "a" } else { "b" }
    );
    wait_for(
        "the gauge to follow the last swap",
        Duration::from_secs(2),
        || server.metrics().value(&series) == 1.0,
    );
}
